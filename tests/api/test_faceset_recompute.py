"""recompute_faceset_templates: a set made by another model moves to the engine's, from its
enrolled photos; a face whose photo retention took cannot move unless dropped."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from facesets.models import EnrolledFace, FaceSet
from resources.models import StoredImage
from resources.purge import purge
from tests.api.conftest import Api, upload
from tests.api.test_facesets import another_shot, call, enrol, ok, refused

pytestmark = pytest.mark.models


def an_old_set(api: Api) -> list[bytes]:
    """A set whose templates are said to be another model's, and scrambled as such would be."""
    ok(call(api, "create", {"name": "staff"}))
    enrol(api, upload("grace_hopper"))
    enrol(api, upload("group"))
    templates = [bytes(face.template) for face in EnrolledFace.objects.order_by("pk")]
    FaceSet.objects.update(template_model="old-model-v0")
    for face in EnrolledFace.objects.all():
        face.template = bytes(reversed(bytes(face.template)))
        face.model = "old-model-v0"
        face.save()
    return templates


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("recompute_faceset_templates", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_a_set_moves_to_the_engines_model_with_the_same_templates_as_at_enrolment(api: Api) -> None:
    originals = an_old_set(api)
    refused(call(api, "search_face", {"name": "staff", "file": upload("grace_hopper")}), "INVALID_ARGUMENT")
    out, _ = run("--dry-run")
    assert "2 recomputed, 0 without photo or face (dry run)" in out
    assert FaceSet.objects.get().template_model == "old-model-v0"
    out, _ = run()
    assert "2 recomputed" in out and "now sface-2021dec-float32" in out
    # The pipeline is deterministic: the stored photo gives back the enrolment's template,
    # the group photo's face found again by its box.
    assert [bytes(face.template) for face in EnrolledFace.objects.order_by("pk")] == originals
    assert set(EnrolledFace.objects.values_list("model", flat=True)) == {"sface-2021dec-float32"}
    found = ok(call(api, "search_face", {"name": "staff", "file": another_shot("grace_hopper")}))
    assert found["result"][0]["face_id"] == EnrolledFace.objects.order_by("pk").first().pk  # type: ignore[union-attr]
    assert run()[0] == ""  # nothing left to move


def test_a_face_whose_photo_is_gone_blocks_the_set_unless_dropped(
    api: Api, django_capture_on_commit_callbacks: Any
) -> None:
    an_old_set(api)
    first = EnrolledFace.objects.order_by("pk").first()
    assert first is not None and first.photo_id
    with django_capture_on_commit_callbacks(execute=True):
        purge(StoredImage.objects.filter(pk=first.photo_id))
    with pytest.raises(CommandError, match="1 set"):
        run()
    assert FaceSet.objects.get().template_model == "old-model-v0"
    out, _ = run("--drop-unrecoverable")
    assert "1 recomputed, 1 without photo or face" in out
    assert EnrolledFace.objects.count() == 1 and FaceSet.objects.get().face_count == 1
    ok(call(api, "search_face", {"name": "staff", "file": upload("grace_hopper")}))

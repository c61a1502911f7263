"""The images a call was sent and did not store are kept with its history (for its owner's
call detail), as long as stored images are kept, and purged with them; the API never offers
them by id. Mask's answer is kept too, so that the detail can show what was answered."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.models import ApiAccount, ApiCall
from resources import purge as purging
from resources.models import CallImage, StoredImage
from tests.api.conftest import Api, upload
from tests.conftest import pixels
from tests.storage import stored_files

COMPARE = "/identity/compare_faces_in_two_images"
MASK = "/identity/mask_selfie_image"


@pytest.fixture(autouse=True)
def keeping(settings: Any) -> None:
    settings.FACEPORTAL_KEEP_CALL_IMAGES = True  # the default (tests/api/conftest.py turns it off)


def failed_compare(api: Api) -> dict[str, Any]:
    """Image one loads (decoded, no model needed); image two is missing: INVALID_ARGUMENT."""
    response = api.linkface(COMPARE, {"image_one_file": upload("grace_hopper")})
    body: dict[str, Any] = response.json()
    assert body["status"] == "INVALID_ARGUMENT" and body["image"] == "image_two"
    return body


def test_the_upload_of_a_failed_call_is_kept_with_its_history_and_nothing_is_stored(api: Api) -> None:
    body = failed_compare(api)

    kept = CallImage.objects.get()
    assert (kept.request_id, kept.role, kept.account) == (body["request_id"], "image_one", api.account)
    height, width = pixels("grace_hopper").shape[:2]
    assert (kept.format, kept.width, kept.height) == ("JPEG", width, height)
    assert kept.file.storage.exists(str(kept.file.name)) and kept.size == kept.file.size
    assert stored_files() == [PurePosixPath(str(kept.file.name))]
    assert str(kept.file.name).startswith(f"calls/{kept.id[:2]}/{kept.id}.")
    # The API's own record of the call: no stored image, no charge.
    assert StoredImage.objects.count() == 0
    api.account.refresh_from_db()
    assert api.account.quota_used == 0
    assert ApiCall.objects.get(request_id=body["request_id"]).image_ids == []


def test_a_kept_copy_is_no_image_id_of_the_api(api: Api) -> None:
    failed_compare(api)
    kept = CallImage.objects.get()

    response = api.linkface(COMPARE, {"image_one_id": kept.id, "image_two_id": kept.id})

    assert (response.json()["status"], response.json()["image"]) == ("IMAGE_ID_NOT_EXIST", "image_one")


def test_nothing_is_kept_when_the_operator_turns_it_off(api: Api, settings: Any) -> None:
    settings.FACEPORTAL_KEEP_CALL_IMAGES = False
    failed_compare(api)
    assert CallImage.objects.count() == 0 and stored_files() == []


def test_a_call_refused_before_its_key_is_known_keeps_nothing(api: Api) -> None:
    response = api.client.post(
        f"{COMPARE}?api_id={api.account.api_id}&api_secret=wrong", {"image_one_file": upload("grace_hopper")}
    )
    assert response.json()["status"] == "UNAUTHORIZED"
    assert CallImage.objects.count() == 0 and stored_files() == []


@pytest.mark.models
def test_a_successful_compare_stores_its_images_and_keeps_no_second_copy(api: Api) -> None:
    response = api.linkface(
        COMPARE, {"image_one_file": upload("grace_hopper"), "image_two_file": upload("grace_hopper")}
    )
    assert response.json()["status"] == "OK"
    assert StoredImage.objects.count() == 2 and CallImage.objects.count() == 0
    assert len(stored_files()) == 2


@pytest.mark.models
def test_detect_keeps_its_photo_and_mask_its_selfie_and_its_answer(api: Api) -> None:
    detect = api.faceid({"image": upload("grace_hopper")}).json()
    masked = api.linkface(MASK, {"selfie_file": upload("grace_hopper"), "mask_eye": "true"})
    assert masked.status_code == 200 and masked["Content-Type"] == "image/jpeg"
    mask_id = masked["X-Request-Id"]

    assert list(CallImage.objects.filter(request_id=detect["request_id"]).values_list("role", flat=True)) == [
        "image"
    ]
    kept = {image.role: image for image in CallImage.objects.filter(request_id=mask_id)}
    assert set(kept) == {"selfie", "answer"}
    with kept["answer"].file.open("rb") as handle:
        assert handle.read() == masked.content
    assert (kept["answer"].format, kept["answer"].width) == ("JPEG", kept["selfie"].width)
    assert StoredImage.objects.count() == 0


def test_kept_copies_go_with_the_retention_of_stored_images(
    api: Api, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    failed_compare(api)
    failed_compare(api)
    old, recent = CallImage.objects.order_by("created_at")
    CallImage.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - timedelta(days=settings.FACEPORTAL_IMAGE_RETENTION_DAYS, minutes=1)
    )

    assert purging.count_expired().call_images == 1
    with django_capture_on_commit_callbacks(execute=True):  # files go once the deletion commits
        assert purging.purge_expired().call_images == 1
    assert list(CallImage.objects.values_list("id", flat=True)) == [recent.id]
    assert stored_files() == [PurePosixPath(str(recent.file.name))]


def test_the_daily_purge_command_says_how_many_copies_went(
    api: Api, capsys: Any, django_capture_on_commit_callbacks: Any
) -> None:
    failed_compare(api)
    CallImage.objects.update(created_at=timezone.now() - timedelta(days=365))

    with django_capture_on_commit_callbacks(execute=True):
        call_command("purge_images")

    assert "Deleted 1 call image kept with the history older than" in capsys.readouterr().out
    assert CallImage.objects.count() == 0 and stored_files() == []


def test_a_deleted_account_takes_its_copies_and_their_files(
    api: Api, django_capture_on_commit_callbacks: Any
) -> None:
    failed_compare(api)
    with django_capture_on_commit_callbacks(execute=True):
        ApiAccount.objects.filter(pk=api.account.pk).delete()
    assert CallImage.objects.count() == 0 and stored_files() == []


def test_an_orphan_copy_file_is_swept(api: Api, isolated: Path) -> None:
    failed_compare(api)
    kept = CallImage.objects.get()
    CallImage.objects.all()._raw_delete(CallImage.objects.db)  # the row gone, its file not
    assert purging.orphan_files(grace=timedelta(0), now=timezone.now() + timedelta(seconds=1)) == [
        kept.file.name
    ]

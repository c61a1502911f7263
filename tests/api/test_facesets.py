"""The face-set endpoints (/faceset/v2/*, API.md "Face sets and 1:N search") through the
whole stack: the seven calls, their refusals, and what deleting leaves (nothing)."""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from django.utils import timezone

from accounts.models import ApiAccount, Endpoint
from accounts.services import account_create
from facesets.models import EnrolledFace, FaceSet
from resources.models import StoredImage
from resources.purge import purge_expired
from tests.api.conftest import Api, raw_upload, upload
from tests.conftest import encode, pixels
from tests.storage import stored_files

V2 = "/faceset/v2"


def call(api: Api, verb: str, data: dict[str, Any] | None = None, **extra: Any) -> Any:
    return api.linkface(f"{V2}/{verb}", data, **extra)


def ok(response: Any) -> dict[str, Any]:
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "OK" and body["request_id"].startswith("TID")
    return dict(body)


def refused(response: Any, status: str, reason: str | None = None, http: int = 400) -> dict[str, Any]:
    body = response.json()
    assert (response.status_code, body["status"]) == (http, status), body
    if reason is not None:
        assert body.get("reason") == reason, body
    return dict(body)


def a_set(api: Api, name: str = "staff", desc: str = "") -> None:
    ok(call(api, "create", {"name": name, "desc": desc}))


def enrol(api: Api, photo: Any, name: str = "staff", **fields: Any) -> dict[str, Any]:
    photo_field = {} if photo is None else {"file": photo}
    return ok(call(api, "add_face", {"name": name, **photo_field, **fields}))["result"]


def another_shot(name: str) -> Any:
    """The same person in another file: cropped, scaled down and re-encoded as JPEG."""
    image = pixels(name)
    h, w = image.shape[:2]
    cropped = np.ascontiguousarray(image[h // 20 : h - h // 20, w // 20 : w - w // 20])
    import cv2

    smaller = cv2.resize(cropped, (cropped.shape[1] * 4 // 5, cropped.shape[0] * 4 // 5))
    return raw_upload(encode(smaller, "JPEG", quality=80), f"{name}-again.jpg")


def test_create_list_and_info_of_an_empty_set(api: Api) -> None:
    a_set(api, "staff", "gate A")
    a_set(api, "visitors")
    body = ok(call(api, "list"))
    assert list(body) == ["request_id", "status", "result"]
    assert [(s["name"], s["desc"], s["face_count"]) for s in body["result"]] == [
        ("staff", "gate A", 0),
        ("visitors", "", 0),
    ]
    info = ok(call(api, "info", {"name": "staff"}))["result"]
    assert info == {
        "name": "staff",
        "desc": "gate A",
        "face_count": 0,
        "person_count": 0,
        "create_time": info["create_time"],
    }
    assert abs(info["create_time"] - timezone.now().timestamp()) < 60
    api.account.refresh_from_db()
    assert api.account.quota_used == 4


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({}, "argument 'name': must specify 'name' argument"),
        ({"name": ""}, "argument 'name': must specify 'name' argument"),
        ({"name": "a" * 65}, "argument 'name': must be 1 to 64 of A-Z a-z 0-9 _ -"),
        ({"name": "no spaces"}, "argument 'name': must be 1 to 64 of A-Z a-z 0-9 _ -"),
        ({"name": "caf\u00e9"}, "argument 'name': must be 1 to 64 of A-Z a-z 0-9 _ -"),
        ({"name": "ok", "desc": "d" * 257}, "argument 'desc': at most 256 characters"),
    ],
)
def test_create_refuses_bad_names_and_descriptions(api: Api, fields: dict[str, str], reason: str) -> None:
    refused(call(api, "create", fields), "INVALID_ARGUMENT", reason)
    assert FaceSet.objects.count() == 0
    api.account.refresh_from_db()
    assert api.account.quota_used == 0


def test_names_are_per_account_and_unique_within_one(api: Api, db: None) -> None:
    a_set(api, "staff_1-A")
    refused(call(api, "create", {"name": "staff_1-A"}), "INVALID_ARGUMENT", "face db staff_1-A already exist")
    other_account, secret = account_create(username="other", quota=100, rate=100)
    other = Api(api.client, other_account, secret)
    ok(call(other, "create", {"name": "staff_1-A"}))  # its own set of the same name
    ok(call(other, "delete", {"name": "staff_1-A"}))
    # Another account's set answers as unknown, for every verb that names one.
    for verb in ("info", "delete", "add_face", "search_face", "delete_face"):
        refused(
            call(other, verb, {"name": "staff_1-A", "face_id": "1"}),
            "INVALID_ARGUMENT",
            "face db staff_1-A not exist",
        )
    assert ok(call(other, "list"))["result"] == []
    assert FaceSet.objects.filter(account=api.account).count() == 1


def test_the_number_of_sets_per_account_is_capped(api: Api, settings: Any) -> None:
    settings.FACEPORTAL_FACESET_MAX_SETS = 2
    a_set(api, "one")
    a_set(api, "two")
    refused(call(api, "create", {"name": "three"}), "INVALID_ARGUMENT", "too many face dbs (at most 2)")


def test_credentials_may_come_in_the_vendor_headers(api: Api) -> None:
    headers = {"X-DF-API-ID": api.account.api_id, "X-DF-API-SECRET": api.secret}
    response = api.client.post(f"{V2}/create", {"name": "by_headers"}, headers=headers)
    ok(response)
    wrong = {"X-DF-API-ID": api.account.api_id, "X-DF-API-SECRET": "wrong"}
    refused(api.client.post(f"{V2}/list", {}, headers=wrong), "UNAUTHORIZED", http=401)
    # Given twice (header and form), a credential is refused rather than guessed at.
    twice = api.client.post(f"{V2}/list", {"api_secret": api.secret}, headers=headers)
    refused(twice, "INVALID_ARGUMENT", "argument 'api_secret': given more than once")
    # The identity endpoints read no such header.
    response = api.client.post("/identity/compare_faces_in_two_images", {}, headers=headers)
    refused(response, "UNAUTHORIZED", http=401)


def test_each_endpoint_has_its_own_permission(api: Api) -> None:
    a_set(api)
    api.account.endpoints = [e.value for e in Endpoint if e != Endpoint.FACESET_DELETE]
    api.account.save()
    refused(call(api, "delete", {"name": "staff"}), "NO_PERMISSION", http=403)
    ok(call(api, "info", {"name": "staff"}))
    assert FaceSet.objects.filter(name="staff").exists()


def test_unknown_verbs_answer_the_family_not_found(api: Api) -> None:
    response = call(api, "rename", {"name": "x"})
    assert (response.status_code, response.json()["status"]) == (404, "NOT_FOUND")
    assert response.json()["request_id"].startswith("TID")


@pytest.mark.models
def test_add_search_and_delete_a_face(api: Api) -> None:
    a_set(api)
    grace = enrol(api, upload("grace_hopper"), person_id="42")
    assert grace["person_id"] == 42 and isinstance(grace["face_id"], int)
    astronaut = enrol(api, upload("astronaut"))
    tom = enrol(api, upload("tom_hanks", "PNG"))
    # Generated person ids are above every id the set has seen, and never reused.
    assert (astronaut["person_id"], tom["person_id"]) == (43, 44)
    info = ok(call(api, "info", {"name": "staff"}))["result"]
    assert (info["face_count"], info["person_count"]) == (3, 3)

    found = ok(call(api, "search_face", {"name": "staff", "file": another_shot("grace_hopper"), "topN": "3"}))
    assert list(found) == ["request_id", "status", "result"]
    best = found["result"][0]
    assert (best["face_id"], best["person_id"], best["create_time"]) == (
        grace["face_id"],
        42,
        grace["create_time"],
    )
    assert best["score"] >= 0.9
    # Only scores reaching the threshold (default 0.8): other people stay out.
    assert [match["person_id"] for match in found["result"]] == [42]
    everyone = ok(
        call(
            api,
            "search_face",
            {"name": "staff", "file": another_shot("grace_hopper"), "topN": "3", "threshold": "0"},
        )
    )
    scores = [match["score"] for match in everyone["result"]]
    assert len(scores) == 3 and scores == sorted(scores, reverse=True) and scores[1] < 0.5

    ok(call(api, "delete_face", {"name": "staff", "face_id": str(grace["face_id"])}))
    after = ok(call(api, "search_face", {"name": "staff", "file": another_shot("grace_hopper")}))
    assert after["result"] == []
    refused(
        call(api, "delete_face", {"name": "staff", "face_id": str(grace["face_id"])}),
        "INVALID_ARGUMENT",
        f"face {grace['face_id']} not exist",
    )
    assert ok(call(api, "info", {"name": "staff"}))["result"]["face_count"] == 2


@pytest.mark.models
def test_the_same_photo_scores_exactly_1_0(api: Api) -> None:
    a_set(api)
    enrol(api, upload("astronaut", "PNG"))
    found = ok(call(api, "search_face", {"name": "staff", "file": upload("astronaut", "PNG")}))
    assert found["result"][0]["score"] == 1.0


@pytest.mark.models
def test_every_image_input_works_with_the_vendor_precedence(api: Api) -> None:
    a_set(api)
    data = encode(pixels("grace_hopper"), "JPEG")
    by_base64 = enrol(api, None, image_base64=base64.b64encode(data).decode())
    data_url = "data:image/jpeg;base64," + base64.encodebytes(data).decode()  # with line breaks
    enrol(api, None, image_base64=data_url)
    stored_id = StoredImage.objects.filter(account=api.account).first()
    assert stored_id is not None
    by_id = enrol(api, None, image_id=stored_id.id)
    assert by_base64["face_id"] < by_id["face_id"]
    # The id wins over a file, which wins over base64 (astronaut would be another person).
    precedence = enrol(api, upload("astronaut"), image_id=stored_id.id)
    face = EnrolledFace.objects.get(pk=precedence["face_id"])
    assert face.photo_id == stored_id.id
    bad = call(api, "add_face", {"name": "staff", "image_base64": "not*base64"})
    refused(bad, "INVALID_ARGUMENT", "argument 'image_base64': not valid base64")
    missing = call(api, "add_face", {"name": "staff"})
    refused(missing, "INVALID_ARGUMENT", "must specify 'image_id', 'file', 'url' or 'image_base64' argument")
    assert missing.json()["image"] == "image"


@pytest.mark.models
def test_image_refusals_name_the_image_and_leave_nothing(api: Api) -> None:
    a_set(api)
    before = set(stored_files())
    refused(call(api, "add_face", {"name": "staff", "file": upload("coffee")}), "NO_FACE_DETECTED")
    refused(call(api, "add_face", {"name": "staff", "file": raw_upload(b"not an image")}), "CORRUPT_IMAGE")
    refused(call(api, "search_face", {"name": "staff", "file": upload("coffee")}), "NO_FACE_DETECTED")
    huge = base64.b64encode(b"\0" * (5 * 1024 * 1024 + 10)).decode()
    refused(call(api, "add_face", {"name": "staff", "image_base64": huge}), "IMAGE_FILE_SIZE_TOO_BIG")
    refused(call(api, "add_face", {"name": "staff", "image_id": "0" * 32}), "IMAGE_ID_NOT_EXIST")
    assert EnrolledFace.objects.count() == 0 and set(stored_files()) == before
    api.account.refresh_from_db()
    assert api.account.quota_used == 1  # the create only


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"threshold": "1.5"}, "argument 'threshold': must be a number from 0 to 1"),
        ({"threshold": "nan"}, "argument 'threshold': must be a number from 0 to 1"),
        ({"threshold": "high"}, "argument 'threshold': must be a number from 0 to 1"),
        ({"topN": "0"}, "argument 'topN': must be an integer from 1 to 10"),
        ({"topN": "11"}, "argument 'topN': must be an integer from 1 to 10"),
        ({"topN": "2.5"}, "argument 'topN': must be an integer from 0 to 9007199254740991"),
    ],
)
def test_search_refuses_bad_thresholds_and_counts(api: Api, fields: dict[str, str], reason: str) -> None:
    a_set(api)
    response = call(api, "search_face", {"name": "staff", "file": upload("coffee"), **fields})
    refused(response, "INVALID_ARGUMENT", reason)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("-1", "argument 'person_id': must be an integer from 0 to 9007199254740991"),
        ("9007199254740992", "argument 'person_id': must be an integer from 0 to 9007199254740991"),
        ("\u0661\u0662", "argument 'person_id': must be an integer from 0 to 9007199254740991"),
        ("abc", "argument 'person_id': must be an integer from 0 to 9007199254740991"),
    ],
)
def test_add_face_refuses_bad_person_ids(api: Api, value: str, reason: str) -> None:
    a_set(api)
    refused(
        call(api, "add_face", {"name": "staff", "file": upload("coffee"), "person_id": value}),
        "INVALID_ARGUMENT",
        reason,
    )


def test_delete_face_needs_a_face_id_of_that_set(api: Api) -> None:
    a_set(api)
    refused(
        call(api, "delete_face", {"name": "staff"}),
        "INVALID_ARGUMENT",
        "argument 'face_id': must specify 'face_id' argument",
    )
    refused(
        call(api, "delete_face", {"name": "staff", "face_id": "7"}), "INVALID_ARGUMENT", "face 7 not exist"
    )


@pytest.mark.models
def test_a_face_of_another_set_is_not_deleted_through_this_one(api: Api) -> None:
    a_set(api, "one")
    a_set(api, "two")
    face = enrol(api, upload("astronaut"), name="one")
    refused(
        call(api, "delete_face", {"name": "two", "face_id": str(face["face_id"])}),
        "INVALID_ARGUMENT",
        f"face {face['face_id']} not exist",
    )
    assert EnrolledFace.objects.filter(pk=face["face_id"]).exists()


@pytest.mark.models
def test_of_several_faces_the_largest_is_enrolled(api: Api) -> None:
    a_set(api)
    face = enrol(api, upload("group"))
    enrolled = EnrolledFace.objects.get(pk=face["face_id"])
    _, _, w, h = enrolled.box
    assert w * h > 0 and enrolled.photo is not None


@pytest.mark.models
def test_a_set_of_another_model_is_refused_until_recomputed(api: Api) -> None:
    a_set(api)
    enrol(api, upload("astronaut"))
    FaceSet.objects.filter(name="staff").update(template_model="old-model-v0")
    reason = (
        "face db staff holds templates of model old-model-v0, the service uses sface-2021dec-float32: "
        "recompute them (manage.py recompute_faceset_templates)"
    )
    refused(
        call(api, "search_face", {"name": "staff", "file": upload("astronaut")}), "INVALID_ARGUMENT", reason
    )
    refused(call(api, "add_face", {"name": "staff", "file": upload("astronaut")}), "INVALID_ARGUMENT", reason)
    assert EnrolledFace.objects.count() == 1


@pytest.mark.models
def test_deleting_faces_sets_and_accounts_leaves_nothing(
    api: Api, django_capture_on_commit_callbacks: Any
) -> None:
    a_set(api, "one")
    a_set(api, "two")
    first = enrol(api, upload("astronaut"), name="one")
    enrol(api, upload("grace_hopper"), name="one")
    enrol(api, upload("tom_hanks", "PNG"), name="two")
    assert len(stored_files()) == 3
    with django_capture_on_commit_callbacks(execute=True):  # files go once the deletion commits
        ok(call(api, "delete_face", {"name": "one", "face_id": str(first["face_id"])}))
    assert len(stored_files()) == 2 and StoredImage.objects.count() == 2
    with django_capture_on_commit_callbacks(execute=True):
        ok(call(api, "delete", {"name": "one"}))
    assert EnrolledFace.objects.count() == 1 and len(stored_files()) == 1
    assert [s["name"] for s in ok(call(api, "list"))["result"]] == ["two"]
    with django_capture_on_commit_callbacks(execute=True):
        ApiAccount.objects.filter(pk=api.account.pk).delete()
    assert (FaceSet.objects.count(), EnrolledFace.objects.count(), StoredImage.objects.count()) == (0, 0, 0)
    assert stored_files() == []


@pytest.mark.models
def test_the_retention_purge_takes_the_photo_and_keeps_the_template(
    api: Api, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    a_set(api)
    face = enrol(api, upload("grace_hopper"))
    later = timezone.now() + timedelta(days=settings.FACEPORTAL_IMAGE_RETENTION_DAYS + 1)
    with django_capture_on_commit_callbacks(execute=True):
        assert purge_expired(now=later).images == 1
    assert stored_files() == [] and StoredImage.objects.count() == 0
    enrolled = EnrolledFace.objects.get(pk=face["face_id"])
    assert enrolled.photo is None and len(bytes(enrolled.template)) == 128 * 4
    found = ok(call(api, "search_face", {"name": "staff", "file": another_shot("grace_hopper")}))
    assert [match["face_id"] for match in found["result"]] == [face["face_id"]]


@pytest.mark.models
def test_a_full_set_refuses_more_faces(api: Api, settings: Any) -> None:
    settings.FACEPORTAL_FACESET_MAX_FACES = 1
    a_set(api)
    enrol(api, upload("astronaut"))
    before = set(stored_files())
    refused(
        call(api, "add_face", {"name": "staff", "file": upload("grace_hopper")}),
        "INVALID_ARGUMENT",
        "face db staff is full (1 faces)",
    )
    assert set(stored_files()) == before and EnrolledFace.objects.count() == 1

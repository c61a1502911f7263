"""POST /identity/compare_faces_in_two_images through the full stack."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from accounts.services import account_create
from resources.models import StoredImage
from tests.api.conftest import Api, nothing_left_behind, raw_upload, upload
from tests.conftest import encode, pixels
from tests.storage import stored_files

COMPARE = "/identity/compare_faces_in_two_images"


@pytest.mark.models
def test_the_same_photo_gives_confidence_1_and_new_image_ids(api: Api, isolated: Path) -> None:
    response = api.linkface(
        COMPARE, {"image_one_file": upload("grace_hopper"), "image_two_file": upload("grace_hopper")}
    )
    body = response.json()
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert list(body) == ["request_id", "status", "confidences", "max_confidence", "image_one", "image_two"]
    assert body["status"] == "OK"
    assert body["confidences"] == [[pytest.approx(1.0, abs=1e-4)]]
    assert body["max_confidence"] == body["confidences"][0][0]
    one, two = body["image_one"]["image_one_id"], body["image_two"]["image_two_id"]
    assert len(one) == 32 and int(one, 16) >= 0 and one != two
    assert StoredImage.objects.filter(account=api.account).count() == 2 and len(stored_files()) == 2
    api.account.refresh_from_db()
    assert api.account.quota_used == 1


@pytest.mark.models
@pytest.mark.parametrize(
    ("name", "fmt"), [("astronaut", "PNG"), ("grace_hopper", "JPEG"), ("tom_hanks", "PNG")]
)
def test_the_same_photo_gives_exactly_1_0_on_any_cpu(api: Api, name: str, fmt: str) -> None:
    # Exactly: the vendor's QA suite truncates scores to 3 decimals, so 0.9999998 fails it.
    response = api.linkface(
        COMPARE, {"image_one_file": upload(name, fmt), "image_two_file": upload(name, fmt)}
    )
    body = response.json()
    assert body["confidences"] == [[1.0]] and body["max_confidence"] == 1.0
    assert '"max_confidence": 1.0,' in response.content.decode()


@pytest.mark.models
@pytest.mark.parametrize("columns", [slice(0, 620), slice(640, None)])
def test_a_group_photo_compared_with_itself_has_exactly_1_0_on_its_diagonal(api: Api, columns: slice) -> None:
    # insightface's t1.jpg has six people; compare takes four at most, so half of it.
    half = encode(np.ascontiguousarray(pixels("group")[:, columns]), "PNG")
    fields = {"image_one_file": raw_upload(half, "one.png"), "image_two_file": raw_upload(half, "two.png")}
    stored = api.linkface(COMPARE, fields).json()
    matrix = np.array(stored["confidences"])
    assert matrix.shape[0] >= 3 and np.all(np.diag(matrix) == 1.0)
    assert np.all(matrix[~np.eye(len(matrix), dtype=bool)] < 0.9)
    assert stored["max_confidence"] == 1.0
    # The same file again by its stored id: the same bytes, so the same embeddings.
    again = api.linkface(
        COMPARE, {"image_one_id": stored["image_one"]["image_one_id"], "image_two_file": raw_upload(half)}
    ).json()
    assert again["confidences"] == stored["confidences"]


@pytest.mark.models
def test_different_people_score_below_0_5(api: Api) -> None:
    body = api.linkface(
        COMPARE, {"image_one_file": upload("astronaut"), "image_two_file": upload("grace_hopper")}
    ).json()
    assert body["max_confidence"] < 0.5


@pytest.mark.models
def test_a_stored_image_is_reused_by_id_and_not_returned_again(api: Api) -> None:
    first = api.linkface(
        COMPARE, {"image_one_file": upload("astronaut"), "image_two_file": upload("grace_hopper")}
    )
    stored = first.json()["image_one"]["image_one_id"]
    again = api.linkface(
        COMPARE, {"image_one_id": stored, "image_two_file": upload("astronaut", "PNG")}
    ).json()
    assert again["max_confidence"] > 0.9
    assert "image_one" not in again and "image_two" in again


@pytest.mark.models
def test_the_stored_id_wins_over_a_file_and_a_url(api: Api) -> None:
    stored = api.linkface(
        COMPARE, {"image_one_file": upload("astronaut"), "image_two_file": upload("astronaut")}
    )
    image_id = stored.json()["image_one"]["image_one_id"]
    body = api.linkface(
        COMPARE,
        {
            "image_one_id": image_id,
            "image_one_file": upload("grace_hopper"),
            "image_one_url": "http://example.invalid/x.jpg",
            "image_two_file": upload("astronaut"),
        },
    ).json()
    assert body["max_confidence"] > 0.9 and "image_one" not in body


@pytest.mark.models
def test_another_accounts_image_id_does_not_exist(api: Api, client: object) -> None:
    stored = api.linkface(
        COMPARE, {"image_one_file": upload("astronaut"), "image_two_file": upload("astronaut")}
    )
    image_id = stored.json()["image_one"]["image_one_id"]
    other, secret = account_create(username="other")
    response = api.client.post(
        f"{COMPARE}?api_id={other.api_id}&api_secret={secret}",
        {"image_one_id": image_id, "image_two_file": upload("astronaut")},
    )
    assert response.json() == {
        "status": "IMAGE_ID_NOT_EXIST",
        "request_id": response.json()["request_id"],
        "image": "image_one",
    }


def test_a_missing_image_names_the_fields(api: Api) -> None:
    body = api.linkface(COMPARE, {"image_one_file": upload("astronaut")}).json()
    assert body["status"] == "INVALID_ARGUMENT" and body["image"] == "image_two"
    assert body["reason"] == "must specify 'image_two_id', 'image_two_file' or 'image_two_url' argument"


@pytest.mark.models
def test_the_matrix_has_a_row_per_face_of_image_one_and_a_column_per_face_of_image_two(api: Api) -> None:
    three = np.ascontiguousarray(pixels("group")[:, :620])  # the three people on the left
    body = api.linkface(
        COMPARE,
        {
            "image_one_file": raw_upload(encode(three, "JPEG", quality=92)),
            "image_two_file": raw_upload(encode(three, "PNG"), "three.png"),
            "verbose": "true",
        },
    ).json()
    matrix = np.array(body["confidences"])
    assert matrix.shape == (3, 3) and len(body["faces_one"]) == 3 and len(body["faces_two"]) == 3
    # Faces are ordered largest first (by the face's own size, not its box) in both
    # images, so each person is on the diagonal.
    assert np.all(np.diag(matrix) > 0.9)
    centres = [
        [(f["rect"]["left"] + f["rect"]["width"] / 2) for f in body[k]] for k in ("faces_one", "faces_two")
    ]
    assert np.allclose(centres[0], centres[1], atol=10)


@pytest.mark.models
def test_more_than_four_faces_is_too_many(api: Api, isolated: Path) -> None:
    response = api.linkface(
        COMPARE, {"image_one_file": upload("astronaut"), "image_two_file": upload("group")}
    )
    assert response.json()["status"] == "TOO_MANY_FACES" and response.json()["image"] == "image_two"
    nothing_left_behind(api.account)


@pytest.mark.models
def test_verbose_adds_the_faces_so_the_matrix_can_be_read(api: Api) -> None:
    body = api.linkface(
        COMPARE,
        {"image_one_file": upload("astronaut"), "image_two_file": upload("grace_hopper"), "verbose": "true"},
    ).json()
    assert len(body["faces_one"]) == 1 and len(body["faces_two"]) == 1
    assert set(body["faces_one"][0]) == {"rect", "quality", "orientation"}


@pytest.mark.models
def test_no_face_is_reported_for_that_image(api: Api, isolated: Path) -> None:
    body = api.linkface(
        COMPARE, {"image_one_file": upload("coffee"), "image_two_file": upload("astronaut")}
    ).json()
    assert (body["status"], body["image"]) == ("NO_FACE_DETECTED", "image_one")
    nothing_left_behind(api.account)


@pytest.mark.models
def test_auto_rotate_finds_a_sideways_face(api: Api) -> None:
    sideways = np.ascontiguousarray(np.rot90(pixels("grace_hopper")))
    fields = {
        "image_one_file": upload("grace_hopper"),
        "image_two_file": raw_upload(encode(sideways, "JPEG", quality=92)),
    }
    plain = api.linkface(COMPARE, dict(fields)).json()
    fields = {
        "image_one_file": upload("grace_hopper"),
        "image_two_file": raw_upload(encode(sideways, "JPEG", quality=92)),
    }
    rotated = api.linkface(COMPARE, {**fields, "image_two_auto_rotate": "true"}).json()
    assert rotated["max_confidence"] > 0.9
    assert plain.get("max_confidence", 0) <= rotated["max_confidence"]


@pytest.mark.parametrize(
    ("data", "status"),
    [
        (b"", "CORRUPT_IMAGE"),
        (b"not an image at all" * 50, "CORRUPT_IMAGE"),
    ],
)
def test_unreadable_files_are_corrupt(api: Api, isolated: Path, data: bytes, status: str) -> None:
    body = api.linkface(
        COMPARE, {"image_one_file": raw_upload(data), "image_two_file": upload("astronaut")}
    ).json()
    assert (body["status"], body["image"]) == (status, "image_one")
    nothing_left_behind(api.account)


def test_a_truncated_jpeg_is_corrupt(api: Api, isolated: Path) -> None:
    data = encode(pixels("astronaut"), "JPEG", quality=90)
    body = api.linkface(
        COMPARE, {"image_one_file": upload("astronaut"), "image_two_file": raw_upload(data[: len(data) // 2])}
    ).json()
    assert (body["status"], body["image"]) == ("CORRUPT_IMAGE", "image_two")
    nothing_left_behind(api.account)


@pytest.mark.parametrize("size", [(4001, 20), (20, 4001), (8, 100), (100, 8)])
def test_sides_out_of_bounds_are_refused(api: Api, isolated: Path, size: tuple[int, int]) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", size, "white").save(buffer, "PNG")
    body = api.linkface(
        COMPARE,
        {"image_one_file": raw_upload(buffer.getvalue(), "x.png"), "image_two_file": upload("astronaut")},
    ).json()
    assert body["status"] == "INVALID_IMAGE_FORMAT_OR_SIZE"
    nothing_left_behind(api.account)


def test_a_file_over_5_mb_is_too_big(api: Api, isolated: Path) -> None:
    noise = np.random.default_rng(0).integers(0, 255, (1500, 1400, 3), dtype=np.uint8)
    data = encode(noise, "PNG")
    assert len(data) > 5 * 1024 * 1024
    body = api.linkface(
        COMPARE, {"image_one_file": raw_upload(data, "big.png"), "image_two_file": upload("astronaut")}
    ).json()
    assert (body["status"], body["image"]) == ("IMAGE_FILE_SIZE_TOO_BIG", "image_one")
    nothing_left_behind(api.account)


@pytest.mark.models
def test_a_failure_while_storing_keeps_images_that_came_by_id(
    api: Api, isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = api.linkface(
        COMPARE, {"image_one_file": upload("astronaut"), "image_two_file": upload("astronaut")}
    )
    kept = StoredImage.objects.get(id=first.json()["image_one"]["image_one_id"])

    def broken_storage(**kwargs: object) -> StoredImage:
        raise OSError("disk full")

    monkeypatch.setattr("resources.intake.image_store", broken_storage)
    response = api.linkface(COMPARE, {"image_one_id": kept.id, "image_two_file": upload("grace_hopper")})
    assert (response.status_code, response.json()["status"]) == (500, "INTERNAL_ERROR")
    assert kept.file.name and kept.file.storage.exists(kept.file.name)
    assert StoredImage.objects.count() == 2 and len(stored_files()) == 2
    api.account.refresh_from_db()
    assert api.account.quota_used == 1  # the failed call was not charged

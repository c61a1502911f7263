"""MPO photos (multi-picture JPEGs, what many phone cameras write) are taken as JPEGs, their
first picture, by every endpoint: detect, compare, mask, and as liveness frames."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from facelab import bombs
from faceportal_capture.build import build_capture
from faceportal_capture.package import seal
from resources.models import StoredImage
from tests.api.conftest import Api, raw_upload, upload
from tests.api.helpers import UPLOAD, VERIFY, new_challenge, photo_frames
from tests.conftest import pixels

pytestmark = pytest.mark.models

COMPARE = "/identity/compare_faces_in_two_images"


def mpo_of(first: str, second: str = "astronaut") -> bytes:
    """An MPO whose first picture is `first`, the second another photo (never analysed)."""
    data = bombs.mpo([pixels(first), pixels(second)])
    assert Image.open(io.BytesIO(data)).format == "MPO"
    return data


def test_detect_finds_the_face_of_an_mpos_first_picture(api: Api) -> None:
    response = api.faceid({"image": raw_upload(mpo_of("grace_hopper"), "photo.jpg")})
    assert response.status_code == 200, response.content
    assert len(response.json()["faces"]) == 1


def test_compare_takes_an_mpo_as_the_jpeg_of_its_first_picture(api: Api, isolated: Path) -> None:
    fields = {
        "image_one_file": raw_upload(mpo_of("grace_hopper"), "photo.jpg"),
        "image_two_file": upload("grace_hopper"),
    }
    body = api.linkface(COMPARE, fields).json()
    assert body["status"] == "OK" and body["max_confidence"] > 0.9, body
    stored = StoredImage.objects.get(id=body["image_one"]["image_one_id"])
    assert (stored.format, str(stored.file.name).endswith(".jpg")) == ("JPEG", True)
    # The first picture is the one compared: against the second picture's person, no match.
    other = {
        "image_one_file": raw_upload(mpo_of("grace_hopper"), "photo.jpg"),
        "image_two_file": upload("astronaut"),
    }
    assert api.linkface(COMPARE, other).json()["max_confidence"] < 0.5


def test_mask_returns_an_mpo_selfie_as_a_jpeg(api: Api) -> None:
    fields = {"selfie_file": raw_upload(mpo_of("grace_hopper"), "selfie.jpg"), "mask_eye": "true"}
    response = api.linkface("/identity/mask_selfie_image", fields)
    assert (response.status_code, response["Content-Type"]) == (200, "image/jpeg")
    assert Image.open(io.BytesIO(response.content)).format == "JPEG"


def test_mpo_frames_make_a_package_that_is_accepted_and_verified(api: Api) -> None:
    challenge = new_challenge(api)
    capture = build_capture(photo_frames(count=12), challenge)
    for frame in capture.frames:
        frame.jpeg = mpo_of("grace_hopper")
    package = seal(capture, challenge.key, challenge.challenge_id)
    uploaded = api.linkface(UPLOAD, {"file": raw_upload(package, "capture.fplv")}).json()
    assert uploaded["status"] == "OK", uploaded
    body = api.linkface(
        VERIFY, {"liveness_data_id": uploaded["liveness_data_id"], "selfie_file": upload("grace_hopper")}
    ).json()
    assert body["status"] == "OK" and body["verify_score"] >= 0.7, body

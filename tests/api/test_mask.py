"""POST /identity/mask_selfie_image through the full stack."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from faceengine import from_array
from faceengine.masking import BAND_COLOUR, eye_band
from tests.api.conftest import Api, nothing_left_behind, raw_upload, upload
from tests.conftest import encode, pixels
from tests.images import band_mask

MASK = "/identity/mask_selfie_image"


def decode_upload(uploaded: object) -> np.ndarray:
    return np.asarray(Image.open(uploaded).convert("RGB"))  # type: ignore[arg-type]


def returned_pixels(response: object) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(response.content)).convert("RGB"))  # type: ignore[attr-defined]


def test_a_png_selfie_comes_back_png_with_only_the_eyes_covered(
    api: Api, isolated: Path, engine: object
) -> None:
    original = pixels("grace_hopper")
    response = api.linkface(
        MASK, {"selfie_file": raw_upload(encode(original, "PNG"), "s.png"), "mask_eye": "true"}
    )
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert response["X-Request-Id"].startswith("TID")
    masked = returned_pixels(response)
    face = engine.analyze(from_array(original), embed=False)[0]  # type: ignore[attr-defined]
    covered = band_mask(original.shape, eye_band(face.landmarks))
    assert np.all(masked[covered] == BAND_COLOUR)
    assert np.array_equal(masked[~covered], original[~covered])
    nothing_left_behind(api.account, quota_used=1)


def test_a_jpeg_selfie_comes_back_jpeg(api: Api, engine: object) -> None:
    response = api.linkface(MASK, {"selfie_file": upload("astronaut"), "mask_eye": "1"})
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    masked = returned_pixels(response).astype(int)
    assert masked.shape == (512, 512, 3)
    # JPEG blurs the band's edges: inside it the pixels are the band's colour, give or take.
    sent = decode_upload(upload("astronaut"))
    face = engine.analyze(from_array(sent), embed=False)[0]  # type: ignore[attr-defined]
    covered = band_mask(sent.shape, eye_band(face.landmarks))
    inside = np.abs(masked[covered] - np.asarray(BAND_COLOUR)).max(axis=1)
    assert np.median(inside) <= 8
    assert np.abs(sent.astype(int)[covered] - np.asarray(BAND_COLOUR)).max(axis=1).mean() > 40


@pytest.mark.models
def test_without_mask_eye_the_image_is_unchanged(api: Api) -> None:
    original = pixels("grace_hopper")
    response = api.linkface(MASK, {"selfie_file": raw_upload(encode(original, "PNG"), "s.png")})
    assert np.array_equal(returned_pixels(response), original)


@pytest.mark.models
def test_other_formats_come_back_as_jpeg(api: Api) -> None:
    response = api.linkface(
        MASK, {"selfie_file": upload("astronaut", "BMP", filename="s.bmp"), "mask_eye": "true"}
    )
    assert response["Content-Type"] == "image/jpeg"


@pytest.mark.models
def test_exif_orientation_is_applied_to_the_result(api: Api) -> None:
    image = Image.fromarray(pixels("astronaut")[:, :400])
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif, quality=95)
    response = api.linkface(MASK, {"selfie_file": raw_upload(buffer.getvalue()), "auto_rotate": "true"})
    assert returned_pixels(response).shape == (400, 512, 3)


@pytest.mark.models
def test_a_large_selfie_is_masked_at_full_resolution(api: Api) -> None:
    big = np.asarray(Image.fromarray(pixels("grace_hopper")).resize((2048, 2400)))
    response = api.linkface(
        MASK, {"selfie_file": raw_upload(encode(big, "JPEG", quality=85)), "mask_eye": "true"}
    )
    masked = returned_pixels(response)
    assert masked.shape == big.shape
    assert (masked.reshape(-1, 3) == 0).all(axis=1).mean() > 0.005  # a real band, at full scale


@pytest.mark.models
def test_two_people_are_too_many(api: Api, isolated: Path) -> None:
    pair = np.ascontiguousarray(np.hstack([pixels("astronaut"), pixels("astronaut")]))
    body = api.linkface(
        MASK, {"selfie_file": raw_upload(encode(pair, "JPEG", quality=92)), "mask_eye": "true"}
    ).json()
    assert (body["status"], body["image"]) == ("TOO_MANY_FACES", "selfie")
    nothing_left_behind(api.account)


@pytest.mark.models
def test_no_face_is_reported(api: Api) -> None:
    body = api.linkface(MASK, {"selfie_file": upload("chelsea"), "mask_eye": "true"}).json()
    assert (body["status"], body["image"]) == ("NO_FACE_DETECTED", "selfie")


def test_a_missing_selfie_names_the_fields(api: Api) -> None:
    body = api.linkface(MASK, {"mask_eye": "true"}).json()
    assert body == {
        "status": "INVALID_ARGUMENT",
        "request_id": body["request_id"],
        "image": "selfie",
        "reason": "must specify 'selfie_image_id', 'selfie_file' or 'selfie_url' argument",
    }


@pytest.mark.parametrize("value", ["sure", "2"])
def test_mask_eye_must_be_a_boolean(api: Api, value: str) -> None:
    body = api.linkface(MASK, {"selfie_file": upload("astronaut"), "mask_eye": value}).json()
    assert (body["status"], body["reason"]) == (
        "INVALID_ARGUMENT",
        "argument 'mask_eye': must be true or false",
    )


def test_a_selfie_stored_by_an_earlier_call_is_masked_by_id(api: Api, engine: object) -> None:
    stored = api.linkface(
        "/identity/compare_faces_in_two_images",
        {"image_one_file": upload("grace_hopper", "PNG"), "image_two_file": upload("astronaut")},
    ).json()["image_one"]["image_one_id"]
    response = api.linkface(MASK, {"selfie_image_id": stored, "mask_eye": "true"})
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    # The stored image's eyes are covered, and nothing else changed.
    original = pixels("grace_hopper")
    masked = returned_pixels(response)
    face = engine.analyze(from_array(original), embed=False)[0]  # type: ignore[attr-defined]
    covered = band_mask(original.shape, eye_band(face.landmarks))
    assert covered.any() and np.all(masked[covered] == BAND_COLOUR)
    assert np.array_equal(masked[~covered], original[~covered])


def test_an_unknown_selfie_id_does_not_exist(api: Api) -> None:
    body = api.linkface(MASK, {"selfie_image_id": "0" * 32}).json()
    assert (body["status"], body["image"]) == ("IMAGE_ID_NOT_EXIST", "selfie")


def test_a_selfie_url_into_the_private_network_is_refused(api: Api) -> None:
    body = api.linkface(MASK, {"selfie_url": "http://169.254.169.254/latest/meta-data/"}).json()
    assert (body["status"], body["image"]) == ("DOWNLOAD_ERROR", "selfie")
    assert body["reason"] == "address 169.254.169.254 is not allowed"

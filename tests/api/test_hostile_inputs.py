"""Hostile images: refused cheaply with the documented code, nothing left behind, and the
worker still answers the next call."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from facelab.bombs import tiff_declaring
from tests.api.conftest import Api, nothing_left_behind, raw_upload, upload
from tests.api.helpers import still_answers
from tests.conftest import encode, pixels
from tests.images import png_declaring

COMPARE = "/identity/compare_faces_in_two_images"


def compare_with(api: Api, data: bytes, filename: str) -> dict[str, object]:
    response = api.linkface(
        COMPARE, {"image_one_file": raw_upload(data, filename), "image_two_file": upload("astronaut")}
    )
    assert response.status_code in (200, 400), response.content
    return dict(response.json())


@pytest.mark.models
def test_a_png_decompression_bomb_is_refused(api: Api, isolated: Path) -> None:
    body = compare_with(api, png_declaring(50000, 50000), "bomb.png")
    assert (body["status"], body["image"]) == ("INVALID_IMAGE_FORMAT_OR_SIZE", "image_one")
    nothing_left_behind(api.account)
    still_answers(api)


@pytest.mark.models
def test_a_tiff_declaring_a_huge_size_is_refused(api: Api, isolated: Path) -> None:
    body = compare_with(api, tiff_declaring(200000, 200000), "huge.tif")
    assert body["status"] == "INVALID_IMAGE_FORMAT_OR_SIZE"
    nothing_left_behind(api.account)
    still_answers(api)


def test_a_tiff_declaring_more_data_than_it_has_is_corrupt(api: Api, isolated: Path) -> None:
    body = compare_with(api, tiff_declaring(3000, 3000), "short.tif")
    assert body["status"] == "CORRUPT_IMAGE"
    nothing_left_behind(api.account)


@pytest.mark.models
def test_a_gif_with_thousands_of_frames_uses_the_first(api: Api) -> None:
    first = (
        Image.fromarray(pixels("astronaut")).resize((256, 256)).convert("P", palette=Image.Palette.ADAPTIVE)
    )
    frames = []
    for i in range(3000):
        frame = first.copy()
        frame.putpixel((i % 256, 0), i % 7)  # each frame differs, so none is merged away
        frames.append(frame)
    buffer = io.BytesIO()
    first.save(buffer, "GIF", save_all=True, append_images=frames, duration=10)
    assert getattr(Image.open(io.BytesIO(buffer.getvalue())), "n_frames", 1) > 2000
    body = compare_with(api, buffer.getvalue(), "many.gif")
    assert body["status"] == "OK" and float(body["max_confidence"]) > 0.8  # type: ignore[arg-type]


def test_an_empty_upload_is_corrupt(api: Api, isolated: Path) -> None:
    assert compare_with(api, b"", "empty.jpg")["status"] == "CORRUPT_IMAGE"
    nothing_left_behind(api.account)


@pytest.mark.models
def test_a_truncated_png_is_corrupt(api: Api, isolated: Path) -> None:
    buffer = io.BytesIO()
    Image.fromarray(pixels("astronaut")).save(buffer, "PNG")
    assert compare_with(api, buffer.getvalue()[:20000], "cut.png")["status"] == "CORRUPT_IMAGE"
    nothing_left_behind(api.account)
    still_answers(api)


def test_random_bytes_named_like_an_image_are_corrupt(api: Api) -> None:
    noise = np.random.default_rng(3).bytes(20000)
    assert compare_with(api, b"\xff\xd8\xff\xe0" + noise, "noise.jpg")["status"] == "CORRUPT_IMAGE"


@pytest.mark.models
def test_a_malformed_multipart_body_is_an_invalid_argument(api: Api) -> None:
    body = b'--boundary\r\nContent-Disposition: form-data; name="image_one_file"; filename="a.jpg"\r\n\r\nabc'
    response = api.client.post(
        f"{COMPARE}?api_id={api.account.api_id}&api_secret={api.secret}",
        body,
        content_type="multipart/form-data; boundary=boundary",
    )
    # The unterminated part is dropped: as if no image had been sent.
    assert (response.status_code, response.json()["status"]) == (400, "INVALID_ARGUMENT")
    assert response.json()["image"] == "image_one"
    still_answers(api)


def test_a_multipart_body_without_a_boundary_is_an_invalid_argument(api: Api) -> None:
    response = api.client.post(
        f"{COMPARE}?api_id={api.account.api_id}&api_secret={api.secret}",
        b"whatever",
        content_type="multipart/form-data",
    )
    assert (response.status_code, response.json()["status"]) == (400, "INVALID_ARGUMENT")


def test_a_duplicated_file_field_is_an_invalid_argument(api: Api, isolated: Path) -> None:
    fields = {
        "image_one_file": [upload("astronaut"), upload("grace_hopper")],
        "image_two_file": upload("astronaut"),
    }
    body = api.linkface(COMPARE, fields).json()
    assert (body["status"], body["reason"]) == (
        "INVALID_ARGUMENT",
        "argument 'image_one_file': given more than once",
    )
    nothing_left_behind(api.account)


def test_a_linkface_body_over_the_cap_is_refused_before_reading(api: Api) -> None:
    response = api.client.post(
        f"{COMPARE}?api_id={api.account.api_id}&api_secret={api.secret}",
        b"x" * 10,
        content_type="multipart/form-data; boundary=b",
        CONTENT_LENGTH=str(12 * 1024 * 1024),
    )
    assert response.status_code == 400 and response.json()["status"] == "IMAGE_FILE_SIZE_TOO_BIG"


def test_a_body_without_a_length_is_not_read_at_all(api: Api, isolated: Path) -> None:
    data = encode(pixels("astronaut"), "PNG")
    # Neither a Content-Length nor chunked framing: by HTTP's rules the request has no body, so
    # nothing of it is read (a chunked body is read up to the cap: tests/api/test_middleware.py).
    response = api.linkface(
        COMPARE,
        {"image_one_file": raw_upload(data, "a.png"), "image_two_file": upload("astronaut")},
        CONTENT_LENGTH="",
    )
    assert (response.status_code, response.json()["status"]) == (400, "INVALID_ARGUMENT")
    nothing_left_behind(api.account)


def test_too_many_fields_is_an_invalid_argument(api: Api) -> None:
    fields = {f"field{i}": "x" for i in range(150)}
    response = api.linkface(COMPARE, fields)
    assert (response.status_code, response.json()["status"]) == (400, "INVALID_ARGUMENT")

"""The bomb family (facelab/bombs.py) through every endpoint that takes an image:
each is answered with the documented code, in a fraction of the time a normal photo takes,
leaves nothing behind, and the next call is served."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from facelab import bombs
from faceportal_capture.build import build_capture
from faceportal_capture.package import seal
from tests.api.conftest import Api, nothing_left_behind, raw_upload, upload
from tests.api.helpers import UPLOAD, VERIFY, new_challenge, package_for, photo_frames, still_answers

# The bombs took 6 s to 60 s of CPU before; a refused call takes a few milliseconds.
BOUND_SECONDS = 1.0
FACEID_MAX_BODY = 2 * 1024 * 1024  # larger bodies get the vendor's plain-text 413, unread

# Which of the engine's refusals each bomb gets (tests/engine/test_decodework.py has the reasons).
TOO_LARGE = {name for name in bombs.BOMBS if "declares" in name or "RLE" in name or "16-bit" in name}


def linkface_code(name: str) -> str:
    return "INVALID_IMAGE_FORMAT_OR_SIZE" if name in TOO_LARGE else "CORRUPT_IMAGE"


def timed(call: Callable[[], Any]) -> tuple[Any, float]:
    started = time.process_time()
    response = call()
    return response, time.process_time() - started


@pytest.fixture(scope="module")
def files() -> dict[str, bytes]:
    return {name: make() for name, make in bombs.BOMBS.items()}


@pytest.mark.parametrize("name", sorted(bombs.BOMBS))
def test_compare_answers_each_bomb_with_the_documented_code(
    api: Api, isolated: Path, files: dict[str, bytes], name: str
) -> None:
    fields = {"image_one_file": raw_upload(files[name], "bomb"), "image_two_file": upload("astronaut")}
    response, seconds = timed(lambda: api.linkface("/identity/compare_faces_in_two_images", fields))
    body = response.json()
    assert (response.status_code, body["status"], body["image"]) == (400, linkface_code(name), "image_one")
    assert seconds < BOUND_SECONDS
    nothing_left_behind(api.account)


@pytest.mark.parametrize("name", sorted(bombs.BOMBS))
@pytest.mark.parametrize("verb", ["add_face", "search_face"])
def test_face_sets_answer_each_bomb_by_file_and_by_base64_with_the_documented_code(
    api: Api, isolated: Path, files: dict[str, bytes], name: str, verb: str
) -> None:
    assert api.linkface("/faceset/v2/create", {"name": "gate"}).status_code == 200
    for fields in (
        {"file": raw_upload(files[name], "bomb")},
        {"image_base64": base64.b64encode(files[name]).decode()},
    ):
        call = lambda: api.linkface(f"/faceset/v2/{verb}", {"name": "gate", **fields})  # noqa: B023, E731
        response, seconds = timed(call)
        body = response.json()
        assert (response.status_code, body["status"], body["image"]) == (400, linkface_code(name), "image")
        assert seconds < BOUND_SECONDS
    nothing_left_behind(api.account, quota_used=1)  # the create


@pytest.mark.parametrize("name", sorted(bombs.BOMBS))
def test_mask_answers_each_bomb_with_the_documented_code(
    api: Api, isolated: Path, files: dict[str, bytes], name: str
) -> None:
    fields = {"selfie_file": raw_upload(files[name], "bomb"), "mask_eye": "true"}
    response, seconds = timed(lambda: api.linkface("/identity/mask_selfie_image", fields))
    assert (response.status_code, response.json()["status"]) == (400, linkface_code(name))
    assert seconds < BOUND_SECONDS
    nothing_left_behind(api.account)


@pytest.mark.parametrize("name", sorted(bombs.BOMBS))
def test_detect_answers_each_bomb_with_the_documented_code(
    api: Api, files: dict[str, bytes], name: str
) -> None:
    response, seconds = timed(lambda: api.faceid({"image": raw_upload(files[name], "bomb")}))
    if len(files[name]) > FACEID_MAX_BODY:
        assert (response.status_code, response.content) == (413, b"Request Entity Too Large")
    else:
        expected = "INVALID_IMAGE_SIZE:image" if name in TOO_LARGE else "IMAGE_ERROR_UNSUPPORTED_FORMAT"
        assert (response.status_code, response.json()["error"]) == (400, expected)
    assert seconds < BOUND_SECONDS


@pytest.mark.parametrize("name", sorted(bombs.BOMBS))
def test_a_liveness_selfie_answers_each_bomb_with_the_documented_code(
    api: Api, files: dict[str, bytes], name: str
) -> None:
    package, _ = package_for(api, count=3)
    fields = {"selfie_file": raw_upload(files[name], "bomb"), "liveness_data_file": raw_upload(package)}
    response, seconds = timed(lambda: api.linkface(VERIFY, fields))
    body = response.json()
    assert (body["status"], body["image"]) == (linkface_code(name), "selfie")
    assert seconds < BOUND_SECONDS


FRAME_BOMBS = {
    "jpeg: 1,000 empty scans, 4000x4000": "frame 1 does not decode (JPEG has more than 64 scans)",
    "jpeg: 15,000 empty scans, 4000x4000": "frame 1 does not decode (JPEG has more than 64 scans)",
    "jpeg: 100,000 COM segments": "frame 1 does not decode (JPEG has more than 1024 marker segments)",
    "jpeg: declares 60000x60000": "frame 1 is too large",
    "mpo: declares 60000x60000": "frame 1 is too large",
}


@pytest.mark.models
@pytest.mark.parametrize("name", sorted(FRAME_BOMBS))
def test_a_liveness_frame_answers_each_jpeg_bomb_with_a_reason(
    api: Api, isolated: Path, files: dict[str, bytes], name: str
) -> None:
    challenge = new_challenge(api)
    capture = build_capture(photo_frames(count=3), challenge)
    capture.frames[1].jpeg = files[name]
    package = seal(capture, challenge.key, challenge.challenge_id)
    response, seconds = timed(lambda: api.linkface(UPLOAD, {"file": raw_upload(package, "capture.fplv")}))
    body = response.json()
    assert (body["status"], body["image"], body["reason"]) == (
        "WRONG_LIVENESS_DATA",
        "liveness",
        FRAME_BOMBS[name],
    )
    assert seconds < BOUND_SECONDS
    nothing_left_behind(api.account, quota_used=1)  # the challenge's call
    still_answers(api)

"""Helpers shared by the API test modules: a call that must still work, and liveness
challenges and packages."""

from __future__ import annotations

from typing import Any

import numpy as np

from faceportal_capture.build import Challenge, build_package
from tests.api.conftest import Api, upload
from tests.conftest import pixels

COMPARE = "/identity/compare_faces_in_two_images"
CHALLENGE = "/resources/liveness_challenge"
UPLOAD = "/resources/upload_liveness_data"
VERIFY = "/identity/liveness_selfie_verification"


def new_challenge(api: Api) -> Challenge:
    response = api.linkface(CHALLENGE, {})
    assert response.status_code == 200, response.content
    return Challenge.from_json(response.content.decode())


def photo_frames(name: str = "grace_hopper", count: int = 12) -> list[tuple[np.ndarray, float]]:
    """One photo held still: the simplest attack, and a well-formed package."""
    image = pixels(name)
    return [(image, i / 10) for i in range(count)]


def package_for(api: Api, **kwargs: Any) -> tuple[bytes, Challenge]:
    challenge = new_challenge(api)
    return build_package(photo_frames(**kwargs), challenge), challenge


def still_answers(api: Api) -> None:
    fields = {"image_one_file": upload("astronaut"), "image_two_file": upload("astronaut")}
    assert api.linkface(COMPARE, fields).status_code == 200

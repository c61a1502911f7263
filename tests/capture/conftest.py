"""Fixtures for the liveness capture package: challenges, keys, small JPEGs, test photos."""

from __future__ import annotations

import base64
import importlib.metadata
import io
import json
import os
from pathlib import Path

import numpy as np
import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from PIL import Image

from faceportal_capture import liveness_pb2
from faceportal_capture.build import Challenge

ROOT = Path(__file__).resolve().parents[2]
KEY = bytes(range(32))
KEY_ID = "0123456789abcdef0123456789abcdef"


def tiny_jpeg(size: tuple[int, int] = (8, 8), color: tuple[int, int, int] = (200, 120, 40)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def make_capture(challenge_id: str, frames: int = 2, jpeg: bytes | None = None) -> liveness_pb2.Capture:
    jpeg = tiny_jpeg() if jpeg is None else jpeg
    capture = liveness_pb2.Capture(
        format_version=1,
        challenge_id=challenge_id,
        actions=["blink", "turn_left"],
        started_at_unix_ms=1_760_000_000_000,
    )
    for index in range(frames):
        capture.frames.add(jpeg=jpeg, timestamp_us=index * 66_667)
    return capture


def challenge_json(challenge_id: str | None = None, key: bytes | None = None, **extra: object) -> str:
    return json.dumps(
        {
            "challenge_id": challenge_id or os.urandom(16).hex(),
            "actions": ["blink", "turn_left"],
            "expires_at": "2099-01-01T00:00:00Z",
            "key": base64.b64encode(key or os.urandom(32)).decode(),
            **extra,
        }
    )


@pytest.fixture
def challenge() -> Challenge:
    return Challenge.from_json(challenge_json())


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    """The scikit-image astronaut photo (512x512 RGB), found through the installed package."""
    files = importlib.metadata.files("scikit-image") or []
    for entry in files:
        if str(entry).replace("\\", "/").endswith("skimage/data/astronaut.png"):
            with Image.open(Path(str(entry.locate()))) as image:
                return np.asarray(image.convert("RGB"))
    pytest.fail("scikit-image does not ship skimage/data/astronaut.png")


def raw_package(
    plaintext: bytes,
    key: bytes = KEY,
    key_id: bytes = KEY_ID.encode(),
    *,
    version: int = 1,
    magic: bytes = b"FPLV",
) -> bytes:
    """The layout written out independently of package.py, as the README describes it."""
    nonce = os.urandom(12)
    header = magic + bytes([version, len(key_id)]) + key_id + nonce
    return header + AESGCM(key).encrypt(nonce, plaintext, header)

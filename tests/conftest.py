"""Shared fixtures: one engine (real models) for the whole run, and package photos."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from faceengine import FaceEngine, decode
from faceengine.imageio import DecodedImage
from facelab.modelprep.prepare import ensure_models
from facelab.testdata import photo_bytes
from tests import storage


@pytest.fixture(autouse=True)
def isolated_storage(settings: Any, tmp_path: Path) -> Path:
    """Every test stores its files in a place of its own (see tests/storage.py)."""
    return storage.isolate(settings, tmp_path)


@pytest.fixture(scope="session", autouse=True)
def prepared_models() -> None:
    """Preparing the models is an install step (scripts/install); the suite makes sure of it
    once, cheaply when they are up to date, as a serving process never does."""
    ensure_models()


@pytest.fixture(scope="session")
def engine() -> FaceEngine:
    return FaceEngine(threads=1)


def photo(name: str) -> DecodedImage:
    return decode(photo_bytes(name))


def pixels(name: str) -> np.ndarray:
    return photo(name).pixels


def encode(array: np.ndarray, fmt: str = "JPEG", **options: object) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, fmt, **options)
    return buffer.getvalue()


@pytest.fixture(scope="session")
def django_db_modify_db_settings(
    django_db_modify_db_settings_parallel_suffix: None, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A file, not SQLite's shared in-memory database, for the test database: concurrent
    requests (live-server tests) then wait for the write lock instead of failing at once."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"].endswith("sqlite3"):
        database.setdefault("TEST", {})["NAME"] = str(tmp_path_factory.mktemp("db") / "test.sqlite3")

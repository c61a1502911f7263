"""Shared fixtures: one engine (real models) for the whole run, and package photos; the
markers (pyproject.toml) applied by directory and fixture, and checked for `models`."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime
import pytest
from PIL import Image

from faceengine import FaceEngine, decode
from faceengine.imageio import DecodedImage
from facelab.modelprep.prepare import ensure_models
from facelab.testdata import photo_bytes
from tests import storage

# Helper modules that assert, with pytest's detailed messages like the tests themselves.
pytest.register_assert_rewrite("tests.api.helpers", "tests.browser.helpers", "tests.images")

TESTS = Path(__file__).resolve().parent
# Marks every test of a folder carries.
FOLDER_MARKS = {"browser": ("browser",)}
# Fixtures that need what a mark names: the engine runs the face models.
FIXTURE_MARKS = {"engine": ("models",)}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Marks by folder and by fixture; the rest are explicit (`pytestmark` or a decorator)."""
    for item in items:
        folder = item.path.relative_to(TESTS).parts[0] if item.path.is_relative_to(TESTS) else ""
        names = set(FOLDER_MARKS.get(folder, ()))
        for fixture in getattr(item, "fixturenames", ()):
            names.update(FIXTURE_MARKS.get(fixture, ()))
        for name in sorted(names):
            item.add_marker(name)


@pytest.fixture(autouse=True)
def models_are_marked(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test that runs the face models in this process (directly, or through the API's
    engine) must be marked `models`, or the quick subset would run it without them: ONNX
    Runtime is watched while an unmarked test runs. (Session fixtures, such as preparing the
    models, are set up before this one and are not counted.)"""
    if request.node.get_closest_marker("models"):
        yield
        return
    runs: list[str] = []
    original = onnxruntime.InferenceSession.run

    def watched(session: Any, *args: Any, **kwargs: Any) -> Any:
        runs.append("run")
        return original(session, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(onnxruntime.InferenceSession, "run", watched)
        yield
    if runs:
        pytest.fail(f"{request.node.nodeid} ran the face models {len(runs)} times: mark it `models`")


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

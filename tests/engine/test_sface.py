"""SFace at run time: ArcFace alignment and unit embeddings that tell people apart."""

from __future__ import annotations

import itertools

import cv2
import numpy as np
import pytest
from PIL import Image

from faceengine import FaceEngine, alignment, sface
from faceengine.embedding import similarity
from faceengine.imageio import RGBImage
from faceengine.models import model_path
from faceengine.runtime import OnnxModel
from facelab import testdata
from facelab.modelprep.prepare import ensure_models
from tests.conftest import photo

# Different people below SFace's similarity at a 1e-3 false-accept rate on LFW (0.368,
# MODELS.md); the same face under small changes far above it.
DIFFERENT_PEOPLE_BELOW = 0.368
SAME_FACE_ABOVE = 0.9


@pytest.fixture(scope="module")
def model() -> OnnxModel:
    return OnnxModel(model_path(sface.MODEL_NAME, ensure_models()), threads=1)


def _pixels(name: str) -> RGBImage:
    with Image.open(testdata.photo_path(name)) as image:
        return np.asarray(image.convert("RGB"))


def _points(name: str) -> np.ndarray:
    return np.array(testdata.FIVE_POINTS[name], np.float32)


def _variants(name: str) -> list[RGBImage]:
    """One face as aligned, mirrored, from a 0.6x copy of the photo, and with its points moved."""
    pixels, points = _pixels(name), _points(name)
    smaller = np.asarray(cv2.resize(pixels, None, fx=0.6, fy=0.6, interpolation=cv2.INTER_AREA), np.uint8)
    jitter = np.random.default_rng(3).uniform(-2, 2, points.shape).astype(np.float32)
    chip = sface.align(pixels, points)
    return [chip, chip[:, ::-1], sface.align(smaller, points * 0.6), sface.align(pixels, points + jitter)]


def test_chips_are_112_pixels_on_the_arcface_template() -> None:
    # An image whose face points already sit on the template is cut out unchanged.
    image = np.random.default_rng(1).integers(0, 256, (140, 130, 3), dtype=np.uint8)
    chip = sface.align(image, alignment.ARCFACE_TEMPLATE.astype(np.float32))
    assert chip.shape == (112, 112, 3) and chip.dtype == np.uint8
    np.testing.assert_array_equal(chip, image[:112, :112])


def test_the_dlib_chip_is_unchanged_by_default() -> None:
    image = np.random.default_rng(2).integers(0, 256, (160, 160, 3), dtype=np.uint8)
    chip = alignment.align(image, alignment.TEMPLATE.astype(np.float32))
    assert chip.shape == (150, 150, 3)
    np.testing.assert_array_equal(chip, image[:150, :150])


@pytest.mark.models
def test_embeddings_are_unit_length_float32_rows(model: OnnxModel) -> None:
    chips = [sface.align(_pixels(name), _points(name)) for name in testdata.FIVE_POINTS]
    vectors = sface.embed(model, chips)
    assert vectors.shape == (len(chips), 128) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-6)


@pytest.mark.models
def test_more_chips_than_one_run_takes_give_the_same_rows(model: OnnxModel) -> None:
    chips = _variants("astronaut") + _variants("tom_hanks")  # 8 chips: two runs of MAX_BATCH
    assert len(chips) > sface.MAX_BATCH
    together = sface.embed(model, chips)
    one_by_one = np.concatenate([sface.embed(model, [chip]) for chip in chips])
    np.testing.assert_allclose(together, one_by_one, rtol=0, atol=1e-6)


def test_no_chips_give_no_rows(model: OnnxModel) -> None:
    assert sface.embed(model, []).shape == (0, 128)


def test_a_chip_of_another_size_is_refused(model: OnnxModel) -> None:
    with pytest.raises(ValueError, match="112x112"):
        sface.embed(model, [np.zeros((150, 150, 3), np.uint8)])


@pytest.mark.models
def test_the_same_face_is_far_closer_than_different_people(model: OnnxModel) -> None:
    people = list(testdata.FIVE_POINTS)
    variants = {name: sface.embed(model, _variants(name)) for name in people}
    for name in people:
        same = similarity(variants[name], variants[name])
        assert same.min() > SAME_FACE_ABOVE, name
    for a, b in itertools.combinations(people, 2):
        assert similarity(variants[a], variants[b]).max() < DIFFERENT_PEOPLE_BELOW, (a, b)


@pytest.mark.parametrize("name", list(testdata.FIVE_POINTS))
def test_the_pinned_five_points_are_where_the_engine_finds_them(engine: FaceEngine, name: str) -> None:
    (face,) = engine.analyze(photo(name), embed=False)
    found, pinned = face.landmarks.five_points(), _points(name)
    interocular = float(np.linalg.norm(pinned[0] - pinned[1]))
    assert np.linalg.norm(found - pinned, axis=1).max() < 0.05 * interocular

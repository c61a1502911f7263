"""Landmarks measured on a reduced copy of a large face's surroundings (FaceRegion)."""

from __future__ import annotations

import numpy as np
import pytest

from faceengine import FaceEngine, decode, embedding, landmarks, sface
from faceengine.detection import Detection
from faceengine.imageio import ANALYSIS_SIDE
from faceengine.landmarks import FaceRegion
from facelab.benchmark import jpeg_at


def test_a_small_face_is_measured_on_the_image_itself() -> None:
    image = np.zeros((480, 640, 3), np.uint8)
    region = FaceRegion.around(image, Detection((200.0, 100.0, 250.0, 250.0), np.zeros((6, 2)), 0.9))
    assert region.pixels is image and region.factor == 1


def test_a_region_maps_points_onto_the_pixels_that_hold_them() -> None:
    image = np.zeros((800, 1000, 3), np.uint8)
    image[401:405, 601:605] = 255  # a bright square centred on (602.5, 402.5), pixel centres
    region = FaceRegion.around(image, Detection((400.0, 200.0, 400.0, 400.0), np.zeros((6, 2)), 0.9))
    assert region.factor == 2
    u, v = region.to_region(np.array([[602.5, 402.5]]))[0]
    grey = region.pixels.sum(axis=2)
    assert np.unravel_index(np.argmax(grey), grey.shape) == (round(v), round(u))
    marks = landmarks.Landmarks(points=np.array([[u, v, 3.0]], np.float32), presence=1.0)
    assert region.to_image(marks).points[0] == pytest.approx([602.5, 402.5, 6.0])


def test_a_large_face_gives_the_landmarks_and_chip_of_the_full_resolution_crop(engine: FaceEngine) -> None:
    pixels = decode(jpeg_at("grace_hopper", (4000, 3000)), max_side=ANALYSIS_SIDE).pixels
    found = engine.detect(pixels)[0]
    region = FaceRegion.around(pixels, found)
    assert region.factor >= 2
    reduced = engine.landmarks(region, found)
    full = landmarks.locate(engine.mesh, pixels, found)
    difference = np.abs(reduced.five_points() - full.five_points()).max()
    assert difference < 0.02 * full.interocular
    chips = [engine.identity_chip(region, reduced), sface.align(pixels, full.five_points())]
    vectors = engine.embed(chips)
    # Two resamplings of one face: SFace moves about as much for the same photo re-encoded as
    # JPEG at quality 90 (0.9946 here), and each path measured 0.988-0.995 against a Lanczos
    # reference chip on the package photos.
    assert embedding.similarity(vectors[:1], vectors[1:])[0, 0] > 0.99

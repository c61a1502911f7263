"""Eye masking covers the eyes and nothing else."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from faceengine import FaceEngine, from_array, mask_eyes
from faceengine.landmarks import LEFT_EYE_RING, RIGHT_EYE_RING
from faceengine.masking import BAND_COLOUR, eye_band
from tests.conftest import pixels
from tests.images import band_mask


@pytest.mark.parametrize(
    ("name", "turn"), [("astronaut", 0), ("grace_hopper", 0), ("grace_hopper", 1), ("tom_hanks", 0)]
)
def test_the_band_covers_every_eye_landmark_and_leaves_the_rest(
    engine: FaceEngine, name: str, turn: int
) -> None:
    image = np.ascontiguousarray(np.rot90(pixels(name), k=-turn))
    face = engine.analyze(from_array(image), embed=False, auto_rotate=True)[0]
    masked = mask_eyes(image, [face.landmarks])

    eyes = np.round(face.landmarks.points[list(RIGHT_EYE_RING + LEFT_EYE_RING), :2]).astype(int)
    assert np.all(masked[eyes[:, 1], eyes[:, 0]] == BAND_COLOUR)

    covered = band_mask(image.shape, eye_band(face.landmarks))
    assert np.array_equal(masked[~covered], image[~covered])
    assert np.all(masked[covered] == BAND_COLOUR)
    # A band, not a blanket: well under a fifth of the face box.
    assert covered.sum() < 0.2 * face.area


def test_the_band_follows_a_tilted_face(engine: FaceEngine) -> None:
    image = pixels("grace_hopper")
    centre = (image.shape[1] / 2, image.shape[0] / 2)
    tilted = np.asarray(
        cv2.warpAffine(image, cv2.getRotationMatrix2D(centre, 25, 1.0), image.shape[1::-1]), np.uint8
    )
    face = engine.analyze(from_array(tilted), embed=False)[0]
    corners = eye_band(face.landmarks)
    along = corners[1] - corners[0]
    angle = np.degrees(np.arctan2(along[1], along[0]))
    assert angle == pytest.approx(-25, abs=5)  # counter-clockwise turn: the band rises to the right


def test_the_eyes_cannot_be_recovered_from_the_masked_image(engine: FaceEngine) -> None:
    image = pixels("grace_hopper")
    face = engine.analyze(from_array(image), embed=False)[0]
    masked = mask_eyes(image, [face.landmarks])
    covered = band_mask(image.shape, eye_band(face.landmarks))
    # One solid colour: no variation at all is left inside the band.
    assert masked[covered].std() == 0.0
    assert image[covered].std() > 10

"""Eye masking: an opaque band over both eyes, following the eye line.

The band is built in the face's own frame (along the line joining the eye centres and
across it), so a tilted face gets a tilted band. It spans every eye-contour point plus a
margin of a quarter of the inter-ocular distance along the line and a fifth across it,
and is at least 0.45 inter-ocular distances tall. It is filled with one solid colour:
nothing of the eyes survives, unlike blur or coarse pixelation, which can leak.
"""

from __future__ import annotations

import cv2
import numpy as np

from faceengine.imageio import RGBImage
from faceengine.landmarks import LEFT_EYE_RING, RIGHT_EYE_RING, Landmarks
from faceengine.runtime import FloatArray
from faceengine.stages import timed

MARGIN_ALONG = 0.25
MARGIN_ACROSS = 0.2
MIN_HEIGHT = 0.45
BAND_COLOUR = (0, 0, 0)


def eye_band(marks: Landmarks) -> FloatArray:
    """The band's four corners (4, 2) in the landmarks' pixel coordinates."""
    right, left = marks.right_eye, marks.left_eye
    distance = max(float(np.linalg.norm(left - right)), 1.0)
    along = (left - right) / distance
    across = np.array([-along[1], along[0]], np.float32)
    centre = (right + left) / 2
    eye_points = marks.points[list(RIGHT_EYE_RING + LEFT_EYE_RING), :2] - centre
    u, v = eye_points @ along, eye_points @ across
    u0, u1 = u.min() - MARGIN_ALONG * distance, u.max() + MARGIN_ALONG * distance
    v0, v1 = v.min() - MARGIN_ACROSS * distance, v.max() + MARGIN_ACROSS * distance
    if v1 - v0 < MIN_HEIGHT * distance:
        middle = (v0 + v1) / 2
        v0, v1 = middle - MIN_HEIGHT * distance / 2, middle + MIN_HEIGHT * distance / 2
    corners = [(u0, v0), (u1, v0), (u1, v1), (u0, v1)]
    return np.array([centre + a * along + b * across for a, b in corners], np.float32)


@timed("mask")
def mask_eyes(image: RGBImage, faces_landmarks: list[Landmarks]) -> RGBImage:
    """A copy of `image` with every given face's eyes covered."""
    masked = image.copy()
    for marks in faces_landmarks:
        polygon = np.round(eye_band(marks)).astype(np.int32)
        cv2.fillPoly(masked, [polygon], BAND_COLOUR, lineType=cv2.LINE_8)
    return masked

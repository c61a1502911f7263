"""A 0..100 quality score per face: is this face fit for comparison?

Five factors, each scaled to 0..1, combined as a weighted geometric mean so that one bad
factor (a blurred or tiny or profile face) pulls the score down whatever the others are:

- sharpness: variance of the Laplacian of the aligned grey chip (blur and heavy JPEG
  smoothing lower it); 1 from 400 up, 0 at 10, logarithmic between;
- size: inter-ocular distance in the original image; 1 from 40 px up, 0 at 8 px;
- pose: 1 when frontal, 0 at 45 degrees of yaw or 35 of pitch;
- detector confidence: BlazeFace's score, 0.5 (its floor) to 1;
- landmark confidence: FaceMesh's face-presence probability.

QUALITY_THRESHOLD is the score above which comparison is reliable; how it was chosen is
in docs/engine.md.
"""

from __future__ import annotations

import math

import cv2

from faceengine.imageio import RGBImage
from faceengine.landmarks import Pose

QUALITY_THRESHOLD = 40.0
WEIGHTS = {"sharpness": 0.3, "size": 0.25, "pose": 0.25, "detector": 0.1, "landmarks": 0.1}


def _ramp(value: float, low: float, high: float) -> float:
    return float(min(1.0, max(0.0, (value - low) / (high - low))))


def factors(
    chip: RGBImage, interocular: float, pose: Pose, detector: float, presence: float
) -> dict[str, float]:
    grey = cv2.cvtColor(chip, cv2.COLOR_RGB2GRAY)
    # Only the central face area: the chip's borders hold background and hair.
    laplacian = cv2.Laplacian(grey[30:120, 30:120], cv2.CV_32F)
    sharpness = float(laplacian.var())
    return {
        "sharpness": _ramp(math.log10(max(sharpness, 1e-3)), 1.0, math.log10(400)),
        "size": _ramp(interocular, 8, 40),
        "pose": max(0.0, 1.0 - max(abs(pose.yaw) / 45, abs(pose.pitch) / 35)),
        "detector": _ramp(detector, 0.5, 1.0),
        "landmarks": _ramp(presence, 0.0, 1.0),
    }


def score(values: dict[str, float]) -> float:
    """Weighted geometric mean on 0..100; a zero factor gives a small score, not zero."""
    total = sum(WEIGHTS[name] * math.log(max(value, 0.01)) for name, value in values.items())
    return round(100.0 * math.exp(total), 3)

"""Quarter-turn orientation: rotating images and mapping points back.

`orientation` follows the FaceID contract: the face's clockwise rotation in the image
(0, 90, 180, 270); rotating the image counter-clockwise by it makes the face upright.
"""

from __future__ import annotations

import math

import numpy as np

from faceengine.detection import LEFT_EYE, MOUTH, RIGHT_EYE, Detection
from faceengine.imageio import RGBImage
from faceengine.runtime import FloatArray

ORIENTATIONS = (0, 90, 180, 270)


def upright(image: RGBImage, orientation: int) -> RGBImage:
    """The image rotated counter-clockwise by `orientation` degrees."""
    return np.ascontiguousarray(np.rot90(image, k=orientation // 90))


def to_original(points: FloatArray, orientation: int, width: int, height: int) -> FloatArray:
    """Map (N, 2) points of `upright(image, orientation)` back to the original image,
    whose size is `width` x `height` (continuous pixel coordinates)."""
    x, y = points[:, 0], points[:, 1]
    if orientation == 90:
        x, y = width - y, x
    elif orientation == 180:
        x, y = width - x, height - y
    elif orientation == 270:
        x, y = y, height - x
    return np.stack([x, y], axis=1).astype(np.float32)


def detection_to_original(detection: Detection, orientation: int, width: int, height: int) -> Detection:
    x, y, w, h = detection.box
    corners = to_original(np.array([[x, y], [x + w, y + h]], np.float32), orientation, width, height)
    (x0, y0), (x1, y1) = corners.min(axis=0), corners.max(axis=0)
    keypoints = to_original(detection.keypoints, orientation, width, height)
    return Detection((float(x0), float(y0), float(x1 - x0), float(y1 - y0)), keypoints, detection.score)


def face_orientation(detection: Detection) -> int:
    """The quarter turn nearest to the face's tilt, read from its keypoints: the vector
    from the mouth to between the eyes points to the top of the head."""
    eyes = (detection.keypoints[RIGHT_EYE] + detection.keypoints[LEFT_EYE]) / 2
    up = eyes - detection.keypoints[MOUTH]
    # Clockwise angle of the head's top from the image's up direction (y grows downwards).
    angle = math.degrees(math.atan2(float(up[0]), float(-up[1]))) % 360
    return int(round(angle / 90) % 4) * 90

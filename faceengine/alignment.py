"""Alignment of a face to the chip an embedding network was trained on.

Each network compares faces on chips of its own alignment. A least-squares similarity
transform from five points (right eye centre, left eye centre, nose tip, right and left
mouth corners, as `Landmarks.five_points()` gives them) to the network's template makes
those chips from FaceMesh points: dlib's 150x150 template reproduces dlib's own chips;
SFace, like the ArcFace family, was trained on the 112x112 ArcFace template.
"""

from __future__ import annotations

import numpy as np

from faceengine.geometry import warp
from faceengine.imageio import RGBImage
from faceengine.runtime import FloatArray

CHIP_SIZE = 150
TEMPLATE = np.array([[45.8, 45.7], [100.2, 45.3], [72.8, 80.9], [50.7, 100.6], [98.4, 100.0]], np.float64)

ARCFACE_CHIP_SIZE = 112
ARCFACE_TEMPLATE = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]],
    np.float64,
)


def similarity_transform(source: FloatArray, target: FloatArray) -> FloatArray:
    """Least-squares rotation + uniform scale + translation (Umeyama) mapping source to target."""
    src = np.asarray(source, np.float64)
    dst = np.asarray(target, np.float64)
    src_mean, dst_mean = src.mean(axis=0), dst.mean(axis=0)
    src_c, dst_c = src - src_mean, dst - dst_mean
    covariance = dst_c.T @ src_c / len(src)
    u, singular, vt = np.linalg.svd(covariance)
    sign = np.diag([1.0, np.sign(np.linalg.det(u @ vt)) or 1.0])
    rotation = u @ sign @ vt
    scale = float(np.trace(np.diag(singular) @ sign)) / float(src_c.var(axis=0).sum())
    translation = dst_mean - scale * rotation @ src_mean
    return np.hstack([scale * rotation, translation[:, None]]).astype(np.float32)


def align(
    image: RGBImage, five_points: FloatArray, *, template: FloatArray = TEMPLATE, size: int = CHIP_SIZE
) -> RGBImage:
    """The size x size chip of the face whose five points are given (dlib's by default)."""
    matrix = similarity_transform(five_points, template)
    return warp(image, matrix, (size, size))

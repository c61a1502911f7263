"""SFace face embeddings (OpenCV Zoo, Apache-2.0): 112x112 ArcFace-aligned chips to 128-d.

The prepared graph (`modelprep/sface_onnx.py`, model `embedder_sface`) takes RGB chips with
raw 0..255 values, channels first, and normalises them itself. Faces are embedded once, as
seen: mirror averaging measured +0.001 true-accept rate for twice the cost. Compare the
unit embeddings by cosine (`embedding.similarity`); the calibration table is SFace's own.
"""

from __future__ import annotations

import numpy as np

from faceengine import alignment
from faceengine.imageio import RGBImage
from faceengine.runtime import FloatArray, OnnxModel

MODEL_NAME = "embedder_sface"  # the prepared file is <models dir>/embedder_sface.onnx
# Names the numbers this model gives: the calibration table and anything that keeps an
# embedding record it, so that a table or a template of another model is never mixed in.
# Change it whenever the prepared graph's outputs change (another source file, a converter
# change beyond float rounding).
MODEL_ID = "sface-2021dec-float32"
# The prepared graph's interface (modelprep/sface_onnx.py writes it).
CHIP_SIZE = alignment.ARCFACE_CHIP_SIZE
EMBEDDING_SIZE = 128
INPUT_NAME = "data"
OUTPUT_NAME = "fc1"
# Chips per network run. Measured on one thread: 12.9 ms per face in runs of 2 or 4, 13.5 one
# at a time, 14.5 in runs of 8 (the activations leave the cache); it also bounds the memory a
# group photo takes.
MAX_BATCH = 4


def align(image: RGBImage, five_points: FloatArray) -> RGBImage:
    """The 112x112 chip SFace compares, from `Landmarks.five_points()` in `image`'s pixels."""
    return alignment.align(
        image, five_points, template=alignment.ARCFACE_TEMPLATE, size=alignment.ARCFACE_CHIP_SIZE
    )


def to_batch(chips: list[RGBImage]) -> FloatArray:
    """The network's input: float32 [N, 3, 112, 112], RGB, 0..255."""
    for chip in chips:
        if chip.shape != (CHIP_SIZE, CHIP_SIZE, 3):
            raise ValueError(f"SFace takes {CHIP_SIZE}x{CHIP_SIZE} RGB chips, got shape {chip.shape}")
    return np.ascontiguousarray(np.stack(chips).transpose(0, 3, 1, 2), np.float32)


def embed(model: OnnxModel, chips: list[RGBImage]) -> FloatArray:
    """Unit-length 128-d float32 embeddings, one row per chip, in runs of up to MAX_BATCH."""
    if not chips:
        return np.zeros((0, EMBEDDING_SIZE), np.float32)
    runs = [
        model.run(to_batch(chips[start : start + MAX_BATCH]))[OUTPUT_NAME]
        for start in range(0, len(chips), MAX_BATCH)
    ]
    vectors = np.concatenate(runs).astype(np.float64)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.asarray(vectors / np.maximum(norms, 1e-12), np.float32)

"""Calibrated confidence: similarity -> [0, 1] such that the documented table holds.

A threshold t in 0.4 .. 0.9 accepts a different person with probability 10^-(10t-3).
The table (`calibration.json`, made by `manage.py calibrate_faces`) holds, for thresholds
0.40, 0.45, ..., 0.90, the similarity at which impostor pairs reach that false-accept
rate. Between knots the mapping is linear; below the first knot it falls linearly to 0 at
similarity -1, above the last it rises linearly to 1 at similarity 1 (a photo compared
with itself). The mapping is therefore monotonic and lies in [0, 1].
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from faceengine.runtime import FloatArray

TABLE_PATH = Path(__file__).with_name("calibration.json")
DOCUMENTED_THRESHOLDS = (0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
KNOT_THRESHOLDS = tuple(round(0.4 + 0.05 * i, 2) for i in range(11))


def documented_far(threshold: float) -> float:
    """The false-accept rate the contract promises at a confidence threshold."""
    return float(10.0 ** -(10.0 * threshold - 3.0))


@dataclass(frozen=True)
class Calibration:
    similarities: tuple[float, ...]  # increasing, one per knot threshold
    thresholds: tuple[float, ...]
    model: str = ""  # the embedding model whose scores the table was measured on

    def __post_init__(self) -> None:
        if len(self.similarities) != len(self.thresholds) or np.any(np.diff(self.similarities) <= 0):
            raise ValueError("calibration knots must be strictly increasing")

    def confidence(self, similarity: FloatArray) -> FloatArray:
        xs = np.array([-1.0, *self.similarities, 1.0])
        ys = np.array([0.0, *self.thresholds, 1.0])
        return np.asarray(np.interp(np.asarray(similarity, np.float64), xs, ys), np.float32)


def load_calibration(path: Path = TABLE_PATH) -> Calibration:
    table = json.loads(path.read_text())
    knots = table["knots"]
    return Calibration(
        similarities=tuple(float(k["similarity"]) for k in knots),
        thresholds=tuple(float(k["confidence"]) for k in knots),
        model=str(table.get("model", "")),
    )

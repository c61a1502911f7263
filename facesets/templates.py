"""A template as stored: the float32 little-endian bytes of a unit embedding."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

DTYPE = np.dtype("<f4")


def to_bytes(vector: np.ndarray) -> bytes:
    as32 = np.asarray(vector, DTYPE).ravel()
    if not np.all(np.isfinite(as32)):
        raise ValueError("a template must be finite")
    return as32.tobytes()


def from_bytes(data: bytes | memoryview) -> np.ndarray:
    return np.frombuffer(bytes(data), DTYPE)


def matrix(rows: Iterable[bytes | memoryview], dimension: int) -> np.ndarray:
    """Rows of templates as one (n, dimension) float32 matrix."""
    joined = b"".join(bytes(row) for row in rows)
    return np.frombuffer(joined, DTYPE).reshape(-1, dimension)

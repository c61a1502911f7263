"""Which search a set gets: the exact in-process matrix (facesets/exact.py) on every database,
or pgvector's HNSW index where PostgreSQL has the extension (facesets/pgvector.py), with the
exact path as the fallback. Both return candidates scored in float64 the same way."""

from __future__ import annotations

import numpy as np

from facesets import exact
from facesets.exact import Candidate
from facesets.models import FaceSet


def backend_name() -> str:
    """What /readyz reports: the search in use."""
    return "exact"


def search(face_set: FaceSet, query: np.ndarray, top: int) -> list[Candidate]:
    return exact.INDEX.search(face_set, query, top)

"""Which search a set gets: the exact in-process matrix (facesets/exact.py) on every database,
or pgvector's HNSW index where PostgreSQL has the extension and the set is large
(facesets/pgvector.py), with the exact path as the fallback. Both score their candidates in
float64 the same way (exact.rescored)."""

from __future__ import annotations

import numpy as np
from django.conf import settings

from facesets import exact, pgvector
from facesets.exact import Candidate
from facesets.models import FaceSet


def backend_name() -> str:
    """What /readyz reports: the search in use, and for which sets."""
    version = pgvector.installed_version()
    if version is None:
        return "exact"
    if not settings.FACEPORTAL_FACESET_PGVECTOR:
        off = "not searched (FACEPORTAL_FACESET_PGVECTOR)"
        return f"exact; pgvector {version}'s HNSW index kept up to date, {off}"
    smallest = settings.FACEPORTAL_FACESET_HNSW_MIN_FACES
    return f"pgvector {version} HNSW for sets of {smallest}+ faces, exact below"


def search(face_set: FaceSet, query: np.ndarray, top: int) -> list[Candidate]:
    if pgvector.serves(face_set, len(query)):
        found = pgvector.search(face_set, query, top)
        if found is not None:
            return found
    return exact.INDEX.search(face_set, query, top)

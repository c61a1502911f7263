"""Synthetic templates written through facesets.services as the API writes them, for the
search tests (tests/facesets/conftest.py has the set they go in)."""

from __future__ import annotations

import numpy as np

from facesets import services
from facesets.models import FaceSet

MODEL = "sface-2021dec-float32"
rng = np.random.default_rng(7)


def unit(count: int, dimension: int = 128) -> np.ndarray:
    vectors = rng.normal(size=(count, dimension)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def add(face_set: FaceSet, vector: np.ndarray, person_id: int | None = None) -> int:
    new = services.NewFace(template=vector, model=MODEL, person_id=person_id, photo=None, box=[])
    return services.face_add(face_set=face_set, face=new).pk


def fresh(face_set: FaceSet) -> FaceSet:
    return FaceSet.objects.get(pk=face_set.pk)

"""Exact 1:N search in process: numpy over a matrix of a set's templates, cached per worker.

A worker keeps, per set, the matrix of its templates with the set's `adds` and `deletes`
counters as they were when it was read (facesets/models.py). A search first reads the set's
row (the view has just done so); while both counters match, the cached matrix is current.
When only `adds` moved, the faces with a larger id are appended: ids grow in commit order
within a set (facesets/services.py), so those are exactly the faces added since. When a face
went, the matrix is read again. So a face added on any worker is found by the next search
on every worker, at the cost of one indexed query for the new rows.

Ranking is a float32 matrix-vector product (memory-bound: 512 MB of templates per 1M faces
of 128 dimensions); the best candidates are then scored again in float64
(faceengine.embedding.similarity), so a score is the same number on every CPU and the same
as compare's for the same two faces. Ties are broken by face id.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from django.conf import settings

from faceengine.embedding import similarity
from facesets.models import EnrolledFace, FaceSet
from facesets.templates import DTYPE, matrix

# Candidates scored again in float64 beyond the ones asked for: float32 rounding moves a
# cosine by ~1e-7, so only near-ties can change places, and they are among these.
RESCORE_MARGIN = 32
READ_CHUNK = 20_000


@dataclass(frozen=True)
class Candidate:
    face_id: int
    person_id: int
    created: int  # unix seconds
    cosine: float  # float64, faceengine.embedding.similarity


class SetMatrix:
    """One set's templates in one worker: rows [0, size) of `vectors` are in use."""

    def __init__(self, dimension: int) -> None:
        self.dimension = dimension
        self.adds = -1
        self.deletes = -1
        self.size = 0
        self.last_id = 0
        self.vectors = np.empty((0, dimension), DTYPE)
        self.ids = np.empty(0, np.int64)
        self.persons = np.empty(0, np.int64)
        self.created = np.empty(0, np.int64)

    def reserve(self, capacity: int) -> None:
        """Room for `capacity` faces: a set read whole is allocated once, at its size, not
        doubled chunk by chunk (which left up to twice the memory a 1M-face set needs)."""
        if capacity > len(self.ids):
            self.vectors = _grown(self.vectors, capacity)
            self.ids = _grown(self.ids, capacity)
            self.persons = _grown(self.persons, capacity)
            self.created = _grown(self.created, capacity)

    def append(self, ids: list[int], persons: list[int], created: list[int], vectors: np.ndarray) -> None:
        count = len(ids)
        needed = self.size + count
        if needed > len(self.ids):
            self.reserve(max(needed, 2 * len(self.ids), 1024))
        end = self.size + count
        self.vectors[self.size : end] = vectors
        self.ids[self.size : end] = ids
        self.persons[self.size : end] = persons
        self.created[self.size : end] = created
        self.size = end
        if count:
            self.last_id = ids[-1]

    def search(self, query: np.ndarray, top: int) -> list[Candidate]:
        if self.size == 0:
            return []
        scores = self.vectors[: self.size] @ np.asarray(query, DTYPE)
        wanted = min(self.size, top + RESCORE_MARGIN)
        whole = wanted == self.size
        picked = np.arange(self.size) if whole else np.argpartition(-scores, wanted - 1)[:wanted]
        return rescored(
            query,
            ids=self.ids[picked],
            persons=self.persons[picked],
            created=self.created[picked],
            vectors=self.vectors[picked],
            top=top,
        )

    @property
    def nbytes(self) -> int:
        return self.vectors.nbytes + self.ids.nbytes + self.persons.nbytes + self.created.nbytes


def rescored(
    query: np.ndarray,
    *,
    ids: np.ndarray,
    persons: np.ndarray,
    created: np.ndarray,
    vectors: np.ndarray,
    top: int,
) -> list[Candidate]:
    """Candidates scored in float64 (faceengine.embedding.similarity) and ranked by score,
    ties by face id: the one ranking of every search path (facesets/pgvector.py too)."""
    if len(ids) == 0:
        return []
    cosines = similarity(query[None, :], vectors)[0]
    order = np.lexsort((ids, -cosines))[:top]
    return [
        Candidate(
            face_id=int(ids[i]),
            person_id=int(persons[i]),
            created=int(created[i]),
            cosine=float(cosines[i]),
        )
        for i in order
    ]


def _grown(array: np.ndarray, capacity: int) -> np.ndarray:
    bigger = np.empty((capacity, *array.shape[1:]), array.dtype)
    bigger[: len(array)] = array
    return bigger


class ExactIndex:
    """The worker's cache of set matrices, least recently searched evicted first once the
    cached faces pass FACEPORTAL_FACESET_CACHE_FACES."""

    def __init__(self) -> None:
        # By id and creation time: a database restored or flushed can give a new set an old id.
        self._sets: OrderedDict[tuple[int, float], SetMatrix] = OrderedDict()
        self._lock = threading.Lock()

    def search(self, face_set: FaceSet, query: np.ndarray, top: int) -> list[Candidate]:
        with self._lock:  # one refresh at a time; the product itself is short
            current = self._current(face_set, len(query))
            return current.search(query, top)

    def _current(self, face_set: FaceSet, dimension: int) -> SetMatrix:
        key = (face_set.pk, face_set.created_at.timestamp())
        cached = self._sets.pop(key, None)
        if cached is None or cached.deletes != face_set.deletes or cached.dimension != dimension:
            cached = SetMatrix(dimension)
            # The faces added before the first chunk is read, and a few more for adds to come.
            cached.reserve(face_set.face_count + 1024)
        if cached.adds != face_set.adds or cached.deletes != face_set.deletes:
            # The counters first: a face committed after this read is read now or next time.
            adds, deletes = face_set.adds, face_set.deletes
            _read_faces(face_set, cached)
            cached.adds, cached.deletes = adds, deletes
        self._sets[key] = cached
        self._evict()
        return cached

    def _evict(self) -> None:
        budget = settings.FACEPORTAL_FACESET_CACHE_FACES
        while len(self._sets) > 1 and sum(entry.size for entry in self._sets.values()) > budget:
            self._sets.popitem(last=False)

    def cached_bytes(self) -> int:
        return sum(entry.nbytes for entry in self._sets.values())


def _read_faces(face_set: FaceSet, into: SetMatrix) -> None:
    rows = (
        EnrolledFace.objects.filter(face_set_id=face_set.pk, id__gt=into.last_id)
        .order_by("id")
        .values_list("id", "person_id", "created_at", "template")
    )
    last = into.last_id
    while True:
        chunk = list(rows.filter(id__gt=last)[:READ_CHUNK])
        if not chunk:
            return
        ids = [row[0] for row in chunk]
        into.append(
            ids,
            [row[1] for row in chunk],
            [int(row[2].timestamp()) for row in chunk],
            matrix((row[3] for row in chunk), into.dimension),
        )
        last = ids[-1]


INDEX = ExactIndex()

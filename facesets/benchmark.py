"""Search latency of large face sets (benchmark_search): figures, never assertions.

A set is filled with N synthetic templates written straight into the table, in batches (an
API add per face would take hours at 1M and time the API, not the search), then searched by
each path the database offers: the exact matrix (facesets/exact.py) and, on PostgreSQL with
pgvector, the HNSW index (facesets/pgvector.py) at each hnsw.ef_search asked for. HNSW's
recall@10 is measured against the exact path's answers to the same queries.

Templates are unit vectors drawn from a Gaussian: isotropic by default (the worst case for an
approximate index: no structure to follow), or with the mean and covariance of real
embeddings (--like, an .npz that evaluate_search --embeddings wrote), which is closer to how
faces spread, though without the clusters real identities make. Half the queries are a
template of the set moved as another photo of the same person moves it (cosine about 0.7);
half are new people.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from django.db import connection, transaction
from django.db.models import F
from django.test.utils import override_settings
from django.utils import timezone

from facesets import pgvector
from facesets.exact import Candidate, ExactIndex
from facesets.models import EnrolledFace, FaceSet
from facesets.pgvector import DIMENSION
from facesets.templates import DTYPE, matrix

BATCH = 5_000
MATED_COSINE = 0.7


class Templates:
    """Unit vectors from N(mean, cov): isotropic, or the Gaussian of real embeddings."""

    def __init__(self, dimension: int, seed: int, like: Path | None = None) -> None:
        self.rng = np.random.default_rng(seed)
        self.mean: np.ndarray = np.zeros(dimension)
        self.factor: np.ndarray = np.eye(dimension)
        if like is not None:
            with np.load(like) as saved:
                vectors = np.asarray(saved["vectors"], np.float64)
            vectors = vectors[np.isfinite(vectors).all(axis=1) & (np.abs(vectors).sum(axis=1) > 0)]
            self.mean = vectors.mean(axis=0)
            self.factor = np.linalg.cholesky(np.cov(vectors, rowvar=False) + 1e-9 * np.eye(dimension))

    def draw(self, count: int) -> np.ndarray:
        raw = self.mean + self.rng.standard_normal((count, len(self.mean))) @ self.factor.T
        return (raw / np.linalg.norm(raw, axis=1, keepdims=True)).astype(DTYPE)

    def same_person(self, templates: np.ndarray) -> np.ndarray:
        """Each template moved to about MATED_COSINE with itself, towards a random direction."""
        other = self.draw(len(templates)).astype(np.float64)
        other -= (other * templates).sum(axis=1, keepdims=True) * templates
        other /= np.linalg.norm(other, axis=1, keepdims=True)
        moved = MATED_COSINE * templates + np.sqrt(1 - MATED_COSINE**2) * other
        return moved.astype(DTYPE)


def fill(face_set: FaceSet, templates: Templates, count: int, model: str) -> float:
    """`count` faces more in the set, each its own person; the seconds taken."""
    start = time.perf_counter()
    # The set as it is now: an earlier fill moved its counters in the database, not in `face_set`.
    first_person = FaceSet.objects.get(pk=face_set.pk).next_person_id
    created = timezone.now()
    for done in range(0, count, BATCH):
        vectors = templates.draw(min(BATCH, count - done))
        with transaction.atomic():
            EnrolledFace.objects.bulk_create(
                EnrolledFace(
                    face_set=face_set,
                    person_id=first_person + done + n,
                    template=vector.tobytes(),
                    model=model,
                    created_at=created,
                )
                for n, vector in enumerate(vectors)
            )
    FaceSet.objects.filter(pk=face_set.pk).update(
        adds=F("adds") + count, face_count=F("face_count") + count, next_person_id=F("next_person_id") + count
    )
    return time.perf_counter() - start


@dataclass
class Timed:
    path: str
    samples_ms: list[float] = field(default_factory=list)
    answers: list[list[int]] = field(default_factory=list)

    def percentile(self, level: float) -> float:
        return float(np.percentile(self.samples_ms, level))


def timed(path: str, search: Callable[[np.ndarray], list[Candidate] | None], queries: np.ndarray) -> Timed:
    search(queries[0])  # warm-up: the exact path reads its matrix, the index its first pages
    result = Timed(path)
    for query in queries:
        start = time.perf_counter()
        found = search(query)
        result.samples_ms.append((time.perf_counter() - start) * 1000)
        result.answers.append([] if found is None else [candidate.face_id for candidate in found])
    return result


def recall(approximate: Timed, truth: Timed) -> float:
    """recall@top: the share of the exact path's answers that the index gave too."""
    hits = sum(len(set(a) & set(t)) for a, t in zip(approximate.answers, truth.answers, strict=True))
    return hits / max(1, sum(len(t) for t in truth.answers))


def mated_found(approximate: Timed, truth: Timed, mated: int) -> float:
    """The share of the first `mated` queries (another photo of an enrolled person) whose exact
    best match, the person searched for, the index put first too: what an identification
    needs, while recall@10 also counts the nine strangers after them."""
    pairs = list(zip(approximate.answers, truth.answers, strict=True))[:mated]
    return sum(bool(a) and bool(t) and a[0] == t[0] for a, t in pairs) / max(1, mated)


@dataclass(frozen=True)
class ExactRun:
    timed: Timed
    cold_read_s: float  # the first search's read of the set into the worker's matrix
    matrix_mb: float  # the worker's cached matrix
    index: ExactIndex  # held, so that the worker's memory can be read with the matrix in it


def run_exact(face_set: FaceSet, queries: np.ndarray, top: int) -> ExactRun:
    index = ExactIndex()
    current = FaceSet.objects.get(pk=face_set.pk)
    start = time.perf_counter()
    index.search(current, queries[0], top)
    cold = time.perf_counter() - start
    result = timed("exact", lambda query: index.search(current, query, top), queries)
    return ExactRun(result, cold, index.cached_bytes() / 2**20, index)


def run_hnsw(face_set: FaceSet, queries: np.ndarray, top: int, ef_search: int) -> Timed:
    current = FaceSet.objects.get(pk=face_set.pk)
    with override_settings(FACEPORTAL_FACESET_HNSW_EF_SEARCH=ef_search):
        return timed(
            f"HNSW ef_search={ef_search}", lambda query: pgvector.search(current, query, top), queries
        )


def drop_index() -> None:
    """Before a bulk load: one index build after it is far faster than an insert per row."""
    with connection.cursor() as cursor:
        cursor.execute(f"DROP INDEX IF EXISTS {pgvector.INDEX}")


def build_index(m: int, ef_construction: int) -> float:
    """The HNSW index built over the rows there (the migration's with its m and
    ef_construction); the seconds taken."""
    start = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '4GB'")  # the graph built in memory
        cursor.execute(pgvector.index_sql(m, ef_construction))
    return time.perf_counter() - start


def sizes_mb() -> dict[str, float]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_total_relation_size(%s), pg_relation_size(%s)", [pgvector.TABLE, pgvector.INDEX]
        )
        table, index = cursor.fetchone()
    return {"table_with_indexes": table / 2**20, "hnsw_index": index / 2**20}


def mated_count(count: int) -> int:
    return count - count // 2


def queries_for(templates: Templates, face_set: FaceSet, count: int) -> np.ndarray:
    """mated_count(count) searches by people of the set (their templates read back), then new people."""
    ids = list(EnrolledFace.objects.filter(face_set=face_set).values_list("id", flat=True))
    picks = templates.rng.choice(ids, size=mated_count(count), replace=len(ids) < count).tolist()
    stored = dict(EnrolledFace.objects.filter(pk__in=picks).values_list("id", "template"))
    enrolled = matrix((stored[pick] for pick in picks), DIMENSION)
    return np.concatenate([templates.same_person(enrolled), templates.draw(count // 2)])

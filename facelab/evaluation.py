"""Accuracy measurement over image files: embeddings in parallel, pair metrics.

Used by `manage.py evaluate_faces` and `manage.py calibrate_faces`. Each worker process
holds its own engine with one thread per model, so all cores are busy without the
sessions fighting over them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from faceengine import sface
from faceengine.calibration import DOCUMENTED_THRESHOLDS, Calibration
from faceengine.embedding import similarity
from faceengine.engine import FaceEngine
from faceengine.errors import EngineError
from faceengine.imageio import ANALYSIS_SIDE, decode
from faceengine.models import model_path
from faceengine.runtime import FloatArray
from facelab.modelprep.prepare import ensure_models
from facelab.modelprep.sources import sha256_of

FAR_LEVELS = (1e-1, 1e-2, 1e-3)

_worker_engine: FaceEngine | None = None


def embedder_model_id() -> str:
    """The embedding model and its prepared file's digest: a cache made with another model
    (or another conversion of it) is never reused."""
    directory = ensure_models()
    return f"{sface.MODEL_ID}:{sha256_of(model_path(sface.MODEL_NAME, directory))[:16]}"


def _init_worker() -> None:
    global _worker_engine
    _worker_engine = FaceEngine(threads=1, calibrated=False)


def _embed_file(path: str) -> FloatArray | None:
    """The largest face's embedding, or None when the file has no usable face."""
    assert _worker_engine is not None
    try:
        image = decode(Path(path).read_bytes(), max_side=ANALYSIS_SIDE)
        faces = _worker_engine.analyze(image, embed=True)
    except (EngineError, OSError):
        return None
    return faces[0].embedding if faces else None


def embed_files(
    paths: Sequence[str],
    *,
    processes: int | None = None,
    progress: Callable[[Iterable[FloatArray | None], int], Iterable[FloatArray | None]] | None = None,
) -> list[FloatArray | None]:
    """Embeddings in the order of `paths`, computed on all cores."""
    ensure_models()  # once, here, not racing in every worker
    workers = processes or os.cpu_count() or 1
    with ProcessPoolExecutor(max_workers=workers, initializer=_init_worker) as pool:
        results: Iterable[FloatArray | None] = pool.map(_embed_file, paths, chunksize=16)
        if progress:
            results = progress(results, len(paths))
        return list(results)


def embed_files_cached(
    paths: Sequence[str],
    cache: Path | None,
    *,
    model_id: str,
    processes: int | None = None,
    progress: Callable[[Iterable[FloatArray | None], int], Iterable[FloatArray | None]] | None = None,
) -> list[FloatArray | None]:
    """`embed_files`, kept in `cache` (.npz) for the next run over the same files with the
    same model: calibrating and evaluating read one set many times, embedding it once."""
    if cache is not None and cache.is_file():
        with np.load(cache, allow_pickle=False) as stored:
            if str(stored["model_id"]) == model_id and list(stored["paths"]) == list(paths):
                found = stored["found"]
                return [vector if ok else None for vector, ok in zip(stored["vectors"], found, strict=True)]
    vectors = embed_files(paths, processes=processes, progress=progress)
    if cache is not None:
        width = next((len(v) for v in vectors if v is not None), 0)
        np.savez(
            cache,
            model_id=np.array(model_id),
            paths=np.array(list(paths)),
            vectors=np.stack([v if v is not None else np.zeros(width, np.float32) for v in vectors]),
            found=np.array([v is not None for v in vectors]),
        )
    return vectors


@dataclass(frozen=True)
class PairReport:
    pairs: int
    failed: int
    accuracy: float
    best_threshold: float
    tar_at_far: dict[str, float]
    confidence_far: dict[str, float]
    confidence_tar: dict[str, float]  # same-person pairs accepted at each documented threshold
    genuine: int
    impostor: int

    def as_json(self) -> dict[str, object]:
        return {
            "pairs": self.pairs,
            "failed": self.failed,
            "accuracy": round(self.accuracy, 5),
            "tar_at_far": {k: round(v, 5) for k, v in self.tar_at_far.items()},
            "confidence_far": {k: v for k, v in self.confidence_far.items()},
            "confidence_tar": {k: round(v, 5) for k, v in self.confidence_tar.items()},
        }


def best_accuracy(genuine: FloatArray, impostor: FloatArray) -> tuple[float, float]:
    """Highest accuracy over all thresholds (accept when score >= threshold), and that threshold."""
    scores = np.concatenate([genuine, impostor])
    labels = np.concatenate([np.ones(len(genuine)), np.zeros(len(impostor))])
    order = np.argsort(-scores, kind="stable")
    scores, labels = scores[order], labels[order]
    # Accepting the top i scores: correct = genuine among them + impostors outside them.
    accepted_genuine = np.concatenate([[0], np.cumsum(labels)])
    accepted_impostor = np.concatenate([[0], np.cumsum(1 - labels)])
    correct = accepted_genuine + (len(impostor) - accepted_impostor)
    # Only cut between distinct scores.
    valid = np.concatenate([[True], scores[:-1] != scores[1:], [True]])
    correct = np.where(valid, correct, -1)
    best = int(np.argmax(correct))
    threshold = float(scores[best - 1]) if best > 0 else float(scores[0]) + 1e-6
    return float(correct[best] / len(scores)), threshold


def tar_at_far(genuine: FloatArray, impostor: FloatArray, far: float) -> float:
    """Share of genuine pairs accepted at the strictest threshold whose measured
    false-accept rate does not exceed `far` (accept when score > threshold)."""
    allowed = int(np.floor(far * len(impostor)))
    ranked = np.sort(impostor)[::-1]
    threshold = ranked[allowed] if allowed < len(ranked) else -np.inf
    return float(np.mean(genuine > threshold)) if len(genuine) else 0.0


def pair_report(
    similarities: FloatArray, same: np.ndarray, failed: np.ndarray, calibration: Calibration
) -> PairReport:
    """Metrics over pairs; a pair with a face not found counts as rejected (score -1)."""
    scores = np.where(failed, -1.0, similarities)
    genuine, impostor = scores[same], scores[~same]
    accuracy, threshold = best_accuracy(genuine, impostor)
    confidences = calibration.confidence(impostor)
    genuine_confidences = calibration.confidence(genuine)
    return PairReport(
        pairs=len(scores),
        failed=int(failed.sum()),
        accuracy=accuracy,
        best_threshold=threshold,
        tar_at_far={
            f"{far:.0e}".replace("e-0", "e-"): tar_at_far(genuine, impostor, far) for far in FAR_LEVELS
        },
        confidence_far={
            str(t): float(np.mean(confidences >= t)) if len(impostor) else 0.0 for t in DOCUMENTED_THRESHOLDS
        },
        confidence_tar={
            str(t): float(np.mean(genuine_confidences >= t)) if len(genuine) else 0.0
            for t in DOCUMENTED_THRESHOLDS
        },
        genuine=len(genuine),
        impostor=len(impostor),
    )


def pair_similarities(
    embeddings: dict[str, FloatArray | None], pairs: Sequence[tuple[str, str]]
) -> tuple[FloatArray, np.ndarray]:
    """Similarity per pair and whether the pair failed (a face missing on either side)."""
    values = np.full(len(pairs), -1.0, np.float32)
    failed = np.zeros(len(pairs), bool)
    for i, (a, b) in enumerate(pairs):
        ea, eb = embeddings.get(a), embeddings.get(b)
        if ea is None or eb is None:
            failed[i] = True
        else:
            values[i] = similarity(ea, eb)[0, 0]
    return values, failed

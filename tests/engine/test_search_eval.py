"""The identification protocol of evaluate_search (facelab/search_eval.py) on made-up
embeddings whose right answers are known."""

from __future__ import annotations

import numpy as np

from faceengine.calibration import load_calibration
from faceengine.runtime import FloatArray
from facelab.search_eval import evaluate

rng = np.random.default_rng(3)


def around(centre: np.ndarray, spread: float) -> np.ndarray:
    vector = centre + spread * rng.normal(size=centre.shape)
    return (vector / np.linalg.norm(vector)).astype(np.float32)


def test_people_far_apart_are_all_found_and_nobody_passes_for_another() -> None:
    centres = rng.normal(size=(20, 128))
    identities: list[str] = []
    vectors: list[FloatArray | None] = []
    for number, centre in enumerate(centres):
        for _ in range(3 if number < 15 else 1):
            identities.append(f"p{number}")
            vectors.append(around(centre, 0.02))
    identities.append("faceless")
    vectors.append(None)
    report = evaluate(identities, vectors, load_calibration())
    # 15 people x 2 other photos searched mated; all 50 photos searched with their person out.
    assert (report.enrolled, report.mated, report.non_mated, report.failed) == (20, 30, 50, 1)
    assert report.rank1 == 1.0 and report.tpir["0.9"] == 1.0
    assert report.fpir["0.7"] == 0.0
    # 19 others at a 1/10 chance each: the promise says nothing useful at 0.4.
    assert report.promised_fpir["0.4"] == 1.0
    assert report.promised_fpir["0.8"] == round(19 * 1e-5, 6)


def test_a_twin_counts_as_a_false_positive_and_can_take_rank_1() -> None:
    centre = rng.normal(size=128)
    vectors: list[FloatArray | None] = [around(centre, 0.01) for _ in range(3)]
    report = evaluate(["a", "a", "twin"], vectors, load_calibration())
    assert (report.mated, report.non_mated) == (1, 3)
    assert report.fpir["0.9"] == 1.0  # every photo passes for the other person
    assert report.rank1 in (0.0, 1.0)

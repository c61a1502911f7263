"""The accuracy and calibration arithmetic, on numbers whose answer is known."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest

from faceengine.calibration import Calibration, documented_far
from facelab import calibration_fit, evaluation
from facelab.evaluation import best_accuracy, pair_report, tar_at_far


def test_best_accuracy_finds_the_separating_threshold() -> None:
    genuine = np.array([0.9, 0.8, 0.7, 0.4])
    impostor = np.array([0.1, 0.2, 0.3, 0.75])
    accuracy, threshold = best_accuracy(genuine, impostor)
    # Accepting from 0.4 up takes every genuine pair and one impostor: 7 of 8 right.
    assert accuracy == pytest.approx(7 / 8)
    assert threshold == pytest.approx(0.4)


def test_tar_at_far_uses_the_strictest_allowed_threshold() -> None:
    impostor = np.arange(1000) / 1000  # 0.000 .. 0.999
    genuine = np.array([0.9985, 0.9975, 0.5])
    # 1e-3 allows one impostor above the threshold: threshold = 0.998.
    assert tar_at_far(genuine, impostor, 1e-3) == pytest.approx(1 / 3)
    assert tar_at_far(genuine, impostor, 1e-2) == pytest.approx(2 / 3)


@pytest.mark.slow
def test_the_fit_reproduces_the_rates_on_a_fresh_sample() -> None:
    rng = np.random.default_rng(0)
    fit = rng.normal(0.0, 0.1, 3_000_000).astype(np.float32)
    check = rng.normal(0.0, 0.1, 3_000_000).astype(np.float32)
    knots = calibration_fit.fit_knots(fit)
    assert all(b.similarity > a.similarity for a, b in pairwise(knots))
    for row in calibration_fit.held_out_check(check, knots):
        if row["measurable"]:
            assert 1 / 3 <= row["ratio"] <= 3, row
    extrapolated = [knot for knot in knots if not knot.observed]
    assert extrapolated and all(knot.expected_count < calibration_fit.MIN_OBSERVED for knot in extrapolated)


def test_too_few_impostor_pairs_cannot_be_fitted() -> None:
    with pytest.raises(ValueError, match="too few"):
        calibration_fit.fit_knots(np.linspace(0, 1, 500, dtype=np.float32))


def test_impostor_and_genuine_pairs_are_split_by_identity() -> None:
    vectors = np.eye(4, dtype=np.float32)
    identities = ["a", "a", "b", "c"]
    assert len(calibration_fit.impostor_scores(vectors, identities)) == 5  # 6 pairs less the a-a pair
    assert len(calibration_fit.genuine_scores(vectors, identities)) == 1


def test_a_failed_pair_counts_as_rejected() -> None:
    calibration = Calibration(
        similarities=tuple(np.linspace(0.5, 0.9, 11)), thresholds=tuple(np.linspace(0.4, 0.9, 11))
    )
    report = pair_report(
        np.array([0.95, 0.95, 0.1]),
        np.array([True, True, False]),
        np.array([False, True, False]),
        calibration,
    )
    assert report.failed == 1
    assert report.accuracy == pytest.approx(2 / 3)
    assert set(report.confidence_far) == {"0.4", "0.5", "0.6", "0.7", "0.8", "0.9"}


def test_documented_rates() -> None:
    assert documented_far(0.4) == pytest.approx(1e-1)
    assert documented_far(0.9) == pytest.approx(1e-6)


def test_people_with_several_photos_are_told_apart() -> None:
    several = calibration_fit.with_several_photos(["a", "b", "a", "c", "c", "c"])
    assert several.tolist() == [True, False, True, True, True, True]


def test_the_stricter_fit_takes_the_higher_similarity_at_each_knot() -> None:
    rng = np.random.default_rng(1)
    loose = calibration_fit.fit_knots(rng.normal(0.0, 0.1, 200_000))
    strict = calibration_fit.fit_knots(rng.normal(0.05, 0.1, 200_000))
    combined = calibration_fit.stricter_knots(loose, strict)
    for a, b, both in zip(loose, strict, combined, strict=True):
        assert both.similarity == max(a.similarity, b.similarity)
    assert all(y.similarity > x.similarity for x, y in pairwise(combined))


def test_the_rate_interval_covers_the_measured_rate() -> None:
    low, high = calibration_fit.rate_interval(10, 1_000_000)
    assert low < 1e-5 < high
    assert (low, high) == pytest.approx((4.8e-6, 1.84e-5), rel=0.02)  # Clopper-Pearson, 95%
    assert calibration_fit.rate_interval(0, 1000)[0] == 0.0
    assert calibration_fit.rate_interval(0, 1000)[1] == pytest.approx(3.7e-3, rel=0.01)


def test_a_check_within_a_factor_of_two_is_flagged_so() -> None:
    # An exponential tail: log10(rate) is a straight line in the score, as the fit assumes.
    rng = np.random.default_rng(3)
    knots = calibration_fit.fit_knots(rng.exponential(0.05, 2_000_000))
    rows = calibration_fit.held_out_check(rng.exponential(0.05, 2_000_000), knots)
    measurable = [row for row in rows if row["measurable"]]
    assert len(measurable) == 5 and all(row["within_factor_2"] for row in measurable)
    # Scores 0.0693 higher: e^(0.0693 / 0.05) = 4 times the target rate at every threshold.
    shifted = calibration_fit.held_out_check(rng.exponential(0.05, 2_000_000) + 0.0693, knots)
    assert shifted[0]["ratio"] == pytest.approx(4.0, rel=0.02)
    assert not any(row["within_factor_2"] for row in shifted if row["measurable"])


def test_embeddings_are_cached_for_the_same_files_and_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[list[str]] = []

    # The cache, not the model, is under test here.
    def fake_embed(paths: list[str], **_options: object) -> list[np.ndarray | None]:
        calls.append(list(paths))
        return [np.full(4, i, np.float32) if i % 2 == 0 else None for i in range(len(paths))]

    monkeypatch.setattr(evaluation, "embed_files", fake_embed)
    cache = tmp_path / "embeddings.npz"
    first = evaluation.embed_files_cached(["a", "b", "c"], cache, model_id="m1")
    again = evaluation.embed_files_cached(["a", "b", "c"], cache, model_id="m1")
    assert len(calls) == 1
    assert [v is None for v in again] == [False, True, False]
    kept, reread = first[2], again[2]
    assert kept is not None and reread is not None and np.array_equal(kept, reread)
    evaluation.embed_files_cached(["a", "b", "c"], cache, model_id="m2")
    evaluation.embed_files_cached(["a", "b"], cache, model_id="m2")
    assert len(calls) == 3

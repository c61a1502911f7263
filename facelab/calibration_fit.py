"""Fitting the confidence table from measured different-person (impostor) scores.

The people of a labelled image set are split in two by a hash of their name: the table
is fitted on one half's impostor pairs and checked on the other half's, so the check sees
people the fit never saw. Two populations of impostor pairs are told apart, because they
score differently: all pairs of the set (mostly people with one photo), and the pairs
among people with several photos (in LFW, the often-photographed: their impostor pairs
score higher, and they are the population an evaluation of same-person pairs draws from).
The table can be fitted on either, or on both at once, taking at each knot the stricter
similarity, so that the promise holds for each population.

Where a target rate leaves at least QUANTILE_FROM impostor pairs above the threshold, the
threshold is read from the data (an order statistic); below that, from a straight line fitted
to the tail of the impostor distribution (log10 rate against similarity, from a rate of 1e-3
down to the last rate with MIN_OBSERVED pairs), which smooths the few highest scores within
the observed range and extends beyond it. Impostor tails fall faster than that line, so the
extrapolated thresholds are conservative: the real rate there is at most the target.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from faceengine.calibration import DOCUMENTED_THRESHOLDS, KNOT_THRESHOLDS, documented_far
from faceengine.runtime import FloatArray

MIN_OBSERVED = 10  # impostor pairs above a threshold for it to lie in the observed range
# Fewer pairs than this above a threshold, and its knot comes from the tail line rather than
# from one order statistic: the k-th highest of a million scores moves by ~1/sqrt(k) in rate,
# more when a few people contribute many pairs, and at k = 18 (1e-5 in the fit half of LFW's
# people with several photos) that put the held-out rate at 0.43-0.47 of the target; the line
# through the whole observed tail put it at 0.57-0.73 (docs/engine.md).
QUANTILE_FROM = 100
TAIL_FIT_RATES = (1e-3, None)  # fit the tail from this rate down to the last observed one


def in_fit_half(identity: str) -> bool:
    return hashlib.sha256(identity.encode()).digest()[0] % 2 == 0


def with_several_photos(identities: Sequence[str]) -> np.ndarray:
    """Per image: does its person have more than one image in the list?"""
    _, labels, counts = np.unique(np.asarray(identities), return_inverse=True, return_counts=True)
    return np.asarray(counts[labels] > 1, bool)


def impostor_scores(embeddings: FloatArray, identities: Sequence[str]) -> FloatArray:
    """Similarities of every pair of images of different people (upper triangle only),
    computed in float64 from embeddings renormalised in float64, as the engine does."""
    labels = np.unique(np.asarray(identities), return_inverse=True)[1]
    embeddings = np.asarray(embeddings, np.float64)
    embeddings = embeddings / np.linalg.norm(embeddings, axis=1, keepdims=True)
    scores = []
    for start in range(0, len(labels), 1024):  # in blocks: 8,000^2 floats would be 256 MB
        block = embeddings[start : start + 1024] @ embeddings.T
        rows = np.arange(start, start + len(block))[:, None]
        keep = (np.arange(len(labels))[None, :] > rows) & (labels[rows] != labels[None, :])
        scores.append(block[keep])
    return np.concatenate(scores) if scores else np.zeros(0, np.float64)


def genuine_scores(embeddings: FloatArray, identities: Sequence[str]) -> FloatArray:
    labels = np.unique(np.asarray(identities), return_inverse=True)[1]
    embeddings = np.asarray(embeddings, np.float64)
    embeddings = embeddings / np.linalg.norm(embeddings, axis=1, keepdims=True)
    scores = []
    for label in np.unique(labels):
        members = embeddings[labels == label]
        if len(members) > 1:
            block = members @ members.T
            scores.append(block[np.triu_indices(len(members), k=1)])
    return np.concatenate(scores) if scores else np.zeros(0, np.float64)


@dataclass(frozen=True)
class Knot:
    confidence: float
    similarity: float
    target_far: float
    expected_count: float  # target rate x number of impostor pairs in the fit
    # Within the range the data observed (at least MIN_OBSERVED pairs above it), or
    # extrapolated beyond it. Under QUANTILE_FROM pairs either way it is read from the tail line.
    observed: bool


def fit_knots(impostor: FloatArray) -> list[Knot]:
    ranked = np.sort(impostor)[::-1].astype(np.float64)
    n = len(ranked)
    # The tail line: log10(rate) against similarity over the observed tail.
    lowest_rate = MIN_OBSERVED / n
    ranks = np.arange(1, n + 1)
    rates = ranks / n
    tail = (rates <= TAIL_FIT_RATES[0]) & (rates >= lowest_rate)
    if tail.sum() < MIN_OBSERVED:
        raise ValueError(
            f"too few different-person pairs ({n:,}) to measure the tail of their scores: "
            f"at least {int(MIN_OBSERVED / TAIL_FIT_RATES[0]) * 2:,} are needed"
        )
    slope, intercept = np.polyfit(ranked[tail], np.log10(rates[tail]), 1)
    knots = []
    for confidence in KNOT_THRESHOLDS:
        target = documented_far(confidence)
        expected = target * n
        if expected >= QUANTILE_FROM:
            # Accept when similarity >= threshold: the k-th highest score admits k pairs.
            similarity = float(ranked[int(np.floor(expected)) - 1])
        else:
            similarity = float((np.log10(target) - intercept) / slope)
        knots.append(Knot(confidence, similarity, target, expected, observed=expected >= MIN_OBSERVED))
    return _strictly_increasing(knots)


def stricter_knots(*fits: list[Knot]) -> list[Knot]:
    """Per knot, the highest similarity of several fits (one per population): a threshold
    that keeps each population's rate at or under the target. Observed only where the
    knot that decided was observed."""
    combined = [max(candidates, key=lambda knot: knot.similarity) for candidates in zip(*fits, strict=True)]
    return _strictly_increasing(combined)


def _strictly_increasing(knots: list[Knot]) -> list[Knot]:
    # Ties in the data could make two knots equal; the table must strictly increase.
    knots = list(knots)
    for i in range(1, len(knots)):
        if knots[i].similarity <= knots[i - 1].similarity:
            knot = knots[i]
            knots[i] = Knot(
                knot.confidence,
                knots[i - 1].similarity + 1e-6,
                knot.target_far,
                knot.expected_count,
                knot.observed,
            )
    return knots


def observed_down_to(pairs: int) -> float:
    """The lowest false-accept rate a set of `pairs` impostor pairs reads from the data
    (MIN_OBSERVED pairs above the threshold); lower knots are extrapolated."""
    return MIN_OBSERVED / pairs if pairs else 1.0


def rate_interval(accepted: int, pairs: int, level: float = 0.95) -> tuple[float, float]:
    """Clopper-Pearson (exact binomial) interval of a rate measured as accepted / pairs."""
    from scipy.stats import beta  # an offline tool's dependency, not the serving engine's

    tail = (1.0 - level) / 2.0
    low = float(beta.ppf(tail, accepted, pairs - accepted + 1)) if accepted > 0 else 0.0
    high = float(beta.ppf(1.0 - tail, accepted + 1, pairs - accepted)) if accepted < pairs else 1.0
    return low, high


# The contract's promise is checked within this factor, where the data can tell it apart.
PROMISE_FACTOR = 2.0


def held_out_check(impostor: FloatArray, knots: list[Knot]) -> list[dict[str, Any]]:
    """Measured false-accept rate at each documented threshold on unseen people, with its
    95% interval. A threshold is `measurable` when the target rate expects at least 10
    pairs: fewer cannot tell a factor of 2 apart (at 3 expected, seeing 1 or 6 is common)."""
    by_confidence = {knot.confidence: knot for knot in knots}
    rows: list[dict[str, Any]] = []
    for threshold in DOCUMENTED_THRESHOLDS:
        knot = by_confidence[threshold]
        accepted = int(np.sum(impostor >= knot.similarity))
        measured = accepted / len(impostor)
        target = documented_far(threshold)
        low, high = rate_interval(accepted, len(impostor))
        rows.append(
            {
                "threshold": threshold,
                "target_far": target,
                "measured_far": measured,
                "interval_95": [low, high],
                "accepted_pairs": accepted,
                "expected_pairs": target * len(impostor),
                "measurable": target * len(impostor) >= MIN_OBSERVED,
                "ratio": measured / target,
                "within_factor_2": target / PROMISE_FACTOR <= measured <= target * PROMISE_FACTOR,
            }
        )
    return rows

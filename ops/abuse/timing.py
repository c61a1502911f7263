"""(a) Telling valid api_ids apart by timing: wrong secrets, half with a valid api_id and half
with unknown ones, interleaved; the two samples compared by Mann-Whitney U and a bootstrap CI of
the difference of medians. The answers themselves must be identical."""

from __future__ import annotations

import json
import math
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ops.abuse.common import Check
from ops.harness import Call, Client, Instance, percentile

Samples = Sequence[float] | npt.NDArray[np.float64]


def average_ranks(values: np.ndarray) -> np.ndarray:
    order = np.argsort(values, kind="mergesort")
    ranks = np.empty(len(values))
    ranks[order] = np.arange(1, len(values) + 1)
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    return (np.bincount(inverse, ranks) / counts)[inverse]


def mann_whitney(a: Samples, b: Samples) -> tuple[float, float]:
    """U of `a` and the two-sided p-value (normal approximation with tie and continuity corrections;
    fine for the hundreds of samples used here, and no SciPy needed)."""
    first, second = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    n1, n2 = len(first), len(second)
    combined = np.concatenate([first, second])
    u = float(average_ranks(combined)[:n1].sum() - n1 * (n1 + 1) / 2)
    n = n1 + n2
    _, counts = np.unique(combined, return_counts=True)
    ties = float((counts**3 - counts).sum())
    sigma = math.sqrt(n1 * n2 / 12 * ((n + 1) - ties / (n * (n - 1))))
    if sigma == 0:
        return u, 1.0
    shift = u - n1 * n2 / 2
    z = (abs(shift) - 0.5) / sigma if abs(shift) >= 0.5 else 0.0
    return u, math.erfc(z / math.sqrt(2))


def median_difference_ci(
    a: Samples, b: Samples, *, rounds: int = 2000, seed: int = 0
) -> tuple[float, float, float]:
    """median(a) - median(b) and its 95 % percentile-bootstrap interval."""
    first, second = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    rng = np.random.default_rng(seed)
    resampled = np.median(first[rng.integers(0, len(first), (rounds, len(first)))], axis=1) - np.median(
        second[rng.integers(0, len(second), (rounds, len(second)))], axis=1
    )
    low, high = np.percentile(resampled, [2.5, 97.5])
    return float(np.median(first) - np.median(second)), float(low), float(high)


@dataclass
class TimingResult:
    valid_ms: list[float]
    unknown_ms: list[float]

    def summary(self) -> dict[str, Any]:
        u, p = mann_whitney(self.valid_ms, self.unknown_ms)
        difference, low, high = median_difference_ci(self.valid_ms, self.unknown_ms)
        groups = {
            name: {
                "n": len(values),
                "mean_ms": round(float(np.mean(values)), 3),
                "median_ms": round(percentile(values, 50), 3),
                "p95_ms": round(percentile(values, 95), 3),
            }
            for name, values in (("valid_api_id", self.valid_ms), ("unknown_api_id", self.unknown_ms))
        }
        return {
            **groups,
            "mann_whitney_u": u,
            "p_value": p,
            # Probability that a valid-id request is slower than an unknown-id one (0.5: no tell).
            "common_language_effect": u / (len(self.valid_ms) * len(self.unknown_ms)),
            "median_difference_ms": round(difference, 3),
            "median_difference_ci95_ms": [round(low, 3), round(high, 3)],
            "distinguishable": bool(p < 0.001 and (low > 0 or high < 0)),
        }


def wrong_secret_calls(valid_id: str, count: int) -> list[tuple[str, Call]]:
    """`count` calls with wrong secrets, valid and unknown api_ids alternating in random pairs, so
    that drift in the machine's speed falls on both groups alike."""
    calls = []
    for _ in range(count // 2):
        pair = [("valid", valid_id), ("unknown", secrets.token_hex(16))]  # same shape as a real id
        if secrets.randbelow(2):
            pair.reverse()
        for group, api_id in pair:
            query = f"api_id={api_id}&api_secret={secrets.token_urlsafe(32)}"
            calls.append((group, Call(f"/identity/compare_faces_in_two_images?{query}")))
    return calls


def run_timing(instance: Instance, count: int) -> tuple[list[Check], TimingResult]:
    checks: list[Check] = []
    client = Client(instance.port, timeout=30)
    for _, call in wrong_secret_calls(instance.credentials.api_id, 20):  # warm-up, not counted
        client.send(call)
    samples: dict[str, list[float]] = {"valid": [], "unknown": []}
    shapes: dict[str, set[str]] = {"valid": set(), "unknown": set()}
    wrong = []
    for group, call in wrong_secret_calls(instance.credentials.api_id, count):
        reply = client.send(call)
        samples[group].append(reply.latency_ms)
        body = reply.json()
        body.pop("request_id", None)
        shapes[group].add(json.dumps(body, sort_keys=True))
        if reply.status != 401 or body != {"status": "UNAUTHORIZED"}:
            wrong.append(f"{group}: HTTP {reply.status} {reply.body[:80]!r}")
    client.close()
    total = sum(len(values) for values in samples.values())
    checks.append(
        Check(
            "timing", f"all {total} wrong secrets refused 401 UNAUTHORIZED", not wrong, "; ".join(wrong[:3])
        )
    )
    checks.append(
        Check(
            "timing",
            "valid and unknown api_id get the same answer",
            shapes["valid"] == shapes["unknown"],
            f"valid {sorted(shapes['valid'])} unknown {sorted(shapes['unknown'])}",
        )
    )
    result = TimingResult(samples["valid"], samples["unknown"])
    figures = result.summary()
    checks.append(
        Check(
            "timing",
            "a valid api_id cannot be told apart by latency",
            not figures["distinguishable"],
            f"median difference {figures['median_difference_ms']} ms, 95% CI "
            f"{figures['median_difference_ci95_ms']}, Mann-Whitney p={figures['p_value']:.3g}",
            must_hold=False,
        )
    )
    return checks, result

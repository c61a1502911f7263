"""Identification (1:N) accuracy of the face-set search on a labelled image set.

The protocol (`evaluate_search`): every person is enrolled once, by their first photo in the
list (their own template set: one face each, as an employee gate enrols its staff); people
with several photos search with each of their other photos (mated searches: is the first
match themselves?); every photo is also searched against the set without its own person
(non-mated searches, with all the other people enrolled: does anyone reach the threshold?).
Leaving the person out, rather than keeping some people out of the set, lets all ~5,700 LFW
people stand in the set at once while every search has a right answer known.

The search is the service's own (facesets.exact.SetMatrix: float32 ranking, float64 scores)
and scores are the engine's calibrated confidences, so the rates are what the API gives.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from faceengine.calibration import DOCUMENTED_THRESHOLDS, Calibration, documented_far
from faceengine.runtime import FloatArray


@dataclass(frozen=True)
class SearchReport:
    enrolled: int  # people in the set
    mated: int  # searches by people with several photos, with another photo of theirs
    non_mated: int  # searches with the searcher's own person left out of the set
    failed: int  # photos without a face (not searched, not enrolled)
    rank1: float  # mated searches whose best match is the right person, at any score
    tpir: dict[str, float]  # mated searches answered with the right person first at >= t
    fpir: dict[str, float]  # non-mated searches where someone reached t
    promised_fpir: dict[str, float]  # min(1, (enrolled - 1) x the single-comparison rate at t)

    def as_json(self) -> dict[str, object]:
        return {
            "enrolled": self.enrolled,
            "mated_searches": self.mated,
            "non_mated_searches": self.non_mated,
            "failed": self.failed,
            "rank1": round(self.rank1, 5),
            "tpir": self.tpir,
            "fpir": self.fpir,
            "promised_fpir": self.promised_fpir,
        }


def evaluate(
    identities: Sequence[str], vectors: Sequence[FloatArray | None], calibration: Calibration
) -> SearchReport:
    """`identities[i]` is the person of photo i, `vectors[i]` its embedding (None: no face)."""
    from facesets.exact import SetMatrix  # the service's search; Django-free to construct

    photos: dict[str, list[int]] = defaultdict(list)
    for index, (person, vector) in enumerate(zip(identities, vectors, strict=True)):
        if vector is not None:
            photos[person].append(index)
    people = sorted(photos)
    if not people:
        raise ValueError("no photo with a face")
    dimension = len(next(v for v in vectors if v is not None))
    gallery = SetMatrix(dimension)
    enrolled_photo = [photos[person][0] for person in people]
    gallery.append(
        list(range(1, len(people) + 1)),  # face id = person number + 1
        list(range(len(people))),
        [0] * len(people),
        np.stack([np.asarray(vectors[i], np.float32) for i in enrolled_photo]),
    )
    mated_right: list[float] = []  # the score when the first match is right, else -1
    impostor_best: list[float] = []  # the best score of someone else, own person left out
    for number, person in enumerate(people):
        for photo in photos[person]:
            query = np.asarray(vectors[photo], np.float32)
            best = gallery.search(query, 2)  # enough: at most one of them is the searcher
            other = next(c for c in best if c.person_id != number)
            impostor_best.append(other.cosine)
            if photo != photos[person][0]:
                mated_right.append(best[0].cosine if best[0].person_id == number else -1.0)
    mated = np.array(mated_right)
    confidence_mated = np.where(mated >= -0.5, calibration.confidence(np.maximum(mated, -1.0)), -1.0)
    confidence_impostor = calibration.confidence(np.array(impostor_best))
    levels = {f"{t:.1f}": t for t in DOCUMENTED_THRESHOLDS}
    n = len(people)
    return SearchReport(
        enrolled=n,
        mated=len(mated),
        non_mated=len(impostor_best),
        failed=sum(v is None for v in vectors),
        rank1=float(np.mean(mated >= -0.5)) if len(mated) else 0.0,
        tpir={k: round(float(np.mean(confidence_mated >= t)), 5) for k, t in levels.items()},
        fpir={k: round(float(np.mean(confidence_impostor >= t)), 6) for k, t in levels.items()},
        promised_fpir={k: round(min(1.0, (n - 1) * documented_far(t)), 6) for k, t in levels.items()},
    )

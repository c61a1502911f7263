from __future__ import annotations

import csv
import json
import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from django.core.management.base import BaseCommand, CommandError, CommandParser

from faceengine import sface
from faceengine.calibration import TABLE_PATH
from facelab import calibration_fit
from facelab.evaluation import tar_at_far
from identity.management.commands import _labelled_set as labelled_set

# The impostor populations a table can be fitted on (see calibration_fit).
FIT_CHOICES = ("all", "several", "both")
TAR_LEVELS = (1e-2, 1e-3, 1e-4, 1e-5)


class Command(BaseCommand):
    help = (
        "Build the similarity -> confidence table from a labelled image set (image,identity "
        "CSV): fit on half of the people, check on the other half, for all different-person "
        "pairs and for those among people with several photos."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        labelled_set.add_arguments(parser)
        parser.add_argument(
            "--output", type=Path, default=TABLE_PATH, help=f"table to write (default {TABLE_PATH})"
        )
        parser.add_argument(
            "--fit-on",
            choices=FIT_CHOICES,
            default="several",
            help="impostor pairs to fit on: all of the fit half's, those among its people with "
            "several photos (the default: see docs/engine.md for the measurements that chose it), "
            "or both (the stricter similarity at each knot)",
        )
        parser.add_argument(
            "--pairs-out",
            type=Path,
            help="also write the held-out people's pairs as image_a,image_b,same for "
            "evaluate_faces: every same-person pair and as many random different-person pairs, "
            "balanced as in the LFW protocol",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        rows = labelled_set.read_list(options["list"])
        model_id, vectors = labelled_set.embeddings(rows, options, self.stderr._out)
        found = [(row, v) for row, v in zip(rows, vectors, strict=True) if v is not None]
        self.stdout.write(f"model {model_id}: faces found in {len(found)} of {len(rows)} images")

        halves = {fit: _half(found, fit) for fit in (True, False)}
        fit_populations = _populations(*halves[True])
        try:
            fits = {name: calibration_fit.fit_knots(scores) for name, scores in fit_populations.items()}
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        chosen = options["fit_on"]
        knots = (
            calibration_fit.stricter_knots(fits["all"], fits["several"]) if chosen == "both" else fits[chosen]
        )
        held_populations = _populations(*halves[False])
        held_genuine = calibration_fit.genuine_scores(*halves[False])
        fit_pairs = {name: len(scores) for name, scores in fit_populations.items()}

        self.stdout.write(
            f"fit: {len(halves[True][1])} images, different-person pairs: {fit_pairs['all']:,} in all, "
            f"{fit_pairs['several']:,} among people with several photos; fitted on: {chosen}"
        )
        self.stdout.write("confidence  similarity  target FAR  source")
        for knot in knots:
            source = "observed" if knot.observed else "extrapolated"
            self.stdout.write(
                f"{knot.confidence:10.2f}  {knot.similarity:10.4f}  {knot.target_far:10.0e}  {source}"
            )
        checks = {}
        tar: dict[str, dict[str, float]] = {}
        for name, impostor in held_populations.items():
            checks[name] = calibration_fit.held_out_check(impostor, knots)
            self._print_check(name, len(impostor), checks[name], knots, held_genuine)
            tar[name] = {f"{far:.0e}": tar_at_far(held_genuine, impostor, far) for far in TAR_LEVELS}
            self.stdout.write(
                "  true-accept rate at false-accept rate "
                + ", ".join(f"{far}: {rate:.4f}" for far, rate in tar[name].items())
            )

        table = {
            "made": datetime.now(UTC).isoformat(timespec="seconds"),
            "model": sface.MODEL_ID,
            "model_file": model_id,
            "method": (
                "fit on the people whose sha256(name)[0] is even, checked on the others; "
                f"fitted on {_FIT_WORDS[chosen]}"
            ),
            "images": len(rows),
            "faces_found": len(found),
            "fit_impostor_pairs": fit_pairs,
            "observed_down_to": {
                name: calibration_fit.observed_down_to(count) for name, count in fit_pairs.items()
            },
            "held_out_impostor_pairs": {name: len(scores) for name, scores in held_populations.items()},
            "held_out_genuine_pairs": len(held_genuine),
            "knots": [knot.__dict__ for knot in knots],
            "held_out_check": checks,
            "held_out_tar_at_far": tar,
            "held_out_true_accept": {str(row["threshold"]): row["true_accept_rate"] for row in checks["all"]},
        }
        output: Path = options["output"]
        output.write_text(json.dumps(table, indent=2) + "\n")
        self.stdout.write(f"wrote {output}")
        if options["pairs_out"]:
            count = _write_held_out_pairs(rows, options["pairs_out"])
            self.stdout.write(f"wrote {count} held-out pairs to {options['pairs_out']}")

    def _print_check(
        self,
        name: str,
        pairs: int,
        check: list[dict[str, Any]],
        knots: list[calibration_fit.Knot],
        genuine: np.ndarray,
    ) -> None:
        self.stdout.write(
            f"held-out check, {_POPULATION_WORDS[name]}: {pairs:,} different-person pairs, "
            f"{len(genuine):,} same-person pairs"
        )
        self.stdout.write("  threshold  target  measured  95% interval  pairs (expected)  ratio  TAR")
        similarity_at = {knot.confidence: knot.similarity for knot in knots}
        for row in check:
            similarity = similarity_at[row["threshold"]]
            tar = float(np.mean(genuine >= similarity)) if len(genuine) else 0.0
            row["true_accept_rate"] = tar
            low, high = row["interval_95"]
            note = "" if row["measurable"] else "  (too few pairs to measure a factor of 2)"
            self.stdout.write(
                f"  {row['threshold']:.1f}  {row['target_far']:.0e}  {row['measured_far']:.2e}  "
                f"[{low:.1e}, {high:.1e}]  {row['accepted_pairs']} ({row['expected_pairs']:.1f})  "
                f"{row['ratio']:.2f}  {tar:.4f}{note}"
            )


_POPULATION_WORDS = {"all": "all pairs", "several": "pairs among people with several photos"}
_FIT_WORDS = {
    "all": "all different-person pairs",
    "several": "the different-person pairs among people with several photos",
    "both": "both populations, taking the stricter similarity at each knot",
}


def _half(found: list[tuple[tuple[str, str], Any]], fit: bool) -> tuple[np.ndarray, list[str]]:
    members = [(v, identity) for (_, identity), v in found if calibration_fit.in_fit_half(identity) == fit]
    if len(members) < 2:
        raise CommandError("too few people with a face found to fit on one half and check on the other")
    return np.stack([v for v, _ in members]), [identity for _, identity in members]


def _populations(embeddings: np.ndarray, identities: list[str]) -> dict[str, np.ndarray]:
    """Impostor scores of all pairs, and of the pairs among people with several photos."""
    several = calibration_fit.with_several_photos(identities)
    kept = [identity for identity, keep in zip(identities, several, strict=True) if keep]
    return {
        "all": calibration_fit.impostor_scores(embeddings, identities),
        "several": calibration_fit.impostor_scores(embeddings[several], kept),
    }


def _write_held_out_pairs(rows: list[tuple[str, str]], path: Path) -> int:
    """Every same-person pair of the held-out people, and as many different-person pairs
    drawn among the same people (those with several photos), as an evaluation of
    same-person pairs sees them: the harder impostors, not the single-photo majority."""
    held = [(image, identity) for image, identity in rows if not calibration_fit.in_fit_half(identity)]
    by_identity: dict[str, list[str]] = {}
    for image, identity in held:
        by_identity.setdefault(identity, []).append(image)
    held = [(image, identity) for image, identity in held if len(by_identity[identity]) > 1]
    same = [
        (group[i], group[j], 1)
        for group in by_identity.values()
        for i in range(len(group))
        for j in range(i + 1, len(group))
    ]
    rng = random.Random(7)
    different: set[tuple[str, str, int]] = set()
    while len(different) < len(same):
        (a, ia), (b, ib) = rng.sample(held, 2)
        if ia != ib:
            different.add((a, b, 0))
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["image_a", "image_b", "same"])
        writer.writerows(same + sorted(different))
    return len(same) + len(different)

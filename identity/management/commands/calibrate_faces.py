from __future__ import annotations

import csv
import json
import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from identity.engine import calibration_fit
from identity.engine.calibration import TABLE_PATH
from identity.engine.evaluation import embed_files


class Command(BaseCommand):
    help = (
        "Build the similarity -> confidence table from a labelled image set (image,identity "
        "CSV): fit on half of the people, check on the other half."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--images", type=Path, required=True, help="folder the list's paths are relative to"
        )
        parser.add_argument("--list", type=Path, required=True, help="CSV with columns image,identity")
        parser.add_argument(
            "--output", type=Path, default=TABLE_PATH, help=f"table to write (default {TABLE_PATH})"
        )
        parser.add_argument(
            "--processes", type=int, default=None, help="worker processes (default: all cores)"
        )
        parser.add_argument(
            "--pairs-out",
            type=Path,
            help="also write the held-out people's pairs as image_a,image_b,same for "
            "evaluate_faces: every same-person pair and as many random different-person pairs, "
            "balanced as in the LFW protocol",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        rows = _read_list(options["list"])
        root: Path = options["images"]
        paths = [str(root / image) for image, _ in rows]

        def progress(results: Any, total: int) -> Any:
            return tqdm(results, total=total, desc="embedding", unit="img", file=self.stderr._out)

        vectors = embed_files(paths, processes=options["processes"], progress=progress)
        found = [(row, v) for row, v in zip(rows, vectors, strict=True) if v is not None]
        self.stdout.write(f"faces found in {len(found)} of {len(rows)} images")

        halves: dict[bool, tuple[np.ndarray, list[str]]] = {}
        for fit in (True, False):
            members = [
                (v, identity) for (_, identity), v in found if calibration_fit.in_fit_half(identity) == fit
            ]
            if len(members) < 2:
                raise CommandError(
                    "too few people with a face found to fit on one half and check on the other"
                )
            halves[fit] = (np.stack([v for v, _ in members]), [identity for _, identity in members])

        fit_impostor = calibration_fit.impostor_scores(*halves[True])
        held_impostor = calibration_fit.impostor_scores(*halves[False])
        held_genuine = calibration_fit.genuine_scores(*halves[False])
        try:
            knots = calibration_fit.fit_knots(fit_impostor)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        check = calibration_fit.held_out_check(held_impostor, knots)

        self.stdout.write(f"fit: {len(halves[True][1])} images, {len(fit_impostor):,} different-person pairs")
        self.stdout.write(
            f"held out: {len(halves[False][1])} images, {len(held_impostor):,} different-person pairs, "
            f"{len(held_genuine):,} same-person pairs"
        )
        self.stdout.write("confidence  similarity  target FAR  expected pairs in fit  source")
        for knot in knots:
            source = "observed" if knot.observed else "extrapolated"
            self.stdout.write(
                f"{knot.confidence:10.2f}  {knot.similarity:10.4f}  {knot.target_far:10.0e}  "
                f"{knot.expected_count:21.1f}  {source}"
            )
        self.stdout.write("held-out check: threshold  target FAR  measured FAR  pairs (expected)  ratio  TAR")
        for row in check:
            similarity = next(k.similarity for k in knots if k.confidence == row["threshold"])
            tar = float(np.mean(held_genuine >= similarity)) if len(held_genuine) else 0.0
            note = "" if row["measurable"] else "  (too few pairs to measure)"
            self.stdout.write(
                f"{row['threshold']:.1f}  {row['target_far']:.0e}  {row['measured_far']:.2e}  "
                f"{row['accepted_pairs']} ({row['expected_pairs']:.1f})  {row['ratio']:.2f}  {tar:.4f}{note}"
            )
            row["true_accept_rate"] = tar

        table = {
            "made": datetime.now(UTC).isoformat(timespec="seconds"),
            "method": "fit on the people whose sha256(name)[0] is even; checked on the others",
            "images": len(rows),
            "faces_found": len(found),
            "fit_impostor_pairs": len(fit_impostor),
            "held_out_impostor_pairs": len(held_impostor),
            "held_out_genuine_pairs": len(held_genuine),
            "knots": [knot.__dict__ for knot in knots],
            "held_out_check": check,
        }
        output: Path = options["output"]
        output.write_text(json.dumps(table, indent=2) + "\n")
        self.stdout.write(f"wrote {output}")
        if options["pairs_out"]:
            count = _write_held_out_pairs(rows, options["pairs_out"])
            self.stdout.write(f"wrote {count} held-out pairs to {options['pairs_out']}")


def _read_list(path: Path) -> list[tuple[str, str]]:
    try:
        with path.open(newline="") as handle:
            rows = [(row["image"], row["identity"]) for row in csv.DictReader(handle)]
    except (OSError, KeyError) as exc:
        raise CommandError(f"cannot read {path} as an image,identity CSV: {exc}") from exc
    if not rows:
        raise CommandError(f"{path} lists no images")
    return rows


def _write_held_out_pairs(rows: list[tuple[str, str]], path: Path) -> int:
    held = [(image, identity) for image, identity in rows if not calibration_fit.in_fit_half(identity)]
    by_identity: dict[str, list[str]] = {}
    for image, identity in held:
        by_identity.setdefault(identity, []).append(image)
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

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from faceengine.calibration import load_calibration
from facelab.evaluation import embed_files_cached, embedder_model_id
from facelab.search_eval import evaluate


class Command(BaseCommand):
    help = (
        "Identification (1:N) accuracy of face-set search on a labelled image set (image,identity "
        "CSV): every person enrolled by one photo, the others searched; prints rank-1, the "
        "identification rates and the false-positive identification rate at each documented "
        "threshold, and the last line as JSON."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--images", type=Path, required=True, help="folder the list's paths are relative to"
        )
        parser.add_argument("--list", type=Path, required=True, help="CSV with columns image,identity")
        parser.add_argument(
            "--embeddings", type=Path, help="an .npz keeping the embeddings (the one calibrate_faces writes)"
        )
        parser.add_argument(
            "--processes", type=int, default=None, help="worker processes (default: all cores)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        rows = _read_list(options["list"])
        paths = [str(options["images"] / image) for image, _ in rows]
        vectors = embed_files_cached(
            paths,
            options["embeddings"],
            model_id=embedder_model_id(),
            processes=options["processes"],
            progress=lambda results, total: tqdm(results, total=total, desc="embedding", disable=None),
        )
        report = evaluate([identity for _, identity in rows], vectors, load_calibration())
        out = self.stdout.write
        out(
            f"{report.enrolled} people enrolled; {report.mated} mated searches (people with several "
            f"photos), {report.non_mated} non-mated (own person left out); "
            f"{report.failed} photos without a face"
        )
        out(f"rank-1 identification rate: {report.rank1:.4f}")
        out("threshold  TPIR (right, first, >= t)  FPIR (someone wrong >= t)  promised (N-1) x FAR")
        for level in report.fpir:
            out(
                f"{level:>9}  {report.tpir[level]:>26.4f}  {report.fpir[level]:>25.6f}  "
                f"{report.promised_fpir[level]:>20.6f}"
            )
        out(json.dumps(report.as_json()))


def _read_list(path: Path) -> list[tuple[str, str]]:
    try:
        with path.open(newline="") as handle:
            rows = [(row["image"], row["identity"]) for row in csv.DictReader(handle)]
    except (OSError, KeyError) as exc:
        raise CommandError(f"--list: cannot read {path} as an image,identity CSV ({exc})") from exc
    if not rows:
        raise CommandError(f"--list: {path} lists no image")
    return rows

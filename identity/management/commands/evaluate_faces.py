from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from faceengine.calibration import load_calibration
from facelab.evaluation import embed_files_cached, embedder_model_id, pair_report, pair_similarities


class Command(BaseCommand):
    help = (
        "Measure face comparison on a pairs CSV (image_a,image_b,same) through the full "
        "pipeline. The last line printed is the report as one JSON object."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--pairs", type=Path, required=True, help="CSV with columns image_a,image_b,same")
        parser.add_argument("--root", type=Path, required=True, help="folder the CSV's paths are relative to")
        parser.add_argument(
            "--embeddings",
            type=Path,
            help="an .npz file keeping the images' embeddings for the next run with the same model",
        )
        parser.add_argument(
            "--processes", type=int, default=None, help="worker processes (default: all cores)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        pairs, same = _read_pairs(options["pairs"])
        root: Path = options["root"]
        images = sorted({image for pair in pairs for image in pair})

        def progress(results: Any, total: int) -> Any:
            return tqdm(results, total=total, desc="embedding", unit="img", file=self.stderr._out)

        vectors = embed_files_cached(
            [str(root / image) for image in images],
            options["embeddings"],
            model_id=embedder_model_id(),
            processes=options["processes"],
            progress=progress,
        )
        similarities, failed = pair_similarities(dict(zip(images, vectors, strict=True)), pairs)
        report = pair_report(similarities, same, failed, load_calibration())

        self.stdout.write(
            f"pairs: {report.pairs} ({report.genuine} same person, {report.impostor} different)"
        )
        self.stdout.write(f"pairs where a face was not found: {report.failed} (counted as rejected)")
        self.stdout.write(f"best accuracy: {report.accuracy:.4%} at similarity {report.best_threshold:.4f}")
        for far, tar in report.tar_at_far.items():
            self.stdout.write(f"true-accept rate at false-accept rate {far}: {tar:.4f}")
        for threshold, rate in report.confidence_far.items():
            documented = 10.0 ** -(10 * float(threshold) - 3)
            self.stdout.write(
                f"confidence >= {threshold}: different-person pairs accepted {rate:.2e} "
                f"(documented {documented:.0e}); same-person pairs accepted "
                f"{report.confidence_tar[threshold]:.4f}"
            )
        self.stdout.write(json.dumps(report.as_json()))


def _read_pairs(path: Path) -> tuple[list[tuple[str, str]], np.ndarray]:
    pairs, same = [], []
    try:
        with path.open(newline="") as handle:
            for row in csv.DictReader(handle):
                pairs.append((row["image_a"], row["image_b"]))
                same.append(row["same"].strip() == "1")
    except (OSError, KeyError) as exc:
        raise CommandError(f"cannot read {path} as an image_a,image_b,same CSV: {exc}") from exc
    if not pairs:
        raise CommandError(f"{path} lists no pairs")
    return pairs, np.array(same, bool)

"""What the commands over a labelled image set (an image,identity CSV and the folder it names)
share: their arguments, reading the list, and its embeddings (cached in an .npz between
runs). calibrate_faces and evaluate_search read the same set the same way, so that one cache
serves both. (The leading underscore keeps Django from taking this module for a command.)"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser
from tqdm import tqdm

from faceengine.runtime import FloatArray
from facelab.evaluation import embed_files_cached, embedder_model_id


def add_arguments(parser: CommandParser) -> None:
    parser.add_argument("--images", type=Path, required=True, help="folder the list's paths are relative to")
    parser.add_argument("--list", type=Path, required=True, help="CSV with columns image,identity")
    parser.add_argument(
        "--embeddings",
        type=Path,
        help="an .npz file keeping the set's embeddings for the next run with the same model "
        "(calibrate_faces and evaluate_search can share one)",
    )
    parser.add_argument("--processes", type=int, default=None, help="worker processes (default: all cores)")


def read_list(path: Path) -> list[tuple[str, str]]:
    """The (image, identity) rows of the CSV."""
    try:
        with path.open(newline="") as handle:
            rows = [(row["image"], row["identity"]) for row in csv.DictReader(handle)]
    except (OSError, KeyError) as exc:
        raise CommandError(f"cannot read {path} as an image,identity CSV: {exc}") from exc
    if not rows:
        raise CommandError(f"{path} lists no images")
    return rows


def embeddings(
    rows: list[tuple[str, str]], options: dict[str, Any], stderr: Any
) -> tuple[str, list[FloatArray | None]]:
    """The model's id and each row's embedding (None: no face), with a progress bar on stderr."""
    root: Path = options["images"]
    paths = [str(root / image) for image, _ in rows]

    def progress(results: Any, total: int) -> Any:
        return tqdm(results, total=total, desc="embedding", unit="img", file=stderr)

    model_id = embedder_model_id()
    vectors = embed_files_cached(
        paths, options["embeddings"], model_id=model_id, processes=options["processes"], progress=progress
    )
    return model_id, vectors

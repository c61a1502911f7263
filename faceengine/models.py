"""Where the prepared model files are, and whether they are all there.

Serving only reads what `manage.py prepare_models` (facelab.modelprep, an install step) wrote:
a worker or `/readyz` that finds a model missing raises ModelUnavailable, naming the command,
and never starts a conversion itself (which would load the converters and take seconds of a
serving worker's time).
"""

from __future__ import annotations

import json
from pathlib import Path

from faceengine import config, sface
from faceengine.errors import ModelUnavailable

MANIFEST = "manifest.json"
# Every model the engine loads; facelab.modelprep.prepare.MODELS prepares exactly these.
REQUIRED = ("detector_short", "detector_full", "face_mesh", sface.MODEL_NAME)


def model_path(name: str, directory: Path | None = None) -> Path:
    return (directory or config.models_dir()) / f"{name}.onnx"


def read_manifest(directory: Path) -> dict[str, dict[str, object]]:
    try:
        data = json.loads((directory / MANIFEST).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def require_models(directory: Path | None = None) -> Path:
    """The models directory, once every required model is prepared there."""
    directory = directory or config.models_dir()
    manifest = read_manifest(directory)
    missing = [name for name in REQUIRED if name not in manifest or not model_path(name, directory).is_file()]
    if missing:
        raise ModelUnavailable(
            f"models not prepared in {directory}: {', '.join(missing)} (run: python manage.py prepare_models)"
        )
    return directory

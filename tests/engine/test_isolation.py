"""The engine stands alone: importing and running it never imports Django, and serving never
imports the offline tools (facelab) or the model converters."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from faceengine import FaceEngine, ModelUnavailable
from faceengine.config import PROJECT_ROOT

SCRIPT = """
import sys
from faceengine import decode, get_engine
from facelab.testdata import photo_bytes
faces = get_engine().analyze(decode(photo_bytes("astronaut")))
assert len(faces) == 1 and faces[0].embedding is not None
loaded = sorted(name for name in sys.modules if name == "django" or name.startswith("django."))
print("django modules:", loaded)
sys.exit(1 if loaded else 0)
"""


def test_the_engine_runs_without_importing_django() -> None:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "django modules: []" in result.stdout


IMPORT_ONLY = """
import sys
import faceengine
import faceengine.engine, faceengine.liveness, faceengine.models
lab = sorted(name for name in sys.modules if name == "facelab" or name.startswith("facelab."))
converters = sorted(name for name in sys.modules if name in ("onnx", "tflite", "dlib", "django"))
print("lab:", lab, "converters:", converters)
sys.exit(1 if lab or converters else 0)
"""


def test_the_serving_engine_loads_no_converter_and_no_lab_module() -> None:
    # Preparation (facelab.modelprep, onnx, tflite) is an install step: a serving process that
    # imports the engine must not pay for it, nor be able to start a conversion.
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_ONLY], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_missing_model_is_unavailable_and_never_prepared_by_the_engine(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable, match="prepare_models"):
        FaceEngine(models_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []

"""The engine stands alone: importing and running it never imports Django."""

from __future__ import annotations

import subprocess
import sys

from identity.engine.config import PROJECT_ROOT

SCRIPT = """
import sys
from identity.engine import decode, get_engine
from identity.engine.testdata import photo_bytes
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

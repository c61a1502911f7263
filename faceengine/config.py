"""Where the engine finds its models and how many threads it may use.

Read from the environment so that the engine works the same under Django, under the
management commands and in a bare Python process (tests, benchmarks).
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def models_dir() -> Path:
    """FACEPORTAL_MODELS_DIR, or `data/models` inside the project (ignored by git)."""
    configured = os.environ.get("FACEPORTAL_MODELS_DIR", "").strip()
    return Path(configured) if configured else PROJECT_ROOT / "data" / "models"


def engine_threads() -> int:
    """FACEPORTAL_ENGINE_THREADS: intra-op threads per model session (default 1).

    One thread per request with one process per core gives the best throughput on a
    busy server; a single interactive caller gains a little latency from 2.
    """
    raw = os.environ.get("FACEPORTAL_ENGINE_THREADS", "1").strip()
    try:
        return max(1, int(raw))
    except ValueError:
        return 1

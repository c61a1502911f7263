"""gunicorn settings for FacePortal (scripts/start uses them; `gunicorn -c` this file).

Measured on the 2-core machine this was written on: one engine thread per worker and one
worker per core gave the best throughput, so the default is WORKERS=2 (set it to the core
count on larger machines). Models are loaded in each worker before it serves, so the first
request does not pay for them.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
from pathlib import Path
from typing import Any

_data = Path(os.environ.get("FACEPORTAL_DATA_DIR") or Path(__file__).resolve().parent.parent / "data")
# Metrics of all workers are kept in files and added up on scrape (faceportal/metrics.py).
# This file is read before the app is loaded (preload_app), so the folder is made, empty,
# here: counters start from zero with the server.
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(_data / "prometheus"))
shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)

# numpy's OpenBLAS starts a thread per core in every worker unless told otherwise: with a
# worker per core that is twice the threads there are cores, so that the workers' face-set
# searches (a matrix product over a set's templates) compete for them. Read when numpy
# loads, after this file (preload_app).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

bind = f"{os.environ.get('BIND', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WORKERS", "2"))
threads = int(os.environ.get("THREADS", "1"))
worker_class = "gthread" if threads > 1 else "sync"
timeout = int(os.environ.get("FACEPORTAL_WORKER_TIMEOUT", "60"))  # a stuck worker is replaced
graceful_timeout = 30  # requests under way get this long on restart
keepalive = 5
# Header limits: the API needs short request lines and few headers; bodies are capped by
# the application (FaceID 2 MB, LinkFace 11 MB) before they are read.
limit_request_line = 8190
limit_request_fields = 50
accesslog = "-"
# Clients may send api_secret in the query string: every access and error log line is masked.
logger_class = "faceportal.gunicorn_logging.RedactingLogger"
preload_app = True


def post_worker_init(worker: Any) -> None:
    from faceengine import get_engine

    get_engine()


def child_exit(server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def worker_exit(server: Any, worker: Any) -> None:
    """Ends a worker here, with the exit code it was leaving with, skipping C++ static
    destructors: onnxruntime is imported by the preloaded app before the fork, and its exit
    handlers then wait forever in a forked child (pthread_cond_destroy on a condition the
    parent owned), so without this every graceful stop would take graceful_timeout."""
    leaving = sys.exc_info()[1]  # gunicorn calls this while the worker's SystemExit unwinds
    code = leaving.code if isinstance(leaving, SystemExit) else 1
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code if isinstance(code, int) else 1)

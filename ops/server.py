"""Start and stop gunicorn instances of FacePortal on loopback, as scripts/start would.

Used by the load, fault and abuse runs and by the tests that need a real server: one way of
starting the service, with the repository's own gunicorn configuration.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PYTHON = PROJECT_ROOT / ".venv" / "bin" / "python"
GUNICORN = PROJECT_ROOT / ".venv" / "bin" / "gunicorn"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def manage(args: list[str], env: Mapping[str, str]) -> str:
    """Runs a manage.py command with `env` and returns its standard output."""
    done = subprocess.run(
        [str(PYTHON), "manage.py", *args],
        cwd=PROJECT_ROOT,
        env=dict(env),
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout


@dataclass
class Server:
    """One gunicorn instance (master and workers) serving FacePortal on 127.0.0.1:port.

    `env` is the whole environment of the instance (database, cache, storage settings);
    `data_dir` is its FACEPORTAL_DATA_DIR (metrics files, SQLite and media by default).
    """

    data_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    workers: int = 2
    threads: int = 1
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def full_env(self) -> dict[str, str]:
        env = {**os.environ, **self.env}
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)  # each instance keeps its own metrics
        env.update(
            FACEPORTAL_DATA_DIR=str(self.data_dir),
            PORT=str(self.port),
            WORKERS=str(self.workers),
            THREADS=str(self.threads),
        )
        return env

    def migrate(self) -> None:
        manage(["migrate", "--noinput", "-v", "0"], self.full_env())

    def start(self, timeout: float = 120) -> Server:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.data_dir / f"gunicorn-{self.port}.log"
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [str(GUNICORN), "faceportal.wsgi", "-c", "faceportal/gunicorn.conf.py"],
            cwd=PROJECT_ROOT,
            env=self.full_env(),
            stdout=log,
            stderr=log,
        )
        log.close()
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float = 120) -> None:
        """Until /readyz answers 200 (models loaded, services reachable) or `timeout`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}; see {self.log_path}")
            try:
                with urllib.request.urlopen(f"{self.url}/readyz", timeout=5) as response:
                    if response.status == 200:
                        return
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(0.25)
        raise TimeoutError(f"{self.url} not ready after {timeout:.0f} s; see {self.log_path}")

    def worker_pids(self) -> list[int]:
        """The current workers' process ids (children of the master)."""
        if self.process is None:
            return []
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()] if children.exists() else []

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def server_pss_mb(server: Server) -> float:
    """Proportional memory of master and workers: shared (preloaded) pages counted once in total."""
    total_kb = 0
    pids = [server.process.pid] if server.process else []
    for pid in pids + server.worker_pids():
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total_kb += int(line.split()[1])
        except OSError:  # a worker that exited in between
            continue
    return total_kb / 1024

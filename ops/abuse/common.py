"""What every abuse section shares: the checks they report, the health of the instance
watched around each one, and one call on a connection of its own."""

from __future__ import annotations

import http.client
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from ops.harness import Call, Client, Instance, Reply

FAST_SECONDS = 5.0  # a refusal that takes longer than this is holding a worker for nothing
# gunicorn log lines that mean a worker died or an error escaped the application.
CRASH_PATTERN = re.compile(r"WORKER TIMEOUT|was sent SIG|Exception in worker|Traceback|Worker failed to boot")


@dataclass
class Check:
    section: str
    name: str
    passed: bool
    detail: str = ""
    must_hold: bool = True  # False: a measured finding (WARN when not passed), not a failure

    @property
    def verdict(self) -> str:
        if self.passed:
            return "PASS" if self.must_hold else "INFO"
        return "FAIL" if self.must_hold else "WARN"


# -- Health of the instance around a section ---------------------------------------------------


@contextmanager
def watched(instance: Instance, section: str) -> Iterator[list[Check]]:
    """The checks every section owes, filled in when it ends: same workers, nothing crashed in the
    log, still ready."""
    health: list[Check] = []
    workers = sorted(instance.server.worker_pids())
    log_start = len(instance.log_text())
    yield health
    now = sorted(instance.server.worker_pids())
    health.append(
        Check(section, "no worker died or was replaced", now == workers, f"workers {workers} -> {now}")
    )
    crashes = [line for line in instance.log_text()[log_start:].splitlines() if CRASH_PATTERN.search(line)]
    health.append(
        Check(section, "no crash or traceback in the server log", not crashes, "; ".join(crashes[:3]))
    )
    ready = readyz(instance.port)
    health.append(Check(section, "still ready afterwards (/readyz 200)", ready == 200, f"/readyz {ready}"))


def readyz(port: int) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", "/readyz")
        return connection.getresponse().status
    except (OSError, http.client.HTTPException):
        return 0
    finally:
        connection.close()


def no_trace(reply: Reply) -> bool:
    return b"Traceback" not in reply.body and b'File "' not in reply.body


def send_once(port: int, call: Call, timeout: float = 30.0) -> Reply:
    client = Client(port, timeout=timeout)
    try:
        return client.send(call)
    finally:
        client.close()

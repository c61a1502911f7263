"""(d) Slow clients holding workers: many connections trickling a request a byte at a time
while a normal client makes calls, with sync and gthread workers, alone and behind nginx."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ops.abuse.common import Check, send_once, watched
from ops.harness import cell, detect_call, milliseconds, photo, running_instance
from ops.nginx import running_nginx

# Slow clients against nginx: far more than gunicorn has workers, far fewer than nginx's
# worker_connections (ops/nginx.py).
NGINX_SLOW_CLIENTS = 200


@dataclass
class SlowLorisResult:
    mode: str
    workers: int
    threads: int
    slow_connections: int
    seconds: float
    baseline_ms: float
    attempts: int = 0
    succeeded: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    recovered_ms: float | None = None

    def summary(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "workers": self.workers,
            "threads": self.threads,
            "slow_connections": self.slow_connections,
            "seconds": self.seconds,
            "baseline_ms": round(self.baseline_ms, 1),
            "normal_calls": self.attempts,
            "normal_succeeded": self.succeeded,
            "normal_p50_ms": milliseconds(self.latencies_ms, 50),
            "normal_max_ms": milliseconds(self.latencies_ms, 100),
            "failures": sorted(set(self.failures)),
            "recovered_ms": round(self.recovered_ms, 1) if self.recovered_ms is not None else None,
        }


def trickle(port: int, stop: threading.Event, interval: float, in_body: bool) -> None:
    """One slow client: a request sent a byte at a time, in its headers or in its body."""
    opening = b"POST /faceid/v1/detect HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    if in_body:  # complete headers: the worker is then inside the application, reading the form
        opening += b"Content-Type: multipart/form-data; boundary=x\r\nContent-Length: 100000\r\n\r\n--x\r\n"
        rest = b"a" * 100_000
    else:  # a header block that is never finished
        rest = b"X-Padding: " + b"a" * 6000
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(opening)
            for byte in rest:
                if stop.wait(interval):
                    return
                sock.sendall(bytes([byte]))
    except OSError:
        return  # the server dropped us: that is a defence, not a failure of this client


def run_slowloris(
    *,
    workers: int,
    threads: int,
    seconds: float,
    env: Mapping[str, str],
    interval: float = 0.2,
    behind_nginx: bool = False,
    slow_connections: int | None = None,
) -> tuple[list[Check], SlowLorisResult]:
    """A fresh instance, `seconds` of slow clients (half in headers, half in bodies), normal detect
    calls meanwhile, then one call after they left; with `behind_nginx`, every client goes through
    nginx (ops/nginx.py), as the documented deployment has it. `slow_connections` says how many
    slow clients (by default more than there are worker threads to hold, or many behind nginx)."""
    mode = ("nginx+" if behind_nginx else "") + ("gthread" if threads > 1 else "sync")
    slow_count = 2 * workers * threads + 2  # more than there are worker threads to hold
    if behind_nginx:
        slow_count = NGINX_SLOW_CLIENTS  # nginx holds waiting clients in its event loop, not in workers
    if slow_connections is not None:
        slow_count = slow_connections
    with ExitStack() as stack:
        instance = stack.enter_context(running_instance(workers=workers, threads=threads, env=env))
        port = stack.enter_context(running_nginx(instance.port)) if behind_nginx else instance.port
        call = detect_call(instance.credentials, photo("grace_hopper"))
        baseline = float(np.median([send_once(port, call).latency_ms for _ in range(5)]))
        result = SlowLorisResult(mode, workers, threads, slow_count, seconds, baseline)
        stop = threading.Event()
        attackers = [
            threading.Thread(target=trickle, args=(port, stop, interval, index % 2 == 1), daemon=True)
            for index in range(slow_count)
        ]
        with watched(instance, f"slowloris/{mode}") as health:
            for attacker in attackers:
                attacker.start()
            time.sleep(min(1.0, seconds / 4))  # the slow clients take their places first
            deadline = time.monotonic() + seconds
            while (left := deadline - time.monotonic()) > 0:
                reply = send_once(port, call, timeout=max(1.0, min(5.0, left)))
                result.attempts += 1
                if reply.status == 200:
                    result.succeeded += 1
                    result.latencies_ms.append(reply.latency_ms)
                else:
                    result.failures.append(f"HTTP {reply.status}" if reply.status else reply.error)
            stop.set()
            for attacker in attackers:
                attacker.join(timeout=15)
            recovered = send_once(port, call)
            if recovered.status == 200:
                result.recovered_ms = recovered.latency_ms
    return slowloris_checks(result) + health, result


def slowloris_checks(result: SlowLorisResult) -> list[Check]:
    label = f"slowloris/{result.mode}"
    served = result.succeeded / result.attempts if result.attempts else 0.0
    failures = sorted(set(result.failures))
    median = cell(milliseconds(result.latencies_ms, 50), 0)
    figures = (
        f"{result.succeeded}/{result.attempts} succeeded, p50 {median} ms "
        f"(baseline {result.baseline_ms:.0f} ms); failures {failures}"
    )
    after = f"first call after: {result.recovered_ms:.0f} ms" if result.recovered_ms is not None else "failed"
    return [
        Check(
            label,
            f"normal calls served during {result.slow_connections} slow connections",
            served >= 0.9,
            figures,
            must_hold=False,
        ),
        Check(
            label,
            "no 5xx to normal calls",
            not any(f.startswith("HTTP 5") for f in failures),
            ", ".join(failures),
        ),
        Check(label, "serves again once the slow clients are gone", result.recovered_ms is not None, after),
    ]

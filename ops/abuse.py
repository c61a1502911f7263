"""Abuse runs against a real gunicorn instance: what an attacker would try first, checked end to end.

`python -m ops.abuse` starts FacePortal (as ops/harness.py does for every ops run) and runs four sections:

* timing: wrong secrets, half with a valid api_id and half with unknown ones, interleaved; the two
  latency samples are compared (Mann-Whitney U, bootstrap CI of the difference of medians) to see
  whether a valid api_id can be told apart by timing. The answers themselves must be identical.
* ssrf: compare with image_one_url aimed at loopback, private, link-local, metadata, CGNAT,
  unique-local and reserved addresses, in every spelling (decimal, octal, hex, IPv4-mapped, NAT64,
  6to4, a name), and through redirects from an allowed local server; every one must be refused
  with DOWNLOAD_ERROR and the local target must never be connected to.
* oversize: bodies over the caps, lying Content-Length, chunked uploads, malformed framing; each
  must get a 4xx quickly, without the server reading past its cap, and no worker may die.
* slowloris: many connections trickling a request a byte at a time while a normal client makes
  calls, with sync and with gthread workers; reports whether the normal calls still get through.

Every check that must hold is listed with PASS/FAIL; findings that are measurements (timing,
slow-loris availability) are WARN or INFO. The exit status is 1 when any must-hold check fails.
"""

from __future__ import annotations

import argparse
import errno
import http.client
import http.server
import json
import math
import os
import re
import secrets
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import numpy as np
import numpy.typing as npt

from ops.harness import (
    Call,
    Client,
    Instance,
    Reply,
    cell,
    detect_call,
    milliseconds,
    multipart,
    percentile,
    photo,
    running_instance,
)
from ops.nginx import NginxMissing, running_nginx

Samples = Sequence[float] | npt.NDArray[np.float64]
SECTIONS = ("timing", "ssrf", "oversize", "slowloris")
REDIRECT_HOST = "127.0.0.2"  # a loopback address of its own, so that allowing it allows nothing else
# Slow clients against nginx: far more than gunicorn has workers, far fewer than nginx's
# worker_connections (ops/nginx.py).
NGINX_SLOW_CLIENTS = 200
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


# -- (a) Telling valid api_ids apart by timing --------------------------------------------------


def average_ranks(values: np.ndarray) -> np.ndarray:
    order = np.argsort(values, kind="mergesort")
    ranks = np.empty(len(values))
    ranks[order] = np.arange(1, len(values) + 1)
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    return (np.bincount(inverse, ranks) / counts)[inverse]


def mann_whitney(a: Samples, b: Samples) -> tuple[float, float]:
    """U of `a` and the two-sided p-value (normal approximation with tie and continuity corrections;
    fine for the hundreds of samples used here, and no SciPy needed)."""
    first, second = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    n1, n2 = len(first), len(second)
    combined = np.concatenate([first, second])
    u = float(average_ranks(combined)[:n1].sum() - n1 * (n1 + 1) / 2)
    n = n1 + n2
    _, counts = np.unique(combined, return_counts=True)
    ties = float((counts**3 - counts).sum())
    sigma = math.sqrt(n1 * n2 / 12 * ((n + 1) - ties / (n * (n - 1))))
    if sigma == 0:
        return u, 1.0
    shift = u - n1 * n2 / 2
    z = (abs(shift) - 0.5) / sigma if abs(shift) >= 0.5 else 0.0
    return u, math.erfc(z / math.sqrt(2))


def median_difference_ci(
    a: Samples, b: Samples, *, rounds: int = 2000, seed: int = 0
) -> tuple[float, float, float]:
    """median(a) - median(b) and its 95 % percentile-bootstrap interval."""
    first, second = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    rng = np.random.default_rng(seed)
    resampled = np.median(first[rng.integers(0, len(first), (rounds, len(first)))], axis=1) - np.median(
        second[rng.integers(0, len(second), (rounds, len(second)))], axis=1
    )
    low, high = np.percentile(resampled, [2.5, 97.5])
    return float(np.median(first) - np.median(second)), float(low), float(high)


@dataclass
class TimingResult:
    valid_ms: list[float]
    unknown_ms: list[float]

    def summary(self) -> dict[str, Any]:
        u, p = mann_whitney(self.valid_ms, self.unknown_ms)
        difference, low, high = median_difference_ci(self.valid_ms, self.unknown_ms)
        groups = {
            name: {
                "n": len(values),
                "mean_ms": round(float(np.mean(values)), 3),
                "median_ms": round(percentile(values, 50), 3),
                "p95_ms": round(percentile(values, 95), 3),
            }
            for name, values in (("valid_api_id", self.valid_ms), ("unknown_api_id", self.unknown_ms))
        }
        return {
            **groups,
            "mann_whitney_u": u,
            "p_value": p,
            # Probability that a valid-id request is slower than an unknown-id one (0.5: no tell).
            "common_language_effect": u / (len(self.valid_ms) * len(self.unknown_ms)),
            "median_difference_ms": round(difference, 3),
            "median_difference_ci95_ms": [round(low, 3), round(high, 3)],
            "distinguishable": bool(p < 0.001 and (low > 0 or high < 0)),
        }


def wrong_secret_calls(valid_id: str, count: int) -> list[tuple[str, Call]]:
    """`count` calls with wrong secrets, valid and unknown api_ids alternating in random pairs, so
    that drift in the machine's speed falls on both groups alike."""
    calls = []
    for _ in range(count // 2):
        pair = [("valid", valid_id), ("unknown", secrets.token_hex(16))]  # same shape as a real id
        if secrets.randbelow(2):
            pair.reverse()
        for group, api_id in pair:
            query = f"api_id={api_id}&api_secret={secrets.token_urlsafe(32)}"
            calls.append((group, Call(f"/identity/compare_faces_in_two_images?{query}")))
    return calls


def run_timing(instance: Instance, count: int) -> tuple[list[Check], TimingResult]:
    checks: list[Check] = []
    client = Client(instance.port, timeout=30)
    for _, call in wrong_secret_calls(instance.credentials.api_id, 20):  # warm-up, not counted
        client.send(call)
    samples: dict[str, list[float]] = {"valid": [], "unknown": []}
    shapes: dict[str, set[str]] = {"valid": set(), "unknown": set()}
    wrong = []
    for group, call in wrong_secret_calls(instance.credentials.api_id, count):
        reply = client.send(call)
        samples[group].append(reply.latency_ms)
        body = reply.json()
        body.pop("request_id", None)
        shapes[group].add(json.dumps(body, sort_keys=True))
        if reply.status != 401 or body != {"status": "UNAUTHORIZED"}:
            wrong.append(f"{group}: HTTP {reply.status} {reply.body[:80]!r}")
    client.close()
    total = sum(len(values) for values in samples.values())
    checks.append(
        Check(
            "timing", f"all {total} wrong secrets refused 401 UNAUTHORIZED", not wrong, "; ".join(wrong[:3])
        )
    )
    checks.append(
        Check(
            "timing",
            "valid and unknown api_id get the same answer",
            shapes["valid"] == shapes["unknown"],
            f"valid {sorted(shapes['valid'])} unknown {sorted(shapes['unknown'])}",
        )
    )
    result = TimingResult(samples["valid"], samples["unknown"])
    figures = result.summary()
    checks.append(
        Check(
            "timing",
            "a valid api_id cannot be told apart by latency",
            not figures["distinguishable"],
            f"median difference {figures['median_difference_ms']} ms, 95% CI "
            f"{figures['median_difference_ci95_ms']}, Mann-Whitney p={figures['p_value']:.3g}",
            must_hold=False,
        )
    )
    return checks, result


# -- (b) URLs aimed at our own network ------------------------------------------------------------


class CountingServer(http.server.ThreadingHTTPServer):
    """Serves a face photo at every path and counts every connection it accepts."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], family: socket.AddressFamily, body: bytes) -> None:
        self.address_family = family
        self.body = body
        self.connections = 0
        self.paths: list[str] = []
        super().__init__(address, PhotoHandler)

    def verify_request(self, request: Any, client_address: Any) -> bool:
        self.connections += 1  # counted on accept: even a connection that never sends a request
        return True


class PhotoHandler(http.server.BaseHTTPRequestHandler):
    server: CountingServer

    def do_GET(self) -> None:
        self.server.paths.append(self.path)
        target = parse_qs(urlsplit(self.path).query).get("to")
        if target:  # /redirect?to=URL
            self.send_response(302)
            self.send_header("Location", target[0])
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path.startswith("/loop/"):  # a chain that never ends
            self.send_response(302)
            self.send_header("Location", f"/loop/{int(self.path.rsplit('/', 1)[1]) + 1}")
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Length", str(len(self.server.body)))
            self.end_headers()
            self.wfile.write(self.server.body)

    def log_message(self, format: str, *args: Any) -> None:  # quiet: the report says what matters
        pass


@contextmanager
def serving(servers: Sequence[CountingServer]) -> Iterator[None]:
    threads = [threading.Thread(target=server.serve_forever, daemon=True) for server in servers]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


def canary_servers(body: bytes) -> list[CountingServer]:
    """The local target: the same port on 127.0.0.1 and, where the machine has it, ::1, so that
    every loopback spelling would reach it."""
    for _ in range(20):
        v4 = CountingServer(("127.0.0.1", 0), socket.AF_INET, body)
        try:
            v6 = CountingServer(("::1", v4.server_address[1]), socket.AF_INET6, body)
        except OSError as error:
            if error.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT):  # no IPv6 loopback here
                return [v4]
            v4.server_close()  # the port is taken on ::1: try another
            continue
        return [v4, v6]
    raise RuntimeError("no port free on both 127.0.0.1 and ::1")


def server_url(server: CountingServer) -> str:
    host = str(server.server_address[0])
    return f"http://{f'[{host}]' if ':' in host else host}:{server.server_address[1]}"


def ssrf_targets(port: int) -> list[tuple[str, str]]:
    """(what, URL) for every private or reserved destination; loopback ones aim at the canary."""
    canary = f":{port}/face.jpg"
    return [
        ("loopback", f"http://127.0.0.1{canary}"),
        ("loopback, https", f"https://127.0.0.1{canary}"),
        ("loopback, short form 127.1", f"http://127.1{canary}"),
        ("loopback, decimal", f"http://2130706433{canary}"),
        ("loopback, hex", f"http://0x7f000001{canary}"),
        ("loopback, octal", f"http://0177.0.0.1{canary}"),
        ("unspecified 0.0.0.0 (reaches local listeners)", f"http://0.0.0.0{canary}"),
        ("name resolving to loopback", f"http://localhost{canary}"),
        ("name resolving to loopback, trailing dot", f"http://localhost.{canary}"),
        ("IPv6 loopback", f"http://[::1]{canary}"),
        ("IPv6 unspecified", f"http://[::]{canary}"),
        ("IPv4-mapped IPv6", f"http://[::ffff:127.0.0.1]{canary}"),
        ("IPv4-mapped IPv6, hex", f"http://[::ffff:7f00:1]{canary}"),
        ("NAT64 of loopback", f"http://[64:ff9b::7f00:1]{canary}"),
        ("6to4 of loopback", f"http://[2002:7f00:1::]{canary}"),
        ("10.0.0.0/8", "http://10.0.0.1/face.jpg"),
        ("172.16.0.0/12", "http://172.16.0.1/face.jpg"),
        ("172.16.0.0/12, top", "http://172.31.255.254/face.jpg"),
        ("192.168.0.0/16", "http://192.168.1.1/face.jpg"),
        ("cloud metadata 169.254.169.254", "http://169.254.169.254/latest/meta-data/"),
        ("CGNAT 100.64.0.0/10", "http://100.64.0.1/face.jpg"),
        ("benchmarking 198.18.0.0/15", "http://198.18.0.1/face.jpg"),
        ("multicast", "http://224.0.0.1/face.jpg"),
        ("broadcast", "http://255.255.255.255/face.jpg"),
        ("IPv6 unique local fc00::/7", "http://[fc00::1]/face.jpg"),
        ("IPv6 unique local fd00::", "http://[fd00::1]/face.jpg"),
        ("IPv6 link-local fe80::/10", "http://[fe80::1]/face.jpg"),
    ]


def redirect_targets(redirector: str, port: int) -> list[tuple[str, str]]:
    """Redirects from the allowed first hop to private places; each later hop is checked again."""
    canary = f":{port}/face.jpg"
    destinations = [
        ("redirect to loopback", f"http://127.0.0.1{canary}"),
        ("redirect to a name resolving to loopback", f"http://localhost{canary}"),
        ("redirect to IPv6 loopback", f"http://[::1]{canary}"),
        ("redirect to decimal loopback", f"http://2130706433{canary}"),
        ("redirect to IPv4-mapped loopback", f"http://[::ffff:127.0.0.1]{canary}"),
        ("scheme-relative redirect to loopback", f"//127.0.0.1{canary}"),
        ("redirect to cloud metadata", "http://169.254.169.254/latest/meta-data/"),
        ("redirect to 10.0.0.0/8", "http://10.0.0.1/face.jpg"),
    ]
    targets = [(name, f"{redirector}/redirect?to={quote(url, safe='')}") for name, url in destinations]
    targets.append(("too long a redirect chain (allowed host)", f"{redirector}/loop/0"))
    return targets


def compare_by_url(instance: Instance, url: str, image_two: bytes) -> Reply:
    credentials = instance.credentials
    body, content_type = multipart({"image_one_url": url}, {"image_two_file": ("two.jpg", image_two)})
    query = f"api_id={credentials.api_id}&api_secret={credentials.api_secret}"
    return send_once(
        instance.port, Call(f"/identity/compare_faces_in_two_images?{query}", body, content_type)
    )


def run_ssrf(instance: Instance, redirector: CountingServer) -> list[Check]:
    checks: list[Check] = []
    face = photo("grace_hopper")
    canaries = canary_servers(face)
    with serving(canaries):
        port = canaries[0].server_address[1]
        redirect_base = f"http://{REDIRECT_HOST}:{redirector.server_address[1]}"
        # Controls: the target answers on both loopbacks, and an allowed host is fetched, so every
        # refusal below comes from the address rules and not from a broken setup.
        urls = [f"{server_url(canary)}/face.jpg" for canary in canaries]
        reachable = all(_fetch_directly(url) == 200 for url in urls)
        checks.append(Check("ssrf", "control: the local target answers", reachable, ", ".join(urls)))
        for canary in canaries:
            canary.connections = 0
        for name, url in (
            ("allowed host", f"{redirect_base}/face.jpg"),
            ("allowed redirect", f"{redirect_base}/redirect?to=/face.jpg"),
        ):
            reply = compare_by_url(instance, url, face)
            checks.append(
                Check("ssrf", f"control: {name} is fetched", reply.json().get("status") == "OK", _said(reply))
            )
        for name, url in ssrf_targets(port) + redirect_targets(redirect_base, port):
            reply = compare_by_url(instance, url, face)
            body = reply.json()
            refused = (
                reply.status == 400
                and body.get("status") == "DOWNLOAD_ERROR"
                and body.get("image") == "image_one"
            )
            checks.append(
                Check(
                    "ssrf",
                    f"{name} refused",
                    refused and no_trace(reply) and reply.latency_ms < FAST_SECONDS * 1000,
                    f"{url} -> {_said(reply)}",
                )
            )
        loop_hops = sum(1 for path in redirector.paths if path.startswith("/loop/"))
        checks.append(
            Check("ssrf", "a redirect chain is cut short", 0 < loop_hops <= 10, f"{loop_hops} hops fetched")
        )
        touched = sum(canary.connections for canary in canaries)
        checks.append(
            Check("ssrf", "the local target received no connection", touched == 0, f"{touched} connections")
        )
    return checks


def _fetch_directly(url: str) -> int:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=5)
    try:
        connection.request("GET", parts.path or "/")
        return connection.getresponse().status
    except OSError:
        return 0
    finally:
        connection.close()


def _said(reply: Reply) -> str:
    body = reply.json()
    if body:
        return (
            f"HTTP {reply.status} {body.get('status') or body.get('error')} {body.get('reason', '')}".strip()
        )
    return f"HTTP {reply.status} {reply.error or reply.body[:60]!r} in {reply.latency_ms:.0f} ms"


# -- (c) Bodies too large, lying or unframed ----------------------------------------------------------


@dataclass
class RawOutcome:
    status: int
    body: bytes
    seconds: float  # until the whole answer was in
    sent: int  # body bytes the client got into the connection before the answer came
    sent_after: int = 0  # and afterwards, while it went on sending (see raw_request's linger)
    error: str = ""


def raw_request(
    port: int,
    head: bytes,
    body: Iterator[bytes],
    *,
    half_close: bool = False,
    linger: float = 0.0,
    timeout: float = 20.0,
) -> RawOutcome:
    """Sends `head`, then `body` chunk by chunk from another thread, while reading the answer.

    The client's send buffer is small, so what it manages to send is close to what the server
    has read (plus the server's receive buffer): a refusal that does not read the body stops it.
    With `linger`, the client goes on sending that long after the answer, as a client that does
    not read answers would: a server that then reads (drains) the rest of the body shows here.
    """
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)
    sent = [0]
    stop = threading.Event()

    def send() -> None:
        with suppress(OSError):
            sock.sendall(head)
            for chunk in body:
                if stop.is_set():
                    return
                sock.sendall(chunk)
                sent[0] += len(chunk)
            if half_close:
                sock.shutdown(socket.SHUT_WR)

    started = time.perf_counter()
    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    try:
        response = http.client.HTTPResponse(sock)
        response.begin()
        sent_before = sent[0]
        if not linger:
            stop.set()
        data = response.read()
        seconds = time.perf_counter() - started
        sender.join(timeout=linger)  # ends early when the server closes the connection
        return RawOutcome(response.status, data, seconds, sent_before, sent[0] - sent_before)
    except (OSError, http.client.HTTPException) as error:
        return RawOutcome(0, b"", time.perf_counter() - started, sent[0], error=type(error).__name__)
    finally:
        stop.set()
        sock.close()
        sender.join(timeout=5)


def chunks(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    block = b"\0" * size
    for start in range(0, total, size):
        yield block[: min(size, total - start)]


def chunked_encoding(data: Iterator[bytes]) -> Iterator[bytes]:
    for chunk in data:
        yield f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    yield b"0\r\n\r\n"


def http_head(path: str, headers: Mapping[str, str]) -> bytes:
    lines = [
        f"POST {path} HTTP/1.1",
        "Host: 127.0.0.1",
        *(f"{key}: {value}" for key, value in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def is_413_text(outcome: RawOutcome) -> bool:
    return outcome.status == 413 and outcome.body == b"Request Entity Too Large"


def is_too_big(outcome: RawOutcome) -> bool:
    return outcome.status == 400 and _json(outcome.body).get("status") == "IMAGE_FILE_SIZE_TOO_BIG"


def is_client_error(outcome: RawOutcome) -> bool:
    return 400 <= outcome.status < 500


EXPECTATIONS: dict[str, Callable[[RawOutcome], bool]] = {
    "413 text": is_413_text,
    "IMAGE_FILE_SIZE_TOO_BIG": is_too_big,
    "4xx": is_client_error,
}
READ_AT_MOST = 4 * 1024 * 1024  # what a refusal may take in: buffers, not the body
LINGER_SECONDS = 2.0  # long enough to send far more than READ_AT_MOST on loopback


@dataclass(frozen=True)
class OversizeCase:
    name: str
    path: str
    headers: Mapping[str, str]
    body: Callable[[], Iterator[bytes]]  # made afresh for each run: bodies of 1 GiB are generated
    expect: str  # a key of EXPECTATIONS
    read_at_most: int | None = None  # body bytes the server may take in, before and after answering
    half_close: bool = False
    linger: float = 0.0  # seconds the client goes on sending after the answer


def pieces(data: bytes) -> Callable[[], Iterator[bytes]]:
    return lambda: (data[start : start + 65536] for start in range(0, len(data), 65536))


def oversize_cases(instance: Instance) -> list[OversizeCase]:
    credentials = instance.credentials
    detect = "/faceid/v1/detect"
    compare = "/identity/compare_faces_in_two_images?" + (
        f"api_id={credentials.api_id}&api_secret={credentials.api_secret}"
    )
    fields = {"api_key": credentials.api_id, "api_secret": credentials.api_secret}
    faceid, faceid_type = multipart(fields, {"image": ("big.jpg", b"\xff" * (2 * 1024 * 1024 + 300 * 1024))})
    six_mb = b"\xff" * (6 * 1024 * 1024)
    linkface, linkface_type = multipart(
        {}, {"image_one_file": ("1.jpg", six_mb), "image_two_file": ("2.jpg", six_mb)}
    )
    normal, normal_type = multipart(fields, {"image": ("face.jpg", photo("grace_hopper"))})
    gib = 1024**3

    def sized(kind: str, length: int) -> dict[str, str]:
        return {"Content-Type": kind, "Content-Length": str(length)}

    def chunked(kind: str) -> dict[str, str]:
        return {"Content-Type": kind, "Transfer-Encoding": "chunked"}

    return [
        OversizeCase(
            "FaceID body over 2 MB", detect, sized(faceid_type, len(faceid)), pieces(faceid), "413 text"
        ),
        OversizeCase(
            "LinkFace body over 11 MB",
            compare,
            sized(linkface_type, len(linkface)),
            pieces(linkface),
            "IMAGE_FILE_SIZE_TOO_BIG",
            READ_AT_MOST,
        ),
        OversizeCase(
            "FaceID announces 1 GiB, goes on sending after the answer",
            detect,
            sized(faceid_type, gib),
            lambda: chunks(gib),
            "413 text",
            READ_AT_MOST,
            linger=LINGER_SECONDS,
        ),
        OversizeCase(
            "LinkFace announces 1 GiB, goes on sending after the answer",
            compare,
            sized(linkface_type, gib),
            lambda: chunks(gib),
            "IMAGE_FILE_SIZE_TOO_BIG",
            READ_AT_MOST,
            linger=LINGER_SECONDS,
        ),
        OversizeCase(
            "body cut short of its Content-Length, then half-close",
            detect,
            sized(normal_type, len(normal)),
            pieces(normal[: len(normal) // 2]),
            "4xx",
            half_close=True,
        ),
        OversizeCase(
            "Content-Length smaller than the body (3 MB sent)",
            detect,
            sized(faceid_type, 1000),
            lambda: chunks(3 * 1024 * 1024),
            "4xx",
        ),
        # A chunked body announces no size: it is read up to the cap, then refused.
        OversizeCase(
            "FaceID chunked upload of 3 MB, no length",
            detect,
            chunked(faceid_type),
            lambda: chunked_encoding(chunks(3 * 1024 * 1024)),
            "413 text",
            2 * 1024 * 1024 + READ_AT_MOST,
        ),
        OversizeCase(
            "LinkFace chunked upload of 12 MB, no length",
            compare,
            chunked(linkface_type),
            lambda: chunked_encoding(chunks(12 * 1024 * 1024)),
            "IMAGE_FILE_SIZE_TOO_BIG",
            11 * 1024 * 1024 + READ_AT_MOST,
        ),
        OversizeCase(
            "chunked upload with a malformed chunk size",
            detect,
            chunked(faceid_type),
            lambda: iter([b"zz\r\nabc\r\n0\r\n\r\n"]),
            "4xx",
        ),
        OversizeCase(
            "Content-Length and Transfer-Encoding together",
            detect,
            {**sized(faceid_type, 10), "Transfer-Encoding": "chunked"},
            lambda: chunked_encoding(chunks(1000)),
            "4xx",
        ),
        OversizeCase(
            "two different Content-Lengths",
            detect,
            {**sized(faceid_type, 10), "content-length": "20"},
            lambda: chunks(20),
            "4xx",
        ),
        OversizeCase("negative Content-Length", detect, sized(faceid_type, -1), lambda: chunks(10), "4xx"),
        OversizeCase(
            "non-numeric Content-Length",
            detect,
            {"Content-Type": faceid_type, "Content-Length": "12abc"},
            lambda: chunks(10),
            "4xx",
        ),
        OversizeCase(
            "request line over 8 KB", f"{detect}?{'a' * 9000}", sized("text/plain", 0), iter_nothing, "4xx"
        ),
        OversizeCase(
            "100 header fields",
            detect,
            {**{f"X-Filler-{index}": "x" for index in range(100)}, "Content-Length": "0"},
            iter_nothing,
            "4xx",
        ),
    ]


def iter_nothing() -> Iterator[bytes]:
    return iter(())


def _json(data: bytes) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def run_oversize(instance: Instance) -> tuple[list[Check], list[dict[str, Any]]]:
    checks: list[Check] = []
    rows = []
    for case in oversize_cases(instance):
        head = http_head(case.path, case.headers)
        outcome = raw_request(
            instance.port, head, case.body(), half_close=case.half_close, linger=case.linger
        )
        taken = outcome.sent + outcome.sent_after
        within = case.read_at_most is None or taken <= case.read_at_most
        fast = outcome.seconds < FAST_SECONDS
        passed = EXPECTATIONS[case.expect](outcome) and fast and within and b"Traceback" not in outcome.body
        megabytes = f"{outcome.sent / 1024**2:.1f} MB of body sent before the answer"
        if case.linger:
            megabytes += f", {outcome.sent_after / 1024**2:.1f} MB after"
        limit = f", at most {READ_AT_MOST // 1024**2} MB read" if case.read_at_most else ""
        detail = (
            f"{_said_raw(outcome)} in {outcome.seconds:.2f} s; {megabytes}; expected {case.expect}{limit}"
        )
        checks.append(Check("oversize", case.name, passed, detail))
        rows.append(
            {
                "case": case.name,
                "status": outcome.status,
                "seconds": round(outcome.seconds, 3),
                "sent_before_answer": outcome.sent,
                "sent_after_answer": outcome.sent_after,
            }
        )
    return checks, rows


def _said_raw(outcome: RawOutcome) -> str:
    if not outcome.status:
        return f"no answer ({outcome.error})"
    body = _json(outcome.body)
    code = (body.get("status") or body.get("error")) if body else outcome.body[:40].decode(errors="replace")
    return f"HTTP {outcome.status} {code!r}"


# -- (d) Slow clients holding workers ---------------------------------------------------------------


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


def send_once(port: int, call: Call, timeout: float = 30.0) -> Reply:
    client = Client(port, timeout=timeout)
    try:
        return client.send(call)
    finally:
        client.close()


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


# -- The run ------------------------------------------------------------------------------------------


def extra_allowed_hosts() -> dict[str, str]:
    """The caller's allow-list plus the redirector's own loopback address (nothing else)."""
    current = os.environ.get("FACEPORTAL_URL_ALLOWED_HOSTS", "")
    return {"FACEPORTAL_URL_ALLOWED_HOSTS": ",".join(filter(None, [current, REDIRECT_HOST]))}


def table(checks: Sequence[Check]) -> str:
    width = max(len(f"{check.section}: {check.name}") for check in checks)
    lines = [f"{'check':<{width}}  result  detail"]
    for check in checks:
        lines.append(f"{check.section + ': ' + check.name:<{width}}  {check.verdict:<6}  {check.detail}")
    return "\n".join(lines)


def timing_text(figures: Mapping[str, Any]) -> str:
    lines = [f"{'wrong secret with':<18} {'n':>5} {'mean ms':>9} {'median ms':>10} {'p95 ms':>8}"]
    for group in ("valid_api_id", "unknown_api_id"):
        row = figures[group]
        cells = f"{row['mean_ms']:>9.3f} {row['median_ms']:>10.3f} {row['p95_ms']:>8.3f}"
        lines.append(f"{group:<18} {row['n']:>5} {cells}")
    low, high = figures["median_difference_ci95_ms"]
    verdict = "DISTINGUISHABLE" if figures["distinguishable"] else "not distinguishable"
    difference = figures["median_difference_ms"]
    lines.append(f"median difference {difference:.3f} ms (95% bootstrap CI {low:.3f} .. {high:.3f})")
    effect = figures["common_language_effect"]
    lines.append(
        f"Mann-Whitney U p = {figures['p_value']:.3g}; P(valid slower) = {effect:.3f}; {verdict} at p < 0.001"
    )
    return "\n".join(lines)


def slowloris_text(results: Sequence[SlowLorisResult]) -> str:
    lines = [
        f"{'mode':<8} {'workers':>7} {'threads':>7} {'slow conns':>10} {'baseline ms':>11} "
        f"{'served':>9} {'p50 ms':>8} {'max ms':>8} {'recovery ms':>11}"
    ]
    for result in results:
        row = result.summary()
        lines.append(
            f"{row['mode']:<8} {row['workers']:>7} {row['threads']:>7} {row['slow_connections']:>10} "
            f"{row['baseline_ms']:>11.1f} {row['normal_succeeded']:>4}/{row['normal_calls']:<4} "
            f"{cell(row['normal_p50_ms'], 8)} {cell(row['normal_max_ms'], 8)} "
            f"{cell(row['recovered_ms'], 11) if row['recovered_ms'] is not None else 'never':>11}"
        )
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m ops.abuse", description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--threads", type=int, default=1, help="threads per worker for timing/ssrf/oversize")
    parser.add_argument("--timing-requests", type=int, default=1000, help="wrong-secret calls (default 1000)")
    parser.add_argument("--slowloris-seconds", type=float, default=15.0, help="length of each slow-loris run")
    parser.add_argument(
        "--slowloris-threads", type=int, default=2, help="threads per worker of the gthread slow-loris run"
    )
    parser.add_argument(
        "--slowloris-connections",
        type=int,
        help="slow clients of the runs without nginx (default: 2 x workers x threads + 2)",
    )
    parser.add_argument("--sections", default=",".join(SECTIONS), help=f"any of {','.join(SECTIONS)}")
    parser.add_argument("--json", action="store_true", help="print one JSON record instead of the tables")
    args = parser.parse_args(argv)
    args.sections = [name.strip() for name in args.sections.split(",") if name.strip()]
    if not args.sections or set(args.sections) - set(SECTIONS):
        parser.error(f"--sections: choose from {', '.join(SECTIONS)}")
    if args.workers < 1 or args.threads < 1 or args.slowloris_threads < 2:
        parser.error("--workers and --threads must be at least 1, --slowloris-threads at least 2")
    if args.timing_requests < 4:
        parser.error("--timing-requests: at least 4")
    if args.slowloris_seconds <= 0:
        parser.error("--slowloris-seconds must be more than 0")
    return args


def run_sections(args: argparse.Namespace) -> tuple[list[Check], dict[str, Any], list[str]]:
    """The checks, the figures for --json and the printed tables of the sections asked for."""
    checks: list[Check] = []
    record: dict[str, Any] = {"workers": args.workers, "threads": args.threads}
    texts = []
    env = extra_allowed_hosts()
    if {"timing", "ssrf", "oversize"} & set(args.sections):
        with running_instance(workers=args.workers, threads=args.threads, env=env) as instance:
            if "timing" in args.sections:
                with watched(instance, "timing") as health:
                    found, timing = run_timing(instance, args.timing_requests)
                checks += found + health
                record["timing"] = timing.summary()
                texts.append("== wrong secrets: latency by api_id\n" + timing_text(record["timing"]))
            if "ssrf" in args.sections:
                redirector = CountingServer((REDIRECT_HOST, 0), socket.AF_INET, photo("grace_hopper"))
                with serving([redirector]), watched(instance, "ssrf") as health:
                    found = run_ssrf(instance, redirector)
                checks += found + health
            if "oversize" in args.sections:
                with watched(instance, "oversize") as health:
                    found, rows = run_oversize(instance)
                checks += found + health
                record["oversize"] = rows
    if "slowloris" in args.sections:
        results = []
        for threads, behind_nginx in ((1, False), (args.slowloris_threads, False), (1, True)):
            try:
                found, result = run_slowloris(
                    workers=args.workers,
                    threads=threads,
                    seconds=args.slowloris_seconds,
                    env=env,
                    behind_nginx=behind_nginx,
                    slow_connections=None if behind_nginx else args.slowloris_connections,
                )
            except NginxMissing as missing:
                checks.append(Check("slowloris/nginx+sync", "run behind nginx", False, str(missing), False))
                continue
            checks += found
            results.append(result)
        record["slowloris"] = [result.summary() for result in results]
        title = "== slow-loris: normal detect calls while slow clients hold connections"
        texts.append(f"{title}\n{slowloris_text(results)}")
    record["checks"] = [
        {"section": c.section, "name": c.name, "verdict": c.verdict, "detail": c.detail} for c in checks
    ]
    return checks, record, texts


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    checks, record, texts = run_sections(args)
    failures = [check for check in checks if check.verdict == "FAIL"]
    record["failed"] = len(failures)
    if args.json:
        print(json.dumps(record, indent=2))
    else:
        print("\n\n".join([*texts, "== checks\n" + table(checks)]))
        print(f"\n{len(failures)} must-hold check(s) failed" if failures else "\nall must-hold checks passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

"""(c) Bodies too large, lying or unframed: each must get a 4xx quickly, without the server
reading past its cap, and no worker may die."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from ops.abuse.common import FAST_SECONDS, Check
from ops.harness import Instance, multipart, photo


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

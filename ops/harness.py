"""The harness shared by the ops runs (ops/load.py, ops/abuse, ops/faults.py): a real gunicorn
instance on a fresh data folder with an unlimited account, and the HTTP helpers that call it
(multipart bodies encoded once, a keep-alive client, the detect and compare calls, percentiles).

A module of its own so that the abuse and fault runs need nothing of the load run.
"""

from __future__ import annotations

import http.client
import json
import secrets
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from faceportal.endpoints import BY_NAME
from ops.server import Server, manage

REQUEST_TIMEOUT = 120.0  # seconds; far above any answer, so only a hung server trips it
PHOTO_SIZE = (640, 480)


# -- The instance under test -----------------------------------------------------------------


@dataclass(frozen=True)
class Credentials:
    api_id: str
    api_secret: str


@dataclass
class Instance:
    server: Server
    credentials: Credentials

    @property
    def port(self) -> int:
        return self.server.port

    def log_text(self) -> str:
        path = self.server.log_path
        return path.read_text(errors="replace") if path and path.exists() else ""


@contextmanager
def running_instance(
    *, workers: int, threads: int, env: Mapping[str, str] | None = None
) -> Iterator[Instance]:
    """A started instance on a fresh data folder with an account that no limit or quota stops."""
    with tempfile.TemporaryDirectory(prefix="faceportal-ops-") as data:
        server = Server(data_dir=Path(data), env=dict(env or {}), workers=workers, threads=threads)
        account = ["create_api_account", "--user", "ops-runs", "--quota", str(10**12), "--rate", "0"]
        try:
            server.migrate()
            answer = manage([*account, "--concurrency", "0"], server.full_env())
        except subprocess.CalledProcessError as error:
            raise RuntimeError(f"{' '.join(error.cmd[1:])} failed:\n{error.stderr[-3000:]}") from None
        # The command's last line is the credentials as JSON.
        credentials = Credentials(**json.loads(answer.strip().splitlines()[-1]))
        try:
            server.start()
        except (RuntimeError, TimeoutError) as error:
            log = server.log_path.read_text(errors="replace")[-3000:] if server.log_path else ""
            server.stop()
            raise RuntimeError(f"{error}\n--- end of the gunicorn log ---\n{log}") from None
        try:
            yield Instance(server, credentials)
        finally:
            server.stop()


# -- Requests ----------------------------------------------------------------------------------


def multipart(fields: Mapping[str, str], files: Mapping[str, tuple[str, bytes]]) -> tuple[bytes, str]:
    """A multipart/form-data body and its Content-Type."""
    boundary = f"ops-{secrets.token_hex(12)}"
    parts: list[bytes] = []
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        )
    for name, (filename, data) in files.items():
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        )
        parts.append(head.encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


@dataclass(frozen=True)
class Call:
    """One request, encoded once and sent many times."""

    path: str
    body: bytes = b""
    content_type: str = "application/x-www-form-urlencoded"

    def headers(self) -> dict[str, str]:
        return {"Content-Type": self.content_type, "Content-Length": str(len(self.body))}


@dataclass(frozen=True)
class Reply:
    status: int  # 0 when no HTTP answer came (connection failure or timeout)
    body: bytes
    latency_ms: float
    error: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)

    def json(self) -> dict[str, Any]:
        try:
            value = json.loads(self.body)
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}


class Client:
    """One keep-alive connection that reopens itself when the server closed it."""

    def __init__(self, port: int, timeout: float = REQUEST_TIMEOUT) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)

    def send(self, call: Call) -> Reply:
        started = time.perf_counter()
        # A kept-alive connection may have been closed by the server since its last answer
        # (sync workers close every one); resending on a new connection is what any HTTP
        # client does, and is not a failure of the service.
        for attempt in (1, 2):
            reused = self.connection.sock is not None
            try:
                self.connection.request("POST", call.path, call.body, call.headers())
                response = self.connection.getresponse()
                body = response.read()
                if response.will_close:
                    self.connection.close()
                return Reply(
                    response.status,
                    body,
                    (time.perf_counter() - started) * 1000,
                    headers={key.lower(): value for key, value in response.getheaders()},
                )
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as error:
                self.connection.close()
                if reused and attempt == 1:
                    continue
                return Reply(0, b"", (time.perf_counter() - started) * 1000, type(error).__name__)
            except (OSError, http.client.HTTPException) as error:
                self.connection.close()
                return Reply(0, b"", (time.perf_counter() - started) * 1000, type(error).__name__)
        raise AssertionError("unreachable")

    def close(self) -> None:
        self.connection.close()


def photo(name: str) -> bytes:
    """A package photo as a realistic upload: 640x480 JPEG, quality 90."""
    from facelab.benchmark import jpeg_at  # the same photos as the engine benchmarks

    return jpeg_at(name, PHOTO_SIZE)


DETECT_PHOTO = "grace_hopper"
COMPARE_PHOTOS = ("grace_hopper", "astronaut")


def detect_call(credentials: Credentials, image: bytes) -> Call:
    fields = {"api_key": credentials.api_id, "api_secret": credentials.api_secret}
    body, content_type = multipart(fields, {"image": ("photo.jpg", image)})
    return Call(BY_NAME["detect"].url, body, content_type)


def compare_call(credentials: Credentials, one: bytes, two: bytes) -> Call:
    body, content_type = multipart(
        {}, {"image_one_file": ("one.jpg", one), "image_two_file": ("two.jpg", two)}
    )
    query = f"api_id={credentials.api_id}&api_secret={credentials.api_secret}"
    return Call(f"{BY_NAME['compare'].url}?{query}", body, content_type)


def percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(values, q)) if len(values) else float("nan")


def milliseconds(values: Sequence[float], q: float) -> float | None:
    """A percentile for records: None (JSON null, not NaN) when nothing was measured."""
    return round(percentile(values, q), 1) if len(values) else None


def cell(value: float | None, width: int) -> str:
    return f"{value:>{width}.1f}" if value is not None else f"{'-':>{width}}"

"""The served configuration: gunicorn with two workers, models loaded, metrics added up, and
what reaches the application (or does not) from a real HTTP connection."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

from faceengine.config import PROJECT_ROOT
from ops.abuse import chunked_encoding, http_head, raw_request
from ops.load import multipart
from ops.server import manage
from tests.conftest import encode, pixels

pytestmark = [pytest.mark.models, pytest.mark.slow]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    data = tmp_path_factory.mktemp("data")
    return {**os.environ, "FACEPORTAL_DATA_DIR": str(data), "PORT": str(free_port()), "WORKERS": "2"}


@pytest.fixture(scope="module")
def server(server_env: dict[str, str]) -> Iterator[str]:
    env = dict(server_env)
    data, port = env["FACEPORTAL_DATA_DIR"], env["PORT"]
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    subprocess.run(
        [".venv/bin/python", "manage.py", "migrate", "-v", "0"], cwd=PROJECT_ROOT, env=env, check=True
    )
    process = subprocess.Popen(
        [".venv/bin/gunicorn", "faceportal.wsgi", "-c", "faceportal/gunicorn.conf.py"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{url}/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.25)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    assert (Path(data) / "prometheus").is_dir()


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_the_served_app_is_ready_with_its_models(server: str) -> None:
    status, body = get(f"{server}/readyz")
    assert status == 200 and '"models": "ok"' in body


MISSING_KEY = {"endpoint": "detect", "status": "MISSING_ARGUMENTS:api_key"}


def refusals_per_worker(server_env: dict[str, str]) -> dict[str, float]:
    """Each worker's own count of detect calls without a key, from its file in the metrics folder."""
    from prometheus_client.multiprocess import MultiProcessCollector

    counts = {}
    for file in sorted((Path(server_env["FACEPORTAL_DATA_DIR"]) / "prometheus").glob("counter_*.db")):
        for metric in MultiProcessCollector.merge([str(file)]):
            for sample in metric.samples:
                if sample.name == "faceportal_api_calls_total" and sample.labels == MISSING_KEY:
                    counts[file.name] = sample.value
    return counts


@contextmanager
def one_worker_held(server: str) -> Iterator[None]:
    """A sync worker that accepted an unfinished request serves nobody else until it ends."""
    with socket.create_connection(("127.0.0.1", port_of(server)), timeout=10) as held:
        held.sendall(b"POST /faceid/v1/detect HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        time.sleep(0.2)  # accepted by an idle worker before the next connection
        yield


def test_metrics_add_up_the_calls_of_every_worker(server: str, server_env: dict[str, str]) -> None:
    """Three calls while one worker is held, three while the other is: the scrape adds up both
    workers' counts (a per-process counter would say 3)."""
    before = refusals_per_worker(server_env)
    with ExitStack() as first:
        first.enter_context(one_worker_held(server))
        for _ in range(3):
            assert post_empty(f"{server}/faceid/v1/detect") == 400
        with one_worker_held(server):  # taken by the worker that served those three
            first.close()
            for _ in range(3):
                assert post_empty(f"{server}/faceid/v1/detect") == 400
    status, body = get(f"{server}/metrics")
    line = next(
        line
        for line in body.splitlines()
        if line.startswith('faceportal_api_calls_total{endpoint="detect",status="MISSING_ARGUMENTS:api_key"}')
    )
    after = refusals_per_worker(server_env)
    added = sorted(after[name] - before.get(name, 0) for name in after if after[name] != before.get(name, 0))
    assert added == [3, 3]  # each worker served three
    assert status == 200 and float(line.split()[-1]) == sum(before.values()) + 6


def post_empty(url: str) -> int:
    request = urllib.request.Request(url, data=b"", method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


@pytest.fixture(scope="module")
def credentials(server: str, server_env: dict[str, str]) -> dict[str, str]:
    answer = manage(["create_api_account", "--user", "edges", "--quota", "100", "--rate", "0"], server_env)
    return dict(json.loads(answer.strip().splitlines()[-1]))


def port_of(server: str) -> int:
    return int(server.rsplit(":", 1)[1])


def in_pieces(data: bytes, size: int = 16 * 1024) -> Iterator[bytes]:
    return (data[start : start + size] for start in range(0, len(data), size))


def send_chunked(server: str, path: str, body: bytes, content_type: str) -> tuple[int, bytes]:
    head = http_head(path, {"Content-Type": content_type, "Transfer-Encoding": "chunked"})
    outcome = raw_request(port_of(server), head, chunked_encoding(in_pieces(body)))
    return outcome.status, outcome.body


def test_a_chunked_upload_of_a_photo_is_read(server: str, credentials: dict[str, str]) -> None:
    photo = encode(pixels("grace_hopper"))
    query = f"api_id={credentials['api_id']}&api_secret={credentials['api_secret']}"
    body, content_type = multipart(
        {}, {"image_one_file": ("a.jpg", photo), "image_two_file": ("b.jpg", photo)}
    )
    status, answer = send_chunked(
        server, f"/identity/compare_faces_in_two_images?{query}", body, content_type
    )
    assert status == 200, answer
    assert json.loads(answer)["max_confidence"] > 0.99
    fields = {"api_key": credentials["api_id"], "api_secret": credentials["api_secret"]}
    body, content_type = multipart(fields, {"image": ("face.jpg", photo)})
    status, answer = send_chunked(server, "/faceid/v1/detect", body, content_type)
    assert status == 200 and len(json.loads(answer)["faces"]) == 1, answer


def test_a_chunked_upload_over_the_cap_is_refused_with_the_familys_answer(server: str) -> None:
    status, answer = send_chunked(
        server, "/identity/mask_selfie_image", b"x" * (12 * 1024 * 1024), "text/plain"
    )
    assert (status, json.loads(answer)["status"]) == (400, "IMAGE_FILE_SIZE_TOO_BIG")
    status, answer = send_chunked(server, "/faceid/v1/detect", b"x" * (3 * 1024 * 1024), "text/plain")
    assert (status, answer) == (413, b"Request Entity Too Large")


@pytest.mark.parametrize("body", [b"zz\r\nabc\r\n0\r\n\r\n", b"3\r\nabc\r\n0\r\nBad Trailer: x\r\n\r\n"])
def test_a_malformed_chunk_or_trailer_is_a_json_refusal(server: str, body: bytes) -> None:
    head = http_head("/identity/mask_selfie_image", {"Transfer-Encoding": "chunked"})
    outcome = raw_request(port_of(server), head, iter([body]))
    assert (outcome.status, json.loads(outcome.body)["reason"]) == (400, "malformed chunked body")


def raw_answer(server: str, request: bytes) -> tuple[int, str, bytes]:
    """Status, Content-Type and body of one request sent byte for byte as given."""
    with socket.create_connection(("127.0.0.1", port_of(server)), timeout=30) as sock:
        sock.sendall(request)
        answer = b""
        while data := sock.recv(65536):
            answer += data
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers.get("Content-Type", ""), body


@pytest.mark.parametrize(
    ("target", "host", "status", "code"),
    [
        ("//identity/mask_selfie_image", "127.0.0.1", 404, "NOT_FOUND"),
        ("/identity/mask_selfie_image/", "127.0.0.1", 404, "NOT_FOUND"),
        ("//faceid/v1/detect", "127.0.0.1", 404, "API_NOT_FOUND"),
        ("/identity/mask_selfie_image", "evil.example", 400, "INVALID_ARGUMENT"),
    ],
)
def test_what_the_application_sees_answers_in_json(
    server: str, target: str, host: str, status: int, code: str
) -> None:
    request = f"POST {target} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    answered, content_type, body = raw_answer(server, request.encode())
    assert (answered, content_type) == (status, "application/json")
    parsed = json.loads(body)
    assert parsed.get("status", parsed.get("error")) == code


def test_a_request_naming_a_charset_with_150_query_parameters_gets_the_api_answer(server: str) -> None:
    """Django parsed the query string while building such a request, before any middleware
    (faceportal/wsgi.py): gunicorn answered its HTML 500."""
    query = "&".join(f"p{index}=x" for index in range(150))
    request = (
        f"POST /identity/mask_selfie_image?{query} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: application/x-www-form-urlencoded; charset=utf-8\r\n"
        "Content-Length: 0\r\nConnection: close\r\n\r\n"
    )
    status, content_type, body = raw_answer(server, request.encode())
    assert (status, content_type) == (400, "application/json")
    assert json.loads(body)["reason"] == "too many parameters (at most 100)"


@pytest.mark.parametrize(
    ("request_head", "status"),
    [
        (f"POST /identity/mask_selfie_image?{'a' * 9000} HTTP/1.1\r\nHost: x\r\n", 400),
        ("POST /identity/mask_selfie_image HTTP/1.1\r\nHost: x\r\n" + "X-F: x\r\n" * 51, 431),
        (f"POST /identity/mask_selfie_image HTTP/1.1\r\nHost: x\r\nX-Big: {'a' * 9000}\r\n", 431),
        ("P@ST /identity/mask_selfie_image HTTP/1.1\r\nHost: x\r\n", 400),
    ],
)
def test_gunicorn_answers_malformed_requests_itself_as_documented(
    server: str, request_head: str, status: int
) -> None:
    """docs/operations.md lists these: refused by gunicorn before Django sees the request, so
    with gunicorn's own small HTML page rather than an API envelope."""
    answered, content_type, _ = raw_answer(server, (request_head + "\r\n").encode())
    assert (answered, content_type) == (status, "text/html")

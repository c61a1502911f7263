"""No secret in any log: gunicorn's (served with the project's own configuration), the
application's, and the documented nginx's, whether the secret came in the query string, the
form, a header or a malformed request."""

from __future__ import annotations

import http.client
import logging
import os
import re
import socket
import tempfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlencode

import pytest
from gunicorn.config import Config

from faceengine.config import PROJECT_ROOT
from faceportal.gunicorn_logging import RedactingLogger
from faceportal.logs import JsonFormatter
from faceportal.redact import RedactFilter, redact
from ops import load, nginx

pytestmark = pytest.mark.slow

COMPARE = "/identity/compare_faces_in_two_images"


@pytest.fixture(scope="module")
def instance() -> Iterator[load.Instance]:
    with load.running_instance(workers=1, threads=1) as running:
        yield running


def request(
    port: int, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, path, body, headers or {})
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def raw(port: int, data: bytes) -> bytes:
    """Sends bytes as they are (requests http.client would refuse to write) and reads the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
        return answer


def files_holding(folder: Path, secret: str) -> list[str]:
    return [
        str(path.relative_to(folder))
        for path in folder.rglob("*")
        if path.is_file() and secret.encode() in path.read_bytes()
    ]


def test_no_secret_reaches_gunicorns_logs_or_the_data_folder(instance: load.Instance) -> None:
    port, api_id, secret = instance.port, instance.credentials.api_id, instance.credentials.api_secret
    photo = load.photo("grace_hopper")
    form = {"Content-Type": "application/x-www-form-urlencoded"}

    compare = load.compare_call(instance.credentials, photo, photo)  # the secret in the query
    assert request(port, "POST", compare.path, compare.body, compare.headers()) == 200
    query = f"api_id={api_id}&api_secret={secret}"
    assert request(port, "POST", f"{COMPARE}?{query}") == 400  # INVALID_ARGUMENT: no images
    assert request(port, "POST", f"{COMPARE}?api_id={api_id}&api%5Fsecret={secret}") == 400
    assert (
        request(port, "POST", COMPARE, urlencode({"api_id": api_id, "api_secret": secret}).encode(), form)
        == 400
    )
    detect_form = urlencode({"api_key": api_id, "api_secret": secret}).encode()
    assert request(port, "POST", "/faceid/v1/detect", detect_form, form) == 400
    assert request(port, "POST", COMPARE, headers={"X-DF-API-ID": api_id, "X-DF-API-SECRET": secret}) in (
        400,
        401,
    )
    referer = {"Referer": f"https://example.com/page?api_secret={secret}"}
    assert request(port, "GET", f"/portal/login/?password={secret}&key={secret}", headers=referer) == 200
    # Malformed requests that gunicorn refuses itself, with its own error and access log lines.
    assert raw(port, f"GET {COMPARE}?{query} HTTP/1.1\r\nBad Header: x\r\n\r\n".encode()).startswith(
        b"HTTP/1.1 400"
    )
    assert raw(port, f"GET {COMPARE}?{query} HTTP/1.1 trailing\r\n\r\n".encode()).startswith(b"HTTP/1.1 400")

    log = instance.log_text()
    assert [line for line in log.splitlines() if secret in line] == []
    assert f"{COMPARE}?api_id={api_id}&api_secret=***" in log  # the access log is there, masked
    assert "Invalid request from ip=" in log  # and gunicorn's own warnings too
    assert files_holding(instance.server.data_dir, secret) == []


def fake_exchange(secret: str) -> tuple[Any, Any, dict[str, Any]]:
    environ = {
        "REQUEST_METHOD": "POST",
        "RAW_URI": f"{COMPARE}?api_id=ID&api_secret={secret}",
        "PATH_INFO": COMPARE,
        "QUERY_STRING": f"api_id=ID&api_secret={secret}",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "192.0.2.1",
        "HTTP_REFERER": f"https://example.com/?password={secret}",
        "HTTP_X_DF_API_SECRET": secret,
        "HTTP_COOKIE": f"sessionid={secret}",
    }
    headers = [
        ("X-DF-API-SECRET", secret),
        ("AUTHORIZATION", f"Bearer {secret}"),
        ("COOKIE", f"sessionid={secret}"),
    ]
    request = SimpleNamespace(headers=headers)
    response = SimpleNamespace(status="200 OK", headers=[("X-Request-Id", "TID1")], sent=10)
    return response, request, environ


def test_any_access_log_format_an_operator_picks_is_masked(capsys: pytest.CaptureFixture[str]) -> None:
    secret = "s3cr3t-value-Zq"
    atoms = (
        "%(r)s %(q)s %(U)s %(f)s %({x-df-api-secret}i)s %({authorization}i)s %({cookie}i)s %({raw_uri}e)s "
        "%({query_string}e)s %({http_x_df_api_secret}e)s %({http_cookie}e)s %({x-request-id}o)s"
    )
    config = Config()
    config.set("accesslog", "-")
    config.set("access_log_format", atoms)
    logger = RedactingLogger(config)
    logger.access(*fake_exchange(secret), timedelta(milliseconds=12))
    line = capsys.readouterr().out
    assert COMPARE in line and "TID1" in line and "api_id=ID" in line
    assert secret not in line


def test_gunicorns_error_log_lines_are_masked(capsys: pytest.CaptureFixture[str]) -> None:
    config = Config()
    config.set("errorlog", "-")
    logger = RedactingLogger(config)
    logger.setup(config)  # a reload sets the logger up again: still one filter
    logger.error("Error handling request %s", f"{COMPARE}?api_id=ID&api_secret=zz-top-secret")
    try:
        raise ValueError("bad {'api_secret': 'zz-top-secret'}")
    except ValueError:
        logger.exception("Error handling request (no URI read)")
    text = capsys.readouterr().err
    assert "api_id=ID&api_secret=***" in text and "ValueError" in text
    assert "zz-top-secret" not in text
    assert sum(isinstance(f, RedactFilter) for f in logger.error_log.filters) == 1


def test_the_applications_log_lines_are_masked_plain_and_json() -> None:
    try:
        raise RuntimeError(f"fetch failed for {COMPARE}?api_secret=zz-top-secret")
    except RuntimeError as error:
        record = logging.makeLogRecord(
            {
                "name": "faceportal.api",
                "levelname": "ERROR",
                "msg": "call %s: %s",
                "args": ("TID1", "password=zz-top-secret&x=1"),
                "exc_info": (RuntimeError, error, error.__traceback__),
                "api_secret": "zz-top-secret",
                "request_id": "TID1",
            }
        )
    assert RedactFilter().filter(record)
    plain = logging.Formatter("%(message)s").format(record)
    json_line = JsonFormatter().format(record)
    for text in (plain, json_line):
        assert "TID1" in text and "password=***&x=1" in text and "RuntimeError" in text
        assert "zz-top-secret" not in text
    # The handler settings.LOGGING gives the application's loggers masks every record.
    (handler,) = logging.getLogger("faceportal").handlers
    assert any(isinstance(f, RedactFilter) for f in handler.filters)


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("GET /x?api_id=a&api_secret=b HTTP/1.1", "GET /x?api_id=a&api_secret=*** HTTP/1.1"),
        ("api%5Fsecret=b&API_SECRET=c", "api%5Fsecret=***&API_SECRET=***"),
        (
            "api_key=public&x-api-key=k&key=k&password=p&mask_eye=true",
            "api_key=public&x-api-key=***&key=***&password=***&mask_eye=true",
        ),
        ('"https://r/?token=t" "curl"', '"https://r/?token=***" "curl"'),
        ("secret=a'b c", "secret=*** c"),
        ("{'api_secret': 'v', 'api_id': 'i'}", "{'api_secret': '***', 'api_id': 'i'}"),
        ("no pairs here", "no pairs here"),
    ],
)
def test_redact_masks_secret_looking_values_only(text: str, masked: str) -> None:
    assert redact(text) == masked


# -- nginx, as docs/operations.md deploys it ------------------------------------------------


def nginx_or_skip() -> None:
    if not Path(nginx.NGINX).exists():
        message = f"{nginx.NGINX} is missing (apt-get install nginx-light; scripts/test does as root)"
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(message)
        pytest.skip(message)


def test_the_documented_nginx_logs_keep_no_secret(instance: load.Instance) -> None:
    nginx_or_skip()
    api_id, secret = instance.credentials.api_id, instance.credentials.api_secret
    query = f"api_id={api_id}&api_secret={secret}"
    big = b"a" * (1_500_000)  # over client_body_buffer_size: nginx buffers it to a file and says so
    with tempfile.TemporaryDirectory() as folder:
        logs = Path(folder)
        with nginx.running_nginx(instance.port, logs=logs) as port:
            assert request(port, "POST", f"{COMPARE}?{query}") == 400
            assert request(port, "POST", f"{COMPARE}?{query}", big, {"Content-Type": "text/plain"}) == 400
            # Over client_max_body_size: nginx answers 413 itself, without reading the body.
            too_big = f"POST {COMPARE}?{query} HTTP/1.1\r\nHost: x\r\nContent-Length: 13000000\r\n\r\n"
            assert raw(port, too_big.encode()).startswith(b"HTTP/1.1 413")
        assert files_holding(logs, secret) == []
        access = (logs / "faceportal.access.log").read_text()
        assert (
            access.count(f'"POST {COMPARE} HTTP/1.1" 400') == 2 and f'"POST {COMPARE} HTTP/1.1" 413' in access
        )


def directives(text: str) -> list[str]:
    """The configuration's lines without comments, blanks or indentation."""
    lines = (re.sub(r"\s+#.*$|^\s*#.*$", "", line).strip() for line in text.splitlines())
    return [line for line in lines if line]


def test_the_nginx_block_in_the_docs_is_the_one_the_tests_run() -> None:
    docs = (PROJECT_ROOT / "docs" / "operations.md").read_text()
    (block,) = re.findall(r"```nginx\n(.*?)```", docs, flags=re.S)
    documented = directives(block)
    for part in (nginx.LOG_FORMAT, nginx.PROXY_CONFIG.format(upstream=8000, logs="/var/log/nginx")):
        expected = directives(part)
        start = documented.index(expected[0])
        assert documented[start : start + len(expected)] == expected

"""fetch(): byte-exact downloads, SSRF refusals before any connection, one total deadline, size limit.

Real HTTP servers on 127.0.0.1 (port 0) stand in for the Internet; since loopback is itself refused
by default, the tests that download put 127.0.0.1 on the allow-list.
"""

from __future__ import annotations

import ipaddress
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from resources import fetch as fetch_module
from resources.fetch import (
    DownloadError,
    DownloadTimeout,
    DownloadTooLarge,
    FetchError,
    FetchPolicy,
    fetch,
)

IMAGE = bytes(range(256)) * 40  # 10 240 bytes, every byte value
LOCAL = FetchPolicy(allowed_hosts=frozenset({"127.0.0.1"}))
STOP = threading.Event()  # ends the handlers that would otherwise send for ever


class Handler(BaseHTTPRequestHandler):
    """One path per behaviour under test."""

    protocol_version = "HTTP/1.1"
    headers_seen: ClassVar[dict[str, str]] = {}  # the last request's headers, for one test

    def log_message(self, format: str, *args: Any) -> None:
        """Keep pytest output clean."""

    def do_GET(self) -> None:
        Handler.headers_seen = dict(self.headers.items())
        path = self.path.split("?")[0]
        port = self.connection.getsockname()[1]
        if path == "/image":
            self.send_body(IMAGE)
        elif path == "/chunked":
            self.send_chunked([IMAGE[:1000], IMAGE[1000:1001], IMAGE[1001:]])
        elif path == "/no-length":
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(IMAGE)
        elif path == "/empty":
            self.send_body(b"")
        elif path == "/missing":
            self.send_body(b"not here", status=404)
        elif path == "/to-metadata":
            self.redirect("http://169.254.169.254/latest/meta-data")
        elif path == "/to-private":
            self.redirect("http://10.0.0.1/")
        elif path == "/relative":
            self.redirect("image?from=relative", status=307)
        elif path == "/absolute-loopback":
            self.redirect(f"http://127.0.0.1:{port}/image", status=301)
        elif path.startswith("/chain/"):
            left = int(path.rsplit("/", 1)[1])
            if left:
                self.redirect(f"/chain/{left - 1}")
            else:
                self.send_body(IMAGE)
        elif path == "/big":
            self.send_body(IMAGE * 10)
        elif path == "/big-chunked":
            self.send_chunked([IMAGE] * 10)
        elif path == "/truncated":
            self.send_response(200)
            self.send_header("Content-Length", str(len(IMAGE)))
            self.end_headers()
            self.wfile.write(IMAGE[:100])
            self.close_connection = True
        elif path == "/garbage":
            self.wfile.write(b"SURPRISE\r\n\r\n")
            self.close_connection = True
        elif path == "/slow-body":
            self.send_response(200)
            self.send_header("Content-Length", "1000000")
            self.end_headers()
            self.trickle(b"x")
        elif path == "/slow-headers":
            self.wfile.write(b"HTTP/1.1 200 OK\r\n")
            self.trickle(b"X")  # one endless header line, one byte at a time
        else:
            self.send_body(b"?", status=500)

    def send_body(self, body: bytes, status: int = 200) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def send_chunked(self, chunks: list[bytes]) -> None:
        self.send_response(200)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for chunk in chunks:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        self.wfile.write(b"0\r\n\r\n")

    def redirect(self, location: str, status: int = 302) -> None:
        self.send_response(status)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def trickle(self, byte: bytes) -> None:
        """One byte every 0.5 s until the client goes away or the tests end."""
        self.close_connection = True
        try:
            while not STOP.wait(0.5):
                self.wfile.write(byte)
                self.wfile.flush()
        except OSError:
            pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """Base URL of a test HTTP server on 127.0.0.1."""
    STOP.clear()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    STOP.set()
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections (kernel backlog) and never answers."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        yield listener.getsockname()[1]


@pytest.fixture
def closed_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        return int(listener.getsockname()[1])


def forbid(*_: object, **__: object) -> None:
    raise AssertionError("no DNS lookup or connection may happen for this URL")


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any lookup or connection attempt fails the test instead of reaching the network."""
    monkeypatch.setattr(socket, "getaddrinfo", forbid)
    monkeypatch.setattr(socket, "create_connection", forbid)
    monkeypatch.setattr(socket.socket, "connect", forbid)


def resolving(mapping: dict[str, list[str]], calls: list[str] | None = None) -> Callable[..., Any]:
    """A getaddrinfo that answers from `mapping` (and records the names it was asked for)."""

    def getaddrinfo(host: str, port: int, *args: object, **kwargs: object) -> list[Any]:
        if calls is not None:
            calls.append(host)
        if host not in mapping:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
            for a in mapping[host]
        ]

    return getaddrinfo


def reason_of(url: str, policy: FetchPolicy = LOCAL) -> str:
    with pytest.raises(DownloadError) as caught:
        fetch(url, policy)
    return caught.value.reason


# --- downloads --------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/image", "/chunked", "/no-length", "/relative", "/absolute-loopback"])
def test_body_is_returned_byte_exact(server: str, path: str) -> None:
    assert fetch(server + path, LOCAL) == IMAGE


def test_request_headers(server: str) -> None:
    fetch(server + "/image", LOCAL)
    port = server.rsplit(":", 1)[1]
    assert Handler.headers_seen["Host"] == f"127.0.0.1:{port}"
    assert Handler.headers_seen["User-Agent"] == "FacePortal-fetch/1"
    assert Handler.headers_seen["Accept"] == "image/*"
    assert Handler.headers_seen["Connection"] == "close"


def test_allow_list_accepts_networks_and_names(server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert fetch(server + "/image", FetchPolicy(allowed_hosts=frozenset({"127.0.0.0/8"}))) == IMAGE
    calls: list[str] = []
    monkeypatch.setattr(socket, "getaddrinfo", resolving({"images.internal": ["127.0.0.1"]}, calls))
    url = server.replace("127.0.0.1", "images.internal") + "/image"
    assert fetch(url, FetchPolicy(allowed_hosts=frozenset({"images.internal"}))) == IMAGE
    assert calls == ["images.internal"]  # resolved once, then connected by address


def test_redirect_chain_up_to_the_limit(server: str) -> None:
    assert fetch(server + "/chain/3", LOCAL) == IMAGE
    assert reason_of(server + "/chain/4") == "too many redirects"
    no_redirects = FetchPolicy(max_redirects=0, allowed_hosts=LOCAL.allowed_hosts)
    assert reason_of(server + "/chain/1", no_redirects) == "too many redirects"


# --- SSRF -------------------------------------------------------------------------------------------


def test_loopback_is_refused_by_default(server: str) -> None:
    assert reason_of(server + "/image", FetchPolicy()) == "address 127.0.0.1 is not allowed"


@pytest.mark.usefixtures("no_network")
@pytest.mark.parametrize(
    "host",
    [
        "10.0.0.1",
        "172.16.0.1",
        "192.168.1.1",
        "100.64.0.1",
        "169.254.169.254",
        "0.0.0.0",
        "127.0.0.2",
        "224.0.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "[::1]",
        "[::]",
        "[fe80::1]",
        "[fc00::1]",
        "[fd00:ec2::254]",
        "[fec0::1]",
        "[ff02::1]",
        "[::ffff:127.0.0.1]",
        "[::ffff:10.0.0.1]",
        "[::ffff:169.254.169.254]",
        "[::127.0.0.1]",
        "[2002:a00:1::1]",  # 6to4 carrying 10.0.0.1
        "[2001:0:4136:e378:8000:63bf:f5ff:fffe]",  # teredo
        "[64:ff9b::a00:1]",  # NAT64 of 10.0.0.1
    ],
)
def test_blocked_addresses_are_refused_without_connecting(host: str) -> None:
    reason = reason_of(f"http://{host}/latest/meta-data", FetchPolicy())
    assert reason.startswith("address ") and reason.endswith(" is not allowed")


@pytest.mark.parametrize(
    "host", ["93.184.216.34", "[2606:4700::1111]", "[::ffff:8.8.8.8]", "[64:ff9b::808:808]"]
)
def test_public_addresses_pass_the_check(host: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: object) -> None:
        raise ConnectionRefusedError

    monkeypatch.setattr(socket.socket, "connect", refuse)  # reaching connect() means the check passed
    assert reason_of(f"http://{host}/", FetchPolicy()) == "connection refused"


@pytest.mark.parametrize("answers", [["10.0.0.5"], ["93.184.216.34", "10.0.0.5"], ["fd00:ec2::254"]])
def test_name_resolving_to_a_private_address_is_refused(
    monkeypatch: pytest.MonkeyPatch, answers: list[str]
) -> None:
    monkeypatch.setattr(socket, "getaddrinfo", resolving({"evil.example": answers}))
    monkeypatch.setattr(socket.socket, "connect", forbid)
    reason = reason_of("http://evil.example/x.jpg", FetchPolicy())
    assert reason == f"address {ipaddress.ip_address(answers[-1])} is not allowed"


def test_unknown_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket, "getaddrinfo", resolving({}))
    assert reason_of("http://nowhere.example/", FetchPolicy()) == "host not found"


@pytest.mark.parametrize(
    ("path", "address"), [("/to-metadata", "169.254.169.254"), ("/to-private", "10.0.0.1")]
)
def test_redirect_to_a_private_address_is_refused(server: str, path: str, address: str) -> None:
    assert reason_of(server + path) == f"address {address} is not allowed"


@pytest.mark.usefixtures("no_network")
@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://example.com/a.jpg", "only http and https URLs are allowed"),
        ("file:///etc/passwd", "only http and https URLs are allowed"),
        ("gopher://127.0.0.1:70/", "only http and https URLs are allowed"),
        ("example.com/a.jpg", "only http and https URLs are allowed"),
        ("http://user:pass@example.com/a.jpg", "URLs with credentials are not allowed"),
        ("http://user@example.com/a.jpg", "URLs with credentials are not allowed"),
        ("http:///a.jpg", "URL has no host"),
        ("http://example.com:0/", "invalid port"),
        ("http://example.com:70000/", "invalid port"),
        ("http://example.com:http/", "invalid port"),
        ("http://example.com/a\r\nX-Injected: 1", "invalid URL"),
        ("http://exa%6dple.com/", "invalid host name"),
    ],
)
def test_malformed_or_forbidden_urls(url: str, reason: str) -> None:
    assert reason_of(url, FetchPolicy()) == reason


@pytest.mark.usefixtures("no_network")
@pytest.mark.parametrize("length", [8193, 11 * 1000 * 1000])
def test_a_url_over_8192_characters_is_refused_before_anything_else(length: int) -> None:
    # A blocked address, so that only the length check can give this reason.
    url = "http://10.0.0.1/" + "a" * (length - len("http://10.0.0.1/"))
    started = time.process_time()
    assert reason_of(url, FetchPolicy()) == "URL longer than 8192 characters"
    assert time.process_time() - started < 1  # a sanity guard: the check is linear and in C


@pytest.mark.usefixtures("no_network")
def test_a_url_of_8192_characters_is_checked_as_usual() -> None:
    url = "http://10.0.0.1/" + "a" * (8192 - len("http://10.0.0.1/"))
    assert reason_of(url, FetchPolicy()) == "address 10.0.0.1 is not allowed"
    assert reason_of(url[:-2] + "\r\n", FetchPolicy()) == "invalid URL"


# --- deadline, size, errors -------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/slow-body", "/slow-headers"])
def test_trickling_server_hits_the_total_deadline(server: str, path: str) -> None:
    policy = FetchPolicy(timeout=1.5, allowed_hosts=LOCAL.allowed_hosts)
    started = time.monotonic()
    with pytest.raises(DownloadTimeout):
        fetch(server + path, policy)
    assert 1.4 < time.monotonic() - started < 3


def test_silent_server_times_out(silent_port: int) -> None:
    policy = FetchPolicy(timeout=0.5, allowed_hosts=LOCAL.allowed_hosts)
    started = time.monotonic()
    with pytest.raises(DownloadTimeout):
        fetch(f"http://127.0.0.1:{silent_port}/", policy)
    assert time.monotonic() - started < 1.5


def test_hanging_dns_lookup_times_out(monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()

    def hang(*_: object, **__: object) -> list[Any]:
        release.wait(10)
        raise socket.gaierror("gave up")

    monkeypatch.setattr(socket, "getaddrinfo", hang)
    started = time.monotonic()
    try:
        with pytest.raises(DownloadTimeout):
            fetch("http://slow-dns.example/", FetchPolicy(timeout=0.3))
    finally:
        release.set()
    assert time.monotonic() - started < 1


@pytest.mark.parametrize("path", ["/big", "/big-chunked", "/no-length"])
def test_oversized_body(server: str, path: str) -> None:
    with pytest.raises(DownloadTooLarge):
        fetch(server + path, FetchPolicy(max_bytes=len(IMAGE) - 1, allowed_hosts=LOCAL.allowed_hosts))


def test_body_of_exactly_max_bytes_is_accepted(server: str) -> None:
    assert fetch(server + "/chunked", FetchPolicy(max_bytes=len(IMAGE), allowed_hosts=LOCAL.allowed_hosts))


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/missing", "HTTP status 404"),
        ("/empty", "empty response"),
        ("/truncated", "connection closed before the end of the body"),
        ("/garbage", "malformed HTTP response"),
    ],
)
def test_bad_answers(server: str, path: str, reason: str) -> None:
    assert reason_of(server + path) == reason


def test_connection_refused(closed_port: int) -> None:
    assert reason_of(f"http://127.0.0.1:{closed_port}/") == "connection refused"


def test_tls_failure_is_a_download_error(server: str) -> None:
    reason = reason_of(server.replace("http://", "https://") + "/image")
    assert reason.startswith("TLS")


def test_every_error_is_a_fetch_error() -> None:
    assert all(issubclass(kind, FetchError) for kind in (DownloadError, DownloadTimeout, DownloadTooLarge))
    assert DownloadError("HTTP status 404").reason == "HTTP status 404"


# --- https ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    """Port of an HTTPS server with a self-signed certificate for images.test, and that certificate."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-days", "1", "-subj", "/CN=images.test", "-addext", "subjectAltName=DNS:images.test",
         "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield httpd.server_address[1], cert
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


@pytest.fixture
def tls_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        socket, "getaddrinfo", resolving({"images.test": ["127.0.0.1"], "other.test": ["127.0.0.1"]})
    )


TLS_POLICY = FetchPolicy(allowed_hosts=frozenset({"127.0.0.1"}))


@pytest.mark.usefixtures("tls_names")
def test_https_verifies_the_certificate_against_the_host_name(
    tls_server: tuple[int, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    port, cert = tls_server
    trusting = ssl.create_default_context(cafile=str(cert))
    monkeypatch.setattr(fetch_module, "_tls_context", lambda: trusting)
    assert fetch(f"https://images.test:{port}/image", TLS_POLICY) == IMAGE
    reason = reason_of(f"https://other.test:{port}/image", TLS_POLICY)  # same server, wrong name
    assert reason.startswith("TLS certificate verification failed")


@pytest.mark.usefixtures("tls_names")
def test_https_refuses_an_untrusted_certificate(tls_server: tuple[int, Path]) -> None:
    reason = reason_of(f"https://images.test:{tls_server[0]}/image", TLS_POLICY)
    assert reason.startswith("TLS certificate verification failed")

"""(b) URLs aimed at our own network: compare with image_one_url at every private range, in
every spelling and through redirects from an allowed local server; every one must be refused
with DOWNLOAD_ERROR and the local target never connected to."""

from __future__ import annotations

import errno
import http.client
import http.server
import os
import socket
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from ops.abuse.common import FAST_SECONDS, Check, no_trace, send_once
from ops.harness import Call, Instance, Reply, multipart, photo

REDIRECT_HOST = "127.0.0.2"  # a loopback address of its own, so that allowing it allows nothing else


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


def extra_allowed_hosts() -> dict[str, str]:
    """The caller's allow-list plus the redirector's own loopback address (nothing else)."""
    current = os.environ.get("FACEPORTAL_URL_ALLOWED_HOSTS", "")
    return {"FACEPORTAL_URL_ALLOWED_HOSTS": ",".join(filter(None, [current, REDIRECT_HOST]))}

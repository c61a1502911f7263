"""nginx in front of a gunicorn instance, on loopback, for the slow-loris run (ops/abuse/slowloris.py) and
the test that its logs keep no secret.

gunicorn's sync and gthread workers give each connection a worker (or a thread) for as long
as its client takes to send the request, so a few clients sending a byte at a time hold every
worker (gunicorn's own documentation says to run it behind a buffering proxy). nginx reads
each request whole, cheaply, in its event loop, and only then hands it to gunicorn, which is
the deployment docs/operations.md describes; `LOG_FORMAT` and `PROXY_CONFIG` are that
configuration, the same text (tests/faceportal/test_log_secrets.py compares them).

Debian's `nginx-light` (or `nginx`) package provides the binary; `running_nginx` says how to
install it when it is missing.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import textwrap
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ops.server import free_port

NGINX = "/usr/sbin/nginx"

# What an operator puts in nginx's http context in front of each app server (docs/operations.md
# shows this text): whole requests only (proxy_request_buffering is nginx's default, said here so
# nobody turns it off), bodies up to the API's own cap, slow clients dropped after 10 s of silence,
# and logs that hold no secret. LinkFace clients may send api_secret in the query string, so the
# access log writes the path without it ($uri, never $request or $request_uri); nginx's error log
# writes the whole request line with every message about a request (a body over the cap, a body
# buffered to disk, an upstream that failed) and its format cannot be changed, so it is kept at
# `crit`: the access log's status, upstream status and times say what those lines would have.
LOG_FORMAT = """\
log_format faceportal '$remote_addr [$time_local] "$request_method $uri $server_protocol" '
                      '$status $body_bytes_sent $request_time "$upstream_status" "$http_user_agent"';
"""
PROXY_CONFIG = """\
    client_max_body_size 12m;
    client_body_buffer_size 1m;
    client_header_timeout 10s;
    client_body_timeout 10s;
    send_timeout 30s;
    access_log {logs}/faceportal.access.log faceportal;
    error_log {logs}/faceportal.error.log crit;
    location / {{
        proxy_pass http://127.0.0.1:{upstream};
        proxy_request_buffering on;
        proxy_http_version 1.1;
        proxy_set_header Host $host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_read_timeout 70s;
    }}
"""


class NginxMissing(RuntimeError):
    pass


def config(prefix: Path, port: int, upstream: int, logs: Path) -> str:
    user = "user root root;\n" if os.geteuid() == 0 else ""  # workers may not become nobody here
    temp = "\n".join(
        f"    {kind}_temp_path {prefix / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""{user}worker_processes 1;
pid {prefix / "nginx.pid"};
error_log {logs / "error.log"} warn;
events {{ worker_connections 1024; }}
http {{
{temp}
{textwrap.indent(LOG_FORMAT, "    ")}
    server {{
        listen 127.0.0.1:{port};
{PROXY_CONFIG.format(upstream=upstream, logs=logs)}
    }}
}}
"""


@contextmanager
def running_nginx(upstream: int, *, logs: Path | None = None, timeout: float = 15.0) -> Iterator[int]:
    """nginx on a free loopback port, proxying to 127.0.0.1:`upstream`; yields its port. Its logs
    go to the folder `logs` (kept) when given, else to its own temporary folder."""
    if not Path(NGINX).exists():
        raise NginxMissing(f"{NGINX} is missing: apt-get install nginx-light")
    prefix = Path(tempfile.mkdtemp(prefix="faceportal-nginx-"))
    port = free_port()
    (prefix / "nginx.conf").write_text(config(prefix, port, upstream, logs or prefix))
    process = subprocess.Popen(
        [NGINX, "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                error = process.stderr.read().decode(errors="replace") if process.stderr else ""
                raise RuntimeError(f"nginx exited with {process.returncode}: {error.strip()}")
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).close()
                break
            except (OSError, urllib.error.URLError):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"nginx not answering on {port} after {timeout:.0f} s") from None
                time.sleep(0.1)
        yield port
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGQUIT)  # graceful: finish what is in flight
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(prefix, ignore_errors=True)

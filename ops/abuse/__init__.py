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

One module per attack (timing, ssrf, oversize, slowloris), what they share in common.py and
the command line in cli.py; the names below are the package's public face, which the ops tests
and older scripts use.
"""

from ops.abuse.cli import SECTIONS, main, parse_args, run_sections
from ops.abuse.common import Check, readyz, send_once, watched
from ops.abuse.oversize import (
    READ_AT_MOST,
    RawOutcome,
    chunked_encoding,
    chunks,
    http_head,
    oversize_cases,
    raw_request,
    run_oversize,
)
from ops.abuse.slowloris import NGINX_SLOW_CLIENTS, SlowLorisResult, run_slowloris, slowloris_checks
from ops.abuse.ssrf import (
    REDIRECT_HOST,
    CountingServer,
    extra_allowed_hosts,
    redirect_targets,
    run_ssrf,
    serving,
    ssrf_targets,
)
from ops.abuse.timing import TimingResult, mann_whitney, median_difference_ci, run_timing

__all__ = [
    "NGINX_SLOW_CLIENTS",
    "READ_AT_MOST",
    "REDIRECT_HOST",
    "SECTIONS",
    "Check",
    "CountingServer",
    "RawOutcome",
    "SlowLorisResult",
    "TimingResult",
    "chunked_encoding",
    "chunks",
    "extra_allowed_hosts",
    "http_head",
    "main",
    "mann_whitney",
    "median_difference_ci",
    "oversize_cases",
    "parse_args",
    "raw_request",
    "readyz",
    "redirect_targets",
    "run_oversize",
    "run_sections",
    "run_slowloris",
    "run_ssrf",
    "run_timing",
    "send_once",
    "serving",
    "slowloris_checks",
    "ssrf_targets",
    "watched",
]

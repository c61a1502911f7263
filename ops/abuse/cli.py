"""The abuse run's command line: the sections asked for, their tables, the checks, the exit
status (1 when any must-hold check fails)."""

from __future__ import annotations

import argparse
import json
import socket
from collections.abc import Mapping, Sequence
from typing import Any

from ops.abuse.common import Check, watched
from ops.abuse.oversize import run_oversize
from ops.abuse.slowloris import SlowLorisResult, run_slowloris
from ops.abuse.ssrf import REDIRECT_HOST, CountingServer, extra_allowed_hosts, run_ssrf, serving
from ops.abuse.timing import run_timing
from ops.harness import cell, photo, running_instance
from ops.nginx import NginxMissing

# The first paragraph of the package's docstring, which --help shows.
DESCRIPTION = (
    "Abuse runs against a real gunicorn instance: what an attacker would try first, checked end to end."
)
SECTIONS = ("timing", "ssrf", "oversize", "slowloris")


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
    parser = argparse.ArgumentParser(prog="python -m ops.abuse", description=DESCRIPTION)
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

"""`python -m ops.services -- COMMAND`: start the services, run COMMAND with their settings,
stop them, exit with its status."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from types import FrameType

from ops.services.base import ServiceError
from ops.services.stack import running_services


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # unwinds through the finally blocks that stop services


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ops.services",
        description="Start PostgreSQL, Redis and SeaweedFS S3 on loopback, run a command with their "
        "settings (DATABASE_URL, REDIS_URL, FACEPORTAL_S3_*, FACEPORTAL_SERVICES=1), stop them.",
    )
    parser.add_argument("--timeout", type=float, default=3600, help="seconds the command may run (3600)")
    parser.add_argument("--start-timeout", type=float, default=90, help="seconds each service may take (90)")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- then the command to run")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command to run after --")
    signal.signal(signal.SIGTERM, _terminate)
    try:
        with running_services(args.start_timeout) as services:
            print(f"ops.services: {services.describe()}", file=sys.stderr, flush=True)
            try:
                return subprocess.run(
                    command, env={**os.environ, **services.env}, timeout=args.timeout
                ).returncode
            except subprocess.TimeoutExpired:
                print(
                    f"ops.services: command still running after {args.timeout:.0f} s; stopped",
                    file=sys.stderr,
                )
                return 124
            except FileNotFoundError:
                print(f"ops.services: no such command: {command[0]}", file=sys.stderr)
                return 127
    except ServiceError as error:
        print(f"ops.services: {error}", file=sys.stderr)
        return 3

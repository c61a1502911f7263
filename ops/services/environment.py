"""Working with running services from their environment variables: whether a run expects
them and names them all, an S3 client, the bucket's keys, and fresh stores per test."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ops.services.base import S3_REGION, SERVICES_FLAG


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

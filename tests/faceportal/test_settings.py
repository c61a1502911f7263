"""Settings: production checks pass, configured services are picked up from the environment."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from faceengine.config import PROJECT_ROOT

pytestmark = pytest.mark.slow

SERVICE_VARIABLES = ("DATABASE_URL", "REDIS_URL", "FACEPORTAL_S3_BUCKET", "FACEPORTAL_S3_ENDPOINT_URL")


def settings_in_subprocess(env: dict[str, str], expression: str) -> str:
    """Settings as a fresh process reads them from `env` (no service configured otherwise)."""
    base = {name: value for name, value in os.environ.items() if name not in SERVICE_VARIABLES}
    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'faceportal.settings'; django.setup(); "
        f"from django.conf import settings; print({expression})"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=PROJECT_ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_check_deploy_is_clean_with_production_settings() -> None:
    env = {**os.environ, "FACEPORTAL_PRODUCTION": "true", "FACEPORTAL_SECRET_KEY": "k" * 20 + "X9$%q" * 10}
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_database_cache_and_storage_follow_the_environment() -> None:
    env = {
        "DATABASE_URL": "postgres://user:pw@db.internal:5432/faceportal",
        "REDIS_URL": "redis://cache.internal:6379/0",
        "FACEPORTAL_S3_BUCKET": "faces",
        "FACEPORTAL_S3_ENDPOINT_URL": "http://s3.internal:8333",
    }
    engine = settings_in_subprocess(
        env, "settings.DATABASES['default']['ENGINE'], settings.DATABASES['default']['HOST']"
    )
    assert engine == "django.db.backends.postgresql db.internal"
    assert settings_in_subprocess(env, "settings.CACHES['default']['BACKEND']").endswith("RedisCache")
    storage = settings_in_subprocess(
        env, "settings.STORAGES['default']['BACKEND'], settings.STORAGES['default']['OPTIONS']['bucket_name']"
    )
    assert storage == "storages.backends.s3.S3Storage faces"


def test_defaults_need_no_service() -> None:
    assert (
        settings_in_subprocess({}, "settings.DATABASES['default']['ENGINE']") == "django.db.backends.sqlite3"
    )
    assert settings_in_subprocess({}, "settings.STORAGES['default']['BACKEND']").endswith("FileSystemStorage")


def test_configured_services_fail_fast_instead_of_hanging() -> None:
    """A service that stops answering must fail a call in seconds (the fault runs in
    ops/faults.py showed boto3's defaults hanging calls and probes for minutes)."""
    env = {
        "DATABASE_URL": "postgres://user:pw@db.internal:5432/faceportal",
        "REDIS_URL": "redis://cache.internal:6379/0",
        "FACEPORTAL_S3_BUCKET": "faces",
        "FACEPORTAL_S3_READ_TIMEOUT": "7",
    }
    database = "settings.DATABASES['default']['CONN_HEALTH_CHECKS'], settings.DATABASES['default']['OPTIONS']"
    assert settings_in_subprocess(env, database) == "True {'connect_timeout': 5}"
    cache = settings_in_subprocess(env, "settings.CACHES['default']['OPTIONS']")
    assert cache == "{'socket_connect_timeout': 2, 'socket_timeout': 2}"
    config = "settings.STORAGES['default']['OPTIONS']['client_config']"
    s3 = settings_in_subprocess(env, f"{config}.connect_timeout, {config}.read_timeout, {config}.retries")
    assert s3 == "2.0 7.0 {'total_max_attempts': 2, 'mode': 'standard'}"

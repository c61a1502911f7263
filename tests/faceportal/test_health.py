"""Probes: /healthz while the process serves, /readyz only when what requests need works."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from faceportal import health
from facesets import search
from tests.storage import stored_files


def test_healthz_answers_ok(client: Client) -> None:
    response = client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


@pytest.mark.django_db
def test_readyz_checks_database_cache_storage_and_models(
    client: Client, settings: Any, tmp_path: Path
) -> None:
    settings.MEDIA_ROOT = tmp_path
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body.pop("face_search") == search.backend_name()  # its values: tests/facesets/test_pgvector.py
    assert body == {
        "status": "ok",
        "checks": {"database": "ok", "cache": "ok", "storage": "ok", "models": "ok"},
    }
    assert stored_files() == []  # the probe file was removed


@pytest.mark.django_db
def test_readyz_names_what_is_not_ready(
    client: Client, monkeypatch: pytest.MonkeyPatch, settings: Any, tmp_path: Path
) -> None:
    settings.MEDIA_ROOT = tmp_path

    def unreachable() -> None:
        raise ConnectionError("storage is down")

    monkeypatch.setitem(health.CHECKS, "storage", unreachable)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["storage"] == "error: ConnectionError"
    assert response.json()["checks"]["database"] == "ok"

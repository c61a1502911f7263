"""Fixtures of the admin tests (tests/accounts/test_admin_*.py): an operator signed in,
one customer account, and isolated media and cache (`isolated`, which those modules use
through their pytestmark; it is not autouse, so the other tests here are as before)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import Client

from accounts import services
from accounts.models import ApiAccount


@pytest.fixture
def isolated(settings: Any, tmp_path: Path) -> Iterator[Path]:
    settings.MEDIA_ROOT = tmp_path / "media"
    cache.clear()
    yield settings.MEDIA_ROOT
    cache.clear()


@pytest.fixture
def superuser() -> User:
    return User.objects.create_superuser("operator", "operator@example.com", "pw")


@pytest.fixture
def staff(client: Client, superuser: User) -> Client:
    client.force_login(superuser)
    return client


@pytest.fixture
def account() -> ApiAccount:
    return services.account_create(username="alice", name="alice's app", quota=100)[0]

"""The portal's tests start with an empty cache: sign-in throttling counts in it, and the
local-memory cache otherwise lives as long as the test process. `media` is for the call
history tests (tests/portal/test_history_*.py, through their pytestmark); it is not autouse,
so the other portal tests are as before."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from tests.portal.helpers import new_user_signed_in


@pytest.fixture(autouse=True)
def empty_cache() -> None:
    cache.clear()


@pytest.fixture
def media(settings: Any, tmp_path: Path) -> Iterator[Path]:
    """Stored images in a temporary folder; API rate counters from zero."""
    settings.MEDIA_ROOT = tmp_path / "media"
    cache.clear()
    yield tmp_path / "media"
    cache.clear()


@pytest.fixture
def alice(db: None) -> Client:
    """A portal user, signed in (modules with an `alice` of their own use theirs)."""
    return new_user_signed_in("alice")


@pytest.fixture
def bob(db: None) -> Client:
    return new_user_signed_in("bob")

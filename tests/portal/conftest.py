"""The portal's tests start with an empty cache: sign-in throttling counts in it, and the
local-memory cache otherwise lives as long as the test process."""

from __future__ import annotations

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def empty_cache() -> None:
    cache.clear()

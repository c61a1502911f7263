"""A throwaway service for the benchmarks that call the API through Django in-process: a test
database and a temporary media folder made for the run and removed after it, and an account
that no limit or quota stops. (The leading underscore keeps Django from taking this module
for a command.)"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import connection
from django.test import Client
from django.test.utils import override_settings, setup_test_environment, teardown_test_environment

from accounts.models import ApiAccount
from accounts.services import account_create
from faceportal.endpoints import endpoint


@dataclass(frozen=True)
class Service:
    client: Client
    account: ApiAccount
    secret: str

    def url(self, name: str) -> str:
        """The endpoint's path with the account's credentials in the query, as integrators send them."""
        return f"{endpoint(name).url}?api_id={self.account.api_id}&api_secret={self.secret}"


@contextmanager
def throwaway_service() -> Iterator[Service]:
    setup_test_environment()
    if connection.vendor != "sqlite":  # (SQLite's is in memory) a name of its own, so that
        # autoclobber never drops another run's database, such as pytest's on the same server
        connection.settings_dict["TEST"]["NAME"] = f"faceportal_throwaway_{os.getpid()}"
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        with tempfile.TemporaryDirectory() as media, override_settings(MEDIA_ROOT=media):
            account, secret = account_create(username="benchmark", quota=10**9, rate=0, concurrency=0)
            yield Service(Client(), account, secret)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()

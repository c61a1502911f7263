"""The demo account scripts/start prints: a working API key and a portal sign-in, the same
every start, new when the database no longer has them."""

from __future__ import annotations

import io
import json
import stat
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

from accounts import services
from accounts.models import ApiAccount


def demo() -> dict[str, str]:
    out = io.StringIO()
    call_command("demo_account", stdout=out)
    return dict(json.loads(out.getvalue()))


@pytest.mark.django_db
def test_the_demo_account_works_for_the_api_and_the_portal(settings: Any, tmp_path: Path) -> None:
    settings.DATA_DIR = tmp_path
    first = demo()
    account = services.authenticate(first["api_id"], first["api_secret"])
    assert account.quota_limit == 10_000 and account.user.username == first["portal_username"]
    client = Client()
    assert client.login(username=first["portal_username"], password=first["portal_password"])
    saved = tmp_path / "demo-account.json"
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    # The next start prints the same credentials and creates nothing.
    assert demo() == first
    assert ApiAccount.objects.count() == 1


@pytest.mark.django_db
def test_a_password_its_owner_changed_is_not_reset(settings: Any, tmp_path: Path) -> None:
    settings.DATA_DIR = tmp_path
    first = demo()
    user = get_user_model().objects.get(username=first["portal_username"])
    user.set_password("changed by its owner")
    user.save()
    second = demo()
    assert second == {**first, "portal_password": None}
    assert Client().login(username=first["portal_username"], password="changed by its owner")


@pytest.mark.django_db
def test_new_credentials_when_the_database_no_longer_has_the_key(settings: Any, tmp_path: Path) -> None:
    settings.DATA_DIR = tmp_path
    first = demo()
    ApiAccount.objects.all().delete()
    second = demo()
    assert second["api_id"] != first["api_id"]
    services.authenticate(second["api_id"], second["api_secret"])
    assert Client().login(username=second["portal_username"], password=second["portal_password"])

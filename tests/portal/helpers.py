"""Helpers of the call history tests (tests/portal/test_history_*.py): users with a key,
calls inserted in bulk, and the list page as the tests read it."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from accounts.models import ApiAccount, ApiCall
from accounts.services import account_create

LIST = reverse("portal:call_list")
COMPARE = "/identity/compare_faces_in_two_images"
START = datetime(2026, 3, 1, 12, 0, tzinfo=ZoneInfo("UTC"))


def portal_user(username: str) -> tuple[Any, ApiAccount, str]:
    account, secret = account_create(username=username, name=f"{username} key", quota=1000, rate=1000)
    return account.user, account, secret


def make_calls(account: ApiAccount, count: int, *, start: datetime = START, **fields: Any) -> list[ApiCall]:
    """`count` calls, one a minute from `start`, bulk-inserted; `fields` override the defaults."""
    calls = [
        ApiCall(
            account=account,
            endpoint=fields.get("endpoint", "detect"),
            request_id=f"TID{account.api_id[:6]}{fields.get('tag', 'x')}{n:08d}",
            status=fields.get("status", "OK"),
            http_status=fields.get("http_status", 200),
            latency_ms=12.5,
            image_ids=[],
            request_params={"api_key": account.api_id, "api_secret": "********"},
            response_body='{"status": "OK"}',
            created_at=start + timedelta(minutes=n),
        )
        for n in range(count)
    ]
    return ApiCall.objects.bulk_create(calls, batch_size=1000)


def new_user_signed_in(username: str, **client_options: Any) -> Client:
    """A client of its own, signed in as a new portal user."""
    user = get_user_model().objects.create_user(username=username, password="a long passphrase 7")
    client = Client(**client_options)
    client.force_login(user)
    return client


def signed_in(client: Client, user: Any) -> Client:
    client.force_login(user)
    return client


def listed_ids(html: str) -> list[str]:
    """Request ids in the list's table, top to bottom."""
    return re.findall(r'class="request-id"><a class="mono" href="[^"]*">([^<]+)</a>', html)


def page(client: Client, **params: str) -> tuple[int, str]:
    response = client.get(LIST, params)
    return response.status_code, response.content.decode()

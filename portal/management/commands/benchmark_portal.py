"""Measures the portal's pages on a big call history, server side, with the Django test client.

By default everything it creates is rolled back; note that on SQLite the transaction holds
the database's write lock while it runs, so API calls to a live server wait until it ends.
"""

from __future__ import annotations

import json
import math
import random
import secrets
import statistics
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import ApiAccount, ApiCall
from accounts.services import secret_assign
from faceportal.endpoints import ENDPOINTS as REGISTRY

ENDPOINTS = tuple(endpoint.name for endpoint in REGISTRY)
# Roughly what a real history holds: mostly successes, a spread of the common refusals.
STATUSES = [("OK", 200)] * 17 + [
    ("NO_FACE_DETECTED", 400),
    ("INVALID_ARGUMENT", 400),
    ("RATE_LIMIT_EXCEEDED", 429),
]
DAYS = 30


@dataclass(frozen=True)
class Measured:
    name: str
    median_ms: float
    p95_ms: float
    queries: int
    http_status: int


class Command(BaseCommand):
    help = (
        "Create a user with N API calls spread over 30 days, render the dashboard, the call list "
        "(first, filtered and deep page) and a call detail R times each with the test client, and "
        "print median and p95 milliseconds and the query count of each. Rolled back unless --keep."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--calls", type=int, default=10_000, help="calls in the history (default 10000)")
        parser.add_argument("--repeat", type=int, default=20, help="renders of each page (default 20)")
        parser.add_argument("--keep", action="store_true", help="commit the user and calls instead")
        parser.add_argument("--username", help="user to create or add calls to (default: a new random one)")

    def handle(self, *args: Any, **options: Any) -> None:
        calls, repeat = options["calls"], options["repeat"]
        if calls < 1 or repeat < 1:
            raise CommandError("--calls and --repeat must be at least 1")
        username = options["username"] or f"benchmark-{secrets.token_hex(4)}"
        with transaction.atomic():
            started = time.perf_counter()
            user = _user_with_calls(username, calls)
            self.stdout.write(
                f"{calls} calls for user {username!r} over {DAYS} days, "
                f"created in {time.perf_counter() - started:.1f} s ({connection.vendor})"
            )
            for measured in _measure_pages(user, repeat):
                self.stdout.write(
                    f"{measured.name:<18} {measured.median_ms:8.1f} ms median {measured.p95_ms:8.1f} ms p95 "
                    f"{measured.queries:3d} queries  HTTP {measured.http_status}"
                )
            if options["keep"]:
                self.stdout.write(f"kept: user {username!r} (set a password in the admin to sign in)")
            else:
                transaction.set_rollback(True)
                self.stdout.write("rolled back: nothing was kept")


def _user_with_calls(username: str, count: int) -> Any:
    user, _ = get_user_model().objects.get_or_create(username=username)
    accounts = []
    for name in ("production", "staging"):
        account = ApiAccount(user=user, name=f"{name} ({username})", quota_limit=count * 2)
        secret_assign(account)
        account.save()
        accounts.append(account)
    now = timezone.now()
    pick = random.Random(20261122)
    span = DAYS * 24 * 3600
    calls = []
    for _ in range(count):
        status, http_status = pick.choice(STATUSES)
        image_ids = [secrets.token_hex(16) for _ in range(pick.choice((0, 1, 2)))]
        calls.append(
            ApiCall(
                account=pick.choice(accounts),
                endpoint=pick.choice(ENDPOINTS),
                request_id=f"TID{secrets.token_hex(16)}",
                status=status,
                http_status=http_status,
                latency_ms=round(pick.lognormvariate(4, 0.5), 3),
                image_ids=image_ids,
                client_ip="203.0.113.7",
                request_bytes=pick.randint(20_000, 900_000),
                response_bytes=180,
                request_params={"api_id": "x" * 32, "api_secret": "********", "verbose": "true"},
                # Big enough that loading it for every list row would show in the figures.
                response_body=json.dumps({"status": status, "faces": [{"quality": 81.2}] * 40}),
                created_at=now - timedelta(seconds=pick.randrange(span)),
            )
        )
    ApiCall.objects.bulk_create(calls, batch_size=1000)
    return user


def _measure_pages(user: Any, repeat: int) -> list[Measured]:
    client = Client(raise_request_exception=False)
    client.force_login(user)
    calls = ApiCall.objects.filter(account__user=user)
    deep = math.ceil(calls.count() / 50)
    sample = calls.exclude(image_ids=[]).order_by("-created_at").first() or calls.first()
    assert sample is not None
    since = (timezone.localdate() - timedelta(days=7)).isoformat()
    pages = [
        ("dashboard", reverse("portal:dashboard")),
        ("calls, page 1", reverse("portal:call_list")),
        ("calls, filtered", f"{reverse('portal:call_list')}?status=error&endpoint=detect&date_from={since}"),
        ("calls, deep page", f"{reverse('portal:call_list')}?page={deep}"),
        ("call detail", reverse("portal:call_detail", args=[sample.request_id])),
    ]
    hosts = (
        settings.ALLOWED_HOSTS
        if "testserver" in settings.ALLOWED_HOSTS
        else [*settings.ALLOWED_HOSTS, "testserver"]
    )
    with override_settings(ALLOWED_HOSTS=hosts):
        return [_measure(client, name, url, repeat) for name, url in pages]


def _measure(client: Client, name: str, url: str, repeat: int) -> Measured:
    client.get(url)  # the first render compiles templates and warms caches
    timings = []
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get(url)
            timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    p95 = timings[max(0, math.ceil(0.95 * len(timings)) - 1)]
    return Measured(name, statistics.median(timings), p95, len(queries), response.status_code)

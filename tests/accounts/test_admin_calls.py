"""The operators' admin of the call log: read only, the detail page, the account filter,
the busiest-accounts summary and its latency percentile, at a fixed number of queries.

The pages are served from this module's own URLconf (admin only), so that these tests do
not depend on the API views; the fixtures are in conftest.py, the helpers in helpers.py.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import path
from django.utils import timezone

from accounts import services
from accounts.models import ApiAccount, ApiCall
from accounts.selectors import latency_percentile
from resources.models import StoredImage
from tests.accounts.helpers import (
    call,
    filter_choices,
    image,
    many_calls,
    nearest_rank,
    url,
)

urlpatterns = [path("admin/", admin.site.urls)]

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__), pytest.mark.usefixtures("isolated")]


class TestApiCallAdmin:
    def test_read_only(self, staff: Client, account: ApiAccount) -> None:
        record = call(account)
        html = staff.get(url(ApiCall, "change", record.pk)).content.decode()
        assert record.request_id in html
        assert 'name="_save"' not in html
        request = staff.get(url(ApiCall, "changelist")).wsgi_request
        call_admin = admin.site._registry[ApiCall]
        assert not call_admin.has_add_permission(request)
        assert not call_admin.has_change_permission(request, record)
        assert call_admin.has_delete_permission(request, record)

    def test_staff_without_superuser_cannot_delete(self, client: Client, account: ApiAccount) -> None:
        clerk = get_user_model().objects.create_user("clerk", is_staff=True)
        clerk.user_permissions.add(
            *Permission.objects.filter(codename__in=["view_apicall", "delete_apicall"])
        )
        client.force_login(clerk)
        record = call(account)
        request = client.get(url(ApiCall, "changelist")).wsgi_request
        assert not admin.site._registry[ApiCall].has_delete_permission(request, record)
        assert client.post(url(ApiCall, "delete", record.pk), {"post": "yes"}).status_code == 403
        assert ApiCall.objects.filter(pk=record.pk).exists()

    def test_detail_shows_parameters_and_body_pretty(self, staff: Client, account: ApiAccount) -> None:
        kept = image(account)
        params = {"api_id": account.api_id, "api_secret": "********", "image": {"file": "a.jpg", "bytes": 12}}
        body = {"request_id": "TID1", "status": "OK", "faces": [{"quality": 81.2}]}
        record = call(
            account,
            request_params=params,
            response_body=json.dumps(body, separators=(",", ":")),
            image_ids=[kept.pk, "0" * 32],
        )
        html = staff.get(url(ApiCall, "change", record.pk)).content.decode()
        assert "&quot;api_secret&quot;: &quot;********&quot;,\n  &quot;image&quot;: {\n" in html
        assert "{\n  &quot;request_id&quot;: &quot;TID1&quot;,\n  &quot;status&quot;: &quot;OK&quot;" in html
        assert f"<a href='{url(StoredImage, 'change', kept.pk)}'>{kept.pk}</a>" in html
        assert f"{'0' * 32} (purged)" in html
        assert 'name="request_params"' not in html and "<textarea" not in html

    def test_detail_shows_other_bodies_as_text_and_cuts_long_ones(
        self, staff: Client, account: ApiAccount
    ) -> None:
        described = call(account, response_body="[image/jpeg, 5120 bytes]")
        assert "[image/jpeg, 5120 bytes]" in staff.get(url(ApiCall, "change", described.pk)).content.decode()
        long = call(account, response_body="x" * 25_000)
        html = staff.get(url(ApiCall, "change", long.pk)).content.decode()
        assert "x" * 20_000 + "\n… 5,000 more characters" in html and "x" * 20_001 not in html

    def test_account_filter_lists_only_the_busiest_and_the_chosen_account(
        self, staff: Client, account: ApiAccount
    ) -> None:
        busy = [services.account_create(username=f"busy{n}", name=f"busy {n}")[0] for n in range(12)]
        for n, busy_account in enumerate(busy):
            for _ in range(n + 2):
                call(busy_account)
        call(account)  # the quietest: not offered unless chosen
        call(None)
        response = staff.get(url(ApiCall, "changelist"))
        choices = filter_choices(response, "account")
        offered = [c for c in choices if c not in ("All", "no account (refused before authentication)")]
        assert offered == [f"busy {n} ({busy[n].api_id[:8]}…)" for n in range(11, 1, -1)]
        assert "no account (refused before authentication)" in choices

        chosen = staff.get(f"{url(ApiCall, 'changelist')}?api_id={account.api_id}")
        assert f"alice's app ({account.api_id[:8]}…)" in filter_choices(chosen, "account")
        assert [c.account for c in chosen.context["cl"].result_list] == [account]
        refused = staff.get(f"{url(ApiCall, 'changelist')}?api_id=none")
        assert [c.account for c in refused.context["cl"].result_list] == [None]
        unknown = staff.get(f"{url(ApiCall, 'changelist')}?api_id=feedface")
        assert list(unknown.context["cl"].result_list) == []
        assert "feedface (unknown)" in filter_choices(unknown, "account")


class TestCallLogSummary:
    @pytest.fixture
    def calls(self, account: ApiAccount) -> dict[str, Any]:
        bob = services.account_create(username="bob", name="bob's site")[0]
        alice_ms = [10.0, 20.0, 30.0, 40.0, 500.0]
        for n, ms in enumerate(alice_ms):
            call(account, status="OK" if n < 4 else "NO_FACE_DETECTED", latency_ms=ms, endpoint="compare")
        call(bob, latency_ms=7.0)
        call(bob, latency_ms=9.0, status="INVALID_IMAGE")
        for ms in (1.0, 2.0, 3.0):
            call(None, status="AUTHENTICATION_ERROR", latency_ms=ms)
        call(bob, age=timedelta(days=40), latency_ms=1000.0)  # before the last 30 days
        return {"alice": account, "bob": bob, "alice_ms": alice_ms}

    def summary(
        self, staff: Client, query: str = ""
    ) -> tuple[str, list[tuple[Any, int, int, int, float | None]]]:
        response = staff.get(f"{url(ApiCall, 'changelist')}?{query}")
        assert response.status_code == 200
        summary = response.context["cl"].busiest_accounts
        rows = [(r.account, r.calls, r.ok, r.errors, r.p95_ms) for r in summary["rows"]]
        return response.content.decode(), rows

    def test_busiest_accounts_of_the_last_30_days(self, staff: Client, calls: dict[str, Any]) -> None:
        html, rows = self.summary(staff)
        assert rows == [
            (calls["alice"], 5, 4, 1, nearest_rank(calls["alice_ms"], 0.95)),
            (None, 3, 0, 3, 3.0),
            (calls["bob"], 2, 1, 1, 9.0),
        ]
        assert "Busiest accounts in the last 30 days</h2>" in html
        assert "no account (refused before authentication)" in html
        assert f"?api_id={calls['alice'].api_id}" in html and "500.0 ms" in html

    def test_follows_the_filters_and_the_dates(self, staff: Client, calls: dict[str, Any]) -> None:
        html, rows = self.summary(staff, "endpoint=compare")
        assert rows == [(calls["alice"], 5, 4, 1, 500.0)]
        assert "Busiest accounts in the last 30 days, with these filters" in html
        html, rows = self.summary(staff, "status=OK")
        assert [(account, count) for account, count, *_ in rows] == [(calls["alice"], 4), (calls["bob"], 1)]
        old = timezone.now() - timedelta(days=40)
        html, rows = self.summary(staff, f"created_at__year={old.year}&created_at__month={old.month}")
        # 40 days back is always another month: only the old call is in it.
        assert "in the chosen dates" in html
        assert rows == [(calls["bob"], 1, 1, 0, 1000.0)]

    def test_no_calls(self, staff: Client) -> None:
        html, rows = self.summary(staff)
        assert rows == [] and "No calls." in html

    def test_changelist_queries_do_not_grow_with_calls(
        self, staff: Client, django_assert_max_num_queries: Callable[..., Any]
    ) -> None:
        accounts: list[ApiAccount | None] = [
            services.account_create(username=f"user{n}")[0] for n in range(12)
        ]
        accounts.append(None)
        many_calls(accounts, 100)
        with CaptureQueriesContext(connection) as hundred:
            assert staff.get(url(ApiCall, "changelist")).status_code == 200
        many_calls(accounts, 900, start=100)
        with django_assert_max_num_queries(len(hundred)):
            response = staff.get(url(ApiCall, "changelist"))
        rows = response.context["cl"].busiest_accounts["rows"]
        per_account = Counter(n % len(accounts) for n in range(1_000))
        assert [row.calls for row in rows] == sorted(per_account.values(), reverse=True)[:10]
        assert len(response.context["cl"].result_list) == 100


class TestLatencyPercentile:
    def test_nearest_rank(self, account: ApiAccount) -> None:
        for ms in (5.0, 1.0, 4.0, 2.0, 3.0):
            call(account, latency_ms=ms)
        calls = ApiCall.objects.all()
        assert latency_percentile(calls, 0.5, 5) == 3.0
        assert latency_percentile(calls, 0.95, 5) == 5.0
        assert latency_percentile(calls, 0.2, 5) == 1.0
        assert latency_percentile(calls.none(), 0.95, 0) is None

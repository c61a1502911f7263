"""The admin's date hierarchy read from the index (accounts.admin_kit.IndexedDatesQuerySet):
the same choices as Django's own truncating query, in one query however many rows, and the
call log's list without the recorded bodies."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts import services
from accounts.admin_kit import IndexedDatesQuerySet, period_starts
from accounts.models import ApiAccount, ApiCall
from tests.accounts.helpers import url

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("isolated")]

# Across a DST change in Paris (2026-03-29) and the turn of a year.
SPREAD = [
    datetime(2025, 12, 31, 22, 30, tzinfo=ZoneInfo("UTC")),  # already 2026 in Paris
    datetime(2026, 1, 15, 9, 0, tzinfo=ZoneInfo("UTC")),
    datetime(2026, 3, 28, 23, 30, tzinfo=ZoneInfo("UTC")),  # the 29th in Paris
    datetime(2026, 3, 29, 22, 15, tzinfo=ZoneInfo("UTC")),  # the 30th in Paris
    datetime(2026, 3, 31, 12, 0, tzinfo=ZoneInfo("UTC")),
    datetime(2027, 6, 1, 0, 0, tzinfo=ZoneInfo("UTC")),
]


def calls_at(times: list[datetime], account: ApiAccount | None = None, **fields: Any) -> None:
    account = account or services.account_create(username=f"dates{ApiCall.objects.count()}")[0]
    ApiCall.objects.bulk_create(
        ApiCall(
            account=account,
            endpoint="detect",
            request_id=f"dates-{ApiCall.objects.count()}-{n}",
            status=fields.get("status", "OK"),
            http_status=200,
            latency_ms=1.0,
            created_at=at,
        )
        for n, at in enumerate(times)
    )


def indexed(queryset: Any) -> IndexedDatesQuerySet:
    return IndexedDatesQuerySet(model=queryset.model, query=queryset.query.chain())


@pytest.mark.parametrize("zone", ["UTC", "Europe/Paris", "America/Los_Angeles"])
@pytest.mark.parametrize("kind", ["year", "month", "day"])
def test_the_same_periods_as_djangos_own_query(settings: Any, zone: str, kind: Any) -> None:
    settings.TIME_ZONE = zone
    calls_at(SPREAD)
    calls_at([SPREAD[2] + timedelta(minutes=5)], status="ERROR")
    with timezone.override(zone):
        for calls in (
            ApiCall.objects.all(),
            ApiCall.objects.filter(status="OK"),
            ApiCall.objects.filter(created_at__year=2026, created_at__month=3),
            ApiCall.objects.filter(status="NONE"),
        ):
            expected = list(calls.datetimes("created_at", kind))
            # (Days over more than a few months: Django's own query, as a queryset.)
            assert list(indexed(calls).datetimes("created_at", kind)) == expected, (zone, kind, calls.query)


def test_periods_are_local_days_months_and_years_with_the_one_after() -> None:
    first, last = datetime(2026, 11, 30).date(), datetime(2027, 1, 2).date()
    with timezone.override("Europe/Paris"):
        months = period_starts(first, last, "month")
        days = period_starts(last, last, "day")
    assert [(start.year, start.month, start.day) for start in months] == [
        (2026, 11, 1),
        (2026, 12, 1),
        (2027, 1, 1),
        (2027, 2, 1),
    ]
    assert [start.isoformat() for start in days] == ["2027-01-02T00:00:00+01:00", "2027-01-03T00:00:00+01:00"]


def test_one_query_whatever_the_rows(django_assert_max_num_queries: Callable[..., Any]) -> None:
    now = timezone.now()
    calls_at([now - timedelta(hours=7 * n) for n in range(3_000)])  # about 875 days
    with django_assert_max_num_queries(2) as captured:
        years = indexed(ApiCall.objects.all()).datetimes("created_at", "year")
    assert years == list(ApiCall.objects.datetimes("created_at", "year"))
    assert "django_datetime_trunc" not in " ".join(query["sql"] for query in captured.captured_queries)


def test_the_call_log_offers_the_same_dates_in_a_fixed_number_of_queries(
    staff: Client, django_assert_max_num_queries: Callable[..., Any]
) -> None:
    now = timezone.now()
    account = services.account_create(username="busy")[0]
    calls_at([now - timedelta(days=n % 20, minutes=n) for n in range(10)], account)
    with CaptureQueriesContext(connection) as few:
        assert staff.get(url(ApiCall, "changelist")).status_code == 200
    calls_at([now - timedelta(days=n % 20, minutes=n) for n in range(2_000)], account)
    with django_assert_max_num_queries(len(few)) as many:
        response = staff.get(url(ApiCall, "changelist"))
    # What Django's own query offers at the level shown (days of a month, or months of a year).
    html = response.content.decode()
    days = set(re.findall(r"created_at__day=(\d+)", html))
    months = set(re.findall(r"created_at__month=(\d+)", html))
    if days:
        expected = {str(day.day) for day in ApiCall.objects.datetimes("created_at", "day")}
        assert days == expected
    else:
        assert months == {str(month.month) for month in ApiCall.objects.datetimes("created_at", "month")}
    assert days or months
    listed = next(query["sql"] for query in many.captured_queries if "LIMIT 100" in query["sql"])
    assert '"response_body"' not in listed and '"request_params"' not in listed
    assert '"request_id"' in listed

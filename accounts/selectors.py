"""Read queries on API accounts and their call history, shared by the admin and the portal.

Every figure comes from a fixed number of aggregate queries, however long the call history
grows. Nothing here writes, and nothing here imports an admin module, so the portal can use
it without running the admin's registrations.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from accounts.models import ApiAccount, ApiCall


@dataclass(frozen=True)
class Usage:
    today: int = 0
    week: int = 0
    month: int = 0
    month_ok: int = 0

    @property
    def month_errors(self) -> int:
        return self.month - self.month_ok


def usage_by_account(account_ids: Iterable[int], now: datetime | None = None) -> dict[int, Usage]:
    """Calls today (local day), in the last 7 and 30 days, and the 30 days' OK count, for
    all the given accounts in one aggregate query."""
    ids = list(account_ids)
    if not ids:
        return {}
    now = now or timezone.now()
    today = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    rows = (
        ApiCall.objects.filter(account_id__in=ids, created_at__gte=now - timedelta(days=30))
        .order_by()
        .values("account_id")
        .annotate(
            today=Count("pk", filter=Q(created_at__gte=today)),
            week=Count("pk", filter=Q(created_at__gte=now - timedelta(days=7))),
            month=Count("pk"),
            month_ok=Count("pk", filter=Q(status="OK")),
        )
    )
    return {
        row["account_id"]: Usage(
            today=row["today"], week=row["week"], month=row["month"], month_ok=row["month_ok"]
        )
        for row in rows
    }


def latency_percentile(calls: QuerySet[ApiCall], fraction: float, count: int) -> float | None:
    """The nearest-rank percentile of the calls' latency (count: how many calls there are),
    read as one row at its offset: portable, where only PostgreSQL has percentile_cont."""
    if count <= 0:
        return None
    rank = max(1, math.ceil(fraction * count))
    row = calls.order_by("latency_ms").values_list("latency_ms", flat=True)[rank - 1 : rank]
    return next(iter(row), None)


@dataclass(frozen=True)
class AccountReport:
    """What the account's change page shows: the last 30 days, by status and latency."""

    usage: Usage
    by_status: list[tuple[str, int]]
    p50_ms: float | None
    p95_ms: float | None


def account_report(account: ApiAccount, now: datetime | None = None) -> AccountReport:
    now = now or timezone.now()
    usage = usage_by_account([account.pk], now).get(account.pk, Usage())
    month = ApiCall.objects.filter(account=account, created_at__gte=now - timedelta(days=30))
    by_status = (
        month.order_by().values("status").annotate(calls=Count("pk")).order_by("-calls", "status")[:20]
    )
    return AccountReport(
        usage=usage,
        by_status=[(row["status"], row["calls"]) for row in by_status],
        p50_ms=latency_percentile(month, 0.50, usage.month),
        p95_ms=latency_percentile(month, 0.95, usage.month),
    )


@dataclass(frozen=True)
class AccountCalls:
    """One row of the call log's summary; account None: calls refused before authentication."""

    account: ApiAccount | None
    calls: int
    ok: int
    p95_ms: float | None
    filter_query: str

    @property
    def errors(self) -> int:
        return self.calls - self.ok


def busiest_accounts(calls: QuerySet[ApiCall], limit: int = 10) -> list[tuple[int | None, int, int]]:
    """(account id, calls, OK calls) of the accounts with the most calls, busiest first."""
    rows = (
        calls.order_by()
        .values("account_id")
        .annotate(calls=Count("pk"), ok=Count("pk", filter=Q(status="OK")))
        .order_by("-calls", "account_id")[:limit]
    )
    return [(row["account_id"], row["calls"], row["ok"]) for row in rows]


def busiest_accounts_since(rows: QuerySet[Any], *, since: datetime, limit: int) -> list[tuple[str, str]]:
    """(api_id, name) of the accounts owning most of `rows` (calls, stored images: any model
    with an account and a created_at) created since then, busiest first."""
    counted = (
        rows.filter(created_at__gte=since, account__isnull=False)
        .order_by()
        .values("account__api_id", "account__name")
        .annotate(rows=Count("pk"))
        .order_by("-rows", "account__api_id")[:limit]
    )
    return [(row["account__api_id"], row["account__name"]) for row in counted]


def account_by_api_id(api_id: str) -> ApiAccount | None:
    return ApiAccount.objects.filter(api_id=api_id).first()


def accounts_by_id(ids: Iterable[int]) -> dict[int, ApiAccount]:
    """The accounts, their users loaded with them, in one query."""
    return ApiAccount.objects.select_related("user").in_bulk(list(ids))

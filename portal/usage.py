"""What the dashboard counts for one user's keys: calls today / 7 / 30 days, calls per day (or
hour) by status and by endpoint, and latency percentiles per day (or hour).

Two queries whatever the number of calls, both on the (account, -created_at) index: the
admin's per-account aggregate for the totals, and one read of (bucket, status, endpoint,
latency) for the charts' period, each call placed in its bucket (an hour or a day) by the
database, from which the series, by status and by endpoint, are built here. The days are
the server's local days (TIME_ZONE), DST included: the days' starts are worked out here and
compared with the calls' times, so no database needs time zone support and no row needs a
conversion.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db.models import Case, IntegerField, Value, When
from django.utils import timezone

from accounts.models import ApiAccount, ApiCall
from accounts.selectors import Usage, usage_by_account
from faceportal.endpoints import ENDPOINTS

DAYS = 30
OK = "OK"


@dataclass(frozen=True)
class Percentiles:
    p50: float
    p95: float
    p99: float


@dataclass(frozen=True)
class DailySeries:
    """One entry per bucket (a local day unless said otherwise), oldest first; buckets without
    calls count zero."""

    days: list[date]  # the local day each bucket starts on
    # Every status seen, OK first, then the error codes, most frequent first.
    statuses: list[str]
    counts: dict[str, list[int]]
    # None on days without calls.
    latency: list[Percentiles | None]
    # Every endpoint seen, in the registry's order, then any other name recorded; its calls per
    # bucket and its latency percentiles per bucket.
    endpoints: list[str] = field(default_factory=list)
    endpoint_counts: dict[str, list[int]] = field(default_factory=dict)
    endpoint_latency: dict[str, list[Percentiles | None]] = field(default_factory=dict)

    @property
    def totals(self) -> list[int]:
        return [sum(counts[index] for counts in self.counts.values()) for index in range(len(self.days))]


@dataclass(frozen=True)
class Summary:
    today: int
    week: int
    month: int
    month_ok: int

    @property
    def success_rate(self) -> float | None:
        """Share of the last 30 days' calls answered OK, None without calls."""
        return self.month_ok / self.month if self.month else None

    @property
    def success_percent(self) -> float | None:
        rate = self.success_rate
        return None if rate is None else rate * 100


def usage_per_account(accounts: Iterable[ApiAccount], now: datetime | None = None) -> dict[int, Usage]:
    """Each account's calls today / 7 / 30 days (zeros for an account without calls)."""
    ids = [account.pk for account in accounts]
    found = usage_by_account(ids, now)
    return {pk: found.get(pk, Usage()) for pk in ids}


def summary(usages: Iterable[Usage]) -> Summary:
    usages = list(usages)
    return Summary(
        today=sum(usage.today for usage in usages),
        week=sum(usage.week for usage in usages),
        month=sum(usage.month for usage in usages),
        month_ok=sum(usage.month_ok for usage in usages),
    )


def local_days(now: datetime | None = None, days: int = DAYS) -> list[date]:
    today = timezone.localdate(now or timezone.now())
    return [today - timedelta(days=back) for back in range(days - 1, -1, -1)]


def day_starts(days: Sequence[date]) -> list[datetime]:
    """The aware start of each day and of the day after the last, in the current time zone:
    len(days) + 1 bounds (a DST day is 23 or 25 hours long)."""
    zone = timezone.get_current_timezone()
    following = days[-1] + timedelta(days=1)
    return [timezone.make_aware(datetime.combine(day, time.min), zone) for day in [*days, following]]


def daily_series(account_ids: Iterable[int], now: datetime | None = None, days: int = DAYS) -> DailySeries:
    """Calls per day by status and latency percentiles per day over the last `days` local days."""
    return bucket_series(account_ids, day_starts(local_days(now, days)))


def bucket_series(
    account_ids: Iterable[int], bounds: Sequence[datetime], *, by_endpoint: bool = False
) -> DailySeries:
    """Calls by status, and latency percentiles, in each of the buckets that `bounds` delimit
    (len(bounds) - 1 of them): one read of (bucket, status, latency). With `by_endpoint`, each
    endpoint's calls and percentiles too (the split by endpoint), read in the same query; without
    it the endpoint is not even read, since the extra work per row costs the default page a
    third of its time."""
    buckets = len(bounds) - 1
    calls = (
        ApiCall.objects.filter(
            account_id__in=list(account_ids), created_at__gte=bounds[0], created_at__lt=bounds[-1]
        )
        .order_by()
        .annotate(day=day_index(bounds))
    )
    per_status: dict[str, list[int]] = {}
    latencies: list[list[float]] = [[] for _ in range(buckets)]
    per_endpoint: dict[str, list[int]] = {}
    endpoint_latencies: dict[str, list[list[float]]] = {}
    if by_endpoint:
        for day, status, endpoint, latency_ms in calls.values_list("day", "status", "endpoint", "latency_ms"):
            per_status.setdefault(status, [0] * buckets)[day] += 1
            latencies[day].append(latency_ms)
            per_endpoint.setdefault(endpoint, [0] * buckets)[day] += 1
            endpoint_latencies.setdefault(endpoint, [[] for _ in range(buckets)])[day].append(latency_ms)
    else:
        for day, status, latency_ms in calls.values_list("day", "status", "latency_ms"):
            per_status.setdefault(status, [0] * buckets)[day] += 1
            latencies[day].append(latency_ms)
    statuses = statuses_in_order(per_status)
    endpoints = endpoints_in_order(per_endpoint)
    return DailySeries(
        days=[timezone.localtime(start).date() for start in bounds[:-1]],
        statuses=statuses,
        counts={status: per_status[status] for status in statuses},
        latency=[percentiles(values) if values else None for values in latencies],
        endpoints=endpoints,
        endpoint_counts={name: per_endpoint[name] for name in endpoints},
        endpoint_latency={
            name: [percentiles(values) if values else None for values in endpoint_latencies[name]]
            for name in endpoints
        },
    )


def endpoints_in_order(per_endpoint: dict[str, list[int]]) -> list[str]:
    """The registry's endpoints first, in its order (a stable colour each), then the rest by name."""
    known = [entry.name for entry in ENDPOINTS if entry.name in per_endpoint]
    return known + sorted(name for name in per_endpoint if name not in known)


def day_index(bounds: Sequence[datetime]) -> Case:
    """Which day a call falls on, worked out by the database: 0 for the first day. Reading the
    times themselves would cost more than the rest of the page (a datetime made per row)."""
    return Case(
        *(When(created_at__lt=end, then=Value(index)) for index, end in enumerate(bounds[1:-1])),
        default=Value(len(bounds) - 2),
        output_field=IntegerField(),
    )


def statuses_in_order(per_status: dict[str, list[int]]) -> list[str]:
    totals = Counter({status: sum(counts) for status, counts in per_status.items()})
    errors = sorted((status for status in totals if status != OK), key=lambda s: (-totals[s], s))
    return [OK, *errors] if OK in totals else errors


def percentiles(values: list[float]) -> Percentiles:
    ordered = sorted(values)
    return Percentiles(
        p50=percentile(ordered, 0.50), p95=percentile(ordered, 0.95), p99=percentile(ordered, 0.99)
    )


def percentile(ordered: Sequence[float], fraction: float) -> float:
    """Linear interpolation between the closest ranks (numpy's default): the p-th percentile
    of 1..100 is 1 + 99 p, so p50 = 50.5."""
    if not ordered:
        raise ValueError("no values")
    position = (len(ordered) - 1) * fraction
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)

"""The dashboard: the user's API keys with their limits and usage, and two charts of the last
30 days. The writes on keys are portal/keys.py; a new secret they made waits for this page in the
server-side session (never a cookie, the URL or a log) and is shown here once.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_safe

from accounts.models import ApiAccount, ApiCall, Endpoint
from accounts.selectors import Usage
from faceportal.endpoints import ENDPOINTS, endpoint
from portal import charts, keys, ranges, usage
from portal.filters import endpoint_label
from portal.keys import SECRET_ONCE, signed_in_user

__all__ = ["SECRET_ONCE", "curl_example", "dashboard"]
# What the "next step" curl line shows instead of a secret the server does not have.
SECRET_PLACEHOLDER = "YOUR_API_SECRET"


@dataclass(frozen=True)
class KeyCard:
    """One API key as its card shows it."""

    account: ApiAccount
    usage: Usage
    state: str  # active, inactive, expired, revoked
    quota_percent: int
    endpoints: list[str]
    rename_form: keys.KeyNameForm
    old_secret_until: datetime | None = None  # the grace period of the last rotation

    @property
    def badge(self) -> str:
        return {"active": "ok", "expired": "err", "revoked": "err"}.get(self.state, "off")

    @property
    def bar_level(self) -> str:
        """The quota bar's class: full when no call is left, high from 80 %."""
        if self.account.quota_remaining == 0:
            return "full"
        return "high" if self.quota_percent >= 80 else ""


def key_card(
    account: ApiAccount, account_usage: Usage, now: datetime, refused: dict[str, Any] | None = None
) -> KeyCard:
    if account.is_revoked:
        state = "revoked"
    elif account.is_expired(now):
        state = "expired"
    elif not account.is_active:
        state = "inactive"
    else:
        state = "active"
    limit = account.quota_limit
    percent = 100 if limit == 0 else min(100, account.quota_used * 100 // limit)
    return KeyCard(
        account=account,
        usage=account_usage,
        state=state,
        quota_percent=percent,
        endpoints=endpoints_opened(account.endpoints),
        # Ids of its own: every card has a rename form on the one page.
        rename_form=keys.name_form(
            refused or {},
            f"rename:{account.api_id}",
            auto_id=f"rename-{account.api_id}-%s",
            name=account.name,
            label="New name",
        ),
        old_secret_until=account.previous_secret_works_until(now),
    )


def endpoints_opened(permissions: list[str]) -> list[str]:
    """The paths a key's permissions open, in the registry's order. Every endpoint is a POST:
    the path alone says which. A permission may open several endpoints (upload_liveness opens
    the liveness challenge too), so the list is read from each endpoint's permission, never
    from the endpoint named after a permission."""
    allowed = set(permissions)
    return [entry.url for entry in ENDPOINTS if entry.permission in allowed]


@sensitive_variables("secret")
def curl_example(base_url: str, account: ApiAccount, secret: str) -> str:
    """The simplest call the key may make, credentials in the form (not the URL, so that
    they stay out of proxies' access logs)."""
    allowed = set(account.endpoints)
    credentials = {"api_id": account.api_id, "api_secret": secret}
    if Endpoint.DETECT in allowed or not allowed:
        path, fields = endpoint("detect").path, {"api_key": account.api_id, "api_secret": secret}
        files = {"image": "@photo.jpg"}
    elif Endpoint.COMPARE in allowed:
        path, fields = endpoint("compare").path, credentials
        files = {"image_one_file": "@one.jpg", "image_two_file": "@two.jpg"}
    elif Endpoint.MASK in allowed:
        path, fields = endpoint("mask").path, credentials
        files = {"selfie_file": "@selfie.jpg", "mask_eye": "true"}
    elif Endpoint.UPLOAD_LIVENESS in allowed:
        path, fields, files = endpoint("liveness_challenge").path, credentials, {}
    else:
        path, fields = endpoint("liveness_verification").path, credentials
        files = {"liveness_data_file": "@capture.fplv", "selfie_file": "@selfie.jpg"}
    parts = [f"curl -s {shlex.quote(base_url + path)}"]
    parts += [f"-F {shlex.quote(f'{name}={value}')}" for name, value in {**fields, **files}.items()]
    return " \\\n  ".join(parts)


@login_required
@require_safe
@sensitive_variables("shown", "context")
def dashboard(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    refused = keys.refused_form(request)
    accounts = list(ApiAccount.objects.filter(user=signed_in_user(request)))
    per_account = usage.usage_per_account(accounts, now)
    context: dict[str, Any] = {
        "title": "Dashboard",
        "form": keys.name_form(refused, "create", auto_id="id_%s"),
        "grace_choices": keys.GRACE_OPTIONS,
        "cards": [key_card(account, per_account[account.pk], now, refused) for account in accounts],
        "summary": usage.summary(per_account.values()),
        "max_keys": settings.FACEPORTAL_PORTAL_MAX_KEYS,
        "max_range_days": ranges.MAX_DAYS,
        "new_key_quota": settings.FACEPORTAL_PORTAL_KEY_QUOTA,
        "time_zone": timezone.get_current_timezone_name(),
    }
    chart_range = ranges.ChartRangeForm(request.GET, today=timezone.localdate(now))
    period = chart_range.period(now)
    split = chart_range.choice()[1]
    series = usage.bucket_series(
        [account.pk for account in accounts], period.bounds, by_endpoint=split == ranges.BY_ENDPOINT
    )
    context.update(charts_context(series, period, split))
    context["chart_range"] = chart_range
    context["next_step"] = next_step(request, accounts, context["summary"])
    shown = keys.secret_waiting(request)
    owned = {account.api_id: account for account in accounts}
    if shown and shown.get("api_id") in owned:
        account = owned[shown["api_id"]]
        context["secret_once"] = {
            **shown,
            "name": account.name,
            "curl": curl_example(request.build_absolute_uri("/"), account, shown["secret"]),
        }
    response = render(request, "portal/dashboard.html", context)
    # The page may hold a secret: no cache, shared or the browser's own, may keep it.
    add_never_cache_headers(response)
    return response


def charts_context(series: usage.DailySeries, period: ranges.Period, split: str) -> dict[str, Any]:
    """The two charts over `period`, by status or by endpoint, their legends and, for screen
    readers (and anyone who asks), their numbers as tables."""
    axis = charts.Axis(period.labels, unit=period.unit, every=period.every)
    per = "hour" if period.unit == "hour" else "day"
    if split == ranges.BY_ENDPOINT:
        labels = {name: endpoint_label(name) for name in series.endpoints}
        layers = charts.endpoint_layers(series.endpoints, series.endpoint_counts, labels)
        lines = charts.endpoint_latency_lines(series.endpoints, series.endpoint_latency, labels)
        calls_title, latency_title = f"Calls per {per} by endpoint", f"Median latency per {per} by endpoint"
    else:
        layers = charts.status_layers(series.statuses, series.counts)
        lines = charts.latency_lines(series.latency)
        calls_title, latency_title = f"Calls per {per} by status", f"Latency percentiles per {per}"
    return {
        "period": period,
        "split": split,
        "calls_title": calls_title,
        "latency_title": latency_title,
        "calls_chart": charts.calls_chart_svg(
            axis, layers, chart_id="calls-chart", title=f"{calls_title}, {period.label}"
        ),
        "calls_legend": charts.legend_html(layers),
        "calls_columns": [layer.label for layer in layers],
        "calls_rows": [
            (label, [layer.counts[index] for layer in layers], total)
            for index, (label, total) in enumerate(zip(period.labels, series.totals, strict=True))
        ],
        "latency_chart": charts.latency_chart_svg(
            axis, lines, chart_id="latency-chart", title=f"{latency_title}, {period.label}"
        ),
        "latency_legend": charts.line_legend_html(lines),
        "latency_rows": list(zip(period.labels, series.latency, series.totals, strict=True)),
        "latency_columns": [line.label for line in lines],
        "latency_line_rows": [
            (label, [line.values[index] for line in lines]) for index, label in enumerate(period.labels)
        ],
        "has_calls": any(series.totals),
    }


@dataclass(frozen=True)
class NextStep:
    """What a user with no call yet should do first."""

    key: ApiAccount | None  # None: no key yet, so creating one is the first step
    curl: str = ""


def next_step(request: HttpRequest, accounts: list[ApiAccount], summary: usage.Summary) -> NextStep | None:
    """A prompt for a user who has never called the API (one cheap query, only when the last
    30 days are empty). The curl line names the key's api_id and a placeholder for the secret,
    which only its owner has."""
    if summary.month or (accounts and ApiCall.objects.filter(account__in=accounts).exists()):
        return None
    if not accounts:
        return NextStep(key=None)
    key = accounts[0]
    return NextStep(key=key, curl=curl_example(request.build_absolute_uri("/"), key, SECRET_PLACEHOLDER))

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

from accounts.models import ApiAccount, Endpoint
from accounts.selectors import Usage
from faceportal.endpoints import ENDPOINTS, endpoint
from portal import charts, keys, usage
from portal.keys import SECRET_ONCE, signed_in_user

__all__ = ["SECRET_ONCE", "curl_example", "dashboard"]


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
    # Every endpoint is a POST: the path alone says which. A permission may open several
    # endpoints (upload_liveness: the challenge too); the card names the one it is named after.
    paths = {entry.permission: entry.url for entry in ENDPOINTS if entry.name == entry.permission}
    return KeyCard(
        account=account,
        usage=account_usage,
        state=state,
        quota_percent=percent,
        endpoints=[paths.get(endpoint, endpoint) for endpoint in account.endpoints],
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
        "new_key_quota": settings.FACEPORTAL_PORTAL_KEY_QUOTA,
        "time_zone": timezone.get_current_timezone_name(),
        **charts_context(usage.daily_series([account.pk for account in accounts], now)),
    }
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


def charts_context(series: usage.DailySeries) -> dict[str, Any]:
    """The two charts, their legends and, for screen readers, their numbers as tables."""
    layers = charts.status_layers(series.statuses, series.counts)
    lines = charts.latency_lines(series.latency)
    labels = [charts.day_label(day) for day in series.days]
    return {
        "calls_chart": charts.calls_chart_svg(
            series.days, layers, chart_id="calls-chart", title="Calls per day by status, last 30 days"
        ),
        "calls_legend": charts.legend_html(layers),
        "calls_columns": [layer.label for layer in layers],
        "calls_rows": [
            (label, [layer.counts[index] for layer in layers], total)
            for index, (label, total) in enumerate(zip(labels, series.totals, strict=True))
        ],
        "latency_chart": charts.latency_chart_svg(
            series.days, lines, chart_id="latency-chart", title="Latency percentiles per day, last 30 days"
        ),
        "latency_legend": charts.line_legend_html(lines),
        "latency_rows": list(zip(labels, series.latency, series.totals, strict=True)),
        "has_calls": any(series.totals),
    }

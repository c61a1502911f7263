"""The dashboard: the user's API keys with their limits and usage, two charts of the last 30
days, and the two writes a user may make on their own keys (create, rotate the secret).

A new secret waits for the next render of the dashboard in the server-side session (never a
cookie, the URL or a log), sealed (portal/sealed.py: encrypted, and good for ten minutes), and is
popped when shown, so a reload no longer has it.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_POST, require_safe

from accounts.models import ApiAccount, ApiCall, Endpoint
from accounts.selectors import Usage
from accounts.services import account_create, account_rotate_secret
from faceportal.endpoints import ENDPOINTS, endpoint
from portal import charts, ranges, sealed, usage
from portal.filters import endpoint_label

if TYPE_CHECKING:
    from django.contrib.auth.models import User

SECRET_ONCE = "portal.secret_once"
# What the "next step" curl line shows instead of a secret the server does not have.
SECRET_PLACEHOLDER = "YOUR_API_SECRET"


class KeyCreateForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        label="Name",
        help_text="For your own use, e.g. “staging server”.",
        error_messages={"required": "Give the key a name."},
    )


class KeyLimitReached(Exception):
    pass


@dataclass(frozen=True)
class KeyCard:
    """One API key as its card shows it."""

    account: ApiAccount
    usage: Usage
    state: str  # active, inactive, expired
    quota_percent: int
    endpoints: list[str]

    @property
    def badge(self) -> str:
        return {"active": "ok", "expired": "err"}.get(self.state, "off")

    @property
    def bar_level(self) -> str:
        """The quota bar's class: full when no call is left, high from 80 %."""
        if self.account.quota_remaining == 0:
            return "full"
        return "high" if self.quota_percent >= 80 else ""


def key_card(account: ApiAccount, account_usage: Usage, now: datetime) -> KeyCard:
    if account.is_expired(now):
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


def signed_in_user(request: HttpRequest) -> User:
    """Whose keys these are: every view here is behind login_required."""
    user = request.user
    if not user.is_authenticated:
        raise PermissionDenied("sign in first")
    return user


@login_required
@require_safe
def dashboard(request: HttpRequest) -> HttpResponse:
    return dashboard_page(request, KeyCreateForm())


@sensitive_variables("shown", "context")
def dashboard_page(request: HttpRequest, form: KeyCreateForm, status: int = 200) -> HttpResponse:
    now = timezone.now()
    accounts = list(ApiAccount.objects.filter(user=signed_in_user(request)))
    per_account = usage.usage_per_account(accounts, now)
    context: dict[str, Any] = {
        "title": "Dashboard",
        "form": form,
        "cards": [key_card(account, per_account[account.pk], now) for account in accounts],
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
    shown = secret_waiting(request)
    owned = {account.api_id: account for account in accounts}
    if shown and shown.get("api_id") in owned:
        account = owned[shown["api_id"]]
        context["secret_once"] = {
            **shown,
            "name": account.name,
            "curl": curl_example(request.build_absolute_uri("/"), account, shown["secret"]),
        }
    response = render(request, "portal/dashboard.html", context, status=status)
    # The page may hold a secret: no cache, shared or the browser's own, may keep it.
    add_never_cache_headers(response)
    return response


@sensitive_variables("secret")
def secret_wait(request: HttpRequest, account: ApiAccount, secret: str, action: str) -> None:
    """Keeps a new secret for the next dashboard, sealed."""
    waiting = {"api_id": account.api_id, "secret": secret, "action": action}
    request.session[SECRET_ONCE] = sealed.seal(json.dumps(waiting), purpose=SECRET_ONCE)


@sensitive_variables("opened")
def secret_waiting(request: HttpRequest) -> dict[str, str] | None:
    """The secret waiting for this dashboard, taken out of the session (None when it is stale)."""
    opened = sealed.unseal(request.session.pop(SECRET_ONCE, None), purpose=SECRET_ONCE)
    return json.loads(opened) if opened is not None else None


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


@login_required
@require_POST
@sensitive_variables("secret")
def key_create(request: HttpRequest) -> HttpResponse:
    form = KeyCreateForm(request.POST)
    if not form.is_valid():
        return dashboard_page(request, form, status=400)
    try:
        account, secret = key_create_for(signed_in_user(request), form.cleaned_data["name"])
    except KeyLimitReached:
        form.add_error(
            None,
            f"You already have {settings.FACEPORTAL_PORTAL_MAX_KEYS} API keys, the most a user may have. "
            "Rotate the secret of one you have, or ask the operator for more.",
        )
        return dashboard_page(request, form, status=400)
    secret_wait(request, account, secret, "created")
    messages.success(request, f"API key “{account.name}” created.")
    return redirect("portal:dashboard")


@sensitive_variables("secret")
def key_create_for(user: User, name: str) -> tuple[ApiAccount, str]:
    """A key with the portal's quota and the model's other defaults, within the per-user limit.
    The user's row is locked so that two simultaneous requests cannot both pass the count."""
    with transaction.atomic():
        get_user_model().objects.select_for_update().filter(pk=user.pk).first()
        if ApiAccount.objects.filter(user=user).count() >= settings.FACEPORTAL_PORTAL_MAX_KEYS:
            raise KeyLimitReached()
        return account_create(
            username=user.get_username(), name=name, quota=settings.FACEPORTAL_PORTAL_KEY_QUOTA
        )


@login_required
@require_POST
@sensitive_variables("secret")
def key_rotate(request: HttpRequest, api_id: str) -> HttpResponse:
    # Someone else's key is as absent as a key that never existed.
    account = get_object_or_404(ApiAccount, api_id=api_id, user=signed_in_user(request))
    secret = account_rotate_secret(account)
    secret_wait(request, account, secret, "rotated")
    messages.success(
        request, f"New secret for “{account.name or account.api_id}”: the old one no longer works."
    )
    return redirect("portal:dashboard")

"""Operators' admin for users, their API accounts and the call log.

Secrets exist in clear only in the one message shown when they are made (account added,
secret rotated); the stored hash is never rendered. Every usage figure comes from a fixed
number of aggregate queries, however long the call history grows.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.views.main import ChangeList
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.safestring import SafeString

from accounts import services
from accounts.models import ApiAccount, ApiCall, Endpoint, all_endpoints
from resources.models import StoredImage
from resources.purge import purge

admin.site.site_header = "FacePortal administration"
admin.site.site_title = "FacePortal admin"
admin.site.index_title = "Accounts, calls and stored data"
# "View site" leads operators to the portal, where customers see their keys and calls.
admin.site.site_url = "/portal/"

# Where the changelist leaves each account's usage so that its columns need no query.
_USAGE_ATTR = "_admin_usage"
# Pretty-printed request parameters and bodies are cut there: the page stays usable.
_SHOWN_CHARS = 20_000
# Confirmation pages name this many of the rows they act on, and count the rest.
_LISTED = 100


# -- usage figures ---------------------------------------------------------------------


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


def account_usage(account: ApiAccount) -> Usage:
    usage = getattr(account, _USAGE_ATTR, None)
    if usage is None:
        usage = usage_by_account([account.pk]).get(account.pk, Usage())
        setattr(account, _USAGE_ATTR, usage)
    return usage


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


# -- actions with a confirmation page --------------------------------------------------


def confirmed(request: HttpRequest) -> bool:
    return request.POST.get("confirmed") == "yes"


def confirmation_page(
    model_admin: admin.ModelAdmin,
    request: HttpRequest,
    queryset: QuerySet[Any] | None,
    *,
    action: str,
    title: str,
    question: str,
    button: str,
) -> HttpResponse:
    """An intermediate page, like Django's own delete confirmation, for irreversible actions.

    queryset None: an action that needs no selection (see SelectionFreeActions). The page
    posts back the selection as it came (ids, or "all matching" with the filters in the URL),
    so that the confirmed action runs on the same rows.
    """
    opts = model_admin.model._meta
    shown = list(queryset[:_LISTED]) if queryset is not None else []
    # Only a full first page can hide more rows: count them only then.
    more = queryset.count() - len(shown) if queryset is not None and len(shown) == _LISTED else 0
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": opts,
        "title": title,
        "question": question,
        "button": button,
        "action": action,
        "objects": shown,
        "more": more,
        "selected_ids": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
        "select_across": request.POST.get("select_across") == "1",
        "changelist_url": reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"),
    }
    return TemplateResponse(request, "admin/confirm_action.html", context)


class SelectionFreeActions(admin.ModelAdmin):
    """Lets the actions named in selection_free_actions run with no row ticked: Django runs
    no action on an empty selection, so "all" stands in for it."""

    selection_free_actions: tuple[str, ...] = ()

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if (
            request.method == "POST"
            and set(request.POST.getlist("action")) & set(self.selection_free_actions)
            and not request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)
        ):
            post = request.POST.copy()
            post["select_across"] = "1"
            post.setlist(helpers.ACTION_CHECKBOX_NAME, ["all"])
            request.POST = post  # type: ignore[assignment]
        return super().changelist_view(request, extra_context)


def plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


# -- filters -----------------------------------------------------------------------------


class AccountFilter(admin.SimpleListFilter):
    """By account (its api_id), without listing every account: the selected one and the
    busiest of the last week. Any other is reached from its own page or by searching."""

    title = "account"
    parameter_name = "api_id"
    NO_ACCOUNT = "none"
    # Only calls can have no account (refused before authentication).
    offers_no_account = False
    busiest = 10

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        week_ago = timezone.now() - timedelta(days=7)
        rows = (
            model_admin.model._default_manager.filter(created_at__gte=week_ago, account__isnull=False)
            .order_by()
            .values("account__api_id", "account__name")
            .annotate(rows=Count("pk"))
            .order_by("-rows", "account__api_id")[: self.busiest]
        )
        choices = [
            (row["account__api_id"], account_label(row["account__name"], row["account__api_id"]))
            for row in rows
        ]
        selected = self.value()
        if selected and selected != self.NO_ACCOUNT and selected not in dict(choices):
            account = ApiAccount.objects.filter(api_id=selected).first()
            label = account_label(account.name, account.api_id) if account else f"{selected} (unknown)"
            choices.insert(0, (selected, label))
        if self.offers_no_account:
            choices.append((self.NO_ACCOUNT, "no account (refused before authentication)"))
        return choices

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if not value:
            return queryset
        if value == self.NO_ACCOUNT:
            return queryset.filter(account__isnull=True)
        return queryset.filter(account__api_id=value)


class CallAccountFilter(AccountFilter):
    offers_no_account = True


def account_label(name: str, api_id: str) -> str:
    return f"{name} ({api_id[:8]}…)" if name else api_id


def account_admin_link(account: ApiAccount | None) -> str:
    if account is None:
        return "-"
    url = reverse("admin:accounts_apiaccount_change", args=[account.pk])
    return format_html("<a href='{}'>{}</a>", url, account.api_id)


def filtered_url(model: type[Any], account: ApiAccount) -> str:
    """The model's changelist narrowed to the account."""
    opts = model._meta
    changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    return f"{changelist}?{urlencode({AccountFilter.parameter_name: account.api_id})}"


class ExpiryFilter(admin.SimpleListFilter):
    title = "expiry"
    parameter_name = "expiry"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("past", "expired"), ("future", "not yet expired"), ("never", "never expires")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        now = timezone.now()
        if self.value() == "past":
            return queryset.filter(expires_at__lte=now)
        if self.value() == "future":
            return queryset.filter(expires_at__gt=now)
        if self.value() == "never":
            return queryset.filter(expires_at__isnull=True)
        return queryset


# -- API accounts ------------------------------------------------------------------------


class ApiAccountForm(forms.ModelForm):
    endpoints = forms.MultipleChoiceField(
        choices=Endpoint.choices,
        widget=forms.CheckboxSelectMultiple,
        initial=all_endpoints,
        required=False,
        help_text="Endpoints this account may call; none selected blocks every call.",
    )

    class Meta:
        model = ApiAccount
        fields = [
            "user",
            "name",
            "is_active",
            "expires_at",
            "endpoints",
            "rate_limit",
            "concurrency_limit",
            "quota_limit",
        ]

    def clean_endpoints(self) -> list[str]:
        chosen = set(self.cleaned_data["endpoints"])
        return [endpoint.value for endpoint in Endpoint if endpoint.value in chosen]


@admin.register(ApiAccount)
class ApiAccountAdmin(admin.ModelAdmin):
    form = ApiAccountForm
    list_display = [
        "name",
        "api_id",
        "user",
        "is_active",
        "expires",
        "quota",
        "rate_limit",
        "concurrency_limit",
        "calls",
        "created_at",
    ]
    list_display_links = ["name", "api_id"]
    list_select_related = ["user"]
    # No filter by user: it would list every user. Search finds them by name or email.
    list_filter = ["is_active", ExpiryFilter]
    search_fields = ["api_id", "name", "user__username", "user__email"]
    autocomplete_fields = ["user"]
    readonly_fields = ["api_id", "quota_used", "created_at", "usage"]
    # secret_hash is in no field list, form or search: it must never be rendered.
    exclude = ["secret_hash"]
    fieldsets = [
        (None, {"fields": ["api_id", "user", "name", "is_active", "expires_at"]}),
        ("Limits", {"fields": ["endpoints", "rate_limit", "concurrency_limit", "quota_limit", "quota_used"]}),
        ("Usage", {"fields": ["usage", "created_at"]}),
    ]
    add_fieldsets = [
        (None, {"fields": ["user", "name", "is_active", "expires_at"]}),
        ("Limits", {"fields": ["endpoints", "rate_limit", "concurrency_limit", "quota_limit"]}),
    ]
    actions = [
        "rotate_secret",
        "top_up_1000",
        "top_up_10000",
        "extend_expiry_30_days",
        "extend_expiry_365_days",
        "deactivate",
        "activate",
        "delete_images",
    ]

    def get_fieldsets(self, request: HttpRequest, obj: ApiAccount | None = None) -> Any:
        return self.add_fieldsets if obj is None else self.fieldsets

    def get_changelist_instance(self, request: HttpRequest) -> Any:
        changelist = super().get_changelist_instance(request)
        # Iterating fills the page's result cache, which the template then reuses.
        page = list(changelist.result_list)
        usage = usage_by_account(account.pk for account in page)
        for account in page:
            setattr(account, _USAGE_ATTR, usage.get(account.pk, Usage()))
        return changelist

    def save_model(self, request: HttpRequest, obj: ApiAccount, form: Any, change: bool) -> None:
        secret = None if change else services.secret_assign(obj)
        super().save_model(request, obj, form, change)
        if secret is not None:
            messages.success(request, f"Secret for {obj.api_id}: {secret} — shown once, store it now")

    # -- columns and read-only fields ------------------------------------------------

    @admin.display(description="expires", ordering="expires_at")
    def expires(self, obj: ApiAccount) -> str:
        if obj.expires_at is None:
            return "never"
        shown = timezone.localtime(obj.expires_at).strftime("%Y-%m-%d %H:%M")
        return f"{shown} (expired)" if obj.is_expired() else shown

    @admin.display(description="quota used / limit", ordering="quota_used")
    def quota(self, obj: ApiAccount) -> str:
        return f"{obj.quota_used:,} / {obj.quota_limit:,}"

    @admin.display(description="calls today / 7 d / 30 d")
    def calls(self, obj: ApiAccount) -> str:
        usage = account_usage(obj)
        errors = f" ({plural(usage.month_errors, 'error')})" if usage.month_errors else ""
        return f"{usage.today:,} / {usage.week:,} / {usage.month:,}{errors}"

    @admin.display(description="usage")
    def usage(self, obj: ApiAccount) -> str:
        if obj.pk is None:
            return "-"
        context = {
            "report": account_report(obj),
            "calls_url": filtered_url(ApiCall, obj),
            "images_url": filtered_url(StoredImage, obj),
        }
        return render_to_string("admin/accounts/apiaccount/usage.html", context)

    # -- actions -----------------------------------------------------------------------

    @admin.action(description="Rotate secret (the old one stops working at once)", permissions=["change"])
    def rotate_secret(self, request: HttpRequest, queryset: QuerySet[ApiAccount]) -> HttpResponse | None:
        if not confirmed(request):
            return confirmation_page(
                self,
                request,
                queryset,
                action="rotate_secret",
                title="Rotate secrets",
                question="These accounts get a new secret; their current secret stops working at once.",
                button="Yes, rotate",
            )
        for account in queryset:
            secret = services.account_rotate_secret(account)
            self.log_change(request, account, "Rotated secret.")
            messages.success(request, f"Secret for {account.api_id}: {secret} — shown once, store it now")
        return None

    def _top_up(self, request: HttpRequest, queryset: QuerySet[ApiAccount], calls: int) -> None:
        accounts = list(queryset)
        for account in accounts:
            services.account_top_up(account, calls)
            self.log_change(request, account, f"Topped up the quota by {calls:,} calls.")
        messages.success(
            request, f"Added {calls:,} calls to the quota of {plural(len(accounts), 'account')}."
        )

    @admin.action(description="Top up quota by 1,000 calls", permissions=["change"])
    def top_up_1000(self, request: HttpRequest, queryset: QuerySet[ApiAccount]) -> None:
        self._top_up(request, queryset, 1_000)

    @admin.action(description="Top up quota by 10,000 calls", permissions=["change"])
    def top_up_10000(self, request: HttpRequest, queryset: QuerySet[ApiAccount]) -> None:
        self._top_up(request, queryset, 10_000)

    def _extend_expiry(self, request: HttpRequest, queryset: QuerySet[ApiAccount], days: int) -> None:
        now = timezone.now()
        extended = 0
        for account in queryset.filter(expires_at__isnull=False):
            assert account.expires_at is not None
            # An expired account gets the days from now, not from its past expiry.
            account.expires_at = max(now, account.expires_at) + timedelta(days=days)
            account.save(update_fields=["expires_at"])
            self.log_change(request, account, f"Extended expiry to {account.expires_at.isoformat()}.")
            extended += 1
        unlimited = queryset.filter(expires_at__isnull=True).count()
        note = f"; {plural(unlimited, 'account')} without expiry left unlimited" if unlimited else ""
        messages.success(request, f"Extended {plural(extended, 'account')} by {days} days{note}.")

    @admin.action(description="Extend expiry by 30 days", permissions=["change"])
    def extend_expiry_30_days(self, request: HttpRequest, queryset: QuerySet[ApiAccount]) -> None:
        self._extend_expiry(request, queryset, 30)

    @admin.action(description="Extend expiry by 365 days", permissions=["change"])
    def extend_expiry_365_days(self, request: HttpRequest, queryset: QuerySet[ApiAccount]) -> None:
        self._extend_expiry(request, queryset, 365)

    def _set_active(self, request: HttpRequest, queryset: QuerySet[ApiAccount], active: bool) -> None:
        accounts = list(queryset.exclude(is_active=active))
        ApiAccount.objects.filter(pk__in=[account.pk for account in accounts]).update(is_active=active)
        for account in accounts:
            self.log_change(request, account, "Activated." if active else "Deactivated.")
        messages.success(
            request, f"{'Activated' if active else 'Deactivated'} {plural(len(accounts), 'account')}."
        )

    @admin.action(description="Deactivate (refuse its calls)", permissions=["change"])
    def deactivate(self, request: HttpRequest, queryset: QuerySet[ApiAccount]) -> None:
        self._set_active(request, queryset, False)

    @admin.action(description="Activate", permissions=["change"])
    def activate(self, request: HttpRequest, queryset: QuerySet[ApiAccount]) -> None:
        self._set_active(request, queryset, True)

    def has_delete_images_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm("resources.delete_storedimage"))

    @admin.action(description="Delete all stored images of these accounts", permissions=["delete_images"])
    def delete_images(self, request: HttpRequest, queryset: QuerySet[ApiAccount]) -> HttpResponse | None:
        images = StoredImage.objects.filter(account__in=queryset)
        if not confirmed(request):
            return confirmation_page(
                self,
                request,
                queryset,
                action="delete_images",
                title="Delete stored images",
                question=f"{plural(images.count(), 'stored image')} of these accounts will be deleted, "
                "files included. Calls referring to them by id will fail.",
                button="Yes, delete the images",
            )
        count = purge(images).images
        messages.success(request, f"Deleted {plural(count, 'stored image')}.")
        return None


# -- the call log ------------------------------------------------------------------------


class CallLogChangeList(ChangeList):
    """The call log's list, with its busiest accounts over the same filters."""

    @cached_property
    def busiest_accounts(self) -> dict[str, Any]:
        # Without dates chosen, the last 30 days: the whole history would cost a full scan
        # on every page view.
        dated = any(key.startswith(f"{self.date_hierarchy}__") for key in self.params)
        calls = self.queryset
        if not dated:
            calls = calls.filter(created_at__gte=timezone.now() - timedelta(days=30))
        rows = busiest_accounts(calls)
        accounts = ApiAccount.objects.select_related("user").in_bulk(
            [account_id for account_id, _, _ in rows if account_id is not None]
        )
        summary = []
        for account_id, count, ok in rows:
            account = accounts.get(account_id) if account_id is not None else None
            of_account = (
                calls.filter(account_id=account_id) if account_id is not None else calls.filter(account=None)
            )
            value = account.api_id if account else AccountFilter.NO_ACCOUNT
            summary.append(
                AccountCalls(
                    account=account,
                    calls=count,
                    ok=ok,
                    p95_ms=latency_percentile(of_account, 0.95, count),
                    filter_query=self.get_query_string({AccountFilter.parameter_name: value}),
                )
            )
        return {"range": "in the chosen dates" if dated else "in the last 30 days", "rows": summary}


@admin.register(ApiCall)
class ApiCallAdmin(admin.ModelAdmin):
    """The call log: read-only, since it is what quotas and support questions rest on. Only
    superusers may delete from it (say, to honour an erasure request); no one edits it."""

    list_display = [
        "created_at",
        "request_id",
        "endpoint",
        "status",
        "http_status",
        "latency_ms",
        "account_link",
        "client_ip",
    ]
    list_display_links = ["created_at", "request_id"]
    list_filter = ["endpoint", "status", "http_status", CallAccountFilter]
    date_hierarchy = "created_at"
    search_fields = ["^request_id", "^account__api_id"]
    list_select_related = ["account"]
    # The history grows without bound: counting all of it on every page would be slow.
    show_full_result_count = False
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "request_id",
                    "created_at",
                    "endpoint",
                    "status",
                    "http_status",
                    "latency_ms",
                    "account_link",
                    "client_ip",
                ]
            },
        ),
        ("Request", {"fields": ["request_bytes", "parameters", "images"]}),
        ("Response", {"fields": ["response_bytes", "body"]}),
    ]
    readonly_fields = ["account_link", "parameters", "images", "body"]

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return CallLogChangeList

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: ApiCall | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: ApiCall | None = None) -> bool:
        return bool(request.user.is_superuser)

    @admin.display(description="account", ordering="account__api_id")
    def account_link(self, obj: ApiCall) -> str:
        return account_admin_link(obj.account)

    @admin.display(description="parameters (secrets masked)")
    def parameters(self, obj: ApiCall) -> str:
        return pretty(json.dumps(obj.request_params, indent=2, ensure_ascii=False, sort_keys=True))

    @admin.display(description="stored images")
    def images(self, obj: ApiCall) -> str:
        ids = [str(image_id) for image_id in obj.image_ids or []]
        if not ids:
            return "-"
        kept = set(StoredImage.objects.filter(pk__in=ids).values_list("pk", flat=True))
        links = [
            format_html("<a href='{}'>{}</a>", reverse("admin:resources_storedimage_change", args=[i]), i)
            if i in kept
            else format_html("{} (purged)", i)
            for i in ids
        ]
        return format_html_join(", ", "{}", ((link,) for link in links))

    @admin.display(description="body answered")
    def body(self, obj: ApiCall) -> str:
        if not obj.response_body:
            return "-"
        try:
            text = json.dumps(json.loads(obj.response_body), indent=2, ensure_ascii=False)
        except ValueError:
            text = obj.response_body  # not JSON (an image answered, described)
        return pretty(text)


def pretty(text: str) -> SafeString:
    cut = len(text) - _SHOWN_CHARS
    note = f"\n… {cut:,} more characters" if cut > 0 else ""
    return format_html("<pre class='pretty'>{}{}</pre>", text[:_SHOWN_CHARS], note)


# -- users, with their API accounts ------------------------------------------------------


class ApiAccountInline(admin.TabularInline):
    """A user's accounts, their limits editable in place. New accounts are added on the
    account's own page (linked under the table), the one place that makes secrets."""

    model = ApiAccount
    fk_name = "user"
    fields = [
        "api_id",
        "name",
        "is_active",
        "expires_at",
        "quota_limit",
        "quota_used",
        "rate_limit",
        "concurrency_limit",
    ]
    readonly_fields = ["api_id", "quota_used"]
    extra = 0
    can_delete = False
    show_change_link = True
    template = "admin/accounts/apiaccount/user_inline.html"

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


User = get_user_model()
admin.site.unregister(User)  # registered by django.contrib.auth.admin, imported above


@admin.register(User)
class FacePortalUserAdmin(UserAdmin):
    inlines = [ApiAccountInline]
    list_display = ["username", "email", "first_name", "last_name", "is_staff", "api_account_count"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).annotate(api_account_count=Count("api_accounts"))

    def get_inline_instances(self, request: HttpRequest, obj: Any = None) -> list[Any]:
        # A user being added has no accounts yet; they are added once it exists.
        return super().get_inline_instances(request, obj) if obj is not None else []

    @admin.display(description="API accounts", ordering="api_account_count")
    def api_account_count(self, obj: Any) -> int:
        return int(obj.api_account_count)

"""Operators' admin for API accounts and their call history.

Secrets exist in clear only in the one message shown when they are made (account added,
secret rotated); the stored hash is never rendered.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import urlencode

from accounts import services
from accounts.models import ApiAccount, ApiCall, Endpoint, all_endpoints
from resources.models import StoredImage
from resources.services import images_delete

# Where the changelist leaves each account's usage so that its columns need no query.
_USAGE_ATTR = "_admin_usage"


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


def confirmed(request: HttpRequest) -> bool:
    return request.POST.get("confirmed") == "yes"


def confirmation_page(
    model_admin: admin.ModelAdmin,
    request: HttpRequest,
    queryset: QuerySet[Any],
    *,
    action: str,
    title: str,
    question: str,
    button: str,
) -> HttpResponse:
    """An intermediate page, like Django's own delete confirmation, for irreversible actions."""
    opts = model_admin.model._meta
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": opts,
        "title": title,
        "question": question,
        "button": button,
        "action": action,
        "objects": list(queryset),
        "changelist_url": reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"),
    }
    return TemplateResponse(request, "admin/confirm_action.html", context)


def plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


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
    list_filter = ["is_active", ExpiryFilter, "user"]
    search_fields = ["api_id", "name", "user__username"]
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
        usage = account_usage(obj)
        calls_url = (
            reverse("admin:accounts_apicall_changelist") + "?" + urlencode({"account__id__exact": obj.pk})
        )
        images_url = (
            reverse("admin:resources_storedimage_changelist")
            + "?"
            + urlencode({"account__id__exact": obj.pk})
        )
        return format_html(
            "Calls today: {} · last 7 days: {} · last 30 days: {}<br>"
            "Last 30 days: {} OK, {} — <a href='{}'>all calls</a> · <a href='{}'>stored images</a>",
            f"{usage.today:,}",
            f"{usage.week:,}",
            f"{usage.month:,}",
            f"{usage.month_ok:,}",
            plural(usage.month_errors, "error"),
            calls_url,
            images_url,
        )

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

    @admin.action(description="Extend expiry by 30 days", permissions=["change"])
    def extend_expiry_30_days(self, request: HttpRequest, queryset: QuerySet[ApiAccount]) -> None:
        now = timezone.now()
        extended = 0
        for account in queryset.filter(expires_at__isnull=False):
            assert account.expires_at is not None
            account.expires_at = max(now, account.expires_at) + timedelta(days=30)
            account.save(update_fields=["expires_at"])
            self.log_change(request, account, f"Extended expiry to {account.expires_at.isoformat()}.")
            extended += 1
        unlimited = queryset.filter(expires_at__isnull=True).count()
        note = f"; {plural(unlimited, 'account')} without expiry left unlimited" if unlimited else ""
        messages.success(request, f"Extended {plural(extended, 'account')} by 30 days{note}.")

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
        # A list: rows are deleted one by one (so their files go too) while we go through them.
        count = images_delete(list(images))
        messages.success(request, f"Deleted {plural(count, 'stored image')}.")
        return None


@admin.register(ApiCall)
class ApiCallAdmin(admin.ModelAdmin):
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
    list_filter = ["endpoint", "status", "http_status"]
    date_hierarchy = "created_at"
    search_fields = ["^request_id", "^account__api_id"]
    list_select_related = ["account"]
    # The history grows without bound: counting all of it on every page would be slow.
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: ApiCall | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: ApiCall | None = None) -> bool:
        return bool(request.user.is_superuser)

    @admin.display(description="account", ordering="account__api_id")
    def account_link(self, obj: ApiCall) -> str:
        if obj.account is None:
            return "-"
        url = reverse("admin:accounts_apiaccount_change", args=[obj.account.pk])
        return format_html("<a href='{}'>{}</a>", url, obj.account.api_id)

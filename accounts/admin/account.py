"""The admin of API accounts: their limits, usage, and the actions operators take on them.

Secrets exist in clear only in the one message shown when they are made (account added,
secret rotated); the stored hash is never rendered. Every write goes through
accounts.services.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils import timezone

from accounts import services
from accounts.admin.labels import NamedBoxes
from accounts.admin_kit import ExpiryFilter, confirmation_page, confirmed, filtered_url, plural
from accounts.models import FACESET_ENDPOINTS, ApiAccount, ApiCall, Endpoint, all_endpoints
from accounts.selectors import Usage, account_report, usage_by_account
from resources.models import StoredImage
from resources.purge import purge
from resources.selectors import images_of_accounts

# Where the changelist leaves each account's usage so that its columns need no query.
_USAGE_ATTR = "_admin_usage"


def account_usage(account: ApiAccount) -> Usage:
    usage = getattr(account, _USAGE_ATTR, None)
    if usage is None:
        usage = usage_by_account([account.pk]).get(account.pk, Usage())
        setattr(account, _USAGE_ATTR, usage)
    return usage


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
class ApiAccountAdmin(NamedBoxes, admin.ModelAdmin):
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
    readonly_fields = [
        "api_id",
        "quota_used",
        "created_at",
        "usage",
        "secret_version",
        "old_secret",
        "revoked_at",
    ]
    # The secrets' hashes are in no field list, form or search: they must never be rendered.
    exclude = ["secret_hash", "previous_secret_hash"]
    fieldsets = [
        (None, {"fields": ["api_id", "user", "name", "is_active", "expires_at"]}),
        ("Secret", {"fields": ["secret_version", "old_secret", "revoked_at"]}),
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
        "allow_face_sets",
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
        # Not super().save_model: the service is the one place that saves accounts and makes secrets.
        secret = services.account_save(account=obj, new=not change)
        if secret is not None:
            messages.success(request, f"Secret for {obj.api_id}: {secret} — shown once, store it now")

    # -- columns and read-only fields ------------------------------------------------

    @admin.display(description="expires", ordering="expires_at")
    def expires(self, obj: ApiAccount) -> str:
        if obj.expires_at is None:
            return "never"
        shown = timezone.localtime(obj.expires_at).strftime("%Y-%m-%d %H:%M")
        return f"{shown} (expired)" if obj.is_expired() else shown

    @admin.display(description="previous secret")
    def old_secret(self, obj: ApiAccount) -> str:
        """Whether the secret replaced by the last rotation still works (a grace period chosen
        on the portal), never the secret or its hash."""
        until = obj.previous_secret_works_until()
        if until is None:
            return "no longer works" if obj.secret_version > 1 else "-"
        shown = timezone.localtime(until).strftime("%Y-%m-%d %H:%M")
        return f"still works until {shown} (the grace period of the last rotation)"

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
            expires_at = services.account_extend_expiry(account=account, days=days, now=now)
            self.log_change(request, account, f"Extended expiry to {expires_at.isoformat()}.")
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
        services.account_set_active(account_ids=[account.pk for account in accounts], active=active)
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

    @admin.action(description="Allow face sets (the /faceset/v2 endpoints)", permissions=["change"])
    def allow_face_sets(self, request: HttpRequest, queryset: QuerySet[ApiAccount]) -> None:
        ids = list(queryset.values_list("pk", flat=True))
        changed = services.account_allow_endpoints(account_ids=ids, endpoints=FACESET_ENDPOINTS)
        for account in changed:  # the accounts that already had them are not logged as changed
            self.log_change(request, account, "Allowed the face-set endpoints.")
        messages.success(request, f"Face sets allowed for {plural(len(changed), 'account')} more.")

    def has_delete_images_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm("resources.delete_storedimage"))

    @admin.action(description="Delete all stored images of these accounts", permissions=["delete_images"])
    def delete_images(self, request: HttpRequest, queryset: QuerySet[ApiAccount]) -> HttpResponse | None:
        images = images_of_accounts(queryset)
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

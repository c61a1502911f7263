"""The admin of the call log: read-only, with its busiest accounts over the same filters."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from accounts.admin_kit import AccountFilter, CallAccountFilter, IndexedDateHierarchy, account_admin_link
from accounts.models import ApiCall
from accounts.selectors import AccountCalls, accounts_by_id, busiest_accounts, latency_percentile
from resources.selectors import retained_image_ids

# Pretty-printed request parameters and bodies are cut there: the page stays usable.
_SHOWN_CHARS = 20_000


# What the log's lines never show: a call's recorded request and body (kilobytes each).
_NOT_LISTED = ("request_params", "response_body", "image_ids")


class CallLogChangeList(ChangeList):
    """The call log's list, with its busiest accounts over the same filters."""

    def get_queryset(self, request: HttpRequest, exclude_parameters: Any = None) -> QuerySet[ApiCall]:
        return super().get_queryset(request, exclude_parameters).defer(*_NOT_LISTED)

    @cached_property
    def busiest_accounts(self) -> dict[str, Any]:
        # Without dates chosen, the last 30 days: the whole history would cost a full scan
        # on every page view.
        dated = any(key.startswith(f"{self.date_hierarchy}__") for key in self.params)
        calls = self.queryset
        if not dated:
            calls = calls.filter(created_at__gte=timezone.now() - timedelta(days=30))
        rows = busiest_accounts(calls)
        accounts = accounts_by_id(account_id for account_id, _, _ in rows if account_id is not None)
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


# One call in a line of the log, and at the top of its page.
SUMMARY_FIELDS = (
    "created_at",
    "request_id",
    "endpoint",
    "status",
    "http_status",
    "latency_ms",
    "account_link",
    "client_ip",
)


@admin.register(ApiCall)
class ApiCallAdmin(IndexedDateHierarchy):
    """The call log: read-only, since it is what quotas and support questions rest on. Only
    superusers may delete from it (say, to honour an erasure request); no one edits it."""

    list_display = list(SUMMARY_FIELDS)
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
            {"fields": list(SUMMARY_FIELDS)},
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
        kept = retained_image_ids(ids)
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

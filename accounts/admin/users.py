"""The admin of users, with their API accounts inline."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from accounts.admin.labels import NamedBoxes
from accounts.models import ApiAccount


class ApiAccountInline(NamedBoxes, admin.TabularInline):
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
class FacePortalUserAdmin(NamedBoxes, UserAdmin):
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

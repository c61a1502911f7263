"""Stored images in the admin: looked at and deleted, never added or edited by hand."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils.html import format_html

from resources.models import LivenessChallenge, LivenessData, StoredImage
from resources.services import images_delete, images_purge_expired


@admin.register(StoredImage)
class StoredImageAdmin(admin.ModelAdmin):
    list_display = ["id", "account_link", "format", "dimensions", "file_size", "source", "created_at"]
    list_filter = ["format", "source"]
    search_fields = ["^id", "^account__api_id"]
    list_select_related = ["account"]
    date_hierarchy = "created_at"
    actions = ["purge_expired_images"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: StoredImage | None = None) -> bool:
        return False

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        # The purge does not depend on a selection, but Django runs no action on nothing
        # selected: stand in "all" for it.
        if (
            request.method == "POST"
            and "purge_expired_images" in request.POST.getlist("action")
            and not request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)
        ):
            post = request.POST.copy()
            post["select_across"] = "1"
            post.setlist(helpers.ACTION_CHECKBOX_NAME, ["all"])
            request.POST = post  # type: ignore[assignment]
        return super().changelist_view(request, extra_context)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[StoredImage]) -> None:
        # Row by row, so that the post_delete signal removes each file.
        images_delete(list(queryset))

    @admin.display(description="account", ordering="account__api_id")
    def account_link(self, obj: StoredImage) -> str:
        url = reverse("admin:accounts_apiaccount_change", args=[obj.account.pk])
        return format_html("<a href='{}'>{}</a>", url, obj.account.api_id)

    @admin.display(description="width x height")
    def dimensions(self, obj: StoredImage) -> str:
        return f"{obj.width} x {obj.height}"

    @admin.display(description="size", ordering="size")
    def file_size(self, obj: StoredImage) -> str:
        return filesizeformat(obj.size)

    @admin.action(
        description="Purge all images past the retention period (no selection needed)",
        permissions=["delete"],
    )
    def purge_expired_images(self, request: HttpRequest, queryset: QuerySet[StoredImage]) -> None:
        count = images_purge_expired()
        days = settings.FACEPORTAL_IMAGE_RETENTION_DAYS
        messages.success(
            request, f"Purged {count:,} image{'' if count == 1 else 's'} older than {days} days."
        )


@admin.register(LivenessData)
class LivenessDataAdmin(admin.ModelAdmin):
    """Accepted liveness packages: stored sealed, so there is nothing to show but their facts."""

    list_display = ["id", "account", "challenge", "frames", "size", "source", "created_at"]
    list_filter = ["source"]
    search_fields = ["^id", "^account__api_id", "^challenge__id"]
    list_select_related = ["account", "challenge"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: LivenessData | None = None) -> bool:
        return False

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[LivenessData]) -> None:
        for package in queryset:
            package.delete()  # row by row: the signal removes each file


@admin.register(LivenessChallenge)
class LivenessChallengeAdmin(admin.ModelAdmin):
    list_display = ["id", "account", "actions", "created_at", "expires_at", "used_at"]
    list_filter = [("used_at", admin.EmptyFieldListFilter)]
    search_fields = ["^id", "^account__api_id"]
    list_select_related = ["account"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: LivenessChallenge | None = None) -> bool:
        return False

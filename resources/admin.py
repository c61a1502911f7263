"""Stored images and liveness data in the admin: looked at and purged, never added or edited
by hand. Every purge deletes rows and files alike (resources/purge.py) after a confirmation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.defaultfilters import filesizeformat
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from accounts.admin_kit import (
    AccountFilter,
    IndexedDateHierarchy,
    SelectionFreeActions,
    account_admin_link,
    confirmation_page,
    confirmed,
    plural,
)
from resources import thumbnails
from resources.models import LivenessChallenge, LivenessData, StoredImage
from resources.purge import Purged, expired_images, expired_packages, purge, stale_challenges

# Longest side of the thumbnails fetched (resources.thumbnails.SIZES), shown smaller by the
# admin's CSS so that they stay sharp on high-density screens.
LIST_THUMBNAIL = 160
PAGE_THUMBNAIL = 640
# The boxes templates/admin/base_site.html shows them in (img.thumb's max-width and
# max-height): the <img> is given its size in the box, so the list does not jump as they load.
SHOWN_SIDE = {LIST_THUMBNAIL: 120, PAGE_THUMBNAIL: 480}


def describe(purged: Purged) -> str:
    parts = [
        plural(purged.images, "stored image") if purged.images else "",
        plural(purged.packages, "liveness package") if purged.packages else "",
        plural(purged.challenges, "liveness challenge") if purged.challenges else "",
        plural(purged.call_images, "call image") if purged.call_images else "",
    ]
    return " and ".join(part for part in parts if part) or "nothing"


def retention_days() -> int:
    return int(settings.FACEPORTAL_IMAGE_RETENTION_DAYS)


class PurgeAdmin(SelectionFreeActions):
    """Read-only records that operators purge: the selected ones, or all past retention.

    Django's own "delete selected" is replaced by "purge selected", so that there is one
    path (and one wording) for deleting rows with their files.
    """

    actions = ["purge_selected", "purge_expired"]
    selection_free_actions = ("purge_expired",)
    # These grow with every API call: a filtered list counts its matches, not the whole table too.
    show_full_result_count = False
    noun = "record"
    # Each admin names its rule from resources/purge.py: the records past retention now.
    expired: Callable[[], QuerySet[Any]]

    def expired_rule(self) -> str:
        """What "expired" means here (shown in parentheses after the records): images' and
        packages' rule; challenges have one of their own."""
        return f"older than {retention_days()} days"

    def consequences(self, queryset: QuerySet[Any]) -> str:
        """What else goes, or stops working, when these records go."""
        return ""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.action(description="Purge selected %(verbose_name_plural)s (files too)", permissions=["delete"])
    def purge_selected(self, request: HttpRequest, queryset: QuerySet[Any]) -> HttpResponse | None:
        if not confirmed(request):
            count = queryset.count()
            return confirmation_page(
                self,
                request,
                queryset,
                action="purge_selected",
                title=f"Purge {self.model._meta.verbose_name_plural}",
                question=f"{plural(count, self.noun)} will be deleted, files included. "
                f"{self.consequences(queryset)}",
                button="Yes, purge",
            )
        messages.success(request, f"Purged {describe(purge(queryset))}.")
        return None

    @admin.action(
        description="Purge all %(verbose_name_plural)s past retention (no selection needed)",
        permissions=["delete"],
    )
    def purge_expired(self, request: HttpRequest, queryset: QuerySet[Any]) -> HttpResponse | None:
        # The selection, if any, does not matter: the rule decides.
        expired = self.expired()
        if not confirmed(request):
            return confirmation_page(
                self,
                request,
                None,
                action="purge_expired",
                title=f"Purge expired {self.model._meta.verbose_name_plural}",
                question=f"{plural(expired.count(), self.noun)} ({self.expired_rule()}) will be deleted, "
                f"files included. {self.consequences(expired)}",
                button="Yes, purge",
            )
        messages.success(request, f"Purged {describe(purge(expired))} ({self.expired_rule()}).")
        return None


@admin.register(StoredImage)
class StoredImageAdmin(IndexedDateHierarchy, PurgeAdmin):
    list_display = [
        "thumbnail",
        "id",
        "account_link",
        "format",
        "dimensions",
        "file_size",
        "source",
        "created_at",
    ]
    list_display_links = ["id"]
    list_filter = ["format", "source", AccountFilter]
    search_fields = ["^id", "^account__api_id"]
    list_select_related = ["account"]
    date_hierarchy = "created_at"
    # Not the file: its storage URL is not served, the preview shows it instead.
    fields = [
        "id",
        "account_link",
        "preview",
        "format",
        "dimensions",
        "file_size",
        "sha256",
        "source",
        "created_at",
    ]
    readonly_fields = ["account_link", "preview", "dimensions", "file_size"]
    noun = "stored image"
    expired = staticmethod(expired_images)

    def consequences(self, queryset: QuerySet[Any]) -> str:
        return "Calls referring to them by id will fail."

    def get_urls(self) -> list[URLPattern]:
        thumbnail = path(
            "<path:object_id>/thumbnail/",
            # cacheable: admin_view would otherwise mark it never-cache, and every visit to the
            # list would fetch its hundred thumbnails again (thumbnail_response says how long).
            self.admin_site.admin_view(self.thumbnail_view, cacheable=True),
            name="resources_storedimage_thumbnail",
        )
        # Before Django's own, whose "<object_id>/" would take the thumbnail's URL too.
        return [thumbnail, *super().get_urls()]

    def thumbnail_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """A JPEG thumbnail of the stored image (made as the portal's are), for staff only:
        customers' images never get a public URL; the file is read through the storage."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            size = thumbnails.thumbnail_size(request.GET.get("size"))
        except thumbnails.ThumbnailSizeError as exc:
            return text_response(400, str(exc))
        image = StoredImage.objects.filter(pk=object_id).first()
        if image is None:
            return text_response(404, f"No stored image {object_id}.")
        try:
            return thumbnails.thumbnail_response(image, size, max_age=86400)
        except thumbnails.ThumbnailUnavailable:
            return text_response(404, f"The file of stored image {image.id} is missing or unreadable.")

    @admin.display(description="image")
    def thumbnail(self, obj: StoredImage) -> str:
        return thumbnail_tag(obj, LIST_THUMBNAIL)

    @admin.display(description="image")
    def preview(self, obj: StoredImage) -> str:
        return thumbnail_tag(obj, PAGE_THUMBNAIL)

    @admin.display(description="account", ordering="account__api_id")
    def account_link(self, obj: StoredImage) -> str:
        return account_admin_link(obj.account)

    @admin.display(description="width x height")
    def dimensions(self, obj: StoredImage) -> str:
        return f"{obj.width} x {obj.height}"

    @admin.display(description="size", ordering="size")
    def file_size(self, obj: StoredImage) -> str:
        return filesizeformat(obj.size)


def thumbnail_tag(image: StoredImage, size: int) -> str:
    url = reverse("admin:resources_storedimage_thumbnail", args=[image.pk])
    kind = "large" if size > LIST_THUMBNAIL else "small"
    width, height = shown_size(image, SHOWN_SIDE[size])
    return format_html(
        "<img class='thumb {}' src='{}?size={}' alt='Stored image {}' loading='lazy' width='{}' height='{}'>",
        kind,
        url,
        size,
        image.pk,
        width,
        height,
    )


def shown_size(image: StoredImage, side: int) -> tuple[int, int]:
    """The image's width and height shrunk (never enlarged) to fit a square of `side`."""
    scale = min(1.0, side / max(image.width, image.height, 1))
    return max(1, round(image.width * scale)), max(1, round(image.height * scale))


def text_response(status: int, message: str) -> HttpResponse:
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


@admin.register(LivenessData)
class LivenessDataAdmin(IndexedDateHierarchy, PurgeAdmin):
    """Accepted liveness packages: stored sealed, so there is nothing to show but their facts."""

    list_display = ["id", "account_link", "challenge", "frames", "size", "source", "created_at"]
    list_filter = ["source", AccountFilter]
    search_fields = ["^id", "^account__api_id", "^challenge__id"]
    list_select_related = ["account", "challenge"]
    date_hierarchy = "created_at"
    # Not the file: it is sealed, and its storage URL is nothing to offer.
    fields = ["id", "account_link", "challenge", "frames", "size", "sha256", "source", "created_at"]
    readonly_fields = ["account_link"]
    noun = "liveness package"
    expired = staticmethod(expired_packages)

    def consequences(self, queryset: QuerySet[Any]) -> str:
        return "Verifications referring to them by id will fail."

    @admin.display(description="account", ordering="account__api_id")
    def account_link(self, obj: LivenessData) -> str:
        return account_admin_link(obj.account)


@admin.register(LivenessChallenge)
class LivenessChallengeAdmin(PurgeAdmin):
    list_display = ["id", "account_link", "actions", "created_at", "expires_at", "used_at"]
    list_filter = [("used_at", admin.EmptyFieldListFilter)]
    search_fields = ["^id", "^account__api_id"]
    list_select_related = ["account"]
    fields = ["id", "account_link", "actions", "created_at", "expires_at", "used_at"]
    readonly_fields = ["account_link"]
    noun = "liveness challenge"
    expired = staticmethod(stale_challenges)

    def expired_rule(self) -> str:
        return (
            f"expired over {retention_days()} days ago, or answered by a package that is gone "
            "or past retention"
        )

    def consequences(self, queryset: QuerySet[Any]) -> str:
        packages = LivenessData.objects.filter(challenge__in=queryset).count()
        return f"Their {plural(packages, 'liveness package')} will go with them." if packages else ""

    @admin.display(description="account", ordering="account__api_id")
    def account_link(self, obj: LivenessChallenge) -> str:
        return account_admin_link(obj.account)

"""Face sets and enrolled faces in the admin: looked at and deleted, never added or edited
(sets and faces are made through the API, /faceset/v2/*).

Every delete, one object or a selection, goes through facesets.services, so that face_count
stays exact, the per-worker search caches see the change, and enrolled photos go with their
faces. Templates (the biometric embeddings) are never shown: no field, column or page reads
them, and the querysets leave them out.
"""

from __future__ import annotations

import contextlib
from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.http import urlencode

from accounts.admin_kit import AccountFilter, account_admin_link, plural
from facesets import selectors, services
from facesets.models import EnrolledFace, FaceSet
from resources import crops, thumbnails
from resources.admin import text_response

# Face crops are CROP_SIDE px, shown at this size in the list (sharp on dense screens).
LIST_CROP = 64


class ReadOnly(admin.ModelAdmin):
    """Rows made by the API only: viewed and deleted, never added or changed here."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(FaceSet)
class FaceSetAdmin(ReadOnly):
    list_display = ["name", "account_link", "desc", "face_count", "template_model", "created_at"]
    list_display_links = ["name"]
    list_filter = [AccountFilter, "template_model"]
    search_fields = ["name", "^account__api_id"]
    list_select_related = ["account"]
    date_hierarchy = "created_at"
    fields = [
        "name",
        "account_link",
        "desc",
        "face_count",
        "person_count",
        "faces_link",
        "template_model",
        "created_at",
    ]
    readonly_fields = ["account_link", "face_count", "person_count", "faces_link"]

    @admin.display(description="account", ordering="account__api_id")
    def account_link(self, obj: FaceSet) -> str:
        return account_admin_link(obj.account)

    @admin.display(description="people")
    def person_count(self, obj: FaceSet) -> int:
        return selectors.person_count(obj)

    @admin.display(description="faces")
    def faces_link(self, obj: FaceSet) -> str:
        url = reverse("admin:facesets_enrolledface_changelist")
        query = urlencode({FaceSetFilter.parameter_name: obj.pk})
        return format_html("<a href='{}?{}'>{}</a>", url, query, plural(obj.face_count, "face"))

    def get_deleted_objects(
        self, objs: Any, request: HttpRequest
    ) -> tuple[list[Any], dict[str, int], set[str], list[Any]]:
        """A summary, not Django's list of every face (a set may hold a million)."""
        sets = list(objs)
        faces = sum(face_set.face_count for face_set in sets)
        listed = [f"{s.name} ({s.account.api_id}): {plural(s.face_count, 'face')}" for s in sets]
        counts = {"face sets": len(sets), "enrolled faces (templates and photos with them)": faces}
        missing = set()
        if faces and not request.user.has_perm("facesets.delete_enrolledface"):
            missing.add("enrolled face")
        return listed, counts, missing, []

    def delete_model(self, request: HttpRequest, obj: FaceSet) -> None:
        services.faceset_delete(face_set=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[FaceSet]) -> None:
        for face_set in queryset:
            services.faceset_delete(face_set=face_set)


class FaceSetFilter(admin.SimpleListFilter):
    """By set, without listing every set: the chosen one (reached from the set's page) and
    the largest ones."""

    title = "face set"
    parameter_name = "face_set"
    largest = 10

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        shown = FaceSet.objects.select_related("account").order_by("-face_count", "id")[: self.largest]
        choices = [(str(s.pk), f"{s.name} ({s.account.api_id[:8]}…)") for s in shown]
        selected = self.value()
        if selected and selected not in dict(choices):
            chosen = FaceSet.objects.filter(pk=int(selected)).first() if selected.isdigit() else None
            choices.insert(0, (selected, chosen.name if chosen else f"{selected} (unknown)"))
        return choices

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if not value:
            return queryset
        return queryset.filter(face_set_id=int(value)) if value.isdigit() else queryset.none()


@admin.register(EnrolledFace)
class EnrolledFaceAdmin(ReadOnly):
    list_display = ["crop", "id", "set_link", "person_id", "model", "photo_link", "created_at"]
    list_display_links = ["id"]
    list_filter = [FaceSetFilter, "model", ("photo", admin.EmptyFieldListFilter)]
    search_fields = ["face_set__name"]
    list_select_related = ["face_set", "photo"]
    date_hierarchy = "created_at"
    # Never the template: it is not a field here, and get_queryset does not even read it.
    exclude = ["template"]
    fields = ["id", "set_link", "person_id", "model", "large_crop", "photo_link", "box", "created_at"]
    readonly_fields = ["id", "set_link", "large_crop", "photo_link"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[EnrolledFace]:
        return super().get_queryset(request).defer("template")

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[EnrolledFace], search_term: str
    ) -> tuple[QuerySet[EnrolledFace], bool]:
        """A set's name, or a number: a face id or a person id."""
        found, duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        if term.isascii() and term.isdigit() and int(term) < 2**63:
            number = int(term)
            found = found | queryset.filter(Q(pk=number) | Q(person_id=number))
        return found, duplicates

    def get_urls(self) -> list[URLPattern]:
        crop = path(
            "<path:object_id>/crop/",
            self.admin_site.admin_view(self.crop_view),
            name="facesets_enrolledface_crop",
        )
        # Before Django's own, whose "<object_id>/" would take the crop's URL too.
        return [crop, *super().get_urls()]

    def crop_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The face cut from its enrolled photo (as the portal makes it), for staff only."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        face = (
            EnrolledFace.objects.filter(pk=int(object_id)).select_related("photo").defer("template").first()
            if object_id.isdigit()
            else None
        )
        if face is None:
            return text_response(404, f"No enrolled face {object_id}.")
        if face.photo is None:
            return text_response(404, f"The photo of face {face.pk} was removed by retention.")
        try:
            return crops.crop_response(face.photo, face.box, max_age=86400)
        except thumbnails.ThumbnailUnavailable:
            return text_response(404, f"The photo of face {face.pk} is missing or unreadable.")

    def delete_model(self, request: HttpRequest, obj: EnrolledFace) -> None:
        _delete_face(obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[EnrolledFace]) -> None:
        for face in queryset.select_related("face_set"):
            _delete_face(face)

    @admin.display(description="face")
    def crop(self, obj: EnrolledFace) -> str:
        return _crop_tag(obj, "small")

    @admin.display(description="face")
    def large_crop(self, obj: EnrolledFace) -> str:
        return _crop_tag(obj, "large")

    @admin.display(description="face set", ordering="face_set__name")
    def set_link(self, obj: EnrolledFace) -> str:
        url = reverse("admin:facesets_faceset_change", args=[obj.face_set_id])
        return format_html("<a href='{}'>{}</a>", url, obj.face_set.name)

    @admin.display(description="photo")
    def photo_link(self, obj: EnrolledFace) -> str:
        if obj.photo_id is None:
            return "removed by retention"
        url = reverse("admin:resources_storedimage_change", args=[obj.photo_id])
        return format_html("<a href='{}'>{}</a>", url, obj.photo_id)


def _delete_face(face: EnrolledFace) -> None:
    # Deleted meanwhile (by the API, or with its set): nothing is left to do.
    with contextlib.suppress(services.FaceSetProblem):
        services.face_delete(face_set=face.face_set, face_id=face.pk)


def _crop_tag(face: EnrolledFace, kind: str) -> str:
    if face.photo_id is None:
        return "photo removed by retention"
    url = reverse("admin:facesets_enrolledface_crop", args=[face.pk])
    side = LIST_CROP if kind == "small" else crops.CROP_SIDE
    return format_html(
        "<img class='thumb {}' src='{}' width='{}' height='{}' alt='Face {}' loading='lazy'>",
        kind,
        url,
        side,
        side,
        face.pk,
    )

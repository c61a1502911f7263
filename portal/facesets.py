"""Face sets in the portal: the signed-in user's sets across their API keys, one set's faces
(crops of their enrolled photos, person ids), and deleting a face or a whole set.

Every read is scoped to the user through their accounts: another user's set or face id is a
404, the same answer as an id that never existed. Every delete goes through
facesets.services (counters exact, photos with their faces) after a confirmation page. No
template (the biometric embedding) is ever read here: the querysets leave it out.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.db.models import Count, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_safe

from facesets import selectors, services
from facesets.models import EnrolledFace, FaceSet
from portal.filters import key_label
from resources import crops, thumbnails

SETS_PAGE_SIZE = 50
FACES_PAGE_SIZE = 48  # a grid of 2, 3, 4, 6 or 8 across
# A face id never gets another photo or box: the browser may keep its crop for an hour.
CROP_MAX_AGE = 3600
# What the pages read of a face: never its template.
FACE_COLUMNS = ("id", "face_set_id", "person_id", "photo_id", "box", "created_at")


def _user_id(request: HttpRequest) -> int:
    user_id = request.user.pk
    if user_id is None:  # login_required runs first; this keeps the type honest
        raise PermissionDenied
    return int(user_id)


def own_sets(request: HttpRequest) -> QuerySet[FaceSet]:
    return FaceSet.objects.filter(account__user_id=_user_id(request))


def own_set(request: HttpRequest, set_id: int) -> FaceSet:
    found = own_sets(request).select_related("account").filter(pk=set_id).first()
    if found is None:
        raise Http404("No such face set.")
    return found


def own_face(request: HttpRequest, face_id: int) -> EnrolledFace:
    found = (
        EnrolledFace.objects.filter(pk=face_id, face_set__account__user_id=_user_id(request))
        .select_related("photo")
        .defer("template")
        .first()
    )
    if found is None:
        raise Http404("No such face.")
    return found


@dataclass(frozen=True)
class SetRow:
    face_set: FaceSet
    key: str
    person_count: int


def _person_counts(set_ids: list[int]) -> dict[int, int]:
    """Distinct person ids of each set, in one query (the (set, person) index serves it)."""
    rows = (
        EnrolledFace.objects.filter(face_set_id__in=set_ids)
        .order_by()
        .values("face_set_id")
        .annotate(people=Count("person_id", distinct=True))
    )
    return {row["face_set_id"]: row["people"] for row in rows}


def _page_numbers(page: Page) -> object:
    return page.paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1)


@login_required
@require_safe
def faceset_list(request: HttpRequest) -> HttpResponse:
    sets = own_sets(request).select_related("account").order_by("name", "account__api_id", "id")
    page = Paginator(sets, SETS_PAGE_SIZE).get_page(request.GET.get("page"))
    counts = _person_counts([face_set.pk for face_set in page])
    rows = [SetRow(s, key_label(s.account), counts.get(s.pk, 0)) for s in page]
    return render(
        request,
        "portal/facesets.html",
        {
            "title": "Face sets",
            "rows": rows,
            "page": page,
            "page_numbers": _page_numbers(page),
            "time_zone": timezone.get_current_timezone_name(),
        },
    )


@login_required
@require_safe
def faceset_detail(request: HttpRequest, set_id: int) -> HttpResponse:
    face_set = own_set(request, set_id)
    faces = EnrolledFace.objects.filter(face_set=face_set).only(*FACE_COLUMNS).order_by("id")
    page = Paginator(faces, FACES_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "portal/facesets_detail.html",
        {
            "title": f"Face set {face_set.name}",
            "face_set": face_set,
            "key": key_label(face_set.account),
            "person_count": selectors.person_count(face_set),
            "page": page,
            "page_numbers": _page_numbers(page),
            "time_zone": timezone.get_current_timezone_name(),
            "retention_days": settings.FACEPORTAL_IMAGE_RETENTION_DAYS,
            "crop_side": crops.CROP_SIDE,
        },
    )


def _confirm(request: HttpRequest, *, title: str, question: str, button: str, back: str) -> HttpResponse:
    return render(
        request,
        "portal/facesets_confirm.html",
        {"title": title, "question": question, "button": button, "back": back},
    )


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def faceset_delete(request: HttpRequest, set_id: int) -> HttpResponse:
    face_set = own_set(request, set_id)
    if request.method != "POST":
        count = face_set.face_count
        return _confirm(
            request,
            title=f"Delete face set {face_set.name}",
            question=f"The set “{face_set.name}” of key {key_label(face_set.account)} will be deleted "
            f"with its {count:,} face{'' if count == 1 else 's'}, their templates and their enrolled photos. "
            "Searches and calls naming it will answer that it does not exist. This cannot be undone.",
            button="Yes, delete the set",
            back=reverse("portal:faceset_detail", args=[face_set.pk]),
        )
    services.faceset_delete(face_set=face_set)
    messages.success(request, f"Face set “{face_set.name}” deleted.")
    return redirect("portal:faceset_list")


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def face_delete(request: HttpRequest, set_id: int, face_id: int) -> HttpResponse:
    face_set = own_set(request, set_id)
    if not EnrolledFace.objects.filter(pk=face_id, face_set=face_set).exists():
        raise Http404("No such face in this set.")
    back = reverse("portal:faceset_detail", args=[face_set.pk])
    kept_page = request.GET.get("page", "")
    if kept_page.isdigit():
        back = f"{back}?page={kept_page}"
    if request.method != "POST":
        return _confirm(
            request,
            title=f"Delete face {face_id}",
            question=f"Face {face_id} will be deleted from the set “{face_set.name}”, with its template "
            "and its enrolled photo (unless another face was enrolled from the same photo). "
            "This cannot be undone.",
            button="Yes, delete the face",
            back=back,
        )
    try:
        services.face_delete(face_set=face_set, face_id=face_id)
    except services.FaceSetProblem as exc:  # deleted by a concurrent call meanwhile
        raise Http404("No such face in this set.") from exc
    messages.success(request, f"Face {face_id} deleted from “{face_set.name}”.")
    return redirect(back)


@login_required
@require_safe
def face_crop(request: HttpRequest, face_id: int) -> HttpResponse:
    face = own_face(request, face_id)
    if face.photo is None:
        raise Http404("The photo was removed by retention.")
    try:
        return crops.crop_response(face.photo, face.box, max_age=CROP_MAX_AGE)
    except thumbnails.ThumbnailUnavailable as exc:
        shown = "The photo is no longer retained." if exc.missing else "The face cannot be shown."
        raise Http404(shown) from exc

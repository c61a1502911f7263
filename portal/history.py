"""Call history: the list, one call's detail, thumbnails of stored images.

Every read is scoped to the signed-in user through their API accounts, and an id that is not
theirs is a 404, the same answer as an id that does not exist.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, render
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_safe

from accounts.models import ApiAccount, ApiCall
from portal import replay, results
from portal.filters import (
    CallFilterForm,
    endpoint_label,
    endpoint_route,
    kept_query,
    key_label,
    statuses_seen,
)
from resources import thumbnails
from resources.models import CallImage, LivenessData, StoredImage

PAGE_SIZE = 50
# What a list row shows; the request parameters and response body stay in the database.
LIST_COLUMNS = (
    "id",
    "account_id",
    "endpoint",
    "request_id",
    "status",
    "http_status",
    "latency_ms",
    "created_at",
)
# The browser may keep a thumbnail for an hour: ids are never reused, so it cannot go stale.
THUMBNAIL_MAX_AGE = 3600


@dataclass(frozen=True)
class CallRow:
    call: ApiCall
    endpoint: str
    key: str


def _user_id(request: HttpRequest) -> int:
    """The signed-in user's id, the scope of every read here (login_required runs first)."""
    user_id = request.user.pk
    if user_id is None:
        raise PermissionDenied
    return int(user_id)


@login_required
@require_safe
def call_list(request: HttpRequest) -> HttpResponse:
    accounts = list(ApiAccount.objects.filter(user_id=_user_id(request)).only("id", "name", "api_id"))
    form = CallFilterForm(request.GET, accounts=accounts)
    # By account id rather than a join on the user: the (account, -created_at) index serves
    # both the filter and the order.
    own = ApiCall.objects.filter(account_id__in=[account.pk for account in accounts])
    calls = form.apply(own) if form.is_valid() else own.none()
    # id breaks ties in a stable order; ascending, because SQLite indexes end with the rowid ascending,
    # so (account, -created_at) serves the whole ORDER BY.
    calls = calls.only(*LIST_COLUMNS).order_by("-created_at", "id")
    page = Paginator(calls, PAGE_SIZE).get_page(request.GET.get("page"))
    keys: dict[int | None, str] = {account.pk: key_label(account) for account in accounts}
    rows = [CallRow(call, endpoint_label(call.endpoint), keys.get(call.account_id, "")) for call in page]
    return render(
        request,
        "portal/call_list.html",
        {
            "title": "Calls",
            "form": form,
            "page": page,
            "page_numbers": page.paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1),
            "rows": rows,
            # Tells "nothing matches these filters" from "no calls yet" (a query only when empty).
            "has_calls": page.paginator.count > 0 or own.exists(),
            "filtering": form.is_filtering(),
            "statuses": statuses_seen(own),
            "back_query": kept_query(request.GET),
            "time_zone": timezone.get_current_timezone_name(),
        },
    )


@dataclass(frozen=True)
class UsedImage:
    id: str
    role: str  # the parameter or answer field that names it, when one does
    stored: StoredImage | None  # None once purged

    # The thumbnail's size, so that the page does not jump as thumbnails arrive.
    @property
    def thumb_width(self) -> int:
        return self._thumb_side(0)

    @property
    def thumb_height(self) -> int:
        return self._thumb_side(1)

    def _thumb_side(self, axis: int) -> int:
        if self.stored is None:
            return 0
        sides = (self.stored.width, self.stored.height)
        scale = min(1.0, thumbnails.DEFAULT_SIZE / max(max(sides), 1))
        return max(1, round(sides[axis] * scale))


@dataclass(frozen=True)
class Parameter:
    name: str
    value: str
    is_file: bool


@login_required
@require_safe
def call_detail(request: HttpRequest, request_id: str) -> HttpResponse:
    call = get_object_or_404(
        ApiCall.objects.select_related("account"), request_id=request_id, account__user_id=_user_id(request)
    )
    body = _parsed_json(call.response_body)
    images = _used_images(call, request, body)
    kept = _kept_images(call, request)
    pictures = _pictures(call, images, kept)
    return render(
        request,
        "portal/call_detail.html",
        {
            "title": f"Call {call.request_id}",
            "call": call,
            "endpoint": endpoint_label(call.endpoint),
            "route": endpoint_route(call.endpoint),
            "key": key_label(call.account) if call.account else "",
            "parameters": _parameters(call.request_params),
            "body": json.dumps(body, indent=2, ensure_ascii=False)
            if body is not None
            else call.response_body,
            "body_is_json": body is not None,
            "images": images,
            "kept": kept,
            "result": results.redraw(call.endpoint, call.status, body, pictures),
            "replay": replay.replay_of(
                call, request.build_absolute_uri("/"), _replay_ids(images, body), ApiCall.PARAM_CHARS
            ),
            "back_query": kept_query(request.GET),
            "time_zone": timezone.get_current_timezone_name(),
            "retention_days": settings.FACEPORTAL_IMAGE_RETENTION_DAYS,
        },
    )


def _kept_images(call: ApiCall, request: HttpRequest) -> list[CallImage]:
    """The copies of this call's images kept with the history (inputs it did not store, an
    image it answered), still retained; the owner's only."""
    return list(
        CallImage.objects.filter(request_id=call.request_id, account__user_id=_user_id(request)).only(
            "id", "request_id", "role", "format", "width", "height", "size", "created_at"
        )
    )


def _pictures(call: ApiCall, images: list[UsedImage], kept: list[CallImage]) -> dict[str, results.Picture]:
    """The pictures a redraw may use, by the call's name for them (image_one, selfie, answer)."""
    pictures: dict[str, results.Picture] = {}
    for image in images:
        role = results.ID_FIELDS.get(image.role)
        if image.stored is not None and role:
            url = reverse("portal:image_thumbnail", args=[image.id]) + f"?size={thumbnails.PREVIEW_SIDE}"
            pictures[role] = results.Picture(role, url, image.stored.width, image.stored.height, kept=False)
    for copy in kept:
        url = reverse("portal:call_image_thumbnail", args=[call.request_id, copy.id])
        pictures.setdefault(
            copy.role,
            results.Picture(
                copy.role, f"{url}?size={thumbnails.PREVIEW_SIDE}", copy.width, copy.height, kept=True
            ),
        )
    return pictures


def _replay_ids(images: list[UsedImage], body: Any) -> dict[str, str]:
    """{parameter: id} of the retained stored images (and the liveness package) the call used
    or stored, for its replay."""
    ids = {}
    for image in images:
        parameter = replay.ID_PARAMETERS.get(image.role)
        if parameter and image.stored is not None:
            ids[parameter] = image.id
    package = body.get("liveness_data_id") if isinstance(body, dict) else None
    if isinstance(package, str) and LivenessData.objects.filter(id=package).exists():
        ids["liveness_data_id"] = package
    return ids


def _parsed_json(text: str) -> Any:
    if not text.startswith(("{", "[")):
        return None
    try:
        return json.loads(text)
    except ValueError:  # cut at the history's size cap, or not JSON after all
        return None


def _parameters(params: object) -> list[Parameter]:
    """The recorded parameters as the middleware kept them (secrets already masked there)."""
    if not isinstance(params, dict):
        return []
    rows = []
    for name, value in params.items():
        if isinstance(value, dict):
            size = value.get("bytes")
            described = " · ".join(
                [
                    str(value.get("file", "")),
                    filesizeformat(size) if isinstance(size, int) else "size unknown",
                    str(value.get("content_type") or "type unknown"),
                ]
            )
            rows.append(Parameter(str(name), described, is_file=True))
        else:
            rows.append(Parameter(str(name), str(value), is_file=False))
    return rows


def _used_images(call: ApiCall, request: HttpRequest, body: Any) -> list[UsedImage]:
    ids = [str(i) for i in call.image_ids if isinstance(i, str)] if isinstance(call.image_ids, list) else []
    if not ids:
        return []
    retained = {
        image.id: image
        for image in StoredImage.objects.filter(id__in=ids, account__user_id=_user_id(request)).only(
            "id", "format", "width", "height", "size", "created_at"
        )
    }
    roles = _fields_naming(call.request_params) | _fields_naming(body)
    return [UsedImage(id=i, role=roles.get(i, ""), stored=retained.get(i)) for i in dict.fromkeys(ids)]


def _fields_naming(value: object) -> dict[str, str]:
    """{image id: the field it was given or answered in}, e.g. image_one_id, from a JSON tree."""
    found: dict[str, str] = {}
    if isinstance(value, dict):
        for name, inner in value.items():
            if isinstance(inner, str):
                found.setdefault(inner, str(name))
            else:
                found.update({k: v for k, v in _fields_naming(inner).items() if k not in found})
    elif isinstance(value, list):
        for inner in value:
            found.update({k: v for k, v in _fields_naming(inner).items() if k not in found})
    return found


@login_required
@require_safe
def image_thumbnail(request: HttpRequest, image_id: str) -> HttpResponse:
    image = StoredImage.objects.filter(id=image_id.lower(), account__user_id=_user_id(request)).first()
    return _thumbnail(request, image)


@login_required
@require_safe
def call_image_thumbnail(request: HttpRequest, request_id: str, image_id: str) -> HttpResponse:
    """A copy kept with the history: named by its call and its own id, the owner's only."""
    image = CallImage.objects.filter(
        id=image_id.lower(), request_id=request_id, account__user_id=_user_id(request)
    ).first()
    return _thumbnail(request, image)


def _thumbnail(request: HttpRequest, image: StoredImage | CallImage | None) -> HttpResponse:
    if image is None:
        raise Http404("No such image, or it is no longer retained.")
    try:
        size = thumbnails.thumbnail_size(request.GET.get("size"))
    except thumbnails.ThumbnailSizeError as exc:
        return HttpResponseBadRequest(str(exc), content_type="text/plain; charset=utf-8")
    try:
        return thumbnails.thumbnail_response(image, size, max_age=THUMBNAIL_MAX_AGE)
    except thumbnails.ThumbnailUnavailable as exc:
        shown = "The image is no longer retained." if exc.missing else "The image cannot be shown."
        raise Http404(shown) from exc

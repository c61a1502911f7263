"""The request pipeline shared by every endpoint, on Django REST framework's hooks.

Order, as the contract lists it: UTF-8 check, authentication, permission, rate limit,
quota still available; the endpoint's work; then, only on success, one call taken from the
quota atomically and the new images stored, together or not at all. Every refusal, from
any step, is an exception rendered by `exception_handler` in the family's envelope.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from django.conf import settings
from django.core.exceptions import SuspiciousOperation, TooManyFieldsSent, TooManyFilesSent
from django.db import transaction
from django.http import HttpResponse, UnreadablePostError
from rest_framework.exceptions import MethodNotAllowed, ParseError, UnsupportedMediaType
from rest_framework.request import Request
from rest_framework.views import APIView

from accounts import services as accounts
from accounts.models import ApiAccount, Endpoint
from faceengine import Face, NoFaceFound, TooManyFaces, get_engine
from identity.api.encoding import NotUtf8
from identity.api.errors import ApiError, ImageProblem
from identity.api.families import FACEID, LINKFACE, Family
from identity.api.history import record_charge
from identity.api.params import Params
from identity.api.parsers import FormParser, MultiPartParser
from resources import intake
from resources.models import StoredImage

log = logging.getLogger("faceportal.api")


class ApiView(APIView):
    family: Family = LINKFACE
    endpoint: Endpoint
    parser_classes = (MultiPartParser, FormParser)
    # POST only: DRF would answer OPTIONS itself (200 with its metadata), and no endpoint has GET,
    # so HEAD is not derived either. Every other method is an unknown API, as the vendors answer.
    http_method_names = ["post"]
    authentication_classes = ()
    permission_classes = ()
    throttle_classes = ()

    params: Params
    account: ApiAccount

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if (request.method or "").lower() not in self.http_method_names:  # before credentials
            raise MethodNotAllowed(request.method or "")
        self.params = Params(request, self.family)
        self.params.check_encoding()
        self.account = self._authenticate()
        request._request.api_account = self.account
        if self.endpoint.value not in (self.account.endpoints or []):
            raise self._refusal("NO_PERMISSION")
        if accounts.rate_limit_exceeded(self.account):
            raise self._refusal("RATE_LIMIT_EXCEEDED")
        if not accounts.quota_available(self.account):
            raise self._refusal("OUT_OF_QUOTA")

    def perform_content_negotiation(self, request: Request, force: bool = False) -> tuple[Any, str]:
        """No negotiation: every answer is the vendor's JSON (or mask's image) whatever `Accept`
        says. DRF's would refuse `Accept: image/jpeg` (NotAcceptable, an internal error here)
        and read the query string (its `?format=`) before the pipeline can refuse it."""
        renderer = self.renderer_classes[0]()
        return renderer, renderer.media_type

    def _authenticate(self) -> ApiAccount:
        api_id = self.params.text(self.family.id_field)
        secret = self.params.text("api_secret")
        if self.family is FACEID:
            for name, value in ((self.family.id_field, api_id), ("api_secret", secret)):
                if not value:
                    raise ApiError(f"MISSING_ARGUMENTS:{name}")
        try:
            return accounts.authenticate(api_id or "", secret or "")
        except accounts.KeyExpired as exc:
            if self.family is FACEID:
                raise ApiError("AUTHORIZATION_ERROR:KEY_EXPIRED", 403) from exc
            raise ApiError("KEY_EXPIRED", 401, reason=str(exc)) from exc
        except accounts.InvalidCredentials as exc:
            if self.family is FACEID:
                raise ApiError("AUTHORIZATION_ERROR", 403) from exc
            raise ApiError("UNAUTHORIZED", 401) from exc

    def _refusal(self, code: str) -> ApiError:
        if self.family is FACEID:
            # FaceID has one throttling code; other refusals qualify AUTHORIZATION_ERROR.
            if code == "RATE_LIMIT_EXCEEDED":
                return ApiError("CONCURRENCY_LIMIT_EXCEEDED", 403)
            return ApiError(f"AUTHORIZATION_ERROR:{code}", 403)
        return ApiError(code, 403)

    def load_image(self, slot: intake.ImageSlot, *, full_resolution: bool = False) -> intake.LoadedImage:
        limits = intake.FACEID_LIMITS if self.family is FACEID else intake.LINKFACE_LIMITS
        return intake.load(self.params, slot, self.account, limits, full_resolution=full_resolution)

    def succeed(
        self,
        images: Sequence[intake.LoadedImage],
        respond: Callable[[dict[str, StoredImage]], HttpResponse],
        *,
        also: Callable[[], object] | None = None,
    ) -> HttpResponse:
        """Takes the call from the quota and stores the new images, runs `also` (more
        writes of the endpoint's own) and starts the call's history row, all in one
        transaction: everything or nothing. The row commits with the charge so that a worker
        killed before the answer leaves is still on record as charged (the middleware
        completes the row once the answer is written: identity/api/history.py)."""
        stored: dict[str, StoredImage] = {}
        created: list[StoredImage] = []
        django_request = self.request._request
        try:
            with transaction.atomic():
                if not accounts.quota_consume(self.account):
                    raise self._refusal("OUT_OF_QUOTA")
                for image in images:
                    stored[image.slot.name] = intake.store_new(self.account, image)
                    if image.stored is None:
                        created.append(stored[image.slot.name])
                if also is not None:
                    also()
                image_ids = [saved.id for saved in stored.values()]
                call_id = record_charge(django_request, self.account, image_ids)
        except BaseException:
            # The rows were rolled back; the files this call wrote go too (never the files
            # of images that came by id).
            for saved in created:
                if saved.file.name:
                    saved.file.storage.delete(saved.file.name)
            raise
        django_request.api_image_ids = image_ids
        django_request.api_call_id = call_id
        return respond(stored)

    def get_exception_handler(self) -> Callable[[Exception, dict[str, Any]], HttpResponse]:
        return exception_handler


def exception_handler(exc: Exception, context: dict[str, Any]) -> HttpResponse:
    """The one place where a refusal becomes a response."""
    view = context["view"]
    family: Family = getattr(view, "family", LINKFACE)
    request_id: str = getattr(context["request"]._request, "api_request_id", "") or family.new_request_id()
    return family.render(as_api_error(exc, family, request_id), request_id)


def as_api_error(exc: BaseException, family: Family, request_id: str) -> ApiError:
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, ImageProblem):
        return family.image_error(exc)
    if isinstance(exc, NotUtf8):
        return family.not_utf8(exc.name, file_name=exc.file_name)
    if isinstance(exc, MethodNotAllowed):
        return ApiError(family.not_found, 404)
    if isinstance(exc, UnreadablePostError):  # the client stopped sending, or the server failed it
        return family.malformed("request body could not be read")
    # A body that cannot be read: not multipart/form-urlencoded, broken, too many fields.
    if isinstance(exc, (ParseError, UnsupportedMediaType, SuspiciousOperation)):
        if family is FACEID:
            return ApiError("BAD_ARGUMENTS:body")
        if isinstance(exc, TooManyFieldsSent):
            reason = f"too many parameters (at most {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS})"
        elif isinstance(exc, TooManyFilesSent):
            reason = f"too many files (at most {settings.DATA_UPLOAD_MAX_NUMBER_FILES})"
        elif isinstance(exc, SuspiciousOperation):
            reason = str(exc) or "malformed request"
        else:
            reason = "request body must be multipart/form-data or form-urlencoded"
        return ApiError("INVALID_ARGUMENT", reason=reason)
    log.error("internal error in request %s", request_id, exc_info=exc)
    return ApiError("INTERNAL_ERROR", 500)


def analyze(
    image: intake.LoadedImage,
    *,
    auto_rotate: bool,
    max_faces: int | None,
    embed: bool,
    require_face: bool = True,
) -> list[Face]:
    """The engine's faces for one loaded image, its refusals named after that image."""
    try:
        return get_engine().analyze(
            image.image, auto_rotate=auto_rotate, max_faces=max_faces, embed=embed, require_face=require_face
        )
    except NoFaceFound as exc:
        raise ImageProblem(ImageProblem.NO_FACE, image.slot.name) from exc
    except TooManyFaces as exc:
        raise ImageProblem(ImageProblem.TOO_MANY_FACES, image.slot.name) from exc

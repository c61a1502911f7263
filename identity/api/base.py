"""The request pipeline shared by every endpoint, on Django REST framework's hooks.

Order, as the contract lists it: UTF-8 check, authentication, permission, rate limit,
quota still available; the endpoint's work; then, only on success, the charge
(identity/api/services.py): one call taken from the quota atomically and the new images
stored, together or not at all. Every refusal, from any step, is an exception (neutral:
identity/api/errors.py) rendered by `exception_handler` in the family's envelope.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any

from django.conf import settings
from django.core.exceptions import SuspiciousOperation, TooManyFieldsSent, TooManyFilesSent
from django.http import HttpResponse, UnreadablePostError
from rest_framework.exceptions import MethodNotAllowed, ParseError, UnsupportedMediaType
from rest_framework.request import Request
from rest_framework.views import APIView

from accounts import services as accounts
from accounts.models import ApiAccount, Endpoint
from faceengine import Face, NoFaceFound, TooManyFaces, get_engine
from identity.api.context import CallContext, CallInput, call_context, call_start
from identity.api.encoding import NotUtf8
from identity.api.errors import ApiError, ImageProblem, InvalidArgument, MissingCredential, Refusal
from identity.api.families import LINKFACE, Family
from identity.api.images import ImageSlot, LoadedImage, load_image
from identity.api.packages import IMAGE_NAME as PACKAGE_NAME
from identity.api.params import Params
from identity.api.parsers import FormParser, MultiPartParser
from identity.api.services import Charge, call_charge, call_charging
from resources.livenesschecks import PackageRefused

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
    call: CallContext

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        # Set by the middleware; a view reached some other way starts its own.
        self.call = call_context(request._request) or call_start(request._request, self.family)
        if (request.method or "").lower() not in self.http_method_names:  # before credentials
            raise MethodNotAllowed(request.method or "")
        self.params = Params(request, self.family)
        self.params.check_encoding()
        self.account = self._authenticate()
        self.call.account = self.account
        if self.endpoint.value not in (self.account.endpoints or []):
            raise Refusal("NO_PERMISSION")
        if accounts.rate_limit_exceeded(self.account):
            raise Refusal("RATE_LIMIT_EXCEEDED")
        if not accounts.quota_available(self.account):
            raise Refusal("OUT_OF_QUOTA")

    def perform_content_negotiation(self, request: Request, force: bool = False) -> tuple[Any, str]:
        """No negotiation: every answer is the vendor's JSON (or mask's image) whatever `Accept`
        says. DRF's would refuse `Accept: image/jpeg` (NotAcceptable, an internal error here)
        and read the query string (its `?format=`) before the pipeline can refuse it."""
        renderer = self.renderer_classes[0]()
        return renderer, renderer.media_type

    def _authenticate(self) -> ApiAccount:
        api_id = self.params.text(self.family.id_field)
        secret = self.params.text("api_secret")
        for name, value in ((self.family.id_field, api_id), ("api_secret", secret)):
            if not value:
                raise MissingCredential(name)
        try:
            return accounts.authenticate(api_id or "", secret or "")
        except accounts.KeyExpired as exc:
            raise Refusal("KEY_EXPIRED", reason=str(exc)) from exc
        except accounts.InvalidCredentials as exc:
            raise Refusal("UNAUTHORIZED") from exc

    def load_image(self, slot: ImageSlot, *, full_resolution: bool = False) -> LoadedImage:
        loaded = load_image(
            self.params, slot, self.account, self.family.limits, full_resolution=full_resolution
        )
        if loaded.source != "id":  # noted for the history, unless the charge stores it
            self.call.inputs.append(
                CallInput(slot.name, loaded.data, loaded.format, loaded.image.width, loaded.image.height)
            )
        return loaded

    def charge(self, images: Sequence[LoadedImage] = ()) -> Charge:
        """The success step (identity/api/services.py): the call charged, `images` stored and
        named in the result, the history row started; an error here is the call's answer."""
        return call_charge(
            request=self.request._request, context=self.call, account=self.account, images=images
        )

    def charging(self, images: Sequence[LoadedImage] = ()) -> AbstractContextManager[Charge]:
        """The same, for an endpoint with writes of its own: they go in the `with` body, inside
        the charge's transaction (all or nothing)."""
        return call_charging(
            request=self.request._request, context=self.call, account=self.account, images=images
        )

    def get_exception_handler(self) -> Callable[[Exception, dict[str, Any]], HttpResponse]:
        return exception_handler


def exception_handler(exc: Exception, context: dict[str, Any]) -> HttpResponse:
    """The one place where a refusal becomes a response."""
    view = context["view"]
    family: Family = getattr(view, "family", LINKFACE)
    call = call_context(context["request"]._request)
    request_id = call.request_id if call is not None else family.new_request_id()
    return family.render(as_api_error(exc, family, request_id), request_id)


def as_api_error(exc: BaseException, family: Family, request_id: str) -> ApiError:
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, Refusal):
        return family.refused(exc.code, exc.reason)
    if isinstance(exc, InvalidArgument):
        return family.invalid(exc.name, exc.reason, verbatim=exc.verbatim)
    if isinstance(exc, MissingCredential):
        return family.missing(exc.name)
    if isinstance(exc, ImageProblem):
        return family.image_error(exc)
    if isinstance(exc, PackageRefused):
        return family.image_error(ImageProblem(ImageProblem.WRONG_PACKAGE, PACKAGE_NAME, exc.reason))
    if isinstance(exc, NotUtf8):
        return family.not_utf8(exc.name, file_name=exc.file_name)
    if isinstance(exc, MethodNotAllowed):
        return ApiError(family.not_found, 404)
    if isinstance(exc, UnreadablePostError):  # the client stopped sending, or the server failed it
        return family.malformed("request body could not be read")
    # A body that cannot be read: not multipart/form-urlencoded, broken, too many fields.
    if isinstance(exc, (ParseError, UnsupportedMediaType, SuspiciousOperation)):
        if isinstance(exc, TooManyFieldsSent):
            reason = f"too many parameters (at most {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS})"
        elif isinstance(exc, TooManyFilesSent):
            reason = f"too many files (at most {settings.DATA_UPLOAD_MAX_NUMBER_FILES})"
        elif isinstance(exc, SuspiciousOperation):
            reason = str(exc) or "malformed request"
        else:
            reason = "request body must be multipart/form-data or form-urlencoded"
        return family.malformed(reason)
    log.error("internal error in request %s", request_id, exc_info=exc)
    return ApiError("INTERNAL_ERROR", 500)


def analyze(
    image: LoadedImage,
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

"""The two API families the service speaks: LinkFace-style and FaceID-style.

They differ in request ids, credential names, limits and error envelopes; everything else
(the pipeline, the image loader, the engine) is shared. This module is the one place that
knows how each family names and renders an error: raise sites raise neutral errors
(identity/api/errors.py) and the family of the call maps them.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

from django.conf import settings
from django.http import HttpResponse

from identity.api.errors import ApiError, ImageProblem

JSON = "application/json"


@dataclass(frozen=True)
class ImageLimits:
    min_side: int  # sides must be larger than this
    max_side: int  # and at most this
    max_bytes: int | None  # file size; None where the request body is capped instead


def _tid() -> str:
    return f"TID{uuid.uuid4().hex}"


def _unix_uuid() -> str:
    return f"{int(time.time())},{uuid.uuid4()}"


def _status_body(error: ApiError, request_id: str) -> dict[str, object]:
    body: dict[str, object] = {"status": error.code, "request_id": request_id}
    if error.image:
        body["image"] = error.image
    if error.reason:
        body["reason"] = error.reason
    return body


def _error_body(error: ApiError, request_id: str) -> dict[str, object]:
    return {"time_used": 0, "request_id": request_id, "error": error.code}


# The image problems whose LinkFace answer carries the loader's reason.
_REASONED_KINDS = (ImageProblem.DOWNLOAD_ERROR, ImageProblem.MISSING, ImageProblem.WRONG_PACKAGE)


@dataclass(frozen=True)
class Family:
    """Everything one family does its own way, as data; the pipeline asks it, never its name.

    Codes are format strings: `{name}` is the parameter, `{image}` the image, `{code}` the
    neutral refusal code (identity/api/errors.py)."""

    name: str
    segments: tuple[str, ...]  # the first path segments the family answers under
    id_field: str  # the credential naming the account
    not_found: str
    new_request_id: Callable[[], str]
    body: Callable[[ApiError, str], dict[str, object]]  # the error envelope
    limits: ImageLimits
    max_body_setting: str  # the setting capping a request body (tests change it)
    reads_query: bool  # parameters may come in the query string, not only the form
    says_reasons: bool  # errors carry the vendor's `reason` (and `image`)
    bad_argument: str  # a parameter given wrongly
    encoding_error: str | None  # None: a bad parameter like any other
    missing_credential: str | None  # None: refused as UNAUTHORIZED, like a wrong one
    refusal: str  # a refusal's code, unless in `refusals`
    refusals: Mapping[str, tuple[str, int]]  # neutral code -> (code, HTTP status)
    image_codes: Mapping[str, tuple[str, int]]  # ImageProblem kind -> (code, HTTP status)
    plain_too_large: bool = False  # 413 is the vendor's plain-text page, not JSON
    credential_headers: Mapping[str, str] = field(default_factory=dict)  # parameter -> META key

    @property
    def max_body(self) -> int:
        return int(getattr(settings, self.max_body_setting))

    def render(self, error: ApiError, request_id: str) -> HttpResponse:
        if self.plain_too_large and error.http_status == 413:
            response = HttpResponse("Request Entity Too Large", status=413, content_type="text/plain")
            return answered(response, "REQUEST_ENTITY_TOO_LARGE")
        return json_response(self.body(error, request_id), error.http_status, api_status=error.code)

    def _bad(self, name: str, reason: str) -> ApiError:
        return ApiError(self.bad_argument.format(name=name), reason=reason if self.says_reasons else None)

    def invalid(self, name: str, reason: str, *, verbatim: bool = False) -> ApiError:
        return self._bad(name, reason if verbatim else f"argument '{name}': {reason}")

    def not_utf8(self, name: str, *, file_name: bool = False) -> ApiError:
        if self.encoding_error is None:
            return self._bad(name, "not valid UTF-8")
        what = "file name not valid UTF-8" if file_name else "not valid UTF-8"
        return ApiError(self.encoding_error, reason=f"argument '{name}': {what}")

    def refused(self, code: str, reason: str | None = None) -> ApiError:
        family_code, status = self.refusals.get(code, (self.refusal, 403))
        return ApiError(family_code.format(code=code), status, reason=reason if self.says_reasons else None)

    def missing(self, name: str) -> ApiError:
        if self.missing_credential is None:
            return self.refused("UNAUTHORIZED")
        return ApiError(self.missing_credential.format(name=name))

    def body_too_big(self, limit: int) -> ApiError:
        if self.plain_too_large:
            return ApiError("Request Entity Too Large", 413)
        return ApiError("IMAGE_FILE_SIZE_TOO_BIG", reason=f"request body over {limit} bytes")

    def bad_host(self) -> ApiError:
        # Not a parameter, but what an integrator must fix in the request, like a bad body.
        return self._bad("host", "invalid Host header")

    def for_django_status(self, status: int, limit: int) -> ApiError:
        """The family's answer in place of a page Django made itself (its 404 for a path no
        pattern matches, a slash redirect, its 400 or 500 page for an exception outside a view)."""
        if status in (404, 405) or 300 <= status < 400:
            return ApiError(self.not_found, 404)
        if status == 413:
            return self.body_too_big(limit)
        if status == 400:
            return self.malformed("malformed request")
        return ApiError("INTERNAL_ERROR", 500)

    def malformed(self, reason: str) -> ApiError:
        """A request that cannot be read as one (its body, its framing)."""
        return self._bad("body", reason)

    def image_error(self, problem: ImageProblem) -> ApiError:
        code, status = self.image_codes.get(problem.kind, (self.bad_argument, 400))
        if not self.says_reasons:
            return ApiError(code.format(image=problem.image, name=problem.image), status)
        reason = problem.reason if problem.kind in _REASONED_KINDS else None
        return ApiError(code, status, image=problem.image, reason=reason)


_LINKFACE_IMAGE_CODES = {
    ImageProblem.CORRUPT: ("CORRUPT_IMAGE", 400),
    ImageProblem.BAD_SIZE: ("INVALID_IMAGE_FORMAT_OR_SIZE", 400),
    ImageProblem.FILE_TOO_BIG: ("IMAGE_FILE_SIZE_TOO_BIG", 400),
    ImageProblem.ID_NOT_FOUND: ("IMAGE_ID_NOT_EXIST", 400),
    ImageProblem.DOWNLOAD_TIMEOUT: ("DOWNLOAD_TIMEOUT", 400),
    ImageProblem.DOWNLOAD_ERROR: ("DOWNLOAD_ERROR", 400),
    ImageProblem.NO_FACE: ("NO_FACE_DETECTED", 400),
    ImageProblem.TOO_MANY_FACES: ("TOO_MANY_FACES", 400),
    ImageProblem.MISSING: ("INVALID_ARGUMENT", 400),
    ImageProblem.WRONG_PACKAGE: ("WRONG_LIVENESS_DATA", 400),
}
_FACEID_IMAGE_CODES = {
    ImageProblem.CORRUPT: ("IMAGE_ERROR_UNSUPPORTED_FORMAT", 400),
    ImageProblem.BAD_SIZE: ("INVALID_IMAGE_SIZE:{image}", 400),
    ImageProblem.FILE_TOO_BIG: ("Request Entity Too Large", 413),
    ImageProblem.MISSING: ("MISSING_ARGUMENTS:{image}", 400),
}

LINKFACE = Family(
    name="linkface",
    segments=("identity", "resources"),
    id_field="api_id",
    not_found="NOT_FOUND",
    new_request_id=_tid,
    body=_status_body,
    limits=ImageLimits(min_side=8, max_side=4000, max_bytes=5 * 1024 * 1024),
    max_body_setting="LINKFACE_MAX_BODY",
    reads_query=True,
    says_reasons=True,
    bad_argument="INVALID_ARGUMENT",
    encoding_error="ENCODING_ERROR",
    missing_credential=None,
    refusal="{code}",
    refusals={"UNAUTHORIZED": ("UNAUTHORIZED", 401), "KEY_EXPIRED": ("KEY_EXPIRED", 401)},
    image_codes=_LINKFACE_IMAGE_CODES,
)
FACEID = Family(
    name="faceid",
    segments=("faceid",),
    id_field="api_key",
    not_found="API_NOT_FOUND",
    new_request_id=_unix_uuid,
    body=_error_body,
    limits=ImageLimits(min_side=0, max_side=4096, max_bytes=None),
    max_body_setting="FACEID_MAX_BODY",
    reads_query=False,
    says_reasons=False,
    bad_argument="BAD_ARGUMENTS:{name}",
    encoding_error=None,  # as for its other malformed parameters
    missing_credential="MISSING_ARGUMENTS:{name}",
    # FaceID has one throttling code; other refusals qualify AUTHORIZATION_ERROR.
    refusal="AUTHORIZATION_ERROR:{code}",
    refusals={
        "RATE_LIMIT_EXCEEDED": ("CONCURRENCY_LIMIT_EXCEEDED", 403),
        "CONCURRENCY_LIMIT_EXCEEDED": ("CONCURRENCY_LIMIT_EXCEEDED", 403),
        "UNAUTHORIZED": ("AUTHORIZATION_ERROR", 403),
    },
    image_codes=_FACEID_IMAGE_CODES,
    plain_too_large=True,
)
# The face sets (API.md) are LinkFace's in everything, under their own prefix, and take the
# credentials from the headers the vendor's later documents send them in too.
FACESET = replace(
    LINKFACE,
    segments=("faceset",),
    credential_headers={"api_id": "HTTP_X_DF_API_ID", "api_secret": "HTTP_X_DF_API_SECRET"},
)
FAMILIES = (LINKFACE, FACEID, FACESET)


def family_for_path(path: str) -> Family | None:
    """The family of a path in any spelling of its prefix: `//identity/x`, `/identity` and
    `/identity/x/` are the API's too, so that none of them gets one of Django's HTML pages."""
    first = path.lstrip("/").split("/", 1)[0]
    for family in FAMILIES:
        if first in family.segments:
            return family
    return None


def json_response(body: dict[str, object], status: int = 200, *, api_status: str = "OK") -> HttpResponse:
    # Compact separators and no key sorting: the vendor's bodies look like this.
    response = HttpResponse(json.dumps(body, ensure_ascii=False), status=status, content_type=JSON)
    return answered(response, api_status)


def answered(response: HttpResponse, status: str) -> HttpResponse:
    """Marks a response as the API's own answer, with its status for the history and metrics
    (the middleware answers again, in the envelope, anything without one: Django made it)."""
    setattr(response, "api_status", status)  # noqa: B010  (not a declared HttpResponse attribute)
    return response


def answer_status(response: HttpResponse) -> str | None:
    status = getattr(response, "api_status", None)
    return None if status is None else str(status)

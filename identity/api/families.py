"""The two API families the service speaks: LinkFace-style and FaceID-style.

They differ in request ids, credential names and error envelopes; everything else (the
pipeline, the image loader, the engine) is shared. This module is the one place that
knows how each family names and renders an error.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass

from django.http import HttpResponse

from identity.api.errors import ApiError, ImageProblem

JSON = "application/json"


@dataclass(frozen=True)
class Family:
    name: str
    segments: tuple[str, ...]  # the first path segments the family answers under
    id_field: str  # the credential naming the account
    not_found: str

    def new_request_id(self) -> str:
        if self.name == "faceid":
            return f"{int(time.time())},{uuid.uuid4()}"
        return f"TID{uuid.uuid4().hex}"

    def render(self, error: ApiError, request_id: str) -> HttpResponse:
        if self.name == "faceid":
            if error.http_status == 413:  # the vendor answers plain text here
                response = HttpResponse("Request Entity Too Large", status=413, content_type="text/plain")
                response.api_status = "REQUEST_ENTITY_TOO_LARGE"  # type: ignore[attr-defined]
                return response
            body: dict[str, object] = {"time_used": 0, "request_id": request_id, "error": error.code}
        else:
            body = {"status": error.code, "request_id": request_id}
            if error.image:
                body["image"] = error.image
            if error.reason:
                body["reason"] = error.reason
        return json_response(body, error.http_status, api_status=error.code)

    def not_utf8(self, name: str, *, file_name: bool = False) -> ApiError:
        if self.name == "faceid":  # as for its other malformed parameters
            return ApiError(f"BAD_ARGUMENTS:{name}")
        what = "file name not valid UTF-8" if file_name else "not valid UTF-8"
        return ApiError("ENCODING_ERROR", reason=f"argument '{name}': {what}")

    def body_too_big(self, limit: int) -> ApiError:
        if self.name == "faceid":
            return ApiError("Request Entity Too Large", 413)
        return ApiError("IMAGE_FILE_SIZE_TOO_BIG", reason=f"request body over {limit} bytes")

    def bad_host(self) -> ApiError:
        # Not a parameter, but what an integrator must fix in the request, like a bad body.
        if self.name == "faceid":
            return ApiError("BAD_ARGUMENTS:host")
        return ApiError("INVALID_ARGUMENT", reason="invalid Host header")

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
        if self.name == "faceid":
            return ApiError("BAD_ARGUMENTS:body")
        return ApiError("INVALID_ARGUMENT", reason=reason)

    def image_error(self, problem: ImageProblem) -> ApiError:
        if self.name == "faceid":
            code, status = _FACEID_IMAGE_CODES.get(problem.kind, (f"BAD_ARGUMENTS:{problem.image}", 400))
            return ApiError(code.format(image=problem.image), status)
        code = _LINKFACE_IMAGE_CODES[problem.kind]
        reason = (
            problem.reason if problem.kind in (ImageProblem.DOWNLOAD_ERROR, ImageProblem.MISSING) else None
        )
        return ApiError(code, 400, image=problem.image, reason=reason)


_LINKFACE_IMAGE_CODES = {
    ImageProblem.CORRUPT: "CORRUPT_IMAGE",
    ImageProblem.BAD_SIZE: "INVALID_IMAGE_FORMAT_OR_SIZE",
    ImageProblem.FILE_TOO_BIG: "IMAGE_FILE_SIZE_TOO_BIG",
    ImageProblem.ID_NOT_FOUND: "IMAGE_ID_NOT_EXIST",
    ImageProblem.DOWNLOAD_TIMEOUT: "DOWNLOAD_TIMEOUT",
    ImageProblem.DOWNLOAD_ERROR: "DOWNLOAD_ERROR",
    ImageProblem.NO_FACE: "NO_FACE_DETECTED",
    ImageProblem.TOO_MANY_FACES: "TOO_MANY_FACES",
    ImageProblem.MISSING: "INVALID_ARGUMENT",
}
_FACEID_IMAGE_CODES = {
    ImageProblem.CORRUPT: ("IMAGE_ERROR_UNSUPPORTED_FORMAT", 400),
    ImageProblem.BAD_SIZE: ("INVALID_IMAGE_SIZE:{image}", 400),
    ImageProblem.FILE_TOO_BIG: ("Request Entity Too Large", 413),
    ImageProblem.MISSING: ("MISSING_ARGUMENTS:{image}", 400),
}

LINKFACE = Family("linkface", ("identity", "resources"), "api_id", "NOT_FOUND")
FACEID = Family("faceid", ("faceid",), "api_key", "API_NOT_FOUND")
FAMILIES = (LINKFACE, FACEID)


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
    response.api_status = api_status  # type: ignore[attr-defined]
    return response

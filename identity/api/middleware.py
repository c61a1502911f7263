"""Around every call under the API prefixes: request id, body cap, history, last-resort errors.

It runs outside the view so that it also covers what the view never sees: unknown paths,
bodies refused before parsing, and failures anywhere in Django.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from faceportal import metrics
from identity.api import history
from identity.api.errors import ApiError
from identity.api.families import FACEID, family_for_path

log = logging.getLogger("faceportal.api")


class ApiMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        family = family_for_path(request.path_info)
        if family is None:
            return self.get_response(request)
        started = time.perf_counter()
        request_id = family.new_request_id()
        request.api_request_id = request_id  # type: ignore[attr-defined]
        request.api_started = started  # type: ignore[attr-defined]
        request.api_account = None  # type: ignore[attr-defined]
        request.api_image_ids = []  # type: ignore[attr-defined]
        length = _content_length(request)
        limit = settings.FACEID_MAX_BODY if family is FACEID else settings.LINKFACE_MAX_BODY
        if length > limit:
            # Refused before reading a byte of it.
            error = (
                ApiError("Request Entity Too Large", 413)
                if family is FACEID
                else ApiError("IMAGE_FILE_SIZE_TOO_BIG", reason=f"request body over {limit} bytes")
            )
            response = family.render(error, request_id)
        else:
            try:
                response = self.get_response(request)
            except Exception:  # the view renders its own errors; this is the last resort
                log.exception("internal error in request %s", request_id)
                response = family.render(ApiError("INTERNAL_ERROR", 500), request_id)
        response["X-Request-Id"] = request_id
        _record(request, response, family.name, request_id, (time.perf_counter() - started) * 1000, length)
        return response


def _content_length(request: HttpRequest) -> int:
    try:
        return max(0, int(request.META.get("CONTENT_LENGTH") or 0))
    except ValueError:
        return 0


def _record(
    request: HttpRequest, response: HttpResponse, family: str, request_id: str, latency_ms: float, size: int
) -> None:
    endpoint = history.endpoint_of(request, family)
    # Every API response is made by json_response or Family.render, which set api_status.
    status = str(getattr(response, "api_status", "OK" if response.status_code < 400 else "ERROR"))
    account = getattr(request, "api_account", None)
    log.info(
        "api call %s %s %s",
        endpoint,
        status,
        request_id,
        extra={
            "request_id": request_id,
            "endpoint": endpoint,
            "status": status,
            "http_status": response.status_code,
            "latency_ms": round(latency_ms, 3),
            "api_id": getattr(account, "api_id", None),
        },
    )
    metrics.observe_call(endpoint, status, latency_ms / 1000)

    def complete_history() -> None:
        try:
            history.record_answer(
                request, response, endpoint=endpoint, status=status, latency_ms=latency_ms, size=size
            )
        except Exception:  # history must never turn an answer into an error
            log.exception("could not record call %s", request_id)

    # Run by response.close(), which the WSGI server calls once it has written the answer to
    # the socket: a worker killed before then leaves a charged call's row as the charge wrote
    # it, and purge_images gives that charge back (no answer left), not only when the kill
    # came before the answer was made.
    response._resource_closers.append(complete_history)  # type: ignore[attr-defined]  # close()'s list

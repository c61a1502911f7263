"""Around every call under the API prefixes: request id, Host and body checks, history, and the
family's envelope for anything Django answers itself.

It runs outside the view so that it also covers what the view never sees: unknown paths,
bodies refused before parsing, and failures anywhere in Django. Django turns an exception
raised inside this middleware (in a later middleware or the view) into one of its own pages
before it gets here; any answer not made by the API (it has no `api_status`) is therefore
answered again, in the family's envelope (Family.for_django_status).
"""

from __future__ import annotations

import codecs
import io
import logging
import sys
from collections.abc import Callable
from typing import Any

from django.core.exceptions import DisallowedHost
from django.core.signals import got_request_exception
from django.http import HttpRequest, HttpResponse

from faceportal import metrics
from identity.api import history
from identity.api.context import CallContext, call_context, call_start
from identity.api.families import Family, answer_status, family_for_path

log = logging.getLogger("faceportal.api")
# Where Django itself reports a bad Host, so that operators find it in the usual place.
security_log = logging.getLogger("django.security.DisallowedHost")

_READ_SIZE = 64 * 1024


class ApiMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        family = family_for_path(request.path_info)
        if family is None:
            return self.get_response(request)
        call = call_start(request, family)
        if request.encoding and codecs.lookup(request.encoding).name != "utf-8":
            # The API's parameters are UTF-8 (the contract's rule, identity/api/encoding.py)
            # whatever charset a Content-Type names: Django would decode them by it.
            request.encoding = "utf-8"
        response = self._answer(request, family, call.request_id, family.max_body)
        _drain(request, family.max_body)
        response["X-Request-Id"] = call.request_id
        if not response.streaming and not response.has_header("Content-Length"):
            # As CommonMiddleware gives the answers that pass through it; not the ones made here.
            response["Content-Length"] = str(len(response.content))
        _record(request, call, response, call.elapsed_ms(), _content_length(request))
        return response

    def _answer(self, request: HttpRequest, family: Family, request_id: str, limit: int) -> HttpResponse:
        try:
            request.get_host()
        except DisallowedHost as exc:
            security_log.error(str(exc))
            return family.render(family.bad_host(), request_id)
        if _is_unsized(request):
            try:
                if not _take_unsized_body(request, limit):
                    return family.render(family.body_too_big(limit), request_id)
            except Exception:
                # What the server raises for a malformed chunk or trailer, or a client gone
                # mid-body: gunicorn's own types (OSError and ParseException subclasses).
                return family.render(family.malformed("malformed chunked body"), request_id)
        if _content_length(request) > limit:  # refused before reading a byte of it
            return family.render(family.body_too_big(limit), request_id)
        response = self.get_response(request)
        if answer_status(response) is not None or response.status_code < 300:
            return response
        error = family.for_django_status(response.status_code, limit)
        if error.http_status == 500 and response.status_code != 500:
            log.error("request %s: Django answered %s, sent as an internal error", request_id, response)
        return family.render(error, request_id)


def _log_uncaught(sender: object, request: HttpRequest | None = None, **kwargs: Any) -> None:
    """Django's own report of an exception outside a view goes to a logger that production
    configurations leave silent; API calls get theirs here, with the request id."""
    call = call_context(request) if request is not None else None
    if call is not None:
        log.error("internal error in request %s", call.request_id, exc_info=sys.exc_info())


got_request_exception.connect(_log_uncaught, dispatch_uid="faceportal.api.log_uncaught")


def _content_length(request: HttpRequest) -> int:
    try:
        return max(0, int(request.META.get("CONTENT_LENGTH") or 0))
    except ValueError:
        return 0


def _is_unsized(request: HttpRequest) -> bool:
    """A chunked body: gunicorn de-chunks it into wsgi.input and gives no Content-Length, and
    Django would read it as empty ("must specify ..." for a photo that was sent)."""
    chunked = "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower()
    return chunked and not request.META.get("CONTENT_LENGTH")


def _drain(request: HttpRequest, limit: int) -> None:
    """Reads and drops what is left of a body within the family's cap that the answer did not
    need (a refused content type, a missing parameter): behind nginx, which sends whole
    requests, a connection closed on an unread body resets while nginx is still sending it,
    and the client gets nginx's 502 instead of the refusal. A body over the cap is refused
    unread, as the cap promises (its sender is told at once and costs nothing more)."""
    if _content_length(request) > limit:
        return
    stream = getattr(request, "_stream", None)
    try:
        while stream is not None and stream.read(_READ_SIZE):
            pass
    except Exception:  # a client gone or a broken chunk (gunicorn's own types): nothing to protect
        log.debug("request body not drained", exc_info=True)


def _take_unsized_body(request: HttpRequest, limit: int) -> bool:
    """Reads a chunked body, up to one byte past `limit` and never further, and hands it on as
    a body of known length; false when it is over the limit."""
    stream = request.META["wsgi.input"]
    body = bytearray()
    while len(body) <= limit:
        piece = stream.read(min(_READ_SIZE, limit + 1 - len(body)))
        if not piece:
            break
        body += piece
    if len(body) > limit:
        return False
    request._stream = io.BytesIO(bytes(body))
    request.META["CONTENT_LENGTH"] = str(len(body))
    return True


def _record(
    request: HttpRequest, call: CallContext, response: HttpResponse, latency_ms: float, size: int
) -> None:
    endpoint = history.endpoint_of(request, call.family.name)
    request_id = call.request_id
    # Every API response is made by json_response or Family.render, which set its status.
    status = answer_status(response) or ("OK" if response.status_code < 400 else "ERROR")
    account = call.account
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
                request, call, response, endpoint=endpoint, status=status, latency_ms=latency_ms, size=size
            )
        except Exception:  # history must never turn an answer into an error
            log.exception("could not record call %s", request_id)

    # Run by response.close(), which the WSGI server calls once it has written the answer to
    # the socket: a worker killed before then leaves a charged call's row as the charge wrote
    # it, and purge_images gives that charge back (no answer left), not only when the kill
    # came before the answer was made.
    response._resource_closers.append(complete_history)  # type: ignore[attr-defined]  # close()'s list

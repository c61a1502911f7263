"""The call history row of an API call: started with the charge, completed with the answer.

A successful call's row is inserted in the same transaction that takes its quota
(identity/api/services.py, call_charge), so that every charge is on record even when the
worker dies before the answer leaves; the middleware fills in what only the answer knows
once the WSGI server has written the answer (response.close()). Refused calls, which charge
nothing, get their row then too. A charged row left incomplete therefore means no answer left, and
`accounts.services.unanswered_refund` gives that charge back.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import TooManyFieldsSent
from django.http import HttpRequest, HttpResponse, QueryDict

from accounts.models import ApiAccount, ApiCall
from faceengine import UnreadableImage, read_header
from identity.api.context import CallContext
from resources import services
from resources.models import CallImage

MASKED = "********"
MAX_PARAMS = 50
MAX_PARAM_CHARS = ApiCall.PARAM_CHARS
MAX_BODY_CHARS = 64 * 1024


def _text(value: object, limit: int = MAX_PARAM_CHARS) -> str:
    # PostgreSQL stores no NUL in text or JSON: the row would fail, and the call go unrecorded.
    return str(value)[:limit].replace("\x00", "\ufffd")


def _query_of(request: HttpRequest) -> QueryDict:
    """The query string as Django reads it, or, when it has more fields than Django will read
    (the call was refused for it), its first fields: such a call is on record too."""
    try:
        return request.GET
    except TooManyFieldsSent:
        raw = request.META.get("QUERY_STRING", "").encode("latin-1", "replace").decode("utf-8", "replace")
        return QueryDict("&".join(raw.split("&", MAX_PARAMS)[:MAX_PARAMS]))


def _params_of(request: HttpRequest) -> dict[str, object]:
    """The call's parameters for its history: query string and the form fields the view
    parsed (a body refused before parsing is never read here), secrets masked, files by
    name, size and type."""
    sources = [_query_of(request)]
    form = getattr(request, "_post", None)
    if form is not None:
        sources.append(form)
    params: dict[str, object] = {}
    for source in sources:
        for key in list(source)[:MAX_PARAMS]:
            value = MASKED if "secret" in key.lower() else _text(source.get(key, ""))
            params[_text(key, 64)] = value
    files = getattr(request, "_files", None)
    if files is not None:
        for key in list(files)[:10]:
            upload = files[key]
            params[_text(key, 64)] = {
                "file": _text(upload.name),
                "bytes": upload.size,
                "content_type": _text(upload.content_type),
            }
    return params


def _body_of(response: HttpResponse) -> str:
    """The answer as the history keeps it: JSON and text as they were sent (capped), any
    other body (the masked image) described by type and size."""
    if response.streaming:
        return ""
    content_type = response.get("Content-Type", "")
    if content_type.startswith(("application/json", "text/")):
        return response.content[:MAX_BODY_CHARS].decode("utf-8", "replace")
    return f"[{content_type}, {len(response.content)} bytes]"


def endpoint_of(request: HttpRequest, family: str) -> str:
    match = getattr(request, "resolver_match", None)
    return match.url_name if match and match.url_name else f"{family}:unknown"


def _common(request: HttpRequest) -> dict[str, object]:
    return {
        "client_ip": request.META.get("REMOTE_ADDR") or None,
        "request_params": _params_of(request),
    }


def record_charge(
    request: HttpRequest, context: CallContext, account: ApiAccount, image_ids: list[str]
) -> int:
    """The row of a call being charged, as "OK" until its answer says otherwise, with no HTTP
    status until then (accounts.services.unanswered_refund looks for rows left so); returns its id."""
    call = ApiCall.objects.create(
        account=account,
        endpoint=endpoint_of(request, "unknown"),
        request_id=context.request_id,
        status="OK",
        http_status=0,
        latency_ms=0,
        image_ids=image_ids,
        **_common(request),
    )
    return call.pk


def record_answer(
    request: HttpRequest,
    context: CallContext,
    response: HttpResponse,
    *,
    endpoint: str,
    status: str,
    latency_ms: float,
    size: int,
) -> None:
    fields = {
        "account": context.account,
        "endpoint": endpoint,
        "status": status,
        "http_status": response.status_code,
        "latency_ms": round(latency_ms, 3),
        "request_bytes": size,
        "response_bytes": len(response.content) if not response.streaming else 0,
        "response_body": _body_of(response),
        "image_ids": context.image_ids,
        **_common(request),
    }
    charged = context.call_id
    if charged is None or not ApiCall.objects.filter(pk=charged).update(**fields):
        ApiCall.objects.create(request_id=context.request_id, **fields)
    if settings.FACEPORTAL_KEEP_CALL_IMAGES and context.account is not None:
        keep_images(context, context.account, response, status)


def keep_images(context: CallContext, account: ApiAccount, response: HttpResponse, status: str) -> None:
    """Keeps the call's images that the API did not store, for its owner's history (for as long
    as stored images are kept: resources/purge.py): what was received by file or URL, and an
    image answered (mask's). Written after the answer has left, so the call never waits for it."""
    inputs, context.inputs = context.inputs, []  # kept once, and their bytes let go
    for image in inputs:
        services.call_image_keep(
            account=account,
            request_id=context.request_id,
            role=image.role,
            data=image.data,
            format=image.format,
            width=image.width,
            height=image.height,
        )
    answered = response.get("Content-Type", "")
    if status == "OK" and answered.startswith("image/") and not response.streaming:
        data = response.content
        try:
            header = read_header(data)  # the service encoded it: format and sides from its header
        except UnreadableImage:
            return
        services.call_image_keep(
            account=account,
            request_id=context.request_id,
            role=CallImage.ANSWER,
            data=data,
            format=header.format,
            width=header.width,
            height=header.height,
        )

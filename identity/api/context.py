"""The state of one API call, set once by the middleware and read by everything after it.

One typed object on the request instead of loose attributes: the view, the services, the
history, the exception handler and the logs all read the same fields, and mypy checks them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from django.http import HttpRequest

from accounts.models import ApiAccount
from identity.api.families import Family

# The one attribute the API sets on a request; read and written only through this module.
_ATTR = "faceportal_call"


@dataclass(frozen=True)
class CallInput:
    """An image the call received by file or URL, decoded: the history keeps it (unless the
    call stored it) so that its owner can see what was sent (identity/api/history.py)."""

    role: str  # the vendor's name for it: image, image_one, selfie
    data: bytes
    format: str
    width: int
    height: int


@dataclass
class CallContext:
    family: Family
    request_id: str
    started: float = field(default_factory=time.perf_counter)  # perf_counter seconds
    account: ApiAccount | None = None  # once authenticated
    image_ids: list[str] = field(default_factory=list)  # the images the call stored or used
    call_id: int | None = None  # the history row written with the charge
    inputs: list[CallInput] = field(default_factory=list)  # images received and not stored

    def elapsed_ms(self) -> float:
        return (time.perf_counter() - self.started) * 1000


def call_start(request: HttpRequest, family: Family) -> CallContext:
    context = CallContext(family=family, request_id=family.new_request_id())
    setattr(request, _ATTR, context)
    return context


def call_context(request: HttpRequest) -> CallContext | None:
    """The call's context; None for a request outside the API prefixes."""
    context = getattr(request, _ATTR, None)
    return context if isinstance(context, CallContext) else None

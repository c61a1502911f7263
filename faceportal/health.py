"""Liveness and readiness probes for load balancers and orchestrators.

/healthz answers as long as the process serves requests. /readyz checks what a request
needs: the database, the cache, the storage and the face models; it answers 503 naming
what is not ready, so a load balancer sends traffic elsewhere until it is. It also says which
face-set search is in use: exact, or pgvector's index for large sets.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from faceengine import get_engine
from facesets.search import backend_name


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _cache() -> None:
    key = f"readyz:{uuid.uuid4().hex}"
    cache.set(key, "1", timeout=10)
    if cache.get(key) != "1":
        raise RuntimeError("value written was not read back")
    cache.delete(key)


def _storage() -> None:
    name = default_storage.save(f"readyz/{uuid.uuid4().hex}.txt", ContentFile(b"ok"))
    default_storage.delete(name)


def _models() -> None:
    get_engine()  # loads (and if needed prepares) the models once per process


CHECKS: dict[str, Callable[[], None]] = {
    "database": _database,
    "cache": _cache,
    "storage": _storage,
    "models": _models,
}


@never_cache
@require_safe
def readyz(request: HttpRequest) -> JsonResponse:
    results: dict[str, str] = {}
    for name, check in CHECKS.items():
        try:
            check()
            results[name] = "ok"
        except Exception as exc:  # a probe reports failures, it does not raise them
            results[name] = f"error: {type(exc).__name__}"
    ready = all(value == "ok" for value in results.values())
    body: dict[str, object] = {"status": "ok" if ready else "unavailable", "checks": results}
    try:  # which search face sets get (facesets/search.py); asks the database once per process
        body["face_search"] = backend_name()
    except Exception as exc:
        body["face_search"] = f"error: {type(exc).__name__}"
    return JsonResponse(body, status=200 if ready else 503)

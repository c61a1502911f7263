"""The site's own URLs and error handlers (imported, so that their wiring is what is tested),
plus views that fail in each way Django turns into an error page. A test opts in with
@pytest.mark.urls("tests.faceportal.broken_urls") (tests/faceportal/test_pages.py and the
accessibility browser test)."""

from __future__ import annotations

from django.core.exceptions import BadRequest, PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.urls import path

from faceportal import urls as site_urls

FORBIDDEN_REASON = "Only the operator may open this page."
BUG = "a bug in a view"


def raises_bad_request(request: HttpRequest) -> HttpResponse:
    raise BadRequest("a malformed form")


def raises_permission_denied(request: HttpRequest) -> HttpResponse:
    raise PermissionDenied(FORBIDDEN_REASON)


def raises_an_error(request: HttpRequest) -> HttpResponse:
    raise RuntimeError(BUG)


urlpatterns = [
    path("broken/400/", raises_bad_request),
    path("broken/403/", raises_permission_denied),
    path("broken/500/", raises_an_error),
    *site_urls.urlpatterns,
]
handler400 = site_urls.handler400
handler403 = site_urls.handler403
handler404 = site_urls.handler404
handler500 = site_urls.handler500

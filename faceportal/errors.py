"""The site's own error pages (400, 403, 404, 500), in the portal's layout with a way back,
instead of Django's bare ones. The API prefixes never show them: identity/api/middleware.py
answers again, in the family's JSON envelope, whatever Django answered there.

The 404 and 403 pages render with the request (the signed-in user keeps the navigation); the
400 and 500 pages, like Django's own, render without it, so that neither a broken request nor
a failing database (the session behind `user`) can stop them; the 500 page falls back to plain
text if even its template fails."""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse, HttpResponseServerError
from django.shortcuts import render
from django.template import loader

log = logging.getLogger("faceportal.errors")

PLAIN_500 = "FacePortal: something went wrong on our side (error 500). Please try again in a moment."


def shown_reason(exception: Exception | None) -> str:
    """The sentence an Http404 or PermissionDenied was raised with, when it was written for the
    reader (`Http404("Sign-up is closed: ...")`); not Django's own: an unmatched route carries a
    dict of the patterns tried, and get_object_or_404 names the model ("No ApiCall matches the
    given query.")."""
    message = exception.args[0] if exception is not None and exception.args else ""
    if not isinstance(message, str) or message.endswith("matches the given query."):
        return ""
    return message


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    context = {"title": "Page not found", "reason": shown_reason(exception)}
    return render(request, "errors/404.html", context, status=404)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    context = {"title": "Not allowed", "reason": shown_reason(exception)}
    return render(request, "errors/403.html", context, status=403)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    page = loader.get_template("errors/400.html").render({"title": "Bad request"})
    return HttpResponse(page, status=400)


def server_error(request: HttpRequest) -> HttpResponse:
    try:
        page = loader.get_template("errors/500.html").render({"title": "Server error"})
    except Exception:  # the page of last resort must answer whatever is broken
        log.exception("the 500 page could not render; answered in plain text")
        return HttpResponseServerError(PLAIN_500, content_type="text/plain; charset=utf-8")
    return HttpResponseServerError(page)

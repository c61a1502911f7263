"""The browser capture page: records a liveness challenge with the camera and calls the API.

Everything happens in the browser (static/capture/capture-page.js); the view only serves the
page. The API key typed into it is sent to this service's API only.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe


@require_safe
def capture_page(request: HttpRequest) -> HttpResponse:
    return render(request, "liveness/capture.html")

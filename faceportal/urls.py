from django.contrib import admin
from django.templatetags.static import static
from django.urls import URLPattern, include, path, re_path
from django.utils.module_loading import import_string
from django.views.generic import RedirectView, TemplateView

from accounts.models import Endpoint
from faceportal import health, metrics, openapi
from faceportal.endpoints import ENDPOINTS, ApiEndpoint
from identity import capture_page, views


def _route(entry: ApiEndpoint) -> URLPattern:
    # The registry's permission wins over whatever the view class says, so that one list decides.
    view = import_string(entry.view).as_view(endpoint=Endpoint(entry.permission))
    return path(entry.path, view, name=entry.name)


urlpatterns = [
    path("", TemplateView.as_view(template_name="index.html"), name="index"),
    # Browsers ask for /favicon.ico on pages that name no icon (and on the ones they cannot parse).
    path("favicon.ico", RedirectView.as_view(url=static("favicon.svg"))),
    path("admin/", admin.site.urls),
    path("portal/", include("portal.urls")),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics, name="metrics"),
    path("openapi.json", openapi.openapi_json, name="openapi_json"),
    path("docs/", openapi.docs_page, name="api_docs"),
    *(_route(entry) for entry in ENDPOINTS),
    path("liveness/capture/", capture_page.capture_page, name="liveness_capture"),
    # Anything else under the API prefixes answers in the API's own JSON, not an HTML page.
    re_path(r"^(?:identity|resources|faceid|faceset)(?:/|$)", views.api_not_found, name="not_found"),
]

# Django's error pages, in the portal's layout (the API prefixes keep their JSON envelopes).
handler400 = "faceportal.errors.bad_request"
handler403 = "faceportal.errors.permission_denied"
handler404 = "faceportal.errors.page_not_found"
handler500 = "faceportal.errors.server_error"

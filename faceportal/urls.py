from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import TemplateView

from faceportal import health, metrics, openapi
from identity import capture_page, liveness_views, views

urlpatterns = [
    path("", TemplateView.as_view(template_name="index.html"), name="index"),
    path("admin/", admin.site.urls),
    path("portal/", include("portal.urls")),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics, name="metrics"),
    path("openapi.json", openapi.openapi_json, name="openapi_json"),
    path("docs/", openapi.docs_page, name="api_docs"),
    path("faceid/v1/detect", views.DetectView.as_view(), name="detect"),
    path("identity/compare_faces_in_two_images", views.CompareView.as_view(), name="compare"),
    path("identity/mask_selfie_image", views.MaskView.as_view(), name="mask"),
    path("resources/liveness_challenge", liveness_views.ChallengeView.as_view(), name="liveness_challenge"),
    path(
        "resources/upload_liveness_data", liveness_views.UploadLivenessView.as_view(), name="upload_liveness"
    ),
    path(
        "identity/liveness_selfie_verification",
        liveness_views.LivenessVerificationView.as_view(),
        name="liveness_verification",
    ),
    path("liveness/capture/", capture_page.capture_page, name="liveness_capture"),
    # Anything else under the API prefixes answers in the API's own JSON, not an HTML page.
    re_path(r"^(?:identity|resources|faceid)(?:/|$)", views.api_not_found, name="not_found"),
]

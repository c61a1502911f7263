from django.contrib import admin
from django.urls import path, re_path

from identity import views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("faceid/v1/detect", views.DetectView.as_view(), name="detect"),
    path("identity/compare_faces_in_two_images", views.CompareView.as_view(), name="compare"),
    path("identity/mask_selfie_image", views.MaskView.as_view(), name="mask"),
    # Anything else under the API prefixes answers in the API's own JSON, not an HTML page.
    re_path(r"^(?:identity|resources|faceid)/", views.api_not_found, name="not_found"),
]

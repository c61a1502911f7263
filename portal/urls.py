"""The portal's pages, all under /portal/ and all behind sign-in except the sign-in pages."""

from __future__ import annotations

from django.urls import path

from portal import auth, dashboard, history, try_sample, tryit

app_name = "portal"

urlpatterns = [
    path("login/", auth.PortalLoginView.as_view(), name="login"),
    path("logout/", auth.PortalLogoutView.as_view(), name="logout"),
    path("signup/", auth.signup, name="signup"),
    path("password/", auth.PortalPasswordChangeView.as_view(), name="password_change"),
    path("", dashboard.dashboard, name="dashboard"),
    path("keys/new/", dashboard.key_create, name="key_create"),
    path("keys/<str:api_id>/rotate/", dashboard.key_rotate, name="key_rotate"),
    path("calls/", history.call_list, name="call_list"),
    path("calls/<str:request_id>/", history.call_detail, name="call_detail"),
    path("images/<str:image_id>/thumbnail/", history.image_thumbnail, name="image_thumbnail"),
    path("try/detect/", tryit.try_detect, name="try_detect"),
    path("try/compare/", tryit.try_compare, name="try_compare"),
    path("try/mask/", tryit.try_mask, name="try_mask"),
    path("try/liveness/", tryit.try_liveness, name="try_liveness"),
    path("try/liveness/sample/", try_sample.try_liveness_sample, name="try_liveness_sample"),
]

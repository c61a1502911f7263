"""The portal's pages, all under /portal/ and all behind sign-in except the sign-in pages."""

from __future__ import annotations

from django.urls import path

from portal import auth, dashboard, history, keys, tryit

app_name = "portal"

urlpatterns = [
    path("login/", auth.PortalLoginView.as_view(), name="login"),
    path("logout/", auth.PortalLogoutView.as_view(), name="logout"),
    path("signup/", auth.signup, name="signup"),
    path("password/", auth.PortalPasswordChangeView.as_view(), name="password_change"),
    path("", dashboard.dashboard, name="dashboard"),
    path("keys/new/", keys.key_create, name="key_create"),
    path("keys/<str:api_id>/rotate/", keys.key_rotate, name="key_rotate"),
    path("keys/<str:api_id>/rename/", keys.key_rename, name="key_rename"),
    path("keys/<str:api_id>/revoke/", keys.key_revoke, name="key_revoke"),
    path("keys/<str:api_id>/delete/", keys.key_delete, name="key_delete"),
    path("calls/", history.call_list, name="call_list"),
    path("calls/<str:request_id>/", history.call_detail, name="call_detail"),
    path("images/<str:image_id>/thumbnail/", history.image_thumbnail, name="image_thumbnail"),
    path("try/detect/", tryit.try_detect, name="try_detect"),
    path("try/compare/", tryit.try_compare, name="try_compare"),
    path("try/mask/", tryit.try_mask, name="try_mask"),
    path("try/liveness/", tryit.try_liveness, name="try_liveness"),
]

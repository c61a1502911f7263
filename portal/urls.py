"""The portal's pages, all under /portal/ and all behind sign-in except the sign-in pages."""

from __future__ import annotations

from django.urls import path

from portal import auth, dashboard, facesets, history, keys, samples, try_sample, tryit, tryit_stored

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
    path(
        "calls/<str:request_id>/images/<str:image_id>/thumbnail/",
        history.call_image_thumbnail,
        name="call_image_thumbnail",
    ),
    path("images/<str:image_id>/thumbnail/", history.image_thumbnail, name="image_thumbnail"),
    path("try/detect/", tryit.try_detect, name="try_detect"),
    path("try/compare/", tryit.try_compare, name="try_compare"),
    path("try/mask/", tryit.try_mask, name="try_mask"),
    path("try/liveness/", tryit.try_liveness, name="try_liveness"),
    path("facesets/", facesets.faceset_list, name="faceset_list"),
    path("facesets/<int:set_id>/", facesets.faceset_detail, name="faceset_detail"),
    path("facesets/<int:set_id>/delete/", facesets.faceset_delete, name="faceset_delete"),
    path("facesets/<int:set_id>/faces/<int:face_id>/delete/", facesets.face_delete, name="face_delete"),
    path("facesets/faces/<int:face_id>/crop/", facesets.face_crop, name="face_crop"),
    path("try/search/", tryit.try_search, name="try_search"),
    path("try/stored-images/", tryit_stored.stored_images, name="try_stored_images"),
    path("samples/<str:filename>", samples.sample_photo, name="sample_photo"),
    path("samples/<str:filename>/thumbnail.jpg", samples.sample_thumbnail, name="sample_thumbnail"),
    path("try/liveness/sample/", try_sample.try_liveness_sample, name="try_liveness_sample"),
]

"""The admin site, with its sign-in and password change throttled like the portal's
(portal/signin.py). It is Django's own AdminSite in all else: `admin.site` is this one
(PortalAdminConfig in portal/apps.py makes it the default)."""

from __future__ import annotations

from typing import Any, cast

from django.contrib import admin
from django.contrib.auth.views import PasswordChangeView
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse

from portal import signin


class PortalAdminSite(admin.AdminSite):
    login_form = signin.AdminSignInForm

    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        return signin.refusal_status(super().login(request, extra_context))

    def password_change(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> TemplateResponse:
        """AdminSite.password_change with the throttled form: Django names its form class inside
        the method, with no attribute to change it by."""
        defaults = {
            "form_class": signin.AdminOldPasswordForm,
            "success_url": reverse("admin:password_change_done", current_app=self.name),
            "extra_context": {**self.each_context(request), **(extra_context or {})},
        }
        if self.password_change_template is not None:
            defaults["template_name"] = self.password_change_template
        request.current_app = self.name
        response = PasswordChangeView.as_view(**defaults)(request)
        # Typed as Django's stubs type the method it replaces (a redirect, once changed, in fact).
        return cast(TemplateResponse, signin.refusal_status(response))

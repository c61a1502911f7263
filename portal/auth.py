"""Sign-in, sign-out, password change and (when the operator allows it) sign-up, on
Django's own auth views: one login path for the portal and the admin's users alike. Every
password check is throttled (portal/signin.py)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.forms import PasswordChangeForm, UserCreationForm
from django.contrib.auth.views import LoginView, LogoutView, PasswordChangeView
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from faceportal.clientip import client_address
from portal import signin


class PortalLoginView(LoginView):
    template_name = "registration/login.html"
    authentication_form = signin.SignInForm
    redirect_authenticated_user = True
    extra_context = {"title": "Sign in"}

    def form_invalid(self, form: Any) -> HttpResponse:
        return signin.refusal_status(super().form_invalid(form))

    def get_context_data(self, **kwargs: object) -> dict[str, object]:
        context = super().get_context_data(**kwargs)
        context["signup_open"] = settings.FACEPORTAL_SIGNUP
        return context


class PortalLogoutView(LogoutView):
    """POST only (Django's default since 5.0): a link cannot sign anyone out."""


class PortalPasswordChangeView(PasswordChangeView):
    template_name = "registration/password_change.html"
    form_class = signin.OldPasswordChangeForm
    success_url = reverse_lazy("portal:dashboard")
    extra_context = {"title": "Change password"}

    def form_invalid(self, form: Any) -> HttpResponse:
        return signin.refusal_status(super().form_invalid(form))

    def form_valid(self, form: PasswordChangeForm) -> HttpResponse:
        response = super().form_valid(form)
        messages.success(self.request, "Your password was changed.")
        return response


@require_http_methods(["GET", "POST"])
@sensitive_post_parameters("password1", "password2")
def signup(request: HttpRequest) -> HttpResponse:
    if not settings.FACEPORTAL_SIGNUP:
        raise Http404("Sign-up is closed: ask the operator for an account.")
    if request.user.is_authenticated:
        return redirect("portal:dashboard")
    form: UserCreationForm[Any] = UserCreationForm(request.POST or None)
    wait = 0
    if request.method == "POST" and form.is_valid():
        # Saving hashes the new password: each account made counts against the address.
        wait = signin.attempt(address=client_address(request))
        if not wait:
            user = form.save()
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, "Welcome to FacePortal. Create your first API key below.")
            return redirect("portal:dashboard")
        form.add_error(None, signin.lockout_message(wait, "sign-ins and sign-ups from your address"))
    context = {"form": form, "title": "Create an account"}
    response = render(request, "registration/signup.html", context, status=429 if wait else 200)
    if wait:
        response["Retry-After"] = str(wait)
    return response

"""The writes a user may make on their own API keys from the dashboard: create, rename, rotate
the secret (with an optional grace period for the old one), revoke and delete. Every write goes
through accounts.services; someone else's key id answers 404, like a key that never existed.

Every answer is a redirect to the dashboard (POST, redirect, GET), so that a reload never sends
a form again. A refused form travels to that dashboard in the session, as the name typed and the
errors to show (names are no secret); a new secret waits there too, sealed (portal/sealed.py:
encrypted, and good for ten minutes), and each is popped when shown, so a reload no longer has it.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import formats, timezone
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_POST

from accounts.models import ApiAccount
from accounts.services import (
    ROTATION_GRACE_MAX,
    account_create,
    account_delete,
    account_rename,
    account_revoke,
    account_rotate_secret,
)
from portal import sealed

if TYPE_CHECKING:
    from django.contrib.auth.models import User

SECRET_ONCE = "portal.secret_once"
REFUSED_FORM = "portal.key_form"

# How long the old secret may keep working after a rotation, as the rotate form offers it.
GRACE_CHOICES = [
    (timedelta(0), "Stops at once"),
    (timedelta(hours=1), "Keeps working for 1 hour"),
    (timedelta(hours=24), "Keeps working for 24 hours"),
    (timedelta(days=7), "Keeps working for 7 days"),
]
assert all(grace <= ROTATION_GRACE_MAX for grace, _ in GRACE_CHOICES)
# As the form's options: seconds, and what they mean.
GRACE_OPTIONS = [(str(int(grace.total_seconds())), label) for grace, label in GRACE_CHOICES]


class KeyNameForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        label="Name",
        help_text="For your own use, e.g. “staging server”.",
        error_messages={
            "required": "Give the key a name.",
            "max_length": "Keep the name to %(limit_value)d characters (it has %(show_value)d).",
        },
    )


class KeyRotateForm(forms.Form):
    grace = forms.TypedChoiceField(
        label="The current secret",
        choices=GRACE_OPTIONS,
        coerce=lambda seconds: timedelta(seconds=int(seconds)),
        # Not sent (a page from before grace periods): the old secret stops at once, as it did.
        required=False,
        initial="0",
        error_messages={"invalid_choice": "Choose how long the current secret keeps working."},
    )


class KeyLimitReached(Exception):
    pass


def signed_in_user(request: HttpRequest) -> User:
    """Whose keys these are: every view here is behind login_required."""
    user = request.user
    if not user.is_authenticated:
        raise PermissionDenied("sign in first")
    return user


def own_key(request: HttpRequest, api_id: str) -> ApiAccount:
    # Someone else's key is as absent as a key that never existed.
    return get_object_or_404(ApiAccount, api_id=api_id, user=signed_in_user(request))


def key_label(account: ApiAccount) -> str:
    return account.name or account.api_id


# -- a refused form, carried to the next dashboard -----------------------------------------


def refuse(request: HttpRequest, form: forms.Form, target: str, anchor: str) -> HttpResponse:
    """Back to the dashboard with the form's errors, next to its field (`target` names the form:
    "create", or "rename:<api_id>")."""
    request.session[REFUSED_FORM] = {
        "target": target,
        "data": {name: str(form.data.get(name, "")) for name in form.fields},
        "errors": [str(error) for error in form.non_field_errors()],
    }
    messages.error(request, "Nothing was changed: correct the form below.")
    return redirect(f"{reverse('portal:dashboard')}#{anchor}")


def refused_form(request: HttpRequest) -> dict[str, Any]:
    """What the last request's refused form carried (its target, the text typed and its
    non-field errors), taken out of the session: empty when none was refused."""
    refused = request.session.pop(REFUSED_FORM, None)
    if not isinstance(refused, dict) or not isinstance(refused.get("data"), dict):
        return {}
    return refused


def name_form(
    refused: dict[str, Any], target: str, *, auto_id: str, name: str = "", label: str = "Name"
) -> KeyNameForm:
    """The create or rename form of the dashboard: bound again to what was typed, with its
    errors, when it is the one just refused; otherwise fresh, with the key's current name."""
    refused_here = refused.get("target") == target
    form = KeyNameForm(refused["data"] if refused_here else None, initial={"name": name}, auto_id=auto_id)
    form.fields["name"].label = label
    if refused_here:
        form.is_valid()
        for error in refused.get("errors", []):
            form.add_error(None, str(error))
    return form


# -- the secret shown once ------------------------------------------------------------------


@sensitive_variables("secret")
def secret_wait(request: HttpRequest, account: ApiAccount, secret: str, action: str) -> None:
    """Keeps a new secret for the next dashboard, sealed, with its version: the try-it pages
    keep the version with the secret and drop it once the key's version moves on."""
    waiting = {
        "api_id": account.api_id,
        "secret": secret,
        "action": action,
        "version": account.secret_version,
    }
    request.session[SECRET_ONCE] = sealed.seal(json.dumps(waiting), purpose=SECRET_ONCE)


@sensitive_variables("opened")
def secret_waiting(request: HttpRequest) -> dict[str, Any] | None:
    """The secret waiting for this dashboard, taken out of the session (None when it is stale)."""
    opened = sealed.unseal(request.session.pop(SECRET_ONCE, None), purpose=SECRET_ONCE)
    return json.loads(opened) if opened is not None else None


# -- the writes -----------------------------------------------------------------------------


@login_required
@require_POST
@sensitive_variables("secret")
def key_create(request: HttpRequest) -> HttpResponse:
    form = KeyNameForm(request.POST)
    if not form.is_valid():
        return refuse(request, form, "create", "new-key-title")
    try:
        account, secret = key_create_for(signed_in_user(request), form.cleaned_data["name"])
    except KeyLimitReached:
        form.add_error(
            None,
            f"You already have {settings.FACEPORTAL_PORTAL_MAX_KEYS} API keys, the most a user may have. "
            "Delete one you no longer use, or ask the operator for more.",
        )
        return refuse(request, form, "create", "new-key-title")
    secret_wait(request, account, secret, "created")
    messages.success(request, f"API key “{account.name}” created.")
    return redirect("portal:dashboard")


@sensitive_variables("secret")
def key_create_for(user: User, name: str) -> tuple[ApiAccount, str]:
    """A key with the portal's quota and the model's other defaults, within the per-user limit.
    The user's row is locked so that two simultaneous requests cannot both pass the count."""
    with transaction.atomic():
        get_user_model().objects.select_for_update().filter(pk=user.pk).first()
        if ApiAccount.objects.filter(user=user).count() >= settings.FACEPORTAL_PORTAL_MAX_KEYS:
            raise KeyLimitReached()
        return account_create(
            username=user.get_username(), name=name, quota=settings.FACEPORTAL_PORTAL_KEY_QUOTA
        )


@login_required
@require_POST
def key_rename(request: HttpRequest, api_id: str) -> HttpResponse:
    account = own_key(request, api_id)
    form = KeyNameForm(request.POST)
    if not form.is_valid():
        return refuse(request, form, f"rename:{account.api_id}", f"key-{account.api_id}")
    before = key_label(account)
    try:
        account_rename(account=account, name=form.cleaned_data["name"])
    except ValidationError as error:
        form.add_error("name", error)
        return refuse(request, form, f"rename:{account.api_id}", f"key-{account.api_id}")
    messages.success(request, f"API key “{before}” is now “{account.name}”.")
    return redirect("portal:dashboard")


@login_required
@require_POST
@sensitive_variables("secret")
def key_rotate(request: HttpRequest, api_id: str) -> HttpResponse:
    account = own_key(request, api_id)
    if account.is_revoked:
        messages.error(request, f"“{key_label(account)}” is revoked: its secret can no longer be rotated.")
        return redirect("portal:dashboard")
    form = KeyRotateForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Nothing was changed: choose how long the current secret keeps working.")
        return redirect("portal:dashboard")
    grace: timedelta = form.cleaned_data["grace"] or timedelta(0)  # not sent: ""
    secret = account_rotate_secret(account, grace=grace)
    secret_wait(request, account, secret, "rotated")
    until = account.previous_secret_works_until()
    if until is None:
        old = "the old one no longer works"
    else:
        shown = formats.date_format(timezone.localtime(until), "j M Y, H:i")
        old = f"the old one keeps working until {shown} ({timezone.get_current_timezone_name()})"
    messages.success(request, f"New secret for “{key_label(account)}”: {old}.")
    return redirect("portal:dashboard")


@login_required
@require_POST
def key_revoke(request: HttpRequest, api_id: str) -> HttpResponse:
    account = own_key(request, api_id)
    account_revoke(account=account)
    messages.success(
        request, f"API key “{key_label(account)}” revoked: every call with it is refused from now on."
    )
    return redirect("portal:dashboard")


@login_required
@require_POST
def key_delete(request: HttpRequest, api_id: str) -> HttpResponse:
    account = own_key(request, api_id)
    label = key_label(account)
    account_delete(account=account)
    messages.success(request, f"API key “{label}” deleted, with everything stored under it.")
    return redirect("portal:dashboard")

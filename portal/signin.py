"""Sign-in throttling: failed password checks counted per account and per client address in
Django's cache, a lockout that expires, and a refused attempt that costs no password hash.

Every form that checks a password goes through here: the portal's and the admin's sign-in, and
both password-change forms (the old password). Sign-up checks none but hashes the new one, so
each account made counts against its address the same way.

An attempt is counted before its password is checked, not after it failed: parallel guesses
then cannot all pass a check that none of them has yet counted (the count is one atomic
`incr`, in Redis as in local memory), and the one that goes over the limit is refused and locks.
A success gives its count back (the account's counter is cleared, the address's decremented).

Why not django-axes (maintained, and the usual answer): it brings its own app, models,
middleware and lockout page in place of our form; its check sits in an authentication backend,
which the password-change forms never call (they check the old password themselves); it finds
the client's address by django-ipware's rules rather than FACEPORTAL_TRUSTED_PROXIES; and its
cache handler, as read in its repository, counts failures after the password check with a get
then a set (parallel guesses all pass, and counts are lost between workers) and logs each
failure's username, where people also type their passwords. What this service needs of it fits
in this module.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import math
import time
from typing import Any, TypeVar

from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.admin.forms import AdminPasswordChangeForm as AdminOldPasswordChangeForm
from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http.response import HttpResponseBase

from faceportal.clientip import client_address

log = logging.getLogger("faceportal.signin")
Response = TypeVar("Response", bound=HttpResponseBase)


def _now() -> float:
    return time.time()


def _counter(kind: str, value: str) -> str:
    # Hashed: any text may be a username, and cache keys must be short and plain.
    return f"signin:{kind}:{hashlib.sha256(value.encode()).hexdigest()[:40]}"


def _bucket(address: str) -> str:
    """IPv4 addresses alone; IPv6 by /64, the block one subscriber gets, so that an attacker
    cannot get a fresh counter by picking another of its 2^64 addresses."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    return str(ipaddress.ip_network(f"{parsed}/64", strict=False)) if parsed.version == 6 else str(parsed)


def _counters(username: str | None, address: str | None) -> list[tuple[str, str, int]]:
    """(kind, cache key, failures allowed) of each counter an attempt counts on."""
    counters = []
    if username is not None:
        counters.append(("user", _counter("user", username), settings.FACEPORTAL_SIGNIN_FAILURES_PER_USER))
    if address is not None:
        limit = settings.FACEPORTAL_SIGNIN_FAILURES_PER_ADDRESS
        counters.append(("address", _counter("address", _bucket(address)), limit))
    return counters


def locked_for(*, username: str | None = None, address: str | None = None) -> int:
    """Seconds until neither the account nor the address is locked out any more (0: neither is)."""
    keys = [f"{key}:lock" for _, key, _ in _counters(username, address)]
    until = max(cache.get_many(keys).values(), default=0.0)
    return max(0, math.ceil(until - _now()))


def attempt(*, username: str | None = None, address: str | None = None) -> int:
    """Counts one password check for the account and the address: 0 when it may go ahead, else the
    seconds the lockout lasts (and nothing counted). Call `succeeded` when the password was right."""
    if wait := locked_for(username=username, address=address):
        return wait
    lockout = settings.FACEPORTAL_SIGNIN_LOCKOUT_MINUTES * 60
    counted: list[str] = []
    for kind, key, limit in _counters(username, address):
        cache.add(key, 0, lockout)  # the window starts at the first failure
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, lockout)
            count = 1
        if count > limit:
            cache.set(f"{key}:lock", _now() + lockout, lockout)
            cache.delete(key)  # counting starts afresh once the lockout is over
            for other in counted:
                _give_back(other)
            # Never the username: people type their password into that field too.
            log.warning("sign-in lockout by %s for %d minutes (from %s)", kind, lockout // 60, address or "-")
            return lockout
        counted.append(key)
    return 0


def _give_back(key: str) -> None:
    try:
        if cache.decr(key) <= 0:
            cache.delete(key)
    except ValueError:  # already expired
        pass


def succeeded(*, username: str | None = None, address: str | None = None) -> None:
    """The password was right: the account's failures are forgotten, the address's attempt given back."""
    for kind, key, _ in _counters(username, address):
        if kind == "user":
            cache.delete(key)
        else:
            _give_back(key)


def unlock(*, username: str | None = None, address: str | None = None) -> None:
    """Lifts the lockouts and forgets the failures of an account or an address (the operator's
    `signin_unlock` command: anyone who knows a username can lock its owner out for a while)."""
    for _, key, _ in _counters(username, address):
        cache.delete_many([key, f"{key}:lock"])


def lockout_message(seconds: int, what: str = "failed sign-ins") -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return f"Too many {what}; try again in {minutes} minute{'s' if minutes != 1 else ''}."


def refusal_status(response: Response) -> Response:
    """429 with Retry-After for a page whose form was refused by a lockout (Django's auth views
    answer 200 for any invalid form)."""
    context = getattr(response, "context_data", None) or {}
    wait = getattr(context.get("form"), "lockout_seconds", 0)
    if wait:
        response.status_code = 429
        response["Retry-After"] = str(wait)
    return response


class SignInForm(AuthenticationForm):
    lockout_seconds = 0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Said next to each field (templates/portal/form_fields.html), in place of Django's
        # "This field is required." twice.
        self.fields["username"].error_messages["required"] = "Enter your username."
        self.fields["password"].error_messages["required"] = "Enter your password."

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username")
        if username is None or not self.cleaned_data.get("password"):
            return super().clean()  # nothing is checked, nothing counted
        address = client_address(self.request) if self.request is not None else None
        if wait := attempt(username=username, address=address):
            self.lockout_seconds = wait
            raise ValidationError(lockout_message(wait), code="locked_out")
        cleaned = super().clean()  # a wrong password raises here and stays counted
        succeeded(username=username, address=address)
        return cleaned


class AdminSignInForm(SignInForm, AdminAuthenticationForm):
    pass


class OldPasswordChangeForm(PasswordChangeForm):
    """The old password is a password check like a sign-in, counted against the account: a stolen
    session must not become a way to guess it."""

    lockout_seconds = 0

    def clean_old_password(self) -> str:
        username = self.user.get_username()
        if wait := attempt(username=username):
            self.lockout_seconds = wait
            raise ValidationError(lockout_message(wait, "wrong passwords"), code="locked_out")
        old_password: str = super().clean_old_password()
        succeeded(username=username)
        return old_password


class AdminOldPasswordForm(OldPasswordChangeForm, AdminOldPasswordChangeForm):
    pass

"""Secrets that wait in the session for the page that shows them, encrypted and short-lived.

A new or rotated key's secret is shown once, on the next page (the portal's dashboard, the
admin's message), so it waits in the server-side session until then. Django signs session data
but does not encrypt it: a database dump, a backup or a replica would hold the secret in clear
for the session's life (two weeks) whenever that page is never loaded. Sealed, it is Fernet
(AES-128-CBC with HMAC-SHA256) under a key derived from SECRET_KEY, stamped with its time, and
opens only within MAX_AGE: a stale one is worth nothing even to someone who has SECRET_KEY.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Sequence
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from django.contrib.messages.storage.base import Message
from django.contrib.messages.storage.session import SessionStorage
from django.utils.crypto import salted_hmac

MAX_AGE = 10 * 60  # seconds: long enough to follow a redirect, short beside a session's life


def _now() -> int:
    return int(time.time())


def _fernet(purpose: str) -> Fernet:
    # One key per purpose, so that a value sealed for one use cannot be opened as another.
    digest = salted_hmac(f"portal.sealed.{purpose}", "fernet key", algorithm="sha256").digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def seal(text: str, *, purpose: str) -> str:
    return _fernet(purpose).encrypt_at_time(text.encode(), _now()).decode()


def unseal(token: object, *, purpose: str, max_age: int = MAX_AGE) -> str | None:
    """The sealed text, or None when it is stale, altered, sealed for another purpose or no token."""
    if not isinstance(token, str):
        return None
    try:
        return _fernet(purpose).decrypt_at_time(token.encode(), max_age, _now()).decode()
    except InvalidToken:
        return None


class SealedSessionStorage(SessionStorage):
    """Django's session message storage, its messages sealed: the admin shows a new secret in a
    message, which waits in the session until the next admin page is loaded."""

    def serialize_messages(self, messages: Sequence[Message]) -> str:
        return seal(super().serialize_messages(messages), purpose="messages")

    def deserialize_messages(self, data: list[Any] | str | None) -> list[Any] | None:
        return super().deserialize_messages(unseal(data, purpose="messages"))

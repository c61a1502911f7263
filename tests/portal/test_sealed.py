"""A new secret waiting in the session (for the dashboard, or in an admin message) is never in
clear in the session table, and is gone once it is ten minutes old."""

from __future__ import annotations

import json
import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.test import Client

from accounts.models import ApiAccount
from accounts.services import account_create, hash_secret
from portal import sealed
from portal.dashboard import SECRET_ONCE

DASHBOARD = "/portal/"
NEW_SECRET = re.compile(r'<code class="copyable" id="new-secret">([^<]+)</code>')
ADMIN_SECRET = re.compile(r"Secret for [0-9a-f]{32}: ([\w-]+) — shown once")


def signed_in(username: str, *, staff: bool = False) -> Client:
    make = get_user_model().objects.create_superuser if staff else get_user_model().objects.create_user
    client = Client()
    client.force_login(make(username=username, password="a long passphrase 7"))
    return client


def stored_session(client: Client) -> tuple[str, str]:
    """The session's row as the database holds it, and its signed payload decoded."""
    row = Session.objects.get(session_key=client.session.session_key)
    return row.session_data, json.dumps(row.get_decoded())


def shown(pattern: re.Pattern[str], page: str) -> str:
    found = pattern.search(page)
    assert found, "no secret on the page"
    return found.group(1)


@pytest.mark.django_db
@pytest.mark.parametrize("action", ["create", "rotate"])
def test_a_new_secret_is_not_in_clear_in_the_session_table(action: str) -> None:
    alice = signed_in("alice")
    if action == "create":
        assert alice.post("/portal/keys/new/", {"name": "app"}).status_code == 302
    else:
        account, _ = account_create(username="alice", name="app")
        assert alice.post(f"/portal/keys/{account.api_id}/rotate/").status_code == 302
    raw, decoded = stored_session(alice)

    secret = shown(NEW_SECRET, alice.get(DASHBOARD).content.decode())

    assert hash_secret(secret) == ApiAccount.objects.get().secret_hash
    assert SECRET_ONCE in decoded  # it is there, waiting: sealed
    assert secret not in raw and secret not in decoded


@pytest.mark.django_db
def test_a_secret_older_than_ten_minutes_is_never_shown_and_is_gone(monkeypatch: pytest.MonkeyPatch) -> None:
    alice = signed_in("alice")
    alice.post("/portal/keys/new/", {"name": "app"})
    written = sealed._now()
    monkeypatch.setattr(sealed, "_now", lambda: written + sealed.MAX_AGE + 1)

    page = alice.get(DASHBOARD).content.decode()

    assert 'id="new-secret"' not in page and "it will not be shown again" not in page
    assert SECRET_ONCE not in alice.session
    assert SECRET_ONCE not in stored_session(alice)[1]


@pytest.mark.django_db
def test_a_secret_younger_than_ten_minutes_is_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    alice = signed_in("alice")
    alice.post("/portal/keys/new/", {"name": "app"})
    written = sealed._now()
    monkeypatch.setattr(sealed, "_now", lambda: written + sealed.MAX_AGE - 5)
    assert 'id="new-secret"' in alice.get(DASHBOARD).content.decode()


@pytest.mark.django_db
def test_a_secret_planted_in_clear_or_sealed_for_another_use_is_not_shown() -> None:
    alice = signed_in("alice")
    account, _ = account_create(username="alice", name="app")
    waiting = {"api_id": account.api_id, "secret": "planted", "action": "rotated"}
    for value in (waiting, json.dumps(waiting), sealed.seal(json.dumps(waiting), purpose="messages")):
        session = alice.session
        session[SECRET_ONCE] = value
        session.save()
        assert "planted" not in alice.get(DASHBOARD).content.decode()


@pytest.mark.django_db
def test_the_admins_secret_message_is_not_in_clear_in_the_session_table(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    operator = signed_in("operator", staff=True)
    customer = get_user_model().objects.create_user("customer")
    form = {"user": customer.pk, "name": "app", "is_active": "on", "endpoints": ["detect"]}
    form |= {"rate_limit": "5", "concurrency_limit": "2", "quota_limit": "100"}
    added = operator.post("/admin/accounts/apiaccount/add/", form)
    assert added.status_code == 302, added.content.decode()[-2000:]
    raw, decoded = stored_session(operator)

    secret = shown(ADMIN_SECRET, operator.get(added["Location"]).content.decode())

    assert hash_secret(secret) == ApiAccount.objects.get().secret_hash
    assert secret not in raw and secret not in decoded


@pytest.mark.django_db
def test_a_stale_admin_message_is_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    operator = signed_in("operator", staff=True)
    account, _ = account_create(username="operator", name="app")
    form = {"action": "rotate_secret", "_selected_action": [account.pk], "confirmed": "yes"}
    assert operator.post("/admin/accounts/apiaccount/", form).status_code == 302
    written = sealed._now()
    monkeypatch.setattr(sealed, "_now", lambda: written + sealed.MAX_AGE + 1)

    page = operator.get("/admin/accounts/apiaccount/").content.decode()

    assert "Secret for" not in page


def test_sealing_round_trips_and_refuses_anything_else() -> None:
    token = sealed.seal("hello", purpose="a")
    assert "hello" not in token and sealed.unseal(token, purpose="a") == "hello"
    assert sealed.unseal(token, purpose="b") is None
    assert sealed.unseal(token[:-4] + "AAAA", purpose="a") is None
    assert sealed.unseal({"not": "a token"}, purpose="a") is None
    assert sealed.unseal(None, purpose="a") is None

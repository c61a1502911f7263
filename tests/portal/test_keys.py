"""A user's own key lifecycle on the dashboard (portal/keys.py): rename, revoke, delete, and a
rotation whose old secret keeps working for the grace period chosen, as the API sees it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import ApiAccount, ApiCall
from accounts.services import account_create, hash_secret
from tests.portal.helpers import new_user_signed_in

DASHBOARD = "/portal/"
DETECT = "/faceid/v1/detect"
COMPARE = "/identity/compare_faces_in_two_images"


def key_of(username: str, name: str = "server") -> tuple[ApiAccount, str]:
    return account_create(username=username, name=name)


def action(api_id: str, name: str) -> str:
    return f"/portal/keys/{api_id}/{name}/"


def detect_error(api_id: str, secret: str) -> str | None:
    """The FaceID family's error for a detect with no image: authentication comes first, so a
    key that opens gets MISSING_ARGUMENTS; one refused gets AUTHORIZATION_ERROR."""
    response = Client().post(DETECT, {"api_key": api_id, "api_secret": secret})
    body = response.json()
    return str(body.get("error")) if response.status_code != 200 else None


def opens(api_id: str, secret: str) -> bool:
    """Whether the LinkFace API takes the key (it then refuses the missing images, 400)."""
    response = Client().post(COMPARE, {"api_id": api_id, "api_secret": secret})
    assert response.json()["status"] in {"INVALID_ARGUMENT", "UNAUTHORIZED"}
    return response.status_code == 400


def messages_after(response: Any) -> list[str]:
    return [str(message) for message in response.context["messages"]]


class Clock:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = timezone.now()
        monkeypatch.setattr(timezone, "now", lambda: self.now)

    def advance(self, delta: timedelta) -> None:
        self.now += delta


# -- access --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["rename", "revoke", "delete"])
def test_the_lifecycle_writes_need_sign_in_post_and_csrf(db: None, name: str) -> None:
    client = new_user_signed_in("alice", enforce_csrf_checks=True)
    account, _ = key_of("alice")
    path = action(account.api_id, name)

    assert Client().post(path, {"name": "x"})["Location"].startswith("/portal/login/?next=")
    assert client.get(path).status_code == 405
    assert client.post(path, {"name": "x"}).status_code == 403

    stored = ApiAccount.objects.get()
    assert (stored.name, stored.revoked_at) == ("server", None)


@pytest.mark.parametrize("name", ["rename", "revoke", "delete", "rotate"])
def test_another_users_key_answers_404_and_stays_as_it_was(alice: Client, bob: Client, name: str) -> None:
    account, secret = key_of("alice", "alice-private")

    response = bob.post(action(account.api_id, name), {"name": "taken", "grace": "3600"})

    assert response.status_code == 404
    assert account.api_id not in response.content.decode()
    stored = ApiAccount.objects.get()
    assert (stored.name, stored.revoked_at, stored.secret_hash) == (
        "alice-private",
        None,
        hash_secret(secret),
    )
    assert stored.secret_version == 1


# -- rename --------------------------------------------------------------------------------


def test_a_key_is_renamed(alice: Client) -> None:
    account, secret = key_of("alice")

    response = alice.post(action(account.api_id, "rename"), {"name": "  checkout  "}, follow=True)

    assert response.redirect_chain == [(DASHBOARD, 302)]
    assert ApiAccount.objects.get().name == "checkout"
    assert "API key “server” is now “checkout”." in messages_after(response)
    assert opens(account.api_id, secret)


def test_an_empty_new_name_is_shown_on_its_card_and_changes_nothing(alice: Client) -> None:
    account, _ = key_of("alice")

    response = alice.post(action(account.api_id, "rename"), {"name": " "}, follow=True)

    assert response.redirect_chain == [(f"{DASHBOARD}#key-{account.api_id}", 302)]
    page = response.content.decode()
    field_id = f"rename-{account.api_id}-name"
    assert '<details class="key-action rename" open>' in page
    assert f'id="{field_id}_error"><p>Give the key a name.</p>' in page
    assert f'aria-describedby="{field_id}_helptext {field_id}_error"' in page
    assert 'aria-invalid="true"' in page
    assert ApiAccount.objects.get().name == "server"
    # Reloading the dashboard sends nothing and shows no error.
    again = alice.get(DASHBOARD).content.decode()
    assert "Give the key a name." not in again and 'aria-invalid="true"' not in again


# -- revoke --------------------------------------------------------------------------------


def test_a_revoked_key_gets_the_apis_authorization_error(alice: Client) -> None:
    account, secret = key_of("alice")
    assert detect_error(account.api_id, secret) == "MISSING_ARGUMENTS:image"

    response = alice.post(action(account.api_id, "revoke"), follow=True)

    assert detect_error(account.api_id, secret) == "AUTHORIZATION_ERROR"
    assert not opens(account.api_id, secret)
    assert "API key “server” revoked: every call with it is refused from now on." in messages_after(response)
    page = response.content.decode()
    assert "Revoked — calls refused" in page
    assert action(account.api_id, "rotate") not in page  # a revoked key is not rotated again
    assert action(account.api_id, "delete") in page


def test_a_revoked_key_cannot_be_rotated_back_to_life(alice: Client) -> None:
    account, _ = key_of("alice")
    alice.post(action(account.api_id, "revoke"))

    response = alice.post(action(account.api_id, "rotate"), follow=True)

    assert "“server” is revoked: its secret can no longer be rotated." in messages_after(response)
    assert ApiAccount.objects.get().secret_version == 1
    assert "new-secret" not in response.content.decode()


# -- delete --------------------------------------------------------------------------------


def test_deleting_a_key_frees_its_place_under_the_cap(alice: Client, settings: Any) -> None:
    settings.FACEPORTAL_PORTAL_MAX_KEYS = 1
    account, secret = key_of("alice")
    ApiCall.objects.create(
        account=account, endpoint="detect", request_id="r1", status="OK", http_status=200, latency_ms=1.0
    )
    assert "the most a user may have" in alice.get(DASHBOARD).content.decode()

    response = alice.post(action(account.api_id, "delete"), follow=True)

    assert "API key “server” deleted, with everything stored under it." in messages_after(response)
    assert not ApiAccount.objects.exists()
    assert ApiCall.objects.get().account_id is None
    assert not opens(account.api_id, secret)
    assert alice.post("/portal/keys/new/", {"name": "fresh"}).status_code == 302
    assert ApiAccount.objects.get().name == "fresh"


# -- rotation with a grace period ----------------------------------------------------------


def test_the_old_secret_works_through_the_grace_then_stops(
    alice: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    account, old = key_of("alice")
    clock = Clock(monkeypatch)

    response = alice.post(action(account.api_id, "rotate"), {"grace": "3600"}, follow=True)

    new = response.context["secret_once"]["secret"]
    assert response.context["secret_once"]["version"] == 2
    until = timezone.localtime(clock.now + timedelta(hours=1))
    assert any(
        f"the old one keeps working until {until:%-d %b %Y, %H:%M}" in text
        for text in messages_after(response)
    )
    assert "The previous secret still works until" in response.content.decode()
    assert opens(account.api_id, old) and opens(account.api_id, new)
    clock.advance(timedelta(minutes=59))
    assert opens(account.api_id, old)
    clock.advance(timedelta(minutes=1))
    assert not opens(account.api_id, old)
    assert detect_error(account.api_id, old) == "AUTHORIZATION_ERROR"
    assert opens(account.api_id, new)
    assert "The previous secret still works until" not in alice.get(DASHBOARD).content.decode()


def test_rotating_at_once_is_the_default(alice: Client) -> None:
    account, old = key_of("alice")

    response = alice.post(action(account.api_id, "rotate"), follow=True)

    assert any("the old one no longer works" in text for text in messages_after(response))
    assert not opens(account.api_id, old)
    assert ApiAccount.objects.get().previous_secret_hash == ""


@pytest.mark.parametrize("grace", ["604801", "-1", "soon", "1209600"])
def test_a_grace_not_offered_is_refused_and_nothing_changes(alice: Client, grace: str) -> None:
    account, old = key_of("alice")

    response = alice.post(action(account.api_id, "rotate"), {"grace": grace}, follow=True)

    assert "Nothing was changed: choose how long the current secret keeps working." in messages_after(
        response
    )
    stored = ApiAccount.objects.get()
    assert stored.secret_hash == hash_secret(old) and stored.secret_version == 1
    assert "new-secret" not in response.content.decode()


def test_the_rotate_form_offers_the_grace_periods(alice: Client) -> None:
    account, _ = key_of("alice")

    page = alice.get(DASHBOARD).content.decode()

    for value, label in [
        ("0", "Stops at once"),
        ("3600", "Keeps working for 1 hour"),
        ("86400", "Keeps working for 24 hours"),
        ("604800", "Keeps working for 7 days"),
    ]:
        assert f'<option value="{value}"' in page and label in page
    assert f'data-api-id="{account.api_id}" data-secret-version="1"' in page

"""Sign-in, sign-out, password change and sign-up; every portal page behind sign-in."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

PASSWORD = "a long test passphrase 7"

# Every portal page that needs a signed-in user, with example arguments.
PRIVATE_PAGES = [
    ("portal:dashboard", {}),
    ("portal:key_create", {}),
    ("portal:key_rotate", {"api_id": "0" * 32}),
    ("portal:key_rename", {"api_id": "0" * 32}),
    ("portal:key_revoke", {"api_id": "0" * 32}),
    ("portal:key_delete", {"api_id": "0" * 32}),
    ("portal:call_list", {}),
    ("portal:call_detail", {"request_id": "TID" + "0" * 32}),
    ("portal:image_thumbnail", {"image_id": "0" * 32}),
    ("portal:try_detect", {}),
    ("portal:try_compare", {}),
    ("portal:try_mask", {}),
    ("portal:try_liveness", {}),
    ("portal:password_change", {}),
]


@pytest.fixture
def user(db: None) -> Any:
    return get_user_model().objects.create_user(username="ada", password=PASSWORD)


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "kwargs"), PRIVATE_PAGES)
def test_every_portal_page_sends_strangers_to_sign_in(
    client: Client, name: str, kwargs: dict[str, str]
) -> None:
    url = reverse(name, kwargs=kwargs)
    for method in (client.get, client.post):
        response = method(url)
        assert response.status_code == 302
        assert response["Location"] == f"{reverse('portal:login')}?next={url}"


def test_signing_in_leads_to_the_dashboard(client: Client, user: Any) -> None:
    page = client.get(reverse("portal:login"))
    assert page.status_code == 200 and b'name="csrfmiddlewaretoken"' in page.content
    response = client.post(reverse("portal:login"), {"username": "ada", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == reverse("portal:dashboard")
    # Signed in, the sign-in page sends the user on.
    assert client.get(reverse("portal:login")).status_code == 302


def test_a_wrong_password_is_refused_with_a_message(client: Client, user: Any) -> None:
    response = client.post(reverse("portal:login"), {"username": "ada", "password": "wrong"})
    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content
    assert "_auth_user_id" not in client.session


def test_sign_in_only_follows_local_next_urls(client: Client, user: Any) -> None:
    response = client.post(
        reverse("portal:login") + "?next=https://evil.example/",
        {"username": "ada", "password": PASSWORD, "next": "https://evil.example/"},
    )
    assert response.status_code == 302 and response["Location"] == reverse("portal:dashboard")


def test_sign_in_needs_the_csrf_token(user: Any) -> None:
    strict = Client(enforce_csrf_checks=True)
    response = strict.post(reverse("portal:login"), {"username": "ada", "password": PASSWORD})
    assert response.status_code == 403


def test_signing_out_takes_a_post(client: Client, user: Any) -> None:
    client.force_login(user)
    assert client.get(reverse("portal:logout")).status_code == 405
    assert "_auth_user_id" in client.session
    response = client.post(reverse("portal:logout"))
    assert response.status_code == 302 and response["Location"] == reverse("portal:login")
    assert "_auth_user_id" not in client.session


def test_the_password_can_be_changed(client: Client, user: Any) -> None:
    client.force_login(user)
    page = client.get(reverse("portal:password_change"))
    assert page.status_code == 200 and b"Old password" in page.content
    refused = client.post(
        reverse("portal:password_change"),
        {"old_password": "wrong", "new_password1": "x", "new_password2": "x"},
    )
    assert refused.status_code == 200 and b"Your old password was entered incorrectly" in refused.content
    new = "another long passphrase 9"
    response = client.post(
        reverse("portal:password_change"),
        {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
    )
    assert response.status_code == 302 and response["Location"] == reverse("portal:dashboard")
    user.refresh_from_db()
    assert user.check_password(new)
    # The session survives its own password change.
    assert "_auth_user_id" in client.session


@pytest.mark.django_db
def test_sign_up_is_closed_unless_the_operator_opens_it(client: Client, settings: Any) -> None:
    settings.FACEPORTAL_SIGNUP = False
    assert client.get(reverse("portal:signup")).status_code == 404
    assert b"/portal/signup/" not in client.get(reverse("portal:login")).content
    form = {"username": "grace", "password1": PASSWORD, "password2": PASSWORD}
    assert client.post(reverse("portal:signup"), form).status_code == 404
    assert not get_user_model().objects.filter(username="grace").exists()


@pytest.mark.django_db
def test_open_sign_up_creates_a_signed_in_user(client: Client, settings: Any) -> None:
    settings.FACEPORTAL_SIGNUP = True
    assert b"/portal/signup/" in client.get(reverse("portal:login")).content
    mismatch = {"username": "grace", "password1": PASSWORD, "password2": PASSWORD + "x"}
    assert client.post(reverse("portal:signup"), mismatch).status_code == 200
    assert not get_user_model().objects.filter(username="grace").exists()
    form = {"username": "grace", "password1": PASSWORD, "password2": PASSWORD}
    response = client.post(reverse("portal:signup"), form)
    assert response.status_code == 302 and response["Location"] == reverse("portal:dashboard")
    created = get_user_model().objects.get(username="grace")
    assert not created.is_staff and str(created.pk) == client.session["_auth_user_id"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("x7", "too short"),
        ("password123", "too common"),
        ("8675309241", "entirely numeric"),
        ("grace-grace1", "too similar"),
    ],
)
def test_sign_up_refuses_weak_passwords(client: Client, settings: Any, password: str, why: str) -> None:
    settings.FACEPORTAL_SIGNUP = True
    form = {"username": "grace-grace", "password1": password, "password2": password}
    response = client.post(reverse("portal:signup"), form)
    assert response.status_code == 200 and why in response.content.decode()
    assert not get_user_model().objects.filter(username="grace-grace").exists()

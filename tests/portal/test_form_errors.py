"""Refused forms say what is wrong, at the top and next to each field, in a way a screen reader
reads with the field (aria-describedby, aria-invalid): sign-in, sign-up, password change, and
the new-key form, which comes back through a redirect so that a reload sends nothing again."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from accounts.models import ApiAccount
from tests.portal.forms_html import parse

PASSWORD = "a long test passphrase 7"


@pytest.fixture
def user(db: None) -> Any:
    return get_user_model().objects.create_user(username="ada", password=PASSWORD)


def test_an_empty_sign_in_says_what_each_field_needs(client: Client, user: Any) -> None:
    response = client.post(reverse("portal:login"), {"username": "", "password": ""})

    assert response.status_code == 200 and "_auth_user_id" not in client.session
    page = parse(response.content.decode())
    assert page.described_by("id_username") == ["Enter your username."]
    assert page.described_by("id_password") == ["Enter your password."]
    assert page.invalid() == ["id_username", "id_password"]
    assert page.alerts() == [
        "Correct these 2 fields: Username: Enter your username. Password: Enter your password."
    ]
    assert page.by_id["id_errors"].attrs["role"] == "alert"
    links = [
        element.attrs["href"] for element in page.elements if element.tag == "a" and "href" in element.attrs
    ]
    assert "#id_username" in links and "#id_password" in links


def test_a_sign_in_with_only_the_username_keeps_it_and_asks_for_the_password(
    client: Client, user: Any
) -> None:
    response = client.post(reverse("portal:login"), {"username": "ada", "password": ""})

    page = parse(response.content.decode())
    assert page.by_id["id_username"].attrs["value"] == "ada"
    assert page.invalid() == ["id_password"]
    assert page.described_by("id_password") == ["Enter your password."]
    assert page.alerts() == ["Correct this field: Password: Enter your password."]


def test_a_wrong_password_is_a_form_error_not_a_field_one(client: Client, user: Any) -> None:
    response = client.post(reverse("portal:login"), {"username": "ada", "password": "wrong"})

    page = parse(response.content.decode())
    assert page.invalid() == []
    [alert] = page.alerts()
    assert alert.startswith("Please enter a correct username and password.")
    # Not refused: the fields stay as the browser offers them.
    assert page.by_id["id_username"].attrs["autocomplete"] == "username"
    assert page.by_id["id_password"].attrs["autocomplete"] == "current-password"


def test_a_fresh_sign_in_page_shows_no_error(client: Client, db: None) -> None:
    page = parse(client.get(reverse("portal:login")).content.decode())

    assert page.alerts() == [] and page.invalid() == []
    assert "aria-describedby" not in page.by_id["id_username"].attrs


def test_sign_up_errors_are_next_to_their_fields(client: Client, settings: Any, db: None) -> None:
    settings.FACEPORTAL_SIGNUP = True

    response = client.post(reverse("portal:signup"), {"username": "", "password1": "x", "password2": "y"})

    page = parse(response.content.decode())
    assert page.invalid() == ["id_username", "id_password2"]
    assert page.described_by("id_username")[-1] == "This field is required."
    assert (
        page.described_by("id_password2")[-1]
        == "The two password fields didn\N{RIGHT SINGLE QUOTATION MARK}t match."
    )
    [alert] = page.alerts()
    assert alert.startswith("Correct these 2 fields: Username: This field is required.")
    assert not get_user_model().objects.exists()


def test_password_change_errors_are_next_to_their_fields(client: Client, user: Any) -> None:
    client.force_login(user)

    response = client.post(
        reverse("portal:password_change"), {"old_password": "wrong", "new_password1": "", "new_password2": ""}
    )

    page = parse(response.content.decode())
    assert page.invalid() == ["id_old_password", "id_new_password1", "id_new_password2"]
    assert page.described_by("id_old_password") == [
        "Your old password was entered incorrectly. Please enter it again."
    ]
    assert page.described_by("id_new_password2") == [
        "Enter the same password as before, for verification.",
        "This field is required.",
    ]
    [alert] = page.alerts()
    assert alert.startswith(
        "Correct these 3 fields: Old password: Your old password was entered incorrectly."
    )
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


# -- the new-key form: reload-safe ---------------------------------------------------------


def test_an_empty_key_name_redirects_to_the_form_with_its_error(client: Client, user: Any) -> None:
    client.force_login(user)

    response = client.post(reverse("portal:key_create"), {"name": "   "})

    # A redirect, not a page: reloading what the browser shows next sends nothing again.
    assert response.status_code == 302 and response["Location"] == "/portal/#new-key-title"
    shown = client.get(response["Location"])
    assert shown.status_code == 200 and "no-store" in shown["Cache-Control"]
    page = parse(shown.content.decode())
    assert page.invalid() == ["id_name"]
    assert page.described_by("id_name") == [
        "For your own use, e.g. “staging server”.",
        "Give the key a name.",
    ]
    assert "Correct this field: Name: Give the key a name." in page.alerts()
    messages = [str(message) for message in shown.context["messages"]]
    assert messages == ["Nothing was changed: correct the form below."]
    assert not ApiAccount.objects.exists()
    # A reload: the same GET, now with nothing to show.
    again = parse(client.get("/portal/").content.decode())
    assert again.invalid() == [] and again.alerts() == []


def test_a_name_too_long_comes_back_as_typed(client: Client, user: Any) -> None:
    client.force_login(user)
    name = "n" * 101

    response = client.post(reverse("portal:key_create"), {"name": name}, follow=True)

    page = parse(response.content.decode())
    assert page.by_id["id_name"].attrs["value"] == name
    assert page.described_by("id_name")[-1] == "Keep the name to 100 characters (it has 101)."
    assert not ApiAccount.objects.exists()


def test_the_key_limit_is_said_at_the_top_of_the_form(client: Client, user: Any, settings: Any) -> None:
    settings.FACEPORTAL_PORTAL_MAX_KEYS = 1
    client.force_login(user)
    assert client.post(reverse("portal:key_create"), {"name": "one"}).status_code == 302
    client.get("/portal/")  # the secret shown once

    response = client.post(reverse("portal:key_create"), {"name": "two"}, follow=True)

    page = parse(response.content.decode())
    assert any(alert.startswith("You already have 1 API keys") for alert in page.alerts())
    assert list(ApiAccount.objects.values_list("name", flat=True)) == ["one"]

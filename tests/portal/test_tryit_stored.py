"""The try-it pages' stored-image picker (portal/tryit_stored.py): the picked key's images,
newest first, a page at a time, never another account's, never for another user's key."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import ApiAccount
from accounts.services import account_create
from portal.tryit_stored import PER_PAGE
from resources.models import StoredImage

URL = reverse("portal:try_stored_images")


def stored(account: ApiAccount, age_minutes: int = 0) -> StoredImage:
    image = StoredImage.objects.create(
        account=account,
        file=f"images/test/{account.api_id}-{age_minutes}.png",
        sha256="0" * 64,
        format="PNG",
        width=800,
        height=600,
        size=1234,
        source="file",
    )
    StoredImage.objects.filter(pk=image.pk).update(created_at=timezone.now() - timedelta(minutes=age_minutes))
    return image


def listing(client: Client, account: ApiAccount, page: int | str = 1) -> dict[str, Any]:
    response = client.get(URL, {"api_id": account.api_id, "page": page})
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    return dict(response.json())


def signed_in(client: Client, username: str) -> Client:
    client.force_login(get_user_model().objects.get(username=username))
    return client


@pytest.mark.django_db
def test_the_keys_images_newest_first_with_their_thumbnails(client: Client) -> None:
    alice, _ = account_create(username="alice")
    images = [stored(alice, age) for age in range(3)]
    body = listing(signed_in(client, "alice"), alice)
    assert [item["id"] for item in body["images"]] == [image.id for image in images]
    first = body["images"][0]
    assert first["thumbnail"] == reverse("portal:image_thumbnail", args=[images[0].id])
    assert (first["width"], first["height"], first["api_id"]) == (800, 600, alice.api_id)
    assert (body["page"], body["pages"], body["total"]) == (1, 1, 3)


@pytest.mark.django_db
def test_another_accounts_images_are_never_listed(client: Client) -> None:
    alice, _ = account_create(username="alice")
    other_key_of_alice, _ = account_create(username="alice", name="second")
    bob, _ = account_create(username="bob")
    own = stored(alice)
    stored(other_key_of_alice)
    foreign = stored(bob)
    body = listing(signed_in(client, "alice"), alice)
    assert [item["id"] for item in body["images"]] == [own.id]  # ids are scoped to the key
    assert foreign.id not in str(body)


@pytest.mark.django_db
def test_another_users_key_is_not_found_like_an_unknown_one(client: Client) -> None:
    account_create(username="alice")
    bob, _ = account_create(username="bob")
    stored(bob)
    signed_in(client, "alice")
    for api_id in (bob.api_id, "0" * 32, ""):
        response = client.get(URL, {"api_id": api_id})
        assert response.status_code == 404
        assert bob.api_id not in response.content.decode()


@pytest.mark.django_db
def test_pages_of_twelve_and_a_bad_page_number_gives_a_real_page(client: Client) -> None:
    alice, _ = account_create(username="alice")
    images = [stored(alice, age) for age in range(PER_PAGE + 3)]
    signed_in(client, "alice")
    second = listing(client, alice, 2)
    assert [item["id"] for item in second["images"]] == [image.id for image in images[PER_PAGE:]]
    assert (second["page"], second["pages"], second["total"]) == (2, 2, PER_PAGE + 3)
    assert listing(client, alice, 99)["page"] == 2
    assert listing(client, alice, "x")["page"] == 1


@pytest.mark.django_db
def test_an_anonymous_visitor_is_sent_to_sign_in(client: Client) -> None:
    alice, _ = account_create(username="alice")
    response = client.get(URL, {"api_id": alice.api_id})
    assert response.status_code == 302 and response["Location"].startswith(reverse("portal:login"))

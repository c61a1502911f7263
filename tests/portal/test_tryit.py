"""The try-it pages as the server renders them: sign-in, only the user's own keys, stored images
and liveness packages, the empty state, and nothing that could carry a secret off the page.
What the pages do in a browser is tests/browser/test_portal_tryit.py."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import ApiAccount, Endpoint
from accounts.services import account_create
from faceengine.liveness import CUES
from portal.tryit import CUE_MEANINGS
from resources.models import LivenessChallenge, LivenessData, StoredImage

PAGES = ("try_detect", "try_compare", "try_mask", "try_liveness")
PAGES_WITH_IMAGES = ("try_compare", "try_mask", "try_liveness")


def signed_in(client: Client, username: str) -> Client:
    user, _ = get_user_model().objects.get_or_create(username=username)
    client.force_login(user)
    return client


def stored_image(account: ApiAccount, width: int = 640, height: int = 480) -> StoredImage:
    # Rows only: the pages list images, they never open their files.
    return StoredImage.objects.create(
        account=account,
        file=f"images/test/{account.api_id}.png",
        sha256="0" * 64,
        format="PNG",
        width=width,
        height=height,
        size=1234,
        source="file",
    )


def liveness_package(account: ApiAccount) -> LivenessData:
    challenge = LivenessChallenge.objects.create(
        account=account, actions=["blink", "turn_left"], expires_at=timezone.now() + timedelta(minutes=5)
    )
    return LivenessData.objects.create(
        account=account,
        challenge=challenge,
        file="liveness/test.fplv",
        sha256="0" * 64,
        size=99,
        frames=12,
        source="file",
    )


def page(client: Client, name: str, **query: str) -> str:
    response = client.get(reverse(f"portal:{name}"), query)
    assert response.status_code == 200
    return str(response.content.decode())


def embedded_json(html: str, element_id: str) -> Any:
    found = re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>', html, re.S)
    return json.loads(found.group(1)) if found else []


def offered_keys(html: str) -> list[str]:
    select = re.search(r'<select id="try-api-id".*?</select>', html, re.S)
    assert select, "no key picker on the page"
    return re.findall(r'<option value="([0-9a-f]{32})"', select.group(0))


@pytest.mark.django_db
@pytest.mark.parametrize("name", PAGES)
def test_each_page_sends_an_anonymous_visitor_to_sign_in(client: Client, name: str) -> None:
    url = reverse(f"portal:{name}")
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('portal:login')}?next={url}"


@pytest.mark.django_db
@pytest.mark.parametrize("name", PAGES)
def test_the_key_picker_offers_only_the_users_own_keys(client: Client, name: str) -> None:
    mine = [account_create(username="alice", name=f"alice {n}")[0] for n in range(2)]
    theirs, _ = account_create(username="bob", name="bob key")
    html = page(signed_in(client, "alice"), name)
    assert sorted(offered_keys(html)) == sorted(account.api_id for account in mine)
    assert theirs.api_id not in html and "bob key" not in html


@pytest.mark.django_db
@pytest.mark.parametrize("name", PAGES_WITH_IMAGES)
def test_only_the_users_own_stored_images_are_offered(client: Client, name: str) -> None:
    alice, _ = account_create(username="alice")
    bob, _ = account_create(username="bob")
    own = stored_image(alice, 512, 600)
    foreign = stored_image(bob)
    html = page(signed_in(client, "alice"), name)
    offered = embedded_json(html, "try-stored-images")
    assert [(item["id"], item["api_id"], item["width"], item["height"]) for item in offered] == [
        (own.id, alice.api_id, 512, 600)
    ]
    assert foreign.id not in html


@pytest.mark.django_db
def test_only_the_users_own_liveness_packages_are_offered(client: Client) -> None:
    alice, _ = account_create(username="alice")
    bob, _ = account_create(username="bob")
    own = liveness_package(alice)
    foreign = liveness_package(bob)
    html = page(signed_in(client, "alice"), "try_liveness")
    assert [item["id"] for item in embedded_json(html, "try-packages")] == [own.id]
    assert foreign.id not in html


@pytest.mark.django_db
def test_stored_images_offered_are_the_most_recent_thirty(client: Client) -> None:
    alice, _ = account_create(username="alice")
    images = [stored_image(alice) for _ in range(32)]
    for age, image in enumerate(images):
        StoredImage.objects.filter(pk=image.pk).update(created_at=timezone.now() - timedelta(minutes=age))
    offered = embedded_json(page(signed_in(client, "alice"), "try_compare"), "try-stored-images")
    assert [item["id"] for item in offered] == [image.id for image in images[:30]]


@pytest.mark.django_db
@pytest.mark.parametrize("name", PAGES)
def test_without_keys_the_page_says_so_and_links_the_dashboard(client: Client, name: str) -> None:
    get_user_model().objects.create_user(username="newcomer")
    html = page(signed_in(client, "newcomer"), name)
    assert "You have no API key yet." in html
    assert f'href="{reverse("portal:dashboard")}"' in html
    assert 'id="try-form"' not in html and '<script type="module"' not in html


@pytest.mark.django_db
@pytest.mark.parametrize("name", PAGES)
def test_no_plain_form_submission_can_carry_the_secret(client: Client, name: str) -> None:
    account_create(username="alice")
    html = page(signed_in(client, "alice"), name)
    secret_input = re.search(r'<input type="password" id="try-secret"[^>]*>', html, re.S)
    assert secret_input and "name=" not in secret_input.group(0)
    # The button only works once the page's script has taken over the form.
    assert re.search(r'<button type="submit" class="btn" id="try-submit" disabled>', html)
    assert f'src="/static/portal/{name.replace("_", "-")}.js"' in html


@pytest.mark.django_db
@pytest.mark.parametrize("name", PAGES)
def test_the_page_names_the_real_endpoint_it_calls(client: Client, name: str) -> None:
    account_create(username="alice")
    html = page(signed_in(client, "alice"), name)
    api_url = {
        "try_detect": "/faceid/v1/detect",
        "try_compare": "/identity/compare_faces_in_two_images",
        "try_mask": "/identity/mask_selfie_image",
        "try_liveness": "/identity/liveness_selfie_verification",
    }[name]
    assert f'data-api-url="{api_url}"' in html
    id_field = "api_key" if name == "try_detect" else "api_id"
    assert f'data-id-field="{id_field}"' in html


@pytest.mark.django_db
def test_an_api_id_in_the_query_is_preselected_only_when_it_is_the_users(client: Client) -> None:
    first, _ = account_create(username="alice", name="first")
    second, _ = account_create(username="alice", name="second")
    theirs, _ = account_create(username="bob")
    signed_in(client, "alice")
    html = page(client, "try_detect", api_id=first.api_id)
    assert re.search(rf'<option value="{first.api_id}"[^>]* selected>', html)
    assert "data-preselected" in html
    html = page(client, "try_detect", api_id=theirs.api_id)
    assert " selected>" not in html and "data-preselected" not in html and theirs.api_id not in html
    assert second.api_id in html


@pytest.mark.django_db
def test_keys_the_api_would_refuse_are_offered_with_the_reason(client: Client) -> None:
    account_create(username="alice", name="old", expires_at=timezone.now() - timedelta(days=1))
    off, _ = account_create(username="alice", name="off")
    ApiAccount.objects.filter(pk=off.pk).update(is_active=False)
    account_create(username="alice", name="mask only", endpoints=[Endpoint.MASK.value])
    account_create(username="alice", name="spent", quota=0)
    account_create(username="alice", name="fine")
    html = page(signed_in(client, "alice"), "try_detect")
    assert "old · " in html and "(expired)" in html
    assert "(inactive)" in html
    assert "(not allowed to call this endpoint)" in html
    assert "(quota used up)" in html
    fine = re.search(r"<option [^>]*>fine · [0-9a-f]{32}</option>", html)
    assert fine and 'data-problem=""' in fine.group(0)


@pytest.mark.django_db
@pytest.mark.parametrize("name", PAGES)
def test_the_pages_only_answer_get(client: Client, name: str) -> None:
    account_create(username="alice")
    response = signed_in(client, "alice").post(reverse(f"portal:{name}"), {"api_secret": "x"})
    assert response.status_code == 405


@pytest.mark.django_db
def test_compare_shows_the_documented_threshold_table(client: Client) -> None:
    account_create(username="alice")
    html = page(signed_in(client, "alice"), "try_compare")
    rows = re.findall(r'<tr data-threshold="([0-9.]+)" data-rate="[^"]+">.*?<td>([^<]+)</td>', html, re.S)
    assert rows == [
        ("0.4", "1/10"),
        ("0.5", "1/100"),
        ("0.6", "1/1,000"),
        ("0.7", "1/10,000"),
        ("0.8", "1/100,000"),
        ("0.9", "1/1,000,000"),
    ]
    assert 'name="verbose" value="true"' in html


@pytest.mark.django_db
def test_detect_always_asks_for_landmarks_in_faceid_style(client: Client) -> None:
    account_create(username="alice")
    html = page(signed_in(client, "alice"), "try_detect")
    assert 'name="verbose" value="1"' in html
    assert 'name="multi_oriented_detection" value="1" data-off="0"' in html


@pytest.mark.django_db
def test_liveness_links_the_capture_page_with_the_chosen_key(client: Client) -> None:
    account, _ = account_create(username="alice")
    html = page(signed_in(client, "alice"), "try_liveness", api_id=account.api_id)
    link = re.search(r'<a class="btn" id="capture-link" href="([^"]+)"', html)
    assert link and link.group(1) == f"{reverse('liveness_capture')}?api_id={account.api_id}"
    assert "Record a liveness package with your camera" in html


def test_every_liveness_cue_has_a_meaning_shown() -> None:
    assert tuple(CUE_MEANINGS) == CUES


@pytest.mark.django_db
def test_the_scripts_and_styles_are_served(client: Client) -> None:
    assets = (
        "tryit.js",
        "curl.js",
        "snippets.js",
        "tryit-code.js",
        "tryit-samples.js",
        "tryit-stored.js",
        "tryit-faces.js",
        "try-detect.js",
        "try-compare.js",
        "try-mask.js",
        "try-liveness.js",
    )
    for asset in assets:
        response = client.get(f"/static/portal/{asset}")
        assert response.status_code == 200, asset
        assert response["Content-Type"].startswith(("text/javascript", "application/javascript")), asset
    assert client.get("/static/portal/tryit.css").status_code == 200


@pytest.mark.django_db
def test_compare_offers_a_verdict_at_the_documented_rates_the_vendors_chosen(client: Client) -> None:
    account_create(username="alice")
    html = page(signed_in(client, "alice"), "try_compare")
    select = re.search(r'<select id="compare-far".*?</select>', html, re.S)
    assert select
    options = re.findall(r'<option value="([0-9.]+)" data-words="([^"]+)"( selected)?>', select.group(0))
    assert options == [
        ("0.6", "1 in 1,000", ""),
        ("0.7", "1 in 10,000", " selected"),
        ("0.8", "1 in 100,000", ""),
        ("0.9", "1 in 1,000,000", ""),
    ]
    assert "the vendor&#x27;s" in select.group(0) or "the vendor's" in select.group(0)
    # The verdict is read in the page, never sent: the select is not an API field.
    assert "data-api" not in select.group(0)


@pytest.mark.django_db
@pytest.mark.parametrize("name", PAGES)
def test_every_page_embeds_its_registry_entry_for_the_code_samples(client: Client, name: str) -> None:
    account_create(username="alice")
    html = page(signed_in(client, "alice"), name)
    entry = embedded_json(html, "try-endpoint")
    endpoint = {"try_detect": "detect", "try_compare": "compare", "try_mask": "mask"}.get(
        name, "liveness_verification"
    )
    assert entry["name"] == endpoint
    assert entry["id_field"] == ("api_key" if name == "try_detect" else "api_id")
    assert [param["name"] for param in entry["params"]][:1] != []
    # The reveal box starts unticked: no sample holds the secret until the user asks.
    reveal = re.search(r'<input type="checkbox" id="try-reveal"[^>]*>', html)
    assert reveal and "checked" not in reveal.group(0)


@pytest.mark.django_db
@pytest.mark.parametrize("name", PAGES)
def test_the_image_pages_offer_the_sample_photos_and_the_stored_image_picker(
    client: Client, name: str
) -> None:
    account_create(username="alice")
    html = page(signed_in(client, "alice"), name)
    pickers = re.findall(r'data-sample-picker data-target="([^"]+)"', html)
    assert pickers == {
        "try_detect": ["detect-file"],
        "try_compare": ["image_one-file", "image_two-file"],
    }.get(name, ["selfie-file"])
    assert 'data-sample-url="/portal/samples/group.jpg"' in html
    stored = re.findall(r'data-stored-picker data-target="([^"]+)"', html)
    assert stored == {"try_detect": [], "try_compare": ["image_one-id", "image_two-id"]}.get(
        name, ["selfie-id"]
    )
    assert f'data-stored-url="{reverse("portal:try_stored_images")}"' in html
    assert 'data-detect-url="/faceid/v1/detect"' in html

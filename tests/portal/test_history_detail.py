"""Call history, one call: its detail page, that nobody sees another user's calls, sign-in,
the benchmark command, and a name for every endpoint. The fixtures are in conftest.py,
the helpers in helpers.py."""

from __future__ import annotations

import re
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django.urls import URLPattern, get_resolver, reverse

from accounts.models import ApiCall
from identity.api.families import family_for_path
from portal.filters import ENDPOINT_NAMES, NON_ENDPOINT_NAMES, endpoint_route
from resources.models import StoredImage
from resources.purge import purge
from tests.api.conftest import Api, upload
from tests.portal.helpers import COMPARE, LIST, listed_ids, make_calls, page, portal_user, signed_in

pytestmark = pytest.mark.usefixtures("media")


# -- one call's detail ------------------------------------------------------------------


@pytest.mark.django_db
def test_the_detail_shows_facts_parameters_and_the_pretty_printed_body(client: Client) -> None:
    user, account, _ = portal_user("alice")
    call = ApiCall.objects.create(
        account=account,
        endpoint="compare",
        request_id="TID" + "a" * 32,
        status="OK",
        http_status=200,
        latency_ms=123.456,
        client_ip="203.0.113.9",
        request_bytes=2048,
        response_bytes=120,
        request_params={
            "api_id": account.api_id,
            "api_secret": "********",
            "image_one_file": {"file": "one.jpg", "bytes": 150_000, "content_type": "image/jpeg"},
        },
        response_body='{"request_id": "TID...", "status": "OK", "note": "<b>bold</b>"}',
    )
    response = signed_in(client, user).get(reverse("portal:call_detail", args=[call.request_id]))
    html = response.content.decode()
    assert response.status_code == 200
    for fact in (
        "Compare faces",
        "POST /identity/compare_faces_in_two_images",
        "123.5 ms",
        "203.0.113.9",
        "2.0\xa0KB",
        account.api_id,
        "alice key",
    ):
        assert fact in html, fact
    assert "one.jpg · 146.5\xa0KB · image/jpeg" in html and "********" in html
    assert "{\n  &quot;request_id&quot;: &quot;TID...&quot;,\n  &quot;status&quot;: &quot;OK&quot;" in html
    assert "<b>bold</b>" not in html and "&lt;b&gt;bold&lt;/b&gt;" in html
    assert "This call used no stored image." in html


@pytest.mark.django_db
def test_the_back_link_returns_to_the_filtered_page(client: Client) -> None:
    user, account, _ = portal_user("alice")
    make_calls(account, 60, status="NO_FACE_DETECTED")
    make_calls(account, 10, tag="ok")
    _, html = page(signed_in(client, user), status="error", page="2", junk="<x>")
    detail = re.search(r'class="request-id"><a class="mono" href="([^"]+)"', html)
    assert detail
    detail_html = client.get(detail.group(1).replace("&amp;", "&")).content.decode()
    back = re.search(r'<a href="([^"]+)">← Back to calls</a>', detail_html)
    assert back
    back_url = back.group(1).replace("&amp;", "&")
    assert back_url == f"{LIST}?status=error&page=2", "the filters and page, nothing else"
    assert listed_ids(client.get(back_url).content.decode()) == listed_ids(html)


@pytest.mark.models
@pytest.mark.django_db
def test_a_real_call_shows_its_parameters_but_never_the_secret(client: Client, media: Path) -> None:
    user, account, secret = portal_user("alice")
    api = Api(client, account, secret)
    # The secret in the query string, then in the LinkFace form, then in the FaceID form.
    response = api.linkface(
        COMPARE, {"image_one_file": upload("grace_hopper"), "image_two_file": upload("astronaut")}
    )
    assert response.json()["status"] == "OK"
    in_form = api.linkface(COMPARE, {"image_one_file": upload("grace_hopper")}, query=False)
    assert in_form.json()["status"] == "INVALID_ARGUMENT"
    faceid = api.faceid({"image": upload("grace_hopper")})
    assert faceid.status_code == 200
    signed_in(client, user)
    request_ids = [answer.json()["request_id"] for answer in (response, in_form, faceid)]
    assert ApiCall.objects.filter(request_id__in=request_ids, account=account).count() == 3
    for request_id in request_ids:
        detail = client.get(reverse("portal:call_detail", args=[request_id]))
        html = detail.content.decode()
        assert detail.status_code == 200 and request_id in html
        assert secret not in html
        assert "api_secret" in html and "********" in html
    html = client.get(reverse("portal:call_detail", args=[response.json()["request_id"]])).content.decode()
    assert "grace_hopper.jpeg" in html and "image_one_id" in html
    for image in StoredImage.objects.filter(account=account):
        assert reverse("portal:image_thumbnail", args=[image.id]) in html


@pytest.mark.models
@pytest.mark.django_db
def test_an_image_that_was_purged_shows_as_no_longer_retained(client: Client) -> None:
    user, account, secret = portal_user("alice")
    body = (
        Api(client, account, secret)
        .linkface(
            COMPARE, {"image_one_file": upload("grace_hopper"), "image_two_file": upload("grace_hopper")}
        )
        .json()
    )
    kept, purged = body["image_one"]["image_one_id"], body["image_two"]["image_two_id"]
    purge(StoredImage.objects.filter(id=purged))
    signed_in(client, user)
    html = client.get(reverse("portal:call_detail", args=[body["request_id"]])).content.decode()
    assert html.count(">no longer retained<") == 1
    assert reverse("portal:image_thumbnail", args=[kept]) in html
    assert reverse("portal:image_thumbnail", args=[purged]) not in html and purged in html
    assert client.get(reverse("portal:image_thumbnail", args=[purged])).status_code == 404


@pytest.mark.django_db
def test_an_unknown_request_id_is_a_404(client: Client) -> None:
    user, _, _ = portal_user("alice")
    response = signed_in(client, user).get(reverse("portal:call_detail", args=["TID" + "0" * 32]))
    assert response.status_code == 404


# -- two users ------------------------------------------------------------------------


@pytest.mark.django_db
def test_another_user_sees_none_of_the_calls_even_filtering_by_their_key(client: Client) -> None:
    _, alice_key, _ = portal_user("alice")
    bob, bob_key, _ = portal_user("bob")
    alice_calls = make_calls(alice_key, 3, tag="a")
    make_calls(bob_key, 1, tag="b")
    signed_in(client, bob)
    _, html = page(client)
    assert listed_ids(html) == [f"TID{bob_key.api_id[:6]}b00000000"]
    for params in (
        {"key": alice_key.api_id},
        {"request_id": alice_calls[0].request_id[:-1]},
        {"status": "OK"},
    ):
        _, html = page(client, **params)
        assert listed_ids(html) in ([], [f"TID{bob_key.api_id[:6]}b00000000"]), params
        # The prefix Bob typed is echoed in its input, but no whole id of Alice's shows.
        assert not any(call.request_id in html for call in alice_calls), params
        assert "alice key" not in html and alice_key.api_id not in html
    for call in alice_calls:
        assert client.get(reverse("portal:call_detail", args=[call.request_id])).status_code == 404


@pytest.mark.models
@pytest.mark.django_db
def test_another_user_gets_404_for_a_real_calls_detail_and_its_images(client: Client) -> None:
    alice, alice_key, secret = portal_user("alice")
    bob, _, _ = portal_user("bob")
    body = (
        Api(client, alice_key, secret)
        .linkface(COMPARE, {"image_one_file": upload("grace_hopper"), "image_two_file": upload("astronaut")})
        .json()
    )
    image_ids = [body["image_one"]["image_one_id"], body["image_two"]["image_two_id"]]
    signed_in(client, bob)
    detail = client.get(reverse("portal:call_detail", args=[body["request_id"]]))
    assert detail.status_code == 404 and alice_key.api_id not in detail.content.decode()
    for image_id in image_ids:
        response = client.get(reverse("portal:image_thumbnail", args=[image_id]))
        assert response.status_code == 404 and response["Content-Type"].startswith("text/html")
    signed_in(client, alice)
    assert client.get(reverse("portal:call_detail", args=[body["request_id"]])).status_code == 200


@pytest.mark.django_db
def test_calls_of_a_deleted_key_are_nobodys(client: Client) -> None:
    user, account, _ = portal_user("alice")
    calls = make_calls(account, 2)
    account.delete()  # history keeps the calls with no account
    signed_in(client, user)
    assert listed_ids(page(client)[1]) == []
    assert client.get(reverse("portal:call_detail", args=[calls[0].request_id])).status_code == 404


@pytest.mark.django_db
def test_the_history_needs_sign_in(client: Client) -> None:
    _, account, _ = portal_user("alice")
    call = make_calls(account, 1)[0]
    for url in (LIST, reverse("portal:call_detail", args=[call.request_id])):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("portal:login"))


# -- the benchmark command ------------------------------------------------------------


@pytest.mark.django_db
def test_the_benchmark_prints_figures_per_page_and_leaves_nothing_behind() -> None:
    users_before = get_user_model().objects.count()
    out = StringIO()
    call_command("benchmark_portal", calls=300, images=10, users=3, packages=2, repeat=2, stdout=out)
    text = out.getvalue()
    print(text)
    for name in ("dashboard", "calls, page 1", "calls, filtered", "calls, deep page", "call detail"):
        line = next((line for line in text.splitlines() if line.startswith(name)), None)
        assert line is not None, name
        assert re.search(r"\d+\.\d+ ms median .* \d+\.\d+ ms p95 .* \d+ queries", line), line
    assert "300 calls" in text
    assert ApiCall.objects.count() == 0 and get_user_model().objects.count() == users_before


def test_every_api_endpoint_has_a_name_in_the_history() -> None:
    """A new endpoint in the URLconf must get a label (and a filter choice) here too."""
    api_names = {
        pattern.name
        for pattern in get_resolver().url_patterns
        if isinstance(pattern, URLPattern)
        and pattern.name
        and family_for_path("/" + str(pattern.pattern).lstrip("^"))
    }
    assert set(ENDPOINT_NAMES) == api_names - set(NON_ENDPOINT_NAMES)
    assert all(endpoint_route(name).startswith("POST /") for name in ENDPOINT_NAMES)

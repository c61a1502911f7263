"""Call history: the list and its filters, pagination, speed on a big history, one call's
detail, and that nobody sees another user's calls."""

from __future__ import annotations

import re
import statistics
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from io import StringIO
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, get_resolver, reverse

from accounts.models import ApiAccount, ApiCall
from accounts.services import account_create
from identity.api.families import family_for_path
from portal.filters import ENDPOINT_NAMES, NON_ENDPOINT_NAMES, endpoint_route
from resources.models import StoredImage
from resources.purge import purge
from tests.api.conftest import Api, upload

LIST = reverse("portal:call_list")
COMPARE = "/identity/compare_faces_in_two_images"
START = datetime(2026, 3, 1, 12, 0, tzinfo=ZoneInfo("UTC"))


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Path) -> Iterator[Path]:
    """Stored images in a temporary folder; API rate counters from zero."""
    settings.MEDIA_ROOT = tmp_path / "media"
    cache.clear()
    yield tmp_path / "media"
    cache.clear()


def portal_user(username: str) -> tuple[Any, ApiAccount, str]:
    account, secret = account_create(username=username, name=f"{username} key", quota=1000, rate=1000)
    return account.user, account, secret


def make_calls(account: ApiAccount, count: int, *, start: datetime = START, **fields: Any) -> list[ApiCall]:
    """`count` calls, one a minute from `start`, bulk-inserted; `fields` override the defaults."""
    calls = [
        ApiCall(
            account=account,
            endpoint=fields.get("endpoint", "detect"),
            request_id=f"TID{account.api_id[:6]}{fields.get('tag', 'x')}{n:08d}",
            status=fields.get("status", "OK"),
            http_status=fields.get("http_status", 200),
            latency_ms=12.5,
            image_ids=[],
            request_params={"api_key": account.api_id, "api_secret": "********"},
            response_body='{"status": "OK"}',
            created_at=start + timedelta(minutes=n),
        )
        for n in range(count)
    ]
    return ApiCall.objects.bulk_create(calls, batch_size=1000)


def signed_in(client: Client, user: Any) -> Client:
    client.force_login(user)
    return client


def listed_ids(html: str) -> list[str]:
    """Request ids in the list's table, top to bottom."""
    return re.findall(r'class="request-id"><a class="mono" href="[^"]*">([^<]+)</a>', html)


def page(client: Client, **params: str) -> tuple[int, str]:
    response = client.get(LIST, params)
    return response.status_code, response.content.decode()


# -- the list --------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_list_shows_the_users_calls_newest_first_with_their_columns(client: Client) -> None:
    user, account, _ = portal_user("alice")
    make_calls(account, 3)
    make_calls(
        account, 1, start=START + timedelta(days=1), tag="e", status="NO_FACE_DETECTED", http_status=400
    )
    status, html = page(signed_in(client, user))
    assert status == 200
    ids = listed_ids(html)
    assert ids == [
        f"TID{account.api_id[:6]}e00000000",
        *(f"TID{account.api_id[:6]}x{n:08d}" for n in (2, 1, 0)),
    ]
    assert '<span class="badge err">NO_FACE_DETECTED</span>' in html
    assert html.count('<span class="badge ok">OK</span>') == 3
    assert "Detect faces" in html and "alice key" in html and "2026-03-02 12:00:00" in html
    assert "4 calls" in html


@pytest.mark.django_db
def test_a_user_without_calls_sees_an_empty_state(client: Client) -> None:
    user, _, _ = portal_user("alice")
    status, html = page(signed_in(client, user))
    assert status == 200 and "No calls yet" in html and "<table" not in html


@pytest.mark.django_db
def test_each_filter_narrows_the_list(client: Client) -> None:
    user, account, _ = portal_user("alice")
    second, _ = account_create(username="alice", name="second key")
    make_calls(account, 2, tag="d", endpoint="detect")
    make_calls(account, 2, tag="c", endpoint="compare", start=START + timedelta(hours=1))
    make_calls(account, 1, tag="n", endpoint="compare", status="NO_FACE_DETECTED", http_status=400)
    make_calls(account, 1, tag="i", endpoint="mask", status="INVALID_ARGUMENT", http_status=400)
    make_calls(second, 1, tag="s", endpoint="mask")
    signed_in(client, user)
    prefix = f"TID{account.api_id[:6]}"

    def ids(**params: str) -> set[str]:
        status, html = page(client, **params)
        assert status == 200, html
        return set(listed_ids(html))

    assert ids(endpoint="compare") == {f"{prefix}c00000000", f"{prefix}c00000001", f"{prefix}n00000000"}
    assert ids(status="OK") == ids(status="ok") and len(ids(status="OK")) == 5
    assert ids(status="error") == {f"{prefix}n00000000", f"{prefix}i00000000"}
    assert ids(status="INVALID_ARGUMENT") == {f"{prefix}i00000000"}
    assert ids(status="INVALID_ARGUMENT", endpoint="compare") == set()
    assert ids(key=second.api_id) == {f"TID{second.api_id[:6]}s00000000"}
    assert ids(request_id=f"  {prefix}c  ") == {f"{prefix}c00000000", f"{prefix}c00000001"}
    assert ids(request_id=f"{prefix}c00000001") == {f"{prefix}c00000001"}
    assert ids(request_id="TIDnothing") == set()


@pytest.mark.django_db
def test_a_filter_with_no_match_says_so_and_offers_to_clear(client: Client) -> None:
    user, account, _ = portal_user("alice")
    make_calls(account, 2)
    status, html = page(signed_in(client, user), endpoint="mask")
    assert status == 200 and "No calls match these filters" in html and listed_ids(html) == []


@pytest.mark.django_db
def test_error_codes_seen_are_suggested_for_the_status_filter(client: Client) -> None:
    user, account, _ = portal_user("alice")
    make_calls(account, 1, tag="a", status="NO_FACE_DETECTED")
    make_calls(account, 1, tag="b", status="CORRUPT_IMAGE")
    _, html = page(signed_in(client, user))
    datalist = html[html.index('<datalist id="status-codes">') :]
    assert '<option value="CORRUPT_IMAGE">' in datalist and '<option value="NO_FACE_DETECTED">' in datalist


@pytest.mark.django_db
def test_dates_are_inclusive_days_in_the_servers_time_zone(client: Client, settings: Any) -> None:
    settings.TIME_ZONE = "Asia/Tokyo"  # UTC+9: a UTC-day filter would get both edges wrong
    tokyo = ZoneInfo("Asia/Tokyo")
    user, account, _ = portal_user("alice")
    edges = {
        "before": datetime(2026, 3, 9, 23, 59, tzinfo=tokyo),
        "first": datetime(2026, 3, 10, 0, 1, tzinfo=tokyo),
        "last": datetime(2026, 3, 11, 23, 59, tzinfo=tokyo),
        "after": datetime(2026, 3, 12, 0, 1, tzinfo=tokyo),
    }
    for tag, moment in edges.items():
        make_calls(account, 1, start=moment, tag=tag)
    prefix = f"TID{account.api_id[:6]}"
    status, html = page(signed_in(client, user), date_from="2026-03-10", date_to="2026-03-11")
    assert status == 200
    assert set(listed_ids(html)) == {f"{prefix}first00000000", f"{prefix}last00000000"}
    _, html = page(client, date_from="2026-03-12")
    assert listed_ids(html) == [f"{prefix}after00000000"]
    _, html = page(client, date_to="2026-03-09")
    assert listed_ids(html) == [f"{prefix}before00000000"]
    assert "2026-03-11 23:59:00" in page(client)[1], "times are shown in the server's zone too"


@pytest.mark.django_db
def test_pages_have_50_calls_and_their_links_keep_the_filters(client: Client) -> None:
    user, account, _ = portal_user("alice")
    make_calls(account, 120, tag="e", status="NO_FACE_DETECTED", http_status=400)
    make_calls(account, 30, tag="o")
    status, html = page(signed_in(client, user), status="error", endpoint="detect")
    assert status == 200 and len(listed_ids(html)) == 50 and "120 calls match the filters" in html
    links = re.findall(r'<a href="(\?[^"]*page=\d+[^"]*)"', html.replace("&amp;", "&"))
    assert links, "pager links"
    for link in links:
        assert "status=error" in link and "endpoint=detect" in link
    third = next(link for link in links if re.search(r"page=3\b", link))
    response = client.get(LIST + third)
    third_ids = listed_ids(response.content.decode())
    assert len(third_ids) == 20 and all(f"TID{account.api_id[:6]}e" in i for i in third_ids)
    first_page_ids = set(listed_ids(html))
    assert not first_page_ids & set(third_ids)


@pytest.mark.django_db
def test_a_page_number_out_of_range_or_not_a_number_still_gives_a_page(client: Client) -> None:
    user, account, _ = portal_user("alice")
    make_calls(account, 60)
    signed_in(client, user)
    assert len(listed_ids(page(client, page="999")[1])) == 10
    assert len(listed_ids(page(client, page="abc")[1])) == 50


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"date_from": "2026-13-40"}, "Enter a valid date."),
        ({"date_from": "0001-01-01"}, "Pick a date from 1970-01-01 on."),
        ({"date_from": "2026-03-10", "date_to": "2026-03-01"}, "The end date is before the start date."),
        ({"status": "<script>"}, "A status is OK, error, or a code"),
        ({"endpoint": "drop_table"}, "Pick an endpoint from the list."),
        ({"key": "f" * 32}, "That is not one of your API keys."),
        ({"request_id": "TID 123"}, "A request id has only letters, digits"),
        ({"request_id": "T" * 65}, "at most 64 characters"),
    ],
)
def test_invalid_filters_give_a_form_error_on_the_page_not_a_500(
    client: Client, params: dict[str, str], message: str
) -> None:
    user, account, _ = portal_user("alice")
    make_calls(account, 3)
    status, html = page(signed_in(client, user), **params)
    assert status == 200
    assert message in html and 'class="field-error"' in html and 'aria-invalid="true"' in html
    assert listed_ids(html) == [], "no calls until the filters are valid"
    assert "<script>" not in html.split("<main", 1)[1]


# -- speed -----------------------------------------------------------------------------


def list_queries(client: Client, **params: str) -> tuple[int, float]:
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        response = client.get(LIST, params)
        elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code == 200
    return len(queries), elapsed


@pytest.mark.slow
@pytest.mark.django_db
def test_the_list_makes_the_same_few_queries_for_100_and_10000_calls(
    client: Client, django_assert_max_num_queries: Any
) -> None:
    user, account, _ = portal_user("alice")
    _, other, _ = portal_user("bob")
    signed_in(client, user)
    make_calls(account, 100, tag="a", status="NO_FACE_DETECTED")
    make_calls(other, 100, tag="b")
    small = {name: list_queries(client, **params)[0] for name, params in LIST_PAGES.items()}

    make_calls(account, 9_900, tag="z", start=START + timedelta(days=10))
    assert ApiCall.objects.filter(account=account).count() == 10_000
    big = {name: list_queries(client, **params)[0] for name, params in LIST_PAGES.items()}
    print(f"\ncall list queries, 100 calls: {small}; 10,000 calls: {big}")
    assert big == small
    with CaptureQueriesContext(connection) as queries:
        client.get(LIST)
    sql = " ".join(query["sql"] for query in queries.captured_queries)
    assert "response_body" not in sql and "request_params" not in sql, "the list loads only its columns"
    for params in LIST_PAGES.values():
        with django_assert_max_num_queries(7):
            client.get(LIST, params)

    timings = {
        name: statistics.median(list_queries(client, **params)[1] for _ in range(5))
        for name, params in LIST_PAGES.items()
    }
    print(
        "call list render with 10,000 calls (median of 5, ms): "
        + ", ".join(f"{name} {ms:.1f}" for name, ms in timings.items())
    )


# The pages the speed test measures: the first, a filtered one and a deep one.
LIST_PAGES: dict[str, dict[str, str]] = {
    "first page": {},
    "filtered": {"status": "error", "endpoint": "detect", "date_from": "2026-03-01"},
    "deep page": {"page": "2"},
}


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
    call_command("benchmark_portal", calls=300, repeat=2, stdout=out)
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

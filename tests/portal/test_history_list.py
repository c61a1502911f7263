"""Call history, the list: its columns and filters, pagination, form errors, and the same
few queries on a big history. The fixtures are in conftest.py, the helpers in helpers.py."""

from __future__ import annotations

import re
import statistics
import time
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import ApiCall
from accounts.services import account_create
from tests.portal.helpers import LIST, START, listed_ids, make_calls, page, portal_user, signed_in

pytestmark = pytest.mark.usefixtures("media")


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
def test_each_row_opens_its_call_through_a_real_link_and_the_row_itself(client: Client) -> None:
    """The row's data-href (a mouse convenience, static/portal/call-list.js) is its link's target,
    filters kept, and the link stays in the row for the keyboard."""
    user, account, _ = portal_user("alice")
    make_calls(account, 3, status="NO_FACE_DETECTED", http_status=400)
    status, html = page(signed_in(client, user), status="error")
    assert status == 200
    rows = re.findall(r'<tr role="row" class="linked" data-href="([^"]+)">(.*?)</tr>', html, re.S)
    assert len(rows) == 3
    for href, cells in rows:
        link = re.search(r'<a class="mono" href="([^"]+)">', cells)
        assert link is not None and link.group(1) == href
        assert href.endswith("/?status=error")
    assert 'src="/static/portal/call-list.js"' in html
    assert client.get("/static/portal/call-list.js").status_code == 200

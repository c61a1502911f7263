"""The dashboard and the user's own key management: usage figures, charts' series, keys shown
and made, secrets shown once, rotation, and one user never reaching another's keys."""

from __future__ import annotations

import json
import re
import time
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import ApiAccount, ApiCall, Endpoint
from accounts.services import account_create, hash_secret
from portal import sealed, usage
from portal.dashboard import SECRET_ONCE, curl_example
from tests.portal.helpers import new_user_signed_in

DASHBOARD = "/portal/"
CREATE = "/portal/keys/new/"
COMPARE = "/identity/compare_faces_in_two_images"
SECRET_PATTERN = re.compile(r'<code class="copyable" id="new-secret">([^<]+)</code>')


def key_of(username: str, **options: Any) -> tuple[ApiAccount, str]:
    return account_create(username=username, **options)


def add_calls(account: ApiAccount, specs: list[tuple[datetime, str, float]], start: int = 0) -> None:
    ApiCall.objects.bulk_create(
        ApiCall(
            account=account,
            endpoint="detect",
            request_id=f"{account.api_id[:8]}-{start + index}",
            status=status,
            http_status=200 if status == "OK" else 400,
            latency_ms=latency,
            created_at=created_at,
        )
        for index, (created_at, status, latency) in enumerate(specs)
    )


def many_calls(account: ApiAccount, count: int, start: int = 0, days: int = 40) -> None:
    """`count` calls spread over the last `days` days, one in ten an error."""
    now = timezone.now()
    add_calls(
        account,
        [
            (
                now - timedelta(minutes=(index * 37) % (days * 24 * 60)),
                "OK" if index % 10 else ("INVALID_ARGUMENT" if index % 20 else "QUOTA_EXHAUSTED"),
                20.0 + index % 300,
            )
            for index in range(start, start + count)
        ],
        start,
    )


def shown_secret(page: str) -> str | None:
    found = SECRET_PATTERN.search(page)
    return found.group(1) if found else None


def compare_status(api_id: str, secret: str) -> tuple[int, str]:
    """Calls the API with no image: authentication comes first, so a valid key gets 400."""
    response = Client().post(COMPARE, {"api_id": api_id, "api_secret": secret})
    return response.status_code, response.json()["status"]


# -- access --------------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_sign_in(db: None) -> None:
    account, _ = key_of("alice")
    before = account.secret_hash

    for method, path in [
        ("get", DASHBOARD),
        ("post", CREATE),
        ("post", f"/portal/keys/{account.api_id}/rotate/"),
    ]:
        response = getattr(Client(), method)(path, {"name": "sneaky"} if method == "post" else None)
        assert response.status_code == 302
        assert response["Location"].startswith("/portal/login/?next=")

    assert ApiAccount.objects.count() == 1
    account.refresh_from_db()
    assert account.secret_hash == before


def test_writes_need_the_csrf_token(db: None) -> None:
    client = new_user_signed_in("alice", enforce_csrf_checks=True)
    account, _ = key_of("alice")
    before = account.secret_hash

    assert client.post(CREATE, {"name": "no token"}).status_code == 403
    assert client.post(f"/portal/keys/{account.api_id}/rotate/").status_code == 403

    assert ApiAccount.objects.count() == 1
    account.refresh_from_db()
    assert account.secret_hash == before


def test_writes_are_post_only(alice: Client) -> None:
    account, _ = key_of("alice")

    assert alice.get(CREATE).status_code == 405
    assert alice.get(f"/portal/keys/{account.api_id}/rotate/").status_code == 405
    assert alice.post(DASHBOARD).status_code == 405


# -- the page ------------------------------------------------------------------------------


def test_a_new_user_sees_the_empty_state_and_the_form(alice: Client) -> None:
    page = alice.get(DASHBOARD).content.decode()

    assert "No API keys yet" in page
    assert f'action="{CREATE}"' in page and 'name="name"' in page
    assert 'id="calls-chart"' not in page


def test_each_key_has_a_card_with_its_limits_and_quota_bar(alice: Client) -> None:
    account, _ = key_of("alice", name="staging", quota=1000, rate=7, concurrency=3)
    ApiAccount.objects.filter(pk=account.pk).update(quota_used=850, endpoints=["detect", "mask"])

    response = alice.get(DASHBOARD)
    page = response.content.decode()

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert "staging" in page and account.api_id in page
    assert re.search(
        r'class="bar high" role="progressbar"[^>]*aria-valuemin="0" aria-valuemax="1000" aria-valuenow="850"',
        page,
    )
    assert "150 remaining" in page
    assert "7 calls per second" in page and "3 simultaneous calls" in page
    endpoints = re.search(r'<ul aria-labelledby="endpoints-[0-9a-f]+">(.*?)</ul>', page)
    assert endpoints is not None
    assert re.findall(r"<code>([^<]+)</code>", endpoints.group(1)) == [
        "/faceid/v1/detect",
        "/identity/mask_selfie_image",
    ]
    assert f'action="/portal/keys/{account.api_id}/rotate/"' in page


def test_an_exhausted_quota_shows_a_full_bar(alice: Client) -> None:
    account, _ = key_of("alice", quota=10)
    ApiAccount.objects.filter(pk=account.pk).update(quota_used=10)

    page = alice.get(DASHBOARD).content.decode()

    assert 'class="bar full"' in page and "0 remaining" in page


def test_inactive_and_expired_keys_say_so_and_can_still_be_rotated(alice: Client) -> None:
    expired, _ = key_of("alice", name="old", expires_at=timezone.now() - timedelta(days=1))
    inactive, _ = key_of("alice", name="paused")
    ApiAccount.objects.filter(pk=inactive.pk).update(is_active=False)

    page = alice.get(DASHBOARD).content.decode()

    assert "Expired — calls refused" in page and "Inactive — calls refused" in page
    for account in (expired, inactive):
        assert alice.post(f"/portal/keys/{account.api_id}/rotate/").status_code == 302
        secret = shown_secret(alice.get(DASHBOARD).content.decode())
        account.refresh_from_db()
        assert secret is not None and hash_secret(secret) == account.secret_hash


def test_the_summary_counts_calls_across_the_users_keys(alice: Client) -> None:
    now = timezone.now()
    first, _ = key_of("alice")
    second, _ = key_of("alice")
    add_calls(
        first, [(now, "OK", 10), (now - timedelta(days=3), "OK", 10), (now - timedelta(days=20), "E", 10)]
    )
    add_calls(second, [(now, "E", 10), (now - timedelta(days=45), "OK", 10)])

    response = alice.get(DASHBOARD)
    summary = response.context["summary"]

    assert (summary.today, summary.week, summary.month, summary.month_ok) == (2, 3, 4, 2)
    page = response.content.decode()
    assert "50.0 %" in page
    # The charts' numbers for screen readers: a column per status, a row per day, today last.
    assert response.context["calls_columns"] == ["OK", "E"]
    assert response.context["calls_rows"][-1][1:] == ([1, 1], 2)
    assert '<th scope="col">E</th>' in page


# -- the series behind the charts ----------------------------------------------------------


def test_calls_are_counted_per_local_day_and_status(db: None) -> None:
    zone = ZoneInfo("America/New_York")
    now = datetime(2025, 3, 12, 15, 0, tzinfo=zone)
    mine, _ = key_of("alice")
    theirs, _ = key_of("bob")
    add_calls(
        mine,
        [
            (now, "OK", 1),
            (now, "INVALID_ARGUMENT", 1),
            (now, "OK", 1),
            # 23:30 on 9 March in New York (the day summer time began) is 03:30 UTC on the 10th.
            (datetime(2025, 3, 10, 3, 30, tzinfo=ZoneInfo("UTC")), "IMAGE_ERROR", 1),
            (datetime(2025, 3, 10, 0, 0, tzinfo=zone), "OK", 1),
            # The first local day of the 30, and the day before it.
            (datetime(2025, 2, 11, 0, 0, tzinfo=zone), "OK", 1),
            (datetime(2025, 2, 10, 23, 59, tzinfo=zone), "OK", 1),
        ],
    )
    add_calls(theirs, [(now, "OK", 1)])

    with timezone.override(zone):
        series = usage.daily_series([mine.pk], now=now)

    assert series.days[0].isoformat() == "2025-02-11" and series.days[-1].isoformat() == "2025-03-12"
    assert len(series.days) == 30
    assert series.statuses == ["OK", "IMAGE_ERROR", "INVALID_ARGUMENT"]
    by_day = {
        day.isoformat(): {status: series.counts[status][index] for status in series.statuses}
        for index, day in enumerate(series.days)
    }
    assert by_day["2025-03-12"] == {"OK": 2, "IMAGE_ERROR": 0, "INVALID_ARGUMENT": 1}
    assert by_day["2025-03-10"] == {"OK": 1, "IMAGE_ERROR": 0, "INVALID_ARGUMENT": 0}
    assert by_day["2025-03-09"] == {"OK": 0, "IMAGE_ERROR": 1, "INVALID_ARGUMENT": 0}
    assert by_day["2025-02-11"] == {"OK": 1, "IMAGE_ERROR": 0, "INVALID_ARGUMENT": 0}
    assert sum(series.totals) == 6
    assert series.totals.count(0) == 26


def test_latency_percentiles_are_per_day(db: None) -> None:
    now = timezone.now()
    account, _ = key_of("alice")
    yesterday = now - timedelta(days=1)
    add_calls(account, [(now, "OK", float(ms)) for ms in range(100, 0, -1)])
    add_calls(account, [(yesterday, "E", 42.0)], start=100)

    series = usage.daily_series([account.pk], now=now)

    today = series.latency[-1]
    assert today is not None
    assert (today.p50, today.p95, today.p99) == pytest.approx((50.5, 95.05, 99.01))
    assert series.latency[-2] == usage.Percentiles(42.0, 42.0, 42.0)
    assert series.latency[:-2] == [None] * 28


def test_percentile_interpolates_between_ranks() -> None:
    assert usage.percentile([10.0, 20.0], 0.5) == 15.0
    assert usage.percentile([10.0, 20.0, 30.0, 40.0], 0.95) == pytest.approx(38.5)
    with pytest.raises(ValueError):
        usage.percentile([], 0.5)


# -- creating keys -------------------------------------------------------------------------


def test_a_new_key_gets_the_portal_quota_and_its_secret_is_shown_once(alice: Client, settings: Any) -> None:
    settings.FACEPORTAL_PORTAL_KEY_QUOTA = 321

    response = alice.post(CREATE, {"name": "  mobile app  "})

    assert response.status_code == 302 and response["Location"] == DASHBOARD
    account = ApiAccount.objects.get(user__username="alice")
    assert (account.name, account.quota_limit, account.quota_used) == ("mobile app", 321, 0)
    assert account.rate_limit == 10 and account.endpoints == [endpoint.value for endpoint in Endpoint]

    first = alice.get(DASHBOARD)
    page = first.content.decode()
    secret = shown_secret(page)
    assert secret is not None and hash_secret(secret) == account.secret_hash
    assert "it will not be shown again" in page
    assert page.count(secret) == 3  # the box, the curl command, the try-it button
    assert f"-F api_key={account.api_id} \\\n  -F api_secret={secret}" in first.context["secret_once"]["curl"]
    assert "Use this key on the try-it pages" in page
    assert all(secret not in morsel.value for morsel in first.cookies.values())
    assert secret not in response["Location"]

    again = alice.get(DASHBOARD).content.decode()
    assert secret not in again and 'id="new-secret"' not in again
    assert SECRET_ONCE not in alice.session


def test_a_key_needs_a_name(alice: Client) -> None:
    # Refused forms come back through a redirect (reload-safe): tests/portal/test_keys_forms.py.
    response = alice.post(CREATE, {"name": "   "}, follow=True)

    assert response.redirect_chain == [(f"{DASHBOARD}#new-key-title", 302)]
    assert "Give the key a name." in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    assert not ApiAccount.objects.exists()


def test_no_more_keys_than_the_limit(alice: Client, settings: Any) -> None:
    settings.FACEPORTAL_PORTAL_MAX_KEYS = 2
    for name in ("one", "two"):
        assert alice.post(CREATE, {"name": name}).status_code == 302

    response = alice.post(CREATE, {"name": "three"}, follow=True)

    assert response.redirect_chain == [(f"{DASHBOARD}#new-key-title", 302)]
    assert "You already have 2 API keys, the most a user may have." in response.content.decode()
    assert sorted(ApiAccount.objects.values_list("name", flat=True)) == ["one", "two"]


def test_curl_example_uses_an_endpoint_the_key_may_call(db: None) -> None:
    account, _ = key_of("alice", endpoints=["mask"])

    command = curl_example("https://faces.example/", account, "s3cret")

    assert command.startswith("curl -s https://faces.example/identity/mask_selfie_image")
    assert f"-F api_id={account.api_id}" in command and "-F api_secret=s3cret" in command


# -- rotating secrets ----------------------------------------------------------------------


def test_rotation_replaces_the_secret_at_once(alice: Client) -> None:
    account, old = key_of("alice", name="server")
    assert compare_status(account.api_id, old) == (400, "INVALID_ARGUMENT")

    response = alice.post(f"/portal/keys/{account.api_id}/rotate/")
    assert response.status_code == 302 and response["Location"] == DASHBOARD
    page = alice.get(DASHBOARD).content.decode()
    new = shown_secret(page)

    assert new is not None and new != old
    assert "The new secret of “server”" in page
    assert compare_status(account.api_id, old) == (401, "UNAUTHORIZED")
    assert compare_status(account.api_id, new) == (400, "INVALID_ARGUMENT")
    assert new not in alice.get(DASHBOARD).content.decode()


# -- two users -----------------------------------------------------------------------------


def test_nobody_rotates_or_sees_another_users_key(alice: Client, bob: Client) -> None:
    account, secret = key_of("alice", name="alice-private-key")
    add_calls(account, [(timezone.now(), "OK", 5.0), (timezone.now(), "ALICE_ONLY_ERROR", 5.0)])

    response = bob.post(f"/portal/keys/{account.api_id}/rotate/")

    assert response.status_code == 404
    assert account.api_id not in response.content.decode()
    account.refresh_from_db()
    assert account.secret_hash == hash_secret(secret)
    assert SECRET_ONCE not in bob.session
    page = bob.get(DASHBOARD)
    text = page.content.decode()
    assert account.api_id not in text and "alice-private-key" not in text and "ALICE_ONLY_ERROR" not in text
    assert page.context["summary"].month == 0
    assert compare_status(account.api_id, secret) == (400, "INVALID_ARGUMENT")


def test_a_secret_waiting_in_the_session_is_shown_only_for_the_users_own_key(
    alice: Client, bob: Client
) -> None:
    account, _ = key_of("alice")
    session = bob.session
    waiting = {"api_id": account.api_id, "secret": "planted", "action": "rotated"}
    session[SECRET_ONCE] = sealed.seal(json.dumps(waiting), purpose=SECRET_ONCE)  # as the portal seals it
    session.save()

    page = bob.get(DASHBOARD).content.decode()

    assert "planted" not in page and account.api_id not in page


# -- cost ----------------------------------------------------------------------------------


def test_the_number_of_queries_does_not_grow_with_the_calls(
    alice: Client, django_assert_max_num_queries: Any
) -> None:
    first, _ = key_of("alice")
    second, _ = key_of("alice")
    many_calls(first, 100)
    many_calls(second, 100)
    with django_assert_max_num_queries(8) as few:
        assert alice.get(DASHBOARD).status_code == 200

    many_calls(first, 900, start=100)
    many_calls(second, 900, start=100)
    with django_assert_max_num_queries(8) as more:
        assert alice.get(DASHBOARD).status_code == 200

    assert len(more.captured_queries) == len(few.captured_queries)
    assert ApiCall.objects.count() == 2000


@pytest.mark.slow
def test_render_time_with_ten_thousand_calls(alice: Client, django_assert_max_num_queries: Any) -> None:
    """Checks the figures shown and the queries; prints the time, since a timed assertion
    would only measure the machine's load."""
    account, _ = key_of("alice")
    many_calls(account, 10_000, days=29)  # all of them in the charts' 30 days
    with django_assert_max_num_queries(8):
        response = alice.get(DASHBOARD)  # also warms up templates and connections
    summary = response.context["summary"]
    assert (summary.month, summary.month_ok) == (10_000, 9_000)
    assert "90.0 %" in response.content.decode()
    columns, rows = response.context["calls_columns"], response.context["calls_rows"]
    assert len(rows) == 30 and sum(total for _, _, total in rows) == 10_000
    by_status = {column: sum(counts[index] for _, counts, _ in rows) for index, column in enumerate(columns)}
    assert by_status == {"OK": 9_000, "INVALID_ARGUMENT": 500, "QUOTA_EXHAUSTED": 500}

    timings = []
    for _ in range(5):
        started = time.perf_counter()
        assert alice.get(DASHBOARD).status_code == 200
        timings.append((time.perf_counter() - started) * 1000)
    started = time.perf_counter()
    usage.daily_series([account.pk])
    series_ms = (time.perf_counter() - started) * 1000

    print(
        f"\ndashboard with 10,000 calls: median {sorted(timings)[2]:.1f} ms, best {min(timings):.1f} ms "
        f"(series query and percentiles alone {series_ms:.1f} ms)"
    )

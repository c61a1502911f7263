"""The dashboard charts' period (24 h / 7 d / 30 d / custom dates, validated and bounded), their
split by endpoint, the endpoints a key may call, and the first steps of a user with no call."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import ApiAccount, ApiCall
from accounts.services import account_create
from portal import ranges, usage
from portal.charts import day_label
from portal.dashboard import key_card

DASHBOARD = "/portal/"


def key(name: str = "alice") -> ApiAccount:
    return account_create(username=name, name=f"{name} key")[0]


def calls(account: ApiAccount, specs: list[tuple[datetime, str, str]]) -> None:
    """(time, endpoint, status) each."""
    ApiCall.objects.bulk_create(
        ApiCall(
            account=account,
            endpoint=endpoint,
            request_id=f"{account.api_id[:8]}-{index}",
            status=status,
            http_status=200 if status == "OK" else 400,
            latency_ms=10.0 * (index + 1),
            created_at=created_at,
        )
        for index, (created_at, endpoint, status) in enumerate(specs)
    )


# -- the period ------------------------------------------------------------------------------


def test_the_default_is_the_last_30_days_picked_in_the_form(alice: Client) -> None:
    key()
    response = alice.get(DASHBOARD)
    page = response.content.decode()

    assert response.context["period"].buckets == 30 and response.context["period"].unit == "day"
    assert '<option value="30d" selected>Last 30 days</option>' in page
    assert "Calls per day by status, last 30 days" in page


def test_24_hours_are_counted_per_hour_ending_with_this_hour(alice: Client) -> None:
    account = key()
    now = timezone.now()
    calls(
        account,
        [
            (now, "detect", "OK"),
            (now - timedelta(hours=2), "detect", "OK"),
            (now - timedelta(hours=2, minutes=1), "compare", "NO_FACE_DETECTED"),
            (now - timedelta(hours=30), "detect", "OK"),  # before the period
        ],
    )

    response = alice.get(DASHBOARD, {"range": "24h"})

    period = response.context["period"]
    assert period.unit == "hour" and period.buckets == 24
    assert period.bounds[-1] - period.bounds[0] == timedelta(hours=24)
    assert period.bounds[-2] <= now < period.bounds[-1]
    totals = [total for _, _, total in response.context["calls_rows"]]
    assert sum(totals) == 3 and totals[-1] == 1
    assert "Calls per hour by status, last 24 hours" in response.content.decode()


def test_hours_are_floored_on_the_local_clock_in_a_half_hour_zone(db: None) -> None:
    zone = ZoneInfo("Asia/Kolkata")  # UTC+05:30
    now = datetime(2026, 3, 1, 14, 45, tzinfo=zone)
    with timezone.override(zone):
        period = ranges.hours_period(now)
    assert period.labels[-1] == "14:00" and period.labels[0] == "15:00"
    assert period.bounds[-2] == datetime(2026, 3, 1, 14, 0, tzinfo=zone)


def test_a_custom_range_counts_each_day_from_the_first_to_the_last(alice: Client) -> None:
    account = key()
    today = timezone.localdate()
    first = today - timedelta(days=9)
    start = timezone.make_aware(datetime.combine(first, datetime.min.time()))
    calls(account, [(start, "detect", "OK"), (start - timedelta(seconds=1), "detect", "OK")])

    response = alice.get(
        DASHBOARD, {"range": "custom", "date_from": first.isoformat(), "date_to": today.isoformat()}
    )

    period = response.context["period"]
    assert period.buckets == 10 and period.labels[0] == day_label(first)
    assert [total for _, _, total in response.context["calls_rows"]] == [1] + [0] * 9


def test_dates_alone_mean_a_custom_range(alice: Client) -> None:
    key()
    today = timezone.localdate()
    response = alice.get(
        DASHBOARD, {"date_from": (today - timedelta(days=2)).isoformat(), "date_to": today.isoformat()}
    )
    assert response.context["period"].buckets == 3
    assert '<option value="custom" selected>' in response.content.decode()


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"range": "custom"}, "date_from", "Give the first day of the range."),
        (
            {"range": "custom", "date_from": "2026-01-05", "date_to": "2026-01-01"},
            "date_to",
            "before the first",
        ),
        (
            {"range": "custom", "date_from": "2020-01-01", "date_to": "2020-12-31"},
            "date_to",
            "at most 92 days",
        ),
        (
            {"range": "custom", "date_from": "1900-01-01", "date_to": "1900-01-02"},
            "date_from",
            "from 1970-01-01",
        ),
        ({"range": "custom", "date_from": "2026-01-01", "date_to": "9999-12-31"}, "date_to", "up to today"),
        ({"range": "custom", "date_from": "yesterday", "date_to": "2026-01-01"}, "date_from", "valid date"),
        ({"range": "forever"}, "range", "Pick a period from the list."),
        ({"split": "colour"}, "split", "Split by status or by endpoint."),
    ],
)
def test_a_bad_period_is_named_and_the_charts_fall_back_to_30_days(
    alice: Client, params: dict[str, str], field: str, message: str
) -> None:
    key()
    response = alice.get(DASHBOARD, params)

    assert response.status_code == 200
    form = response.context["chart_range"]
    assert message in " ".join(form.errors[field])
    assert response.context["period"].buckets == 30
    assert "The period is not valid" in response.content.decode()


def test_92_days_is_the_longest_range(alice: Client) -> None:
    key()
    today = timezone.localdate()
    response = alice.get(
        DASHBOARD,
        {
            "range": "custom",
            "date_from": (today - timedelta(days=91)).isoformat(),
            "date_to": today.isoformat(),
        },
    )
    assert response.context["period"].buckets == 92 and not response.context["chart_range"].errors


# -- the split -------------------------------------------------------------------------------


def test_the_split_by_endpoint_draws_a_layer_and_a_median_line_per_endpoint(alice: Client) -> None:
    account = key()
    now = timezone.now()
    calls(
        account,
        [
            (now, "compare", "OK"),
            (now, "detect", "OK"),
            (now, "detect", "NO_FACE"),
            (now - timedelta(days=1), "mask", "OK"),
        ],
    )

    response = alice.get(DASHBOARD, {"range": "7d", "split": "endpoint"})
    page = response.content.decode()

    # The registry's order and labels, whatever order the calls came in.
    assert response.context["calls_columns"] == ["Detect faces", "Compare faces", "Mask selfie"]
    assert response.context["calls_rows"][-1][1:] == ([2, 1, 0], 3)
    assert response.context["calls_rows"][-2][1:] == ([0, 0, 1], 1)
    assert response.context["latency_columns"] == ["Detect faces", "Compare faces", "Mask selfie"]
    detect_median = response.context["latency_line_rows"][-1][1][0]
    assert detect_median == pytest.approx(25.0)  # the median of 20 and 30 ms
    assert "Calls per day by endpoint, last 7 days" in page
    assert "Median latency per day by endpoint" in page
    assert page.count('<details class="chart-table">') == 2
    assert '<th scope="col">Compare faces</th>' in page


def test_the_series_query_count_is_the_same_for_every_split_and_period(
    alice: Client, django_assert_max_num_queries: Any
) -> None:
    key()
    for params in ({}, {"range": "24h", "split": "endpoint"}, {"range": "7d"}):
        with django_assert_max_num_queries(8):
            assert alice.get(DASHBOARD, params).status_code == 200


def test_bucket_series_places_each_call_in_its_bucket(db: None) -> None:
    account = key()
    base = datetime(2026, 3, 1, tzinfo=ZoneInfo("UTC"))
    bounds = [base + timedelta(hours=hour) for hour in range(4)]
    calls(
        account,
        [(base, "detect", "OK"), (base + timedelta(minutes=90), "mask", "OK"), (bounds[-1], "mask", "OK")],
    )
    series = usage.bucket_series([account.pk], bounds, by_endpoint=True)
    assert series.endpoints == ["detect", "mask"]
    assert series.endpoint_counts == {"detect": [1, 0, 0], "mask": [0, 1, 0]}
    assert series.totals == [1, 1, 0]
    assert series.endpoint_latency["mask"][0] is None and series.endpoint_latency["mask"][1] is not None
    plain = usage.bucket_series([account.pk], bounds)
    assert (plain.endpoints, plain.endpoint_latency, plain.totals) == ([], {}, [1, 1, 0])


# -- the key card and the first steps ----------------------------------------------------------


def test_the_card_lists_the_liveness_challenge_opened_by_the_upload_permission(db: None) -> None:
    account = key()
    ApiAccount.objects.filter(pk=account.pk).update(endpoints=["upload_liveness", "detect"])
    account.refresh_from_db()

    card = key_card(account, usage.Usage(), timezone.now())

    # The registry's order; the challenge shares upload_liveness.
    assert card.endpoints == [
        "/faceid/v1/detect",
        "/resources/liveness_challenge",
        "/resources/upload_liveness_data",
    ]


def test_a_key_with_every_permission_lists_every_endpoint(alice: Client) -> None:
    key()
    page = alice.get(DASHBOARD).content.decode()
    assert "<code>/resources/liveness_challenge</code>" in page
    assert "<code>/identity/liveness_selfie_verification</code>" in page


def test_a_user_without_a_key_is_told_to_create_one_first(alice: Client) -> None:
    page = alice.get(DASHBOARD).content.decode()
    assert "Next step: make your first call" in page
    assert 'href="#new-key-title"' in page and 'id="next-step-curl"' not in page


def test_a_user_with_a_key_and_no_call_gets_try_detect_and_a_curl_line_without_the_secret(
    alice: Client,
) -> None:
    account, secret = account_create(username="alice", name="first")
    response = alice.get(DASHBOARD)
    page = response.content.decode()

    assert f'href="/portal/try/detect/?api_id={account.api_id}"' in page
    step = response.context["next_step"]
    assert step.key == account and "api_key=" + account.api_id in step.curl
    assert "api_secret=YOUR_API_SECRET" in step.curl and secret not in page
    assert "/faceid/v1/detect" in step.curl


def test_the_prompt_goes_once_the_user_has_called_even_long_ago(alice: Client) -> None:
    account = key()
    calls(account, [(timezone.now() - timedelta(days=200), "detect", "OK")])
    page = alice.get(DASHBOARD).content.decode()
    assert "Next step" not in page


def test_a_bad_period_keeps_a_good_split(alice: Client) -> None:
    key()
    response = alice.get(DASHBOARD, {"range": "custom", "split": "endpoint"})
    assert response.context["chart_range"].errors and response.context["split"] == "endpoint"
    assert response.context["period"].buckets == 30

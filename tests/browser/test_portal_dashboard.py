"""The dashboard in headless Chromium: the empty state, a key made and its secret shown once,
the secret handed to the try-it pages through sessionStorage, a rotation, and a phone."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import ApiAccount, ApiCall
from accounts.services import account_create, hash_secret
from tests.browser.conftest import Browsing, make_user


def add_history(account: ApiAccount) -> None:
    """A fortnight of calls, so that the charts have something to draw."""
    now = timezone.now()
    statuses = ["OK"] * 8 + ["INVALID_ARGUMENT", "NO_FACE_FOUND"]
    ApiCall.objects.bulk_create(
        ApiCall(
            account=account,
            endpoint="detect",
            request_id=f"shot-{index}",
            status=statuses[index % len(statuses)],
            http_status=200,
            latency_ms=40.0 + (index * 7) % 90,
            created_at=now - timedelta(hours=index * 5),
        )
        for index in range(70)
    )


@pytest.mark.django_db(transaction=True)
def test_a_user_makes_a_key_uses_it_and_rotates_it(browsing: Browsing) -> None:
    make_user("dana")
    page = browsing.page
    failed: list[str] = []
    page.on("response", lambda response: failed.append(response.url) if response.status >= 400 else None)
    browsing.sign_in("dana")

    assert page.get_by_role("heading", name="No API keys yet").is_visible()
    browsing.shot("dashboard-empty")

    page.get_by_label("Name").fill("Checkout service")
    page.get_by_role("button", name="Create key").click()
    page.wait_for_url(f"{browsing.base_url}/portal/")
    account = ApiAccount.objects.get(user__username="dana")
    secret = page.locator("#new-secret").inner_text()
    assert hash_secret(secret) == account.secret_hash
    assert page.get_by_text("it will not be shown again").is_visible()
    add_history(account)  # seen from the next page on
    browsing.shot("dashboard-new-key")

    page.get_by_role("button", name="Use this key on the try-it pages").click()
    assert page.get_by_role("status").filter(has_text="Saved in this browser tab").is_visible()
    read_back = "id => [sessionStorage['faceportal.api_id'], sessionStorage['faceportal.secret.' + id]]"
    stored = page.evaluate(read_back, account.api_id)
    assert stored == [account.api_id, secret]

    page.get_by_text("Rotate secret").click()
    page.get_by_role("button", name="Yes, rotate the secret").click()
    page.wait_for_url(f"{browsing.base_url}/portal/")
    rotated = page.locator("#new-secret").inner_text()
    account.refresh_from_db()
    assert rotated != secret and hash_secret(rotated) == account.secret_hash
    assert page.locator("#calls-chart rect").count() > 0
    browsing.shot("dashboard-rotated")

    page.reload()
    assert page.locator("#new-secret").count() == 0
    assert rotated not in page.content()
    page.set_viewport_size({"width": 390, "height": 844})
    browsing.shot("dashboard-phone")
    # The browser's own favicon request is no page's doing (the base layout names no icon).
    assert [url for url in failed if not url.endswith("/favicon.ico")] == []
    problems = [entry for entry in browsing.console if entry.startswith(("error", "pageerror"))]
    assert [entry for entry in problems if "Failed to load resource" not in entry] == []


LAPTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}


def no_sideways_scroll(page: Any) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px"


def console_errors(browsing: Browsing) -> list[str]:
    return [
        line
        for line in browsing.console
        if line.startswith(("error", "pageerror")) and "Failed to load resource" not in line
    ]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("viewport", [LAPTOP, PHONE], ids=["laptop", "phone"])
def test_the_charts_take_a_period_and_a_split_by_endpoint(
    browsing: Browsing, viewport: dict[str, int]
) -> None:
    make_user("erin")
    account, _ = account_create(username="erin", name="web shop")
    now = timezone.now()
    ApiCall.objects.bulk_create(
        ApiCall(
            account=account,
            endpoint=("detect", "compare", "mask")[index % 3],
            request_id=f"split-{index}",
            status="OK" if index % 4 else "NO_FACE_DETECTED",
            http_status=200,
            latency_ms=30.0 + index,
            created_at=now - timedelta(hours=index * 3),
        )
        for index in range(40)
    )
    page = browsing.page
    page.set_viewport_size(viewport)
    browsing.sign_in("erin")
    assert page.get_by_role("heading", name="Calls per day by status").is_visible()
    assert page.get_by_label("Period", exact=True).input_value() == "30d"
    no_sideways_scroll(page)

    page.get_by_label("Period", exact=True).select_option("7d")
    page.get_by_label("Split by").select_option("endpoint")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(re.compile(r"range=7d.*split=endpoint"))
    assert page.get_by_role("heading", name="Calls per day by endpoint").is_visible()
    legend = page.locator(".chart-figure").first.locator(".legend li").all_inner_texts()
    assert legend == ["Detect faces", "Compare faces", "Mask selfie"]
    assert page.locator("#calls-chart rect").count() > 0
    assert page.locator("#latency-chart polyline, #latency-chart circle").count() > 0
    # The table alternative: closed, then opened, a column per endpoint and a row per day.
    summary = page.locator(".chart-table summary").first
    summary.click()
    table = page.locator(".chart-table table").first
    assert table.is_visible()
    assert table.locator("thead th").all_inner_texts() == [
        "Day",
        "Detect faces",
        "Compare faces",
        "Mask selfie",
        "All",
    ]
    assert table.locator("tbody tr").count() == 7
    no_sideways_scroll(page)
    browsing.shot(f"dashboard-split-endpoint-{viewport['width']}")

    page.get_by_label("Period", exact=True).select_option("custom")
    page.get_by_label("From", exact=True).fill("2026-01-10")
    page.get_by_label("To", exact=True).fill("2026-01-01")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(re.compile(r"range=custom"))
    assert page.get_by_text("The last day is before the first.").is_visible()
    assert page.get_by_role("alert").filter(has_text="The period is not valid").is_visible()
    no_sideways_scroll(page)
    browsing.shot(f"dashboard-bad-range-{viewport['width']}")
    assert console_errors(browsing) == []


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("viewport", [LAPTOP, PHONE], ids=["laptop", "phone"])
def test_a_new_user_is_shown_the_next_step(browsing: Browsing, viewport: dict[str, int]) -> None:
    make_user("finn")
    page = browsing.page
    page.set_viewport_size(viewport)
    browsing.sign_in("finn")
    prompt = page.locator("#next-step")
    assert prompt.get_by_role("heading", name="Next step: make your first call").is_visible()
    assert prompt.get_by_role("link", name="New API key").is_visible()
    no_sideways_scroll(page)

    page.get_by_label("Name").fill("first key")
    page.get_by_role("button", name="Create key").click()
    page.wait_for_url(f"{browsing.base_url}/portal/")
    account = ApiAccount.objects.get(user__username="finn")
    curl = page.locator("#next-step-curl").inner_text()
    assert f"api_key={account.api_id}" in curl and "api_secret=YOUR_API_SECRET" in curl
    assert page.locator("#new-secret").inner_text() not in curl
    link = prompt.get_by_role("link", name="detect try-it page")
    assert link.get_attribute("href") == f"/portal/try/detect/?api_id={account.api_id}"
    # The key card lists the liveness challenge, which the upload permission opens.
    assert page.locator(".endpoints code", has_text="/resources/liveness_challenge").count() == 1
    no_sideways_scroll(page)
    browsing.shot(f"dashboard-next-step-{viewport['width']}")
    assert console_errors(browsing) == []

"""The call history in headless Chromium: list, filter, detail with thumbnails, and a phone."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from accounts.models import ApiCall
from accounts.services import account_create
from tests.browser.conftest import Browsing, make_user
from tests.conftest import encode, pixels

# The history shows one real compare call (the fixture below makes it).
pytestmark = pytest.mark.models

ERRORS = [("NO_FACE_DETECTED", 400), ("INVALID_ARGUMENT", 400), ("RATE_LIMIT_EXCEEDED", 429)]
ENDPOINTS = ["detect", "compare", "mask", "liveness_verification"]


@pytest.fixture
def alice_with_calls(settings: Any, tmp_path: Path) -> str:
    """Alice, 60 recorded calls (a quarter of them errors) and, newest, one real compare call."""
    settings.MEDIA_ROOT = tmp_path / "media"
    cache.clear()
    make_user("alice")
    account, secret = account_create(username="alice", name="production", rate=100)
    now = timezone.now()
    ApiCall.objects.bulk_create(
        ApiCall(
            account=account,
            endpoint=ENDPOINTS[n % len(ENDPOINTS)],
            request_id=f"TID{n:032x}",
            status=ERRORS[n % 3][0] if n % 4 == 0 else "OK",
            http_status=ERRORS[n % 3][1] if n % 4 == 0 else 200,
            latency_ms=40 + (n * 37) % 300,
            created_at=now - timedelta(hours=n + 1),
        )
        for n in range(60)
    )
    response = Client().post(
        f"/identity/compare_faces_in_two_images?api_id={account.api_id}&api_secret={secret}",
        {
            "image_one_file": SimpleUploadedFile("hopper.jpg", encode(pixels("grace_hopper"))),
            "image_two_file": SimpleUploadedFile("astronaut.png", encode(pixels("astronaut"), "PNG")),
        },
    )
    assert response.json()["status"] == "OK"
    return str(response.json()["request_id"])


@pytest.mark.django_db(transaction=True)
def test_list_filter_and_detail_in_a_browser(browsing: Browsing, alice_with_calls: str) -> None:
    page = browsing.page
    failed: list[str] = []
    page.on("response", lambda response: failed.append(response.url) if response.status >= 400 else None)
    browsing.sign_in("alice")
    page.get_by_role("link", name="Calls").click()
    page.wait_for_url(re.compile(r"/portal/calls/$"))
    assert page.locator("table.calls tbody tr").count() == 50
    assert page.get_by_text("61 calls").is_visible()
    browsing.shot("history-list")

    page.get_by_label("Status").fill("error")
    page.get_by_label("Endpoint").select_option("detect")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(r"status=error"))
    badges = page.locator("table.calls .badge")
    assert badges.count() > 0 and page.locator("table.calls .badge.ok").count() == 0
    assert set(page.locator("table.calls td[data-label=Endpoint]").all_inner_texts()) == {"Detect faces"}
    browsing.shot("history-filtered")

    # The real call: by its request id (a prefix is enough), then its detail.
    page.get_by_role("link", name="Clear").click()
    page.get_by_label("Request id").fill(alice_with_calls[:12])
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"request_id="))
    page.get_by_role("link", name=alice_with_calls).click()
    page.wait_for_url(re.compile(f"/portal/calls/{alice_with_calls}/"))
    page.wait_for_load_state("networkidle")
    thumbs = page.locator("img.thumb")
    assert thumbs.count() == 2
    assert all(thumbs.nth(i).evaluate("img => img.complete && img.naturalWidth > 0") for i in range(2))
    assert page.get_by_text("Compare faces").first.is_visible()
    assert "********" in page.locator("table.parameters").inner_text()
    browsing.shot("call-detail")
    page.get_by_role("link", name="← Back to calls").click()
    assert page.get_by_label("Request id").input_value() == alice_with_calls[:12]
    # The browser's own favicon request is the one 404 allowed (the portal has no icon).
    assert [url for url in failed if not url.endswith("/favicon.ico")] == []
    assert [line for line in browsing.console if "Failed to load resource" not in line] == []


@pytest.mark.django_db(transaction=True)
def test_the_list_fits_a_phone(browsing: Browsing, alice_with_calls: str) -> None:
    page = browsing.page
    page.set_viewport_size({"width": 390, "height": 844})
    browsing.sign_in("alice")
    browsing.go("/portal/calls/?status=error")
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px"
    # Each call is a compact card: four short lines, its HTTP code labelled.
    row = page.locator("table.calls tbody tr").first
    box = row.bounding_box()
    assert box is not None and box["width"] <= 390 and box["height"] < 140, box
    http = row.locator("td[data-label=HTTP]").evaluate("td => getComputedStyle(td, '::before').content")
    assert http == '"HTTP "'
    browsing.shot("history-phone")

    browsing.go("/portal/calls/?date_from=2026-03-10&date_to=2026-03-01")
    assert page.get_by_text("The end date is before the start date.").is_visible()
    assert page.get_by_label("To").get_attribute("aria-invalid") == "true"
    browsing.shot("history-invalid-filter-phone")

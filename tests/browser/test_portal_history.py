"""The call history in headless Chromium: list, filter, detail with thumbnails, and a phone."""

from __future__ import annotations

import json
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
from resources.services import call_image_keep, image_store
from tests.browser.conftest import Browsing, make_user
from tests.conftest import encode, pixels

# The first two tests show one real compare call (alice_with_calls makes it): they run the models.

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


@pytest.mark.models
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


@pytest.mark.models
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


# -- without the models: recorded calls, and images kept with them ---------------------------

LAPTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
LONG_CODES = ["AUTHORIZATION_ERROR:OUT_OF_QUOTA", "INVALID_IMAGE_FORMAT_OR_SIZE", "OK", "BAD_ARGUMENTS:image"]
DETECT_BODY = json.dumps(
    {
        "time_used": 40,
        "request_id": "1700000000,d",
        "faces": [
            {
                "quality": 91.5,
                "quality_threshold": 70.1,
                "rect": {"left": 0.3, "top": 0.2, "width": 0.4, "height": 0.5},
            },
        ],
    }
)


@pytest.fixture
def bob(settings: Any, tmp_path: Path) -> Any:
    """Bob, calls with long error codes, and one detect call whose photo is kept with it."""
    settings.MEDIA_ROOT = tmp_path / "media"
    cache.clear()
    make_user("bob")
    account, _ = account_create(username="bob", name="phone app")
    now = timezone.now()
    ApiCall.objects.bulk_create(
        ApiCall(
            account=account,
            endpoint=ENDPOINTS[n % len(ENDPOINTS)],
            request_id=f"TID{n:032x}",
            status=LONG_CODES[n % len(LONG_CODES)],
            http_status=200 if LONG_CODES[n % len(LONG_CODES)] == "OK" else 403,
            latency_ms=40.0,
            created_at=now - timedelta(hours=n + 1),
        )
        for n in range(12)
    )
    ApiCall.objects.create(
        account=account,
        endpoint="detect",
        request_id="1700000000,d",
        status="OK",
        http_status=200,
        latency_ms=55.0,
        request_params={
            "api_key": account.api_id,
            "api_secret": "********",
            "multi_oriented_detection": "1",
            "image": {"file": "me.jpg", "bytes": 1000, "content_type": "image/jpeg"},
        },
        response_body=DETECT_BODY,
    )
    height, width = pixels("grace_hopper").shape[:2]
    call_image_keep(
        account=account,
        request_id="1700000000,d",
        role="image",
        data=encode(pixels("grace_hopper")),
        format="JPEG",
        width=width,
        height=height,
    )
    return account


def console_errors(browsing: Browsing) -> list[str]:
    """Script errors and console errors, but the browser's own favicon request (no icon yet)."""
    return [
        line
        for line in browsing.console
        if line.startswith(("error", "pageerror")) and "Failed to load resource" not in line
    ]


def no_sideways_scroll(page: Any) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px"


def overlap(first: dict[str, float], second: dict[str, float]) -> bool:
    return not (
        first["x"] + first["width"] <= second["x"]
        or second["x"] + second["width"] <= first["x"]
        or first["y"] + first["height"] <= second["y"]
        or second["y"] + second["height"] <= first["y"]
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("viewport", [LAPTOP, PHONE], ids=["laptop", "phone"])
def test_status_badges_never_cover_the_time(browsing: Browsing, bob: Any, viewport: dict[str, int]) -> None:
    page = browsing.page
    page.set_viewport_size(viewport)
    browsing.sign_in("bob")
    browsing.go("/portal/calls/")
    no_sideways_scroll(page)
    rows = page.locator("table.calls tbody tr")
    assert rows.count() == 13
    for index in range(rows.count()):
        row = rows.nth(index)
        time_box = row.locator("td[data-label=Time] time").bounding_box()
        badge_box = row.locator("td[data-label=Status] .badge").bounding_box()
        row_box = row.bounding_box()
        assert time_box and badge_box and row_box
        assert not overlap(time_box, badge_box), (row.inner_text(), time_box, badge_box)
        assert badge_box["x"] + badge_box["width"] <= row_box["x"] + row_box["width"] + 0.5
    browsing.shot(f"history-long-codes-{viewport['width']}")


@pytest.mark.django_db(transaction=True)
def test_a_click_anywhere_on_a_row_opens_its_call_and_the_link_is_reachable_by_keyboard(
    browsing: Browsing, bob: Any
) -> None:
    page = browsing.page
    browsing.sign_in("bob")
    browsing.go("/portal/calls/")
    first = page.locator("table.calls tbody tr").first
    request_id = first.locator("td.request-id a").inner_text()
    first.locator("td[data-label=Endpoint]").click()
    page.wait_for_url(re.compile("/portal/calls/" + re.escape(request_id).replace(",", "(,|%2C)") + "/"))
    page.go_back()
    page.wait_for_url(re.compile(r"/portal/calls/$"))
    # The keyboard reaches the same call through the row's real link.
    link = page.locator("table.calls tbody tr").first.locator("td.request-id a")
    link.focus()
    assert page.evaluate("document.activeElement.textContent") == request_id
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/portal/calls/[^/]+/$"))
    assert page.locator("h1 .request-id").inner_text() == request_id
    assert console_errors(browsing) == []


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("viewport", [LAPTOP, PHONE], ids=["laptop", "phone"])
def test_the_detail_draws_the_boxes_on_the_kept_photo_and_replays_the_call(
    browsing: Browsing, bob: Any, viewport: dict[str, int]
) -> None:
    page = browsing.page
    page.set_viewport_size(viewport)
    browsing.sign_in("bob")
    browsing.go("/portal/calls/1700000000%2Cd/")
    page.wait_for_load_state("networkidle")
    photo = page.locator(".result-photo img")
    assert photo.evaluate("img => img.complete && img.naturalWidth > 0")
    photo_box, face_box = photo.bounding_box(), page.locator(".result-box").bounding_box()
    assert photo_box and face_box
    # The box is where the record says: 30 % in, 20 % down, 40 % by 50 % of the photo.
    assert abs(face_box["x"] - (photo_box["x"] + 0.3 * photo_box["width"])) < 2
    assert abs(face_box["y"] - (photo_box["y"] + 0.2 * photo_box["height"])) < 2
    assert abs(face_box["width"] - 0.4 * photo_box["width"]) < 3
    assert abs(face_box["height"] - 0.5 * photo_box["height"]) < 3
    no_sideways_scroll(page)
    curl = page.locator("#replay-curl").inner_text()
    assert '"api_secret=$API_SECRET"' in curl and "********" not in curl
    page.get_by_role("button", name="Copy as curl").click()
    page.wait_for_function("() => document.getElementById('replay-copied').textContent !== ''")
    assert page.locator("#replay-copied").inner_text() in (
        "Copied.",
        "Selected: press Ctrl+C (or Cmd+C) to copy.",
    )
    browsing.shot(f"call-detail-detect-{viewport['width']}")

    page.get_by_role("link", name="Replay in try-it").click()
    page.wait_for_url(re.compile(r"/portal/try/detect/\?"))
    page.wait_for_selector("#try-submit:not([disabled])")
    assert page.locator("#try-api-id").input_value() == bob.api_id
    assert page.get_by_label(re.compile("Find faces turned")).is_checked()
    assert "multi_oriented_detection=1" in page.locator("#try-curl").inner_text()
    no_sideways_scroll(page)
    assert console_errors(browsing) == []


@pytest.mark.django_db(transaction=True)
def test_a_replayed_compare_picks_the_stored_ids(browsing: Browsing, bob: Any) -> None:
    one = image_store(
        account=bob, data=encode(pixels("grace_hopper")), format="JPEG", width=1, height=1, source="file"
    )
    ApiCall.objects.create(
        account=bob,
        endpoint="compare",
        request_id="TIDreplay",
        status="OK",
        http_status=200,
        latency_ms=80.0,
        image_ids=[one.id],
        request_params={
            "api_id": bob.api_id,
            "api_secret": "********",
            "image_one_id": one.id,
            "image_two_auto_rotate": "true",
        },
        response_body=json.dumps({"status": "OK", "confidences": [[0.2]], "max_confidence": 0.2}),
    )
    page = browsing.page
    browsing.sign_in("bob")
    browsing.go("/portal/calls/TIDreplay/")
    page.get_by_role("link", name="Replay in try-it").click()
    page.wait_for_url(re.compile(r"/portal/try/compare/\?"))
    page.wait_for_selector("#try-submit:not([disabled])")
    one_slot = page.locator('[data-image-slot="image_one"]')
    assert one_slot.locator('input[type=radio][value="id"]').is_checked()
    assert page.locator("#image_one-id").input_value() == one.id
    assert page.locator("#image_one-id").is_enabled() and page.locator("#image_one-file").is_disabled()
    assert page.get_by_label(re.compile("Also try turned")).nth(1).is_checked()
    assert f"image_one_id={one.id}" in page.locator("#try-curl").inner_text()

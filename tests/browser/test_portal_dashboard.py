"""The dashboard in headless Chromium: the empty state, a key made and its secret shown once,
the secret handed to the try-it pages through sessionStorage, a rotation, and a phone."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import ApiAccount, ApiCall
from accounts.services import hash_secret
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

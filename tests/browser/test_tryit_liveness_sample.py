"""Liveness without a camera on the try-it page: the sample package, built fresh for a
challenge the page asks for with the user's key, verified like any package, with the cues
and what to do differently in words."""

from __future__ import annotations

import pytest

from accounts.models import ApiCall
from tests.browser.conftest import Browsing, Key
from tests.browser.helpers import (
    answer,
    call_and_wait,
    fits_a_phone,
    no_page_errors,
    open_try_page,
    recorded_call,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.models]


def test_the_sample_package_is_verified_and_its_failures_explained(browsing: Browsing, key: Key) -> None:
    page = open_try_page(browsing, key, "liveness")
    page.get_by_role("button", name="Use a sample package").click()
    page.wait_for_function(
        "() => /Sample ready|refused|failed|could not/"
        ".test(document.getElementById('sample-status').textContent)",
        timeout=30_000,
    )
    status = page.locator("#sample-status").text_content() or ""
    assert status.startswith("Sample ready"), status
    # The challenge was an ordinary call of the user's key.
    assert (
        ApiCall.objects.filter(account=key.account, endpoint="liveness_challenge", status="OK").count() == 1
    )
    assert page.locator("#liveness_data-file").evaluate("input => input.files[0].name") == "sample.fplv"
    assert page.locator("#selfie-file").evaluate("input => input.files[0].name") == "sample-selfie.jpg"

    call_and_wait(page, "Verify")
    body = answer(page)
    assert body["hack_score"] >= 0.9  # a photo: caught
    assert body["verify_score"] >= 0.7  # ... and the selfie is the same photo
    assert body["details"]["timestamps"]["passed"] and body["details"]["faces"]["passed"]
    advice = page.locator("#liveness-advice").inner_text()
    assert "We did not see a blink" in advice, advice
    cues = page.locator("#liveness-cues").inner_text()
    assert "frames show exactly one face" in cues and "(action=" not in cues, cues
    assert "Blink: not seen" in cues, cues
    recorded_call(page, key, "liveness_verification", "OK", 200)
    browsing.shot("try-liveness-sample")
    fits_a_phone(page)
    browsing.shot("try-liveness-sample-phone")
    no_page_errors(browsing)


def test_the_sample_needs_the_keys_secret(browsing: Browsing, key: Key) -> None:
    page = open_try_page(browsing, key, "liveness")
    page.locator("#try-secret").fill("")
    page.get_by_role("button", name="Use a sample package").click()
    assert "secret first" in (page.locator("#sample-status").text_content() or "")
    assert not ApiCall.objects.filter(account=key.account).exists()
    no_page_errors(browsing)

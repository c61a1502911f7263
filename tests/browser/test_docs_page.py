"""/docs/ in headless Chromium: Swagger UI's "Try it out" sends the document's examples (never
the word "string"), detect says where its credentials go, a bar leads back to the portal, and
the page fits a phone."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import Browsing
from tests.conftest import encode, pixels

PHONE = {"width": 390, "height": 844}


def sent_by_try_it_out(browsing: Browsing, operation: str, files: list[Path] | None = None) -> str:
    """Opens one operation, presses Try it out (choosing `files` for its required file fields)
    and Execute, and returns the body it sent (answered here: nothing reaches the API)."""
    page = browsing.page
    sent: list[str] = []

    def capture(route: Any) -> None:
        sent.append(route.request.post_data or "")
        route.fulfill(status=200, content_type="application/json", body="{}")

    page.route(re.compile(r".*/(identity|faceid|resources)/.*"), capture)
    block = page.locator(f"#operations-{operation}")
    block.locator(".opblock-summary").first.click()
    block.get_by_role("button", name="Try it out").click()
    for index, path in enumerate(files or []):  # the form's file inputs, in the document's order
        block.locator("input[type=file]").nth(index).set_input_files(str(path))
    block.get_by_role("button", name="Execute").click()
    page.wait_for_function(
        "() => document.querySelector('.responses-wrapper .live-responses-table') !== null"
    )
    assert sent, "Try it out sent nothing"
    return sent[0]


@pytest.mark.django_db(transaction=True)
def test_try_it_out_sends_the_examples_and_never_the_word_string(browsing: Browsing, tmp_path: Path) -> None:
    browsing.go("/docs/")
    page = browsing.page
    page.wait_for_selector("#swagger-ui .opblock")
    body = sent_by_try_it_out(browsing, "LinkFace-identity_mask_selfie_image")
    assert "string" not in body
    assert 'name="mask_eye"\r\n\r\nfalse' in body and 'name="auto_rotate"\r\n\r\nfalse' in body
    page.reload()
    page.wait_for_selector("#swagger-ui .opblock")
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(encode(pixels("grace_hopper")))
    detect = sent_by_try_it_out(browsing, "FaceID-faceid_v1_detect", [photo])
    assert "string" not in detect
    assert (
        'name="api_key"\r\n\r\nYOUR_API_ID' in detect and 'name="multi_oriented_detection"\r\n\r\n0' in detect
    )


@pytest.mark.django_db(transaction=True)
def test_the_docs_lead_back_to_the_portal_and_fit_a_phone(browsing: Browsing) -> None:
    page = browsing.page
    browsing.go("/docs/")
    page.wait_for_selector("#swagger-ui .opblock")
    assert page.get_by_role("link", name="Back to the portal").get_attribute("href") == "/portal/"
    page.locator("#operations-FaceID-faceid_v1_detect .opblock-summary").first.click()
    # The operation opens with an animation: wait for its description rather than look at once.
    page.get_by_text("OpenAPI 3 has no security scheme for form fields").wait_for(
        state="visible", timeout=10_000
    )
    page.set_viewport_size(PHONE)
    page.wait_for_timeout(200)
    bar = page.locator(".docs-bar").bounding_box()
    assert bar is not None and bar["width"] <= PHONE["width"]
    # Swagger UI's wide tables and samples scroll inside their own boxes, not the page.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    browsing.shot("docs-phone")
    page.get_by_role("link", name="Back to the portal").click()
    page.wait_for_url(re.compile(r"/portal/login/"))

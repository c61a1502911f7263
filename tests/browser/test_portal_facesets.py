"""The face-set pages and the search try-it page in headless Chromium, on a live server: faces
are enrolled through the real API in the setup (package photos), the user looks at their sets
and crops, deletes a face through the confirmation page, and searches a set with another shot
of an enrolled person. Every page fits 1366x900 and a 390x844 phone.

Screenshots: facesets-list, facesets-detail, facesets-detail-phone, try-search,
try-search-phone, in the folder conftest.py prints at the end.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from django.test import Client

from facesets.models import EnrolledFace, FaceSet
from identity.documented import DOCUMENTED_THRESHOLDS, documented_far
from tests.browser.conftest import TRY_USERNAME, Browsing, Key
from tests.browser.helpers import (
    PHONE,
    answer,
    call_and_wait,
    no_page_errors,
    open_try_page,
    recorded_call,
)
from tests.conftest import encode, pixels

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.models]

DESKTOP = {"width": 1366, "height": 900}


def api(key: Key, verb: str, **fields: Any) -> dict[str, Any]:
    """The face-set API called as an integrator would, with the try-it user's key."""
    response = Client().post(
        f"/faceset/v2/{verb}", {"api_id": key.account.api_id, "api_secret": key.secret, **fields}
    )
    body = dict(response.json())
    assert response.status_code == 200 and body["status"] == "OK", body
    return body


def enrol(key: Key, set_name: str, photo: str, person_id: int, tmp_path: Path) -> EnrolledFace:
    path = tmp_path / f"{photo}.jpg"
    path.write_bytes(encode(pixels(photo), "JPEG", quality=92))
    with path.open("rb") as handle:
        result = api(key, "add_face", name=set_name, file=handle, person_id=str(person_id))["result"]
    return EnrolledFace.objects.get(pk=result["face_id"])


def another_shot(tmp_path: Path, name: str) -> Path:
    """The same person in another file: cropped, scaled down and re-encoded."""
    image = pixels(name)
    h, w = image.shape[:2]
    cropped = np.ascontiguousarray(image[h // 20 : h - h // 20, w // 20 : w - w // 20])
    smaller = cv2.resize(cropped, (cropped.shape[1] * 4 // 5, cropped.shape[0] * 4 // 5))
    path = tmp_path / f"{name} again.jpg"
    path.write_bytes(encode(smaller, "JPEG", quality=80))
    return path


def fits(page: Any, viewport: dict[str, int]) -> None:
    page.set_viewport_size(viewport)
    page.wait_for_timeout(200)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= viewport["width"], (page.url, viewport, width)


def crops_loaded(page: Any, selector: str) -> list[int]:
    """The natural widths of the crops shown (0 for one that did not load)."""
    page.wait_for_function(
        f"() => [...document.querySelectorAll({selector!r})].every((image) => image.complete)"
    )
    return list(page.eval_on_selector_all(selector, "images => images.map((image) => image.naturalWidth)"))


def test_the_face_set_pages_show_crops_fit_and_delete_a_face(
    browsing: Browsing, key: Key, tmp_path: Path
) -> None:
    api(key, "create", name="staff", desc="gate A, the long description of a set that wraps on a phone")
    grace = enrol(key, "staff", "grace_hopper", 7, tmp_path)
    astronaut = enrol(key, "staff", "astronaut", 8, tmp_path)
    face_set = FaceSet.objects.get(account=key.account, name="staff")
    browsing.sign_in(TRY_USERNAME)
    page = browsing.page

    page.set_viewport_size(DESKTOP)
    page.get_by_role("link", name="Face sets").click()
    row = page.locator("table.facesets tbody tr")
    assert row.count() == 1
    assert row.locator("td.num").all_text_contents() == ["2", "2"]
    browsing.shot("facesets-list")
    fits(page, PHONE)
    fits(page, DESKTOP)

    page.get_by_role("link", name="staff").click()
    cards = page.locator(".face-card")
    assert cards.count() == 2
    assert page.locator(".face-card .face-id").all_text_contents() == [str(grace.pk), str(astronaut.pk)]
    assert all(width > 0 for width in crops_loaded(page, ".face-card img.face-crop"))
    browsing.shot("facesets-detail")
    fits(page, PHONE)
    browsing.shot("facesets-detail-phone")

    page.get_by_role("link", name=f"Delete face {astronaut.pk}…").click()
    assert page.get_by_role("heading", name=f"Delete face {astronaut.pk}").is_visible()
    fits(page, PHONE)
    page.get_by_role("button", name="Yes, delete the face").click()
    page.wait_for_selector(".messages")
    assert f"Face {astronaut.pk} deleted" in (page.locator(".messages").text_content() or "")
    assert page.locator(".face-card").count() == 1
    face_set.refresh_from_db()
    assert face_set.face_count == 1
    assert list(EnrolledFace.objects.values_list("pk", flat=True)) == [grace.pk]
    no_page_errors(browsing)


def test_the_search_page_finds_the_enrolled_face(browsing: Browsing, key: Key, tmp_path: Path) -> None:
    api(key, "create", name="empty")
    api(key, "create", name="staff")
    grace = enrol(key, "staff", "grace_hopper", 7, tmp_path)
    enrol(key, "staff", "astronaut", 8, tmp_path)
    page = open_try_page(browsing, key, "search")
    page.set_viewport_size(DESKTOP)
    assert page.locator("#search-set option").all_text_contents() == ["empty (0 faces)", "staff (2 faces)"]
    page.select_option("#search-set", "staff")
    page.set_input_files("#image-file", str(another_shot(tmp_path, "grace_hopper")))
    page.fill("#search-threshold", "0.5")
    page.fill("#search-top", "3")
    assert "name=staff" in (page.locator("#try-curl").text_content() or "")
    call_and_wait(page, "Search the set")

    body = answer(page)
    matches = body["result"]
    assert matches and matches[0]["face_id"] == grace.pk and matches[0]["person_id"] == 7
    assert all(match["score"] >= 0.5 for match in matches)
    cards = page.locator("#search-matches .match")
    assert cards.count() == len(matches)
    assert cards.first.locator(".face-id").text_content() == str(grace.pk)
    assert cards.first.locator(".score").text_content() == f"#1 · {matches[0]['score']:.3f}"
    # Read against the highest documented threshold the score reaches.
    band = max(t for t in DOCUMENTED_THRESHOLDS if matches[0]["score"] >= t)
    badge = f"≥ {band:g}: 1/{round(1 / documented_far(band)):,}"
    assert cards.first.locator(".badge").text_content() == badge
    assert all(width > 0 for width in crops_loaded(page, "#search-matches img.face-crop"))
    assert page.locator("#search-query").evaluate("image => image.complete && image.naturalWidth > 0")
    status = page.locator("#try-status").text_content() or ""
    assert f"the best is person 7 (face {grace.pk})" in status
    recorded_call(page, key, "faceset_search_face", "OK", 200)
    browsing.shot("try-search")
    fits(page, PHONE)
    browsing.shot("try-search-phone")
    fits(page, DESKTOP)

    # Nobody reaches a score of 1: an empty answer, said so, not an error.
    page.fill("#search-threshold", "1")
    call_and_wait(page, "Search the set")
    assert answer(page)["result"] == []
    assert page.locator("#search-matches .match").count() == 0
    assert page.locator("#search-none").is_visible()
    no_page_errors(browsing)

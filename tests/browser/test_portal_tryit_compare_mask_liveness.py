"""The try-it pages end to end in headless Chromium, compare, mask and liveness: a signed-in
user runs each page with package photos (and a liveness package) against the real API on a
live server, and the test checks what the page drew against the JSON it received and the
call history. Fixtures in conftest.py, helpers in helpers.py.

Screenshots: try-compare, try-compare-stored-id, try-compare-phone, try-mask, try-liveness,
try-liveness-phone, in the folder conftest.py prints at the end.
"""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from faceengine import FaceEngine, from_array
from faceengine.masking import BAND_COLOUR, eye_band
from faceportal_capture.build import Challenge, build_package
from resources.liveness import challenge_body, challenge_issue
from tests.browser.conftest import Browsing, Key
from tests.browser.helpers import (
    answer,
    call_and_wait,
    curl_text,
    fits_a_phone,
    no_page_errors,
    open_try_page,
    recorded_call,
    wait_for_answer,
    write_photo,
)
from tests.conftest import encode, pixels

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.models]

RIGHT_PART_FROM = 400  # the compare test's second part of the group photo starts at this column


def matrix_cells(page: Any) -> list[list[tuple[str, float]]]:
    rows = page.locator("#compare-matrix tbody tr")
    return [
        [
            (cell.text_content(), float(cell.get_attribute("data-value")))
            for cell in rows.nth(i).locator("td.cell").all()
        ]
        for i in range(rows.count())
    ]


def test_compare_shows_the_matrix_with_face_crops_and_the_thresholds(
    browsing: Browsing, key: Key, tmp_path: Path
) -> None:
    page = open_try_page(browsing, key, "compare")
    photo = write_photo(tmp_path, "astronaut", "astronaut.png", "PNG")
    page.set_input_files("#image_one-file", str(photo))
    page.set_input_files("#image_two-file", str(photo))
    call_and_wait(page, "Compare faces")
    body = answer(page)
    assert body["confidences"] == [[1.0]]  # the same photo, as the vendor's does
    assert matrix_cells(page) == [[("1.0000", 1.0)]]
    crops = page.locator("#compare-matrix .crop")
    assert crops.count() == 2
    for index in range(2):
        assert "blob:" in (crops.nth(index).get_attribute("style") or "")
    hit = page.locator("#compare-thresholds tr.hit")
    assert hit.count() == 1 and hit.get_attribute("data-threshold") == "0.9"
    assert page.locator("#compare-matrix td.cell").get_attribute("class") == "num cell level-6"
    image_one_id = body["image_one"]["image_one_id"]
    assert image_one_id in (page.locator("#compare-ids").text_content() or "")
    recorded_call(page, key, "compare", "OK", 200)

    # Image one again by the id just returned (now suggested), against another person's photo.
    page.get_by_role("radio", name="Stored id").first.check()
    suggested = page.locator("#image_one-recent option").evaluate_all("options => options.map(o => o.value)")
    assert image_one_id in suggested
    page.locator("#image_one-id").fill(image_one_id)
    page.set_input_files("#image_two-file", str(write_photo(tmp_path, "grace_hopper", "grace.jpg")))
    assert f"--form-string 'image_one_id={image_one_id}'" in curl_text(page, key)
    call_and_wait(page, "Compare faces")
    body = answer(page)
    ((value,),) = body["confidences"]
    assert value < 0.6 and "image_one" not in body
    assert matrix_cells(page) == [[(f"{value:.4f}", value)]]
    row_crop = page.locator("#compare-matrix tbody th .crop").get_attribute("style") or ""
    assert f"/portal/images/{image_one_id}/thumbnail/?size=1280" in row_crop
    recorded_call(page, key, "compare", "OK", 200)
    browsing.shot("try-compare-stored-id")

    # Several faces a side: two overlapping parts of the group photo share exactly one person.
    page.get_by_role("radio", name="File").first.check()
    group = pixels("group")
    left, right = tmp_path / "left.png", tmp_path / "right.png"
    left.write_bytes(encode(group[:, :700].copy(), "PNG"))
    right.write_bytes(encode(group[:, RIGHT_PART_FROM:].copy(), "PNG"))
    page.set_input_files("#image_one-file", str(left))
    page.set_input_files("#image_two-file", str(right))
    call_and_wait(page, "Compare faces")
    body = answer(page)
    matrix = body["confidences"]
    assert len(matrix) >= 2 and len(matrix[0]) >= 2
    assert matrix_cells(page) == [[(f"{value:.4f}", value) for value in row] for row in matrix]
    assert page.locator("#compare-matrix .crop").count() == len(matrix) + len(matrix[0])
    # The one high cell pairs the crops of one face: the same spot of the group photo.
    ((i, j),) = [(i, j) for i, row in enumerate(matrix) for j, value in enumerate(row) if value >= 0.9]
    one, two = body["faces_one"][i]["rect"], body["faces_two"][j]["rect"]
    assert one["left"] == pytest.approx(two["left"] + RIGHT_PART_FROM, abs=12)
    assert page.locator("#compare-thresholds tr.hit").get_attribute("data-threshold") == "0.9"
    browsing.shot("try-compare")

    fits_a_phone(page)
    browsing.shot("try-compare-phone")
    no_page_errors(browsing)


def blob_bytes(page: Any, selector: str, attribute: str) -> bytes:
    encoded = page.locator(selector).evaluate(
        """async (node, attribute) => {
            const data = new Uint8Array(await (await fetch(node.getAttribute(attribute))).arrayBuffer());
            let text = "";
            for (const byte of data) text += String.fromCharCode(byte);
            return btoa(text);
        }""",
        attribute,
    )
    return base64.b64decode(encoded)


def band_mask(shape: tuple[int, ...], corners: np.ndarray) -> np.ndarray:
    import cv2

    mask = np.zeros(shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(corners).astype(np.int32)], 1)
    return mask.astype(bool)


def test_mask_shows_the_selfie_with_only_the_eye_band_changed(
    browsing: Browsing, key: Key, tmp_path: Path, engine: FaceEngine
) -> None:
    page = open_try_page(browsing, key, "mask")
    assert page.get_by_label("Cover the eyes").is_checked()
    page.set_input_files("#selfie-file", str(write_photo(tmp_path, "grace_hopper", "selfie.png", "PNG")))
    assert "-o 'masked.png'" in curl_text(page, key)
    # Keyboard only: Enter in the secret field sends the form.
    page.locator("#try-secret").press("Enter")
    wait_for_answer(page)
    assert page.locator("#try-error").is_hidden()
    assert "image/png" in (page.locator("#try-raw").text_content() or "")
    page.wait_for_function("() => document.getElementById('mask-result').naturalWidth > 0")

    original = np.asarray(Image.open(io.BytesIO(blob_bytes(page, "#mask-original", "src"))).convert("RGB"))
    answered = np.asarray(Image.open(io.BytesIO(blob_bytes(page, "#mask-download", "href"))).convert("RGB"))
    assert np.array_equal(original, pixels("grace_hopper"))
    face = engine.analyze(from_array(original), embed=False)[0]
    band = band_mask(original.shape, eye_band(face.landmarks))
    assert band.sum() > 1000
    assert np.array_equal(answered[~band], original[~band])  # PNG in, PNG out: exact outside
    assert np.all(answered[band] == BAND_COLOUR) and not np.array_equal(answered[band], original[band])
    assert page.locator("#mask-download").get_attribute("download") == "masked.png"
    recorded_call(page, key, "mask", "OK", 200)
    browsing.shot("try-mask")
    fits_a_phone(page)
    no_page_errors(browsing)


def test_liveness_verifies_an_uploaded_package_and_shows_each_cue(
    browsing: Browsing, key: Key, tmp_path: Path
) -> None:
    challenge_row, sealing_key = challenge_issue(key.account)
    challenge = Challenge.from_json(json.dumps(challenge_body(challenge_row, sealing_key)))
    held_still = [(pixels("grace_hopper"), i / 10) for i in range(12)]  # a photo held to the camera
    package = tmp_path / "capture.fplv"
    package.write_bytes(build_package(held_still, challenge))

    page = open_try_page(browsing, key, "liveness")
    capture = page.get_by_role("link", name="Record a liveness package with your camera")
    assert capture.get_attribute("href") == f"/liveness/capture/?api_id={key.account.api_id}"
    page.set_input_files("#liveness_data-file", str(package))
    page.set_input_files("#selfie-file", str(write_photo(tmp_path, "grace_hopper", "selfie.jpg")))
    call_and_wait(page, "Verify")
    body = answer(page)
    assert page.locator("#liveness-hack").text_content() == f"{body['hack_score']:.3f}"
    assert page.locator("#liveness-verify").text_content() == f"{body['verify_score']:.3f}"
    assert body["hack_score"] >= 0.9  # held still: caught
    assert page.locator("#liveness-hack-verdict").text_content() == "attack suspected"
    rows = page.locator("#liveness-cues tbody tr")
    assert rows.count() == len(body["details"]) == 6
    for cue, entry in body["details"].items():
        row = page.locator(f'#liveness-cues tr[data-cue="{cue}"]')
        assert row.locator("td").nth(0).text_content() == f"{entry['score']:.3f}"
        assert row.locator("td").nth(1).text_content() == ("passed" if entry["passed"] else "failed")
    assert body["liveness_data_id"] in (page.locator("#liveness-ids").text_content() or "")
    recorded_call(page, key, "liveness_verification", "OK", 200)
    browsing.shot("try-liveness")
    fits_a_phone(page)
    browsing.shot("try-liveness-phone")
    no_page_errors(browsing)

    # The capture page, opened from here, starts with the same key and its secret filled in.
    capture.click()
    page.wait_for_url(f"**/liveness/capture/?api_id={key.account.api_id}")
    assert page.get_by_label("API id").input_value() == key.account.api_id
    assert page.get_by_label("API secret").input_value() == key.secret

"""The try-it pages end to end in headless Chromium, compare, mask and liveness: a signed-in
user runs each page with package photos (and a liveness package) against the real API on a
live server, and the test checks what the page drew against the JSON it received and the
call history. Fixtures in conftest.py, helpers in helpers.py.

Screenshots: try-compare, try-compare-stored-id, try-compare-phone, try-mask, try-liveness,
try-liveness-phone, try-compare-verdict(-phone), try-compare-group, try-compare-group-cropped,
try-mask-group, try-compare-stored-picker, in the folder conftest.py prints at the end.
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

from accounts.models import ApiCall
from faceengine import FaceEngine, from_array
from faceengine.masking import BAND_COLOUR, eye_band
from facelab.testdata import photo_bytes
from faceportal_capture.build import Challenge, build_package
from resources.liveness import challenge_body, challenge_issue
from resources.services import image_store
from tests.browser.conftest import Browsing, Key
from tests.browser.helpers import (
    DESKTOP,
    PHONE,
    answer,
    call_and_wait,
    curl_text,
    drop_file,
    fits_a_phone,
    fits_the_width,
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
    # Level 6 of the table, and a match at the verdict's default 0.7.
    assert page.locator("#compare-matrix td.cell").get_attribute("class") == "num cell level-6 match"
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
    # The verdict names the pair that decides it.
    assert page.locator("#compare-verdict-text").text_content() == (
        f"Same person: face #{i + 1} of image one and face #{j + 1} of image two"
    )
    assert page.locator("#compare-matrix td.cell.match").count() == 1
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


def use_sample(page: Any, slot_file: str, label: str) -> None:
    page.locator(f'[data-target="{slot_file}"]').get_by_role(
        "button", name=f"Use the sample photo: {label}"
    ).click()
    page.wait_for_function(f"() => document.getElementById('{slot_file}').files.length === 1")


def result_in_view(page: Any) -> bool:
    return bool(
        page.evaluate(
            """() => { const box = document.getElementById("try-result").getBoundingClientRect();
                return box.top >= -1 && box.top < window.innerHeight * 0.6; }"""
        )
    )


def test_compare_says_same_person_or_not_at_the_chosen_rate_and_brings_the_result_into_view(
    browsing: Browsing, key: Key
) -> None:
    page = open_try_page(browsing, key, "compare")
    page.set_viewport_size(DESKTOP)
    assert page.get_by_label('Say "same person" when someone else would pass at most').input_value() == "0.7"
    use_sample(page, "image_one-file", "Grace Hopper: one face")
    use_sample(page, "image_two-file", "Grace Hopper: one face")
    # The user scrolled down to the button: the result lands above the viewport unless brought back.
    page.get_by_role("button", name="Compare faces").scroll_into_view_if_needed()
    page.evaluate("() => window.scrollTo(0, document.body.scrollHeight)")
    call_and_wait(page, "Compare faces")  # waits for the scroll to end
    assert result_in_view(page)
    assert page.evaluate("document.activeElement.id") == "try-result"  # screen readers go on from here
    assert answer(page)["confidences"] == [[1.0]]
    assert page.locator("#compare-verdict-text").text_content() == "Same person"
    why = page.locator("#compare-verdict-why").text_content() or ""
    assert "1.0000, at least 0.7" in why and "about 1 in 10,000 times" in why
    assert (page.locator("#try-status").text_content() or "").startswith("Same person (read at 1 in 10,000).")
    assert page.locator("#compare-matrix td.cell.match").count() == 1

    # Another person: different people, at every rate offered.
    use_sample(page, "image_two-file", "Eileen Collins: one face")
    call_and_wait(page, "Compare faces")
    ((value,),) = answer(page)["confidences"]
    assert value < 0.6
    for threshold, words in (("0.6", "1 in 1,000"), ("0.9", "1 in 1,000,000"), ("0.7", "1 in 10,000")):
        page.get_by_label('Say "same person" when someone else would pass at most').select_option(threshold)
        assert page.locator("#compare-verdict-text").text_content() == "Different people"
        why = page.locator("#compare-verdict-why").text_content() or ""
        assert f"No pair of faces reaches {threshold}: the highest is {value:.4f}" in why
        assert f"about {words} times" in why
    assert page.locator("#compare-matrix td.cell.match").count() == 0
    assert (
        ApiCall.objects.filter(account=key.account, endpoint="compare").count() == 2
    )  # re-reading sent nothing
    fits_the_width(page)
    browsing.shot("try-compare-verdict")
    page.set_viewport_size(PHONE)
    page.wait_for_timeout(200)
    fits_the_width(page)
    browsing.shot("try-compare-verdict-phone")
    no_page_errors(browsing)


def test_a_group_photo_says_how_many_faces_and_compare_takes_the_largest_four(
    browsing: Browsing, key: Key
) -> None:
    page = open_try_page(browsing, key, "compare")
    page.set_viewport_size(DESKTOP)
    use_sample(page, "image_one-file", "A group of six")
    use_sample(page, "image_two-file", "Grace Hopper: one face")
    call_and_wait(page, "Compare faces")
    error = page.locator("#try-error")
    assert "TOO_MANY_FACES (image_one)" in (error.text_content() or "")
    assert "Compare takes at most 4 faces in each image" in (error.text_content() or "")
    count = page.locator("#try-error .try-faces-count")
    count.filter(has_text="Detect found").wait_for()
    assert (
        count.text_content()
        == "Detect found 6 faces in image one. Compare takes at most 4 faces in each image."
    )
    # The count is detect's own answer on the same photo, a call of the same key in the history.
    counted = ApiCall.objects.filter(account=key.account, endpoint="detect").get()
    assert (counted.status, len(json.loads(counted.response_body)["faces"])) == ("OK", 6)
    browsing.shot("try-compare-group")

    page.get_by_role("button", name="Crop to the largest 4 faces and try again").click()
    page.wait_for_function(
        "() => document.getElementById('image_one-file').files[0].name === 'group-largest-4.jpg'"
    )
    page.wait_for_function(
        "() => document.getElementById('try-error').hidden && !!document.querySelector('#compare-matrix td')"
    )
    body = answer(page)
    assert len(body["confidences"]) == 4 and len(body["confidences"][0]) == 1
    assert page.locator("#compare-matrix tbody tr").count() == 4
    assert page.locator("#compare-verdict-text").text_content() == "Different people"
    fits_the_width(page)
    browsing.shot("try-compare-group-cropped")
    no_page_errors(browsing)


def test_mask_says_exactly_one_face_is_needed_and_crops_to_the_largest(browsing: Browsing, key: Key) -> None:
    page = open_try_page(browsing, key, "mask")
    page.set_viewport_size(DESKTOP)
    use_sample(page, "selfie-file", "A group of six")
    call_and_wait(page, "Mask the eyes")
    error = page.locator("#try-error")
    page.locator("#try-error .try-faces-count").filter(has_text="Detect found").wait_for()
    text = error.text_content() or ""
    assert "Mask needs exactly one face in the photo." in text and "ompare" not in text
    assert "Detect found 6 faces in the selfie." in text
    page.get_by_role("button", name="Crop to the largest face and try again").click()
    page.wait_for_function("() => !document.getElementById('mask-visual').hidden")
    assert page.locator("#try-error").is_hidden()
    assert "image/jpeg" in (page.locator("#try-raw").text_content() or "")
    assert page.locator("#selfie-file").evaluate("input => input.files[0].name") == "group-largest-1.jpg"
    recorded_call(page, key, "mask", "OK", 200)
    fits_the_width(page)
    browsing.shot("try-mask-group")
    page.set_viewport_size(PHONE)
    page.wait_for_timeout(200)
    fits_the_width(page)
    no_page_errors(browsing)


def test_the_stored_image_picker_shows_the_keys_images_and_fills_in_the_id(
    browsing: Browsing, key: Key
) -> None:
    page = open_try_page(browsing, key, "compare")
    page.set_viewport_size(DESKTOP)
    use_sample(page, "image_one-file", "Grace Hopper: one face")
    use_sample(page, "image_two-file", "Eileen Collins: one face")
    call_and_wait(page, "Compare faces")
    body = answer(page)
    stored = {body["image_one"]["image_one_id"], body["image_two"]["image_two_id"]}

    slot = page.locator('[data-image-slot="image_one"]')
    slot.get_by_role("radio", name="Stored id").check()
    slot.get_by_text("Choose from this key's stored images").click()
    items = slot.locator(".try-stored-item")
    items.nth(1).wait_for()
    assert items.count() == 2
    shown = {(item.get_attribute("title") or "").rsplit(" · ", 1)[1] for item in items.all()}
    assert shown == stored
    for item in items.all():  # each thumbnail loads (resources/thumbnails.py)
        item.locator("img").evaluate("img => img.decode()")
    assert "Page 1 of 1: 2 stored images of this key" in (
        slot.locator("[data-stored-status]").text_content() or ""
    )
    browsing.shot("try-compare-stored-picker")
    first = body["image_one"]["image_one_id"]
    slot.locator(f'.try-stored-item[title$="{first}"]').click()
    assert page.locator("#image_one-id").input_value() == first
    assert f"--form-string 'image_one_id={first}'" in curl_text(page, key)
    call_and_wait(page, "Compare faces")
    assert answer(page)["confidences"][0][0] < 0.6
    fits_the_width(page)
    page.set_viewport_size(PHONE)
    page.wait_for_timeout(200)
    fits_the_width(page)
    no_page_errors(browsing)


def test_every_try_it_page_takes_dropped_files_and_the_liveness_selfie_takes_a_sample(
    browsing: Browsing, key: Key
) -> None:
    page = open_try_page(browsing, key, "liveness")
    page.set_viewport_size(DESKTOP)
    # The package slot is set to a stored id first: a dropped file switches it back to "file".
    page.locator('[data-image-slot="liveness_data"]').get_by_role("radio", name="Stored id").check()
    drop_file(page, '[data-image-slot="liveness_data"]', "/portal/samples/coffee.png", "capture.fplv")
    page.wait_for_function("() => document.getElementById('liveness_data-file').files.length === 1")
    assert page.locator('[data-image-slot="liveness_data"] input[value="file"]').is_checked()
    use_sample(page, "selfie-file", "Grace Hopper: one face")
    command = curl_text(page, key)
    assert (
        "-F 'liveness_data_file=@capture.fplv'" in command and "-F 'selfie_file=@grace_hopper.jpg'" in command
    )
    for name, slot in (("compare", "image_two"), ("mask", "selfie")):
        page.goto(f"{browsing.base_url}/portal/try/{name}/")
        page.wait_for_selector("#try-submit:not([disabled])")
        drop_file(page, f'[data-image-slot="{slot}"]', "/portal/samples/astronaut.png", "dropped.png")
        page.wait_for_function(
            f"() => document.getElementById('{slot}-file').files[0]?.name === 'dropped.png'"
        )
        page.locator(f'[data-image-slot="{slot}"] img[data-preview]').evaluate("img => img.decode()")
        fits_the_width(page)
    no_page_errors(browsing)


def test_a_stored_group_photo_is_counted_on_its_thumbnail_and_cropped_to_a_file(
    browsing: Browsing, key: Key
) -> None:
    group = photo_bytes("group")
    stored = image_store(
        account=key.account, data=group, format="JPEG", width=1280, height=886, source="file"
    )
    page = open_try_page(browsing, key, "compare")
    page.set_viewport_size(DESKTOP)
    slot = page.locator('[data-image-slot="image_one"]')
    slot.get_by_role("radio", name="Stored id").check()
    slot.get_by_text("Choose from this key's stored images").click()
    slot.locator(f'.try-stored-item[title$="{stored.id}"]').click()
    use_sample(page, "image_two-file", "Grace Hopper: one face")
    assert f"--form-string 'image_one_id={stored.id}'" in curl_text(page, key)
    call_and_wait(page, "Compare faces")
    count = page.locator("#try-error .try-faces-count")
    count.filter(has_text="Detect found").wait_for()
    assert (count.text_content() or "").startswith(
        "Detect found 6 faces in image one (on its thumbnail, at most 1280 px)."
    )
    page.get_by_role("button", name="Crop to the largest 4 faces and try again").click()
    page.wait_for_function(
        "() => document.getElementById('try-error').hidden && !!document.querySelector('#compare-matrix td')"
    )
    assert slot.locator('input[value="file"]').is_checked()  # the crop is sent as a file
    assert page.locator("#image_one-file").evaluate("input => input.files[0].name") == "photo-largest-4.jpg"
    assert len(answer(page)["confidences"]) == 4
    no_page_errors(browsing)

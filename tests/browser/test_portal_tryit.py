"""The four try-it pages end to end in headless Chromium: a signed-in user runs each page with
package photos against the real API on a live server, and the test checks what the page drew
against the JSON it received, the call history, and (for the curl command) a real shell.

Screenshots: try-detect, try-detect-phone (390x844), try-detect-refused, try-compare,
try-compare-stored-id, try-compare-phone, try-mask, try-liveness, in the folder conftest.py
prints at the end.
"""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.core.cache import cache
from PIL import Image

from accounts.models import ApiAccount, ApiCall
from accounts.services import account_create
from faceengine import FaceEngine, from_array
from faceengine.masking import BAND_COLOUR, eye_band
from faceportal_capture.build import Challenge, build_package
from resources.liveness import challenge_body, challenge_issue
from tests.browser.conftest import Browsing, make_user
from tests.conftest import encode, pixels

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.models]

USERNAME = "tryer"
RESULT_TIMEOUT_MS = 60_000
PHONE = {"width": 390, "height": 844}
RIGHT_PART_FROM = 400  # the compare test's second part of the group photo starts at this column


@dataclass
class Key:
    account: ApiAccount
    secret: str


@pytest.fixture
def key(settings: Any, tmp_path: Path) -> Key:
    settings.MEDIA_ROOT = tmp_path / "media"
    cache.clear()
    make_user(USERNAME)
    account, secret = account_create(username=USERNAME, name="try-it key", quota=100, rate=0, concurrency=10)
    return Key(account, secret)


def write_photo(folder: Path, name: str, filename: str, fmt: str = "JPEG") -> Path:
    path = folder / filename
    path.write_bytes(encode(pixels(name), fmt, **({"quality": 92} if fmt == "JPEG" else {})))
    return path


def open_try_page(browsing: Browsing, key: Key, name: str) -> Any:
    """Signs in, keeps the key's secret in the tab's sessionStorage as the dashboard does, and
    opens the page, which must fill the secret in from there."""
    browsing.sign_in(USERNAME)
    browsing.page.evaluate(
        "([id, secret]) => { sessionStorage.setItem('faceportal.api_id', id);"
        " sessionStorage.setItem('faceportal.secret.' + id, secret); }",
        [key.account.api_id, key.secret],
    )
    page = browsing.page

    def failed_resource(response: Any) -> None:
        # The page's own resources must all load; API refusals are answers; there is no favicon.
        api = "/faceid/" in response.url or "/identity/" in response.url
        if response.status >= 400 and not api and not response.url.endswith("/favicon.ico"):
            browsing.console.append(f"failed: {response.status} {response.url}")

    page.on("response", failed_resource)
    browsing.go(f"/portal/try/{name}/")
    page.wait_for_selector("#try-submit:not([disabled])")
    assert page.locator("#try-api-id").input_value() == key.account.api_id
    assert page.locator("#try-secret").input_value() == key.secret
    return page


def call_and_wait(page: Any, button: str) -> None:
    page.get_by_role("button", name=button).click()
    wait_for_answer(page)


def wait_for_answer(page: Any) -> None:
    page.wait_for_function(
        "() => !document.getElementById('try-facts').hidden"
        " && !document.getElementById('try-submit').disabled",
        timeout=RESULT_TIMEOUT_MS,
    )


def answer(page: Any) -> dict[str, Any]:
    error = page.locator("#try-error")
    assert error.is_hidden(), error.text_content()
    return dict(json.loads(page.locator("#try-raw").text_content() or "{}"))


def history_row(request_id: str | None, seconds: float = 5.0) -> ApiCall:
    """The call's history row once it is complete: the server completes it after writing the
    answer (identity/api/history.py), so the browser can be a moment ahead of it."""
    deadline = time.monotonic() + seconds
    while True:
        call = ApiCall.objects.filter(request_id=request_id).first()
        if (call is not None and call.http_status) or time.monotonic() > deadline:
            assert call is not None, f"no history row for {request_id}"
            return call
        time.sleep(0.02)


def recorded_call(page: Any, key: Key, endpoint: str, status: str, http_status: int) -> ApiCall:
    """The call the page made is in the history, and the page links to it by its request id."""
    link = page.locator("#try-request-id a")
    request_id = link.text_content()
    call = history_row(request_id)
    assert (call.account_id, call.endpoint, call.status, call.http_status) == (
        key.account.pk,
        endpoint,
        status,
        http_status,
    )
    assert link.get_attribute("href") == f"/portal/calls/{request_id.replace(',', '%2C')}/"
    # The secret went to the API in the form, never into a URL.
    assert key.secret not in page.url and key.secret not in json.dumps(call.request_params)
    return call


def curl_text(page: Any, key: Key) -> str:
    text = str(page.locator("#try-curl").text_content())
    assert key.secret not in text and '"api_secret=$API_SECRET"' in text
    return text


def fits_a_phone(page: Any) -> None:
    """At 390 px nothing is wider than the screen (wide tables scroll inside their own box)."""
    page.set_viewport_size(PHONE)
    page.wait_for_timeout(200)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def no_page_errors(browsing: Browsing) -> None:
    """No script error, no console error but the browser's own "Failed to load resource" (the
    favicon, an API refusal), and no failed resource (collected by open_try_page)."""
    errors = [
        line
        for line in browsing.console
        if line.startswith(("pageerror", "failed"))
        or (line.startswith("error") and "Failed to load resource" not in line)
    ]
    assert not errors, errors


def test_detect_draws_every_face_with_its_landmarks(browsing: Browsing, key: Key, tmp_path: Path) -> None:
    page = open_try_page(browsing, key, "detect")
    photo = write_photo(tmp_path, "group", "group photo.jpg")
    page.set_input_files("#detect-file", str(photo))
    page.get_by_label("Find faces turned 90°, 180° or 270°").check()
    call_and_wait(page, "Detect faces")
    body = answer(page)
    faces = body["faces"]
    assert len(faces) > 1

    # One box and five landmarks per face of the JSON, and a label saying quality and orientation.
    assert page.locator("#detect-overlay rect.face-box").count() == len(faces)
    assert page.locator("#detect-overlay circle.landmark").count() == 5 * len(faces)
    assert page.locator("#detect-overlay line.face-head").count() == len(faces)
    first = faces[0]
    verdict = "ok" if first["quality"] >= first["quality_threshold"] else "low"
    assert page.locator("#detect-labels .face-label").first.text_content() == (
        f"#1 quality {first['quality']:.1f} (≥{first['quality_threshold']:g} {verdict})"
        f" · {first['orientation']}°"
    )
    assert page.locator("#detect-faces tbody tr").count() == len(faces)

    # Each box sits where the JSON says, on the photo as displayed.
    photo_box = page.locator("#detect-photo").bounding_box()
    for index, face in enumerate(faces):
        drawn = page.locator("#detect-overlay rect.face-box").nth(index).bounding_box()
        rect = face["rect"]
        assert (drawn["x"] - photo_box["x"]) / photo_box["width"] == pytest.approx(rect["left"], abs=0.01)
        assert (drawn["y"] - photo_box["y"]) / photo_box["height"] == pytest.approx(rect["top"], abs=0.01)
        assert drawn["width"] / photo_box["width"] == pytest.approx(rect["width"], abs=0.01)
        nose = (
            page.locator(f'#detect-overlay g[data-face="{index + 1}"] circle.landmark').nth(2).bounding_box()
        )
        centre = (nose["x"] + nose["width"] / 2 - photo_box["x"]) / photo_box["width"]
        assert centre == pytest.approx(face["landmarks"]["nose_tip"]["x"], abs=0.01)

    recorded_call(page, key, "detect", "OK", 200)
    status = page.locator("#try-status").text_content() or ""
    assert status.startswith(f"{len(faces)} faces found")
    browsing.shot("try-detect")

    # Labels stay on the photo and the page no wider than the window, on a desktop and a phone.
    for viewport in ({"width": 1200, "height": 900}, PHONE):
        page.set_viewport_size(viewport)
        page.wait_for_timeout(200)
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        photo_box = page.locator("#detect-photo").bounding_box()
        for label in page.locator("#detect-labels .face-label").all():
            box = label.bounding_box()
            assert (
                photo_box["x"] - 1 <= box["x"]
                and box["x"] + box["width"] <= photo_box["x"] + photo_box["width"] + 1
            )
    browsing.shot("try-detect-phone")
    page.set_viewport_size({"width": 1200, "height": 900})

    # The curl command shown, run in a real shell, makes the same call.
    command = curl_text(page, key)
    assert f"--form-string 'api_key={key.account.api_id}'" in command
    assert (
        "-F 'image=@group photo.jpg'" in command and "--form-string 'multi_oriented_detection=1'" in command
    )
    if shutil.which("curl") and shutil.which("sh"):
        run = subprocess.run(
            ["sh", "-c", command],
            cwd=tmp_path,
            env={**os.environ, "API_SECRET": key.secret},
            capture_output=True,
            timeout=120,
            check=True,
        )
        again = json.loads(run.stdout)
        assert [face["rect"] for face in again["faces"]] == [face["rect"] for face in faces]
    no_page_errors(browsing)


def test_a_try_it_call_is_in_the_history_pages_then_the_user_signs_out(
    browsing: Browsing, key: Key, tmp_path: Path
) -> None:
    """The whole round an integrator makes in the browser: try an endpoint, find the call in
    the history list and its detail with the status it answered, sign out."""
    page = open_try_page(browsing, key, "detect")
    page.set_input_files("#detect-file", str(write_photo(tmp_path, "grace_hopper", "hopper.jpg")))
    call_and_wait(page, "Detect faces")
    request_id = answer(page)["request_id"]
    history_row(request_id)

    page.get_by_role("navigation", name="Portal").get_by_role("link", name="Calls").click()
    row = page.locator("tr", has=page.get_by_role("link", name=request_id))
    assert row.locator(".badge").text_content() == "OK"
    assert "Detect faces" in (row.text_content() or "")
    row.get_by_role("link", name=request_id).click()
    assert page.locator("h1 .request-id").text_content() == request_id
    assert page.locator(".badge.ok").first.is_visible()
    assert key.secret not in page.content()  # the parameters show it masked
    browsing.shot("history-after-try")

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{browsing.base_url}/portal/login/")
    browsing.go("/portal/calls/")
    assert page.url.startswith(f"{browsing.base_url}/portal/login/")  # signed out: back to sign-in
    assert request_id not in page.content()


def test_detect_shows_refusals_with_their_code_and_request_id(
    browsing: Browsing, key: Key, tmp_path: Path
) -> None:
    page = open_try_page(browsing, key, "detect")
    page.locator("#try-secret").fill("not the secret")
    page.set_input_files("#detect-file", str(write_photo(tmp_path, "astronaut", "astronaut.jpg")))
    call_and_wait(page, "Detect faces")
    error = page.locator("#try-error")
    assert error.is_visible()
    shown = error.text_content() or ""
    assert "HTTP 403" in shown and "AUTHORIZATION_ERROR" in shown and "Check the secret" in shown
    assert json.loads(page.locator("#try-raw").text_content() or "{}")["error"] == "AUTHORIZATION_ERROR"
    assert (page.locator("#try-http").text_content() or "").startswith("403")
    assert page.locator("#detect-overlay rect").count() == 0
    # A key that was not recognised cannot put a call into anyone's history: no link to it.
    request_id = page.locator("#try-request-id .mono").text_content()
    assert page.locator("#try-request-id a").count() == 0
    call = history_row(request_id)
    assert (call.account, call.status, call.http_status) == (None, "AUTHORIZATION_ERROR", 403)
    browsing.shot("try-detect-refused")

    # With the right secret, a file that is no image: refused, recorded for the key, linked.
    page.locator("#try-secret").fill(key.secret)
    not_an_image = tmp_path / "notes.jpg"
    not_an_image.write_bytes(b"these are notes, not a photo")
    page.set_input_files("#detect-file", str(not_an_image))
    call_and_wait(page, "Detect faces")
    assert "IMAGE_ERROR_UNSUPPORTED_FORMAT" in (page.locator("#try-error").text_content() or "")
    recorded_call(page, key, "detect", "IMAGE_ERROR_UNSUPPORTED_FORMAT", 400)
    key.account.refresh_from_db()
    assert key.account.quota_used == 0
    no_page_errors(browsing)


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


def test_the_curl_command_survives_a_posix_shell_whatever_the_names(browsing: Browsing, key: Key) -> None:
    page = open_try_page(browsing, key, "mask")
    odd_file = """it's; "odd", \\ name-$HOME.jpg"""
    odd_value = 'a\'b $HOME `id` \\ "c" ;'
    command = page.evaluate(
        """async ([file, value]) => {
            const { curlCommand } = await import("/static/portal/curl.js");
            return curlCommand({
                url: "http://example.test/identity/mask_selfie_image?x=1&y='2'",
                idField: "api_id",
                apiId: "abc",
                fields: [{ name: "selfie_file", file: { name: file } }, { name: "selfie_url", value }],
                output: "out 'masked'.jpg",
            });
        }""",
        [odd_file, odd_value],
    )
    # Run it with a curl that only prints its arguments, one per line.
    run = subprocess.run(
        ["sh", "-c", 'curl() { printf "%s\\n" "$@"; }\n' + command],
        env={"PATH": os.environ.get("PATH", ""), "API_SECRET": "s3cr'et $x", "HOME": "/nowhere"},
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    curl_file = odd_file.replace("\\", "\\\\").replace('"', '\\"')
    assert run.stdout.splitlines() == [
        "-sS",
        "http://example.test/identity/mask_selfie_image?x=1&y='2'",
        "--form-string",
        "api_id=abc",
        "--form-string",
        "api_secret=s3cr'et $x",
        "-F",
        f'selfie_file=@"{curl_file}"',
        "--form-string",
        f"selfie_url={odd_value}",
        "-o",
        "out 'masked'.jpg",
    ]

"""The try-it pages end to end in headless Chromium, the detect page: a signed-in user runs
it with package photos against the real API on a live server, and the test checks what the
page drew against the JSON it received, the call history, refusals, and (for the curl
command, here on the mask page) a real shell. Fixtures in conftest.py, helpers in helpers.py.

Screenshots: try-detect, try-detect-phone (390x844), history-after-try, try-detect-refused,
try-detect-sample, try-detect-code-phone, in the folder conftest.py prints at the end.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from facelab.testdata import photo_bytes
from tests.browser.conftest import Browsing, Key
from tests.browser.helpers import (
    DESKTOP,
    PHONE,
    answer,
    call_and_wait,
    code_sample,
    curl_text,
    drop_file,
    fits_the_width,
    history_row,
    no_page_errors,
    open_try_page,
    recorded_call,
    write_photo,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.models]


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


def test_detect_takes_a_built_in_sample_or_a_dropped_file_and_shows_the_call_in_six_languages(
    browsing: Browsing, key: Key, tmp_path: Path
) -> None:
    page = open_try_page(browsing, key, "detect")
    page.set_viewport_size(DESKTOP)
    page.get_by_role("button", name="Use the sample photo: A group of six").click()
    page.wait_for_function("() => document.getElementById('detect-file').files.length === 1")
    assert page.locator("#detect-file").evaluate("input => input.files[0].name") == "group.jpg"
    assert page.get_by_role("button", name="Use the sample photo: A group of six").get_attribute(
        "aria-pressed"
    ) == ("true")
    call_and_wait(page, "Detect faces")
    faces = answer(page)["faces"]
    assert len(faces) == 6 and page.locator("#detect-overlay rect.face-box").count() == 6
    recorded_call(page, key, "detect", "OK", 200)
    fits_the_width(page)
    browsing.shot("try-detect-sample")

    # A file dropped on the photo's box is the one sent; the sample is no longer marked.
    drop_file(page, "fieldset.try-drop", "/portal/samples/grace_hopper.jpg", "dropped hopper.jpg")
    page.wait_for_function(
        "() => document.getElementById('detect-file').files[0].name === 'dropped hopper.jpg'"
    )
    assert page.get_by_role("button", name="Use the sample photo: A group of six").get_attribute(
        "aria-pressed"
    ) == ("false")
    assert "-F 'image=@dropped hopper.jpg'" in curl_text(page, key)
    call_and_wait(page, "Detect faces")
    again_faces = answer(page)["faces"]
    assert len(again_faces) == 1

    # Every language's sample follows the form; none holds the secret until asked.
    samples = {
        language: code_sample(page, language) for language in ("Python", "JavaScript", "Java", "PHP", "C#")
    }
    for language, text in samples.items():
        assert key.secret not in text and "API_SECRET" in text, language
        assert key.account.api_id in text and "dropped hopper.jpg" in text, language
    assert key.secret not in page.content()
    page.get_by_label("Show my secret in the code").check()
    assert key.secret in code_sample(page, "Python") and key.secret in code_sample(page, "curl")
    page.get_by_label("Show my secret in the code").uncheck()
    assert key.secret not in page.content()
    # The tabs follow the ARIA pattern: arrow keys move between them, one panel on show.
    page.get_by_role("tab", name="curl", exact=True).click()
    page.keyboard.press("ArrowRight")
    assert page.get_by_role("tab", name="Python", exact=True).get_attribute("aria-selected") == "true"
    assert page.evaluate("document.activeElement.id") == "try-tab-python"
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    assert page.get_by_role("tab", name="C#", exact=True).get_attribute("aria-selected") == "true"
    assert page.locator(".try-code:not([hidden])").count() == 1

    # The JavaScript sample, run in Node against the server, makes the same call.
    if shutil.which("node"):
        (tmp_path / "dropped hopper.jpg").write_bytes(photo_bytes("grace_hopper"))
        (tmp_path / "call.mjs").write_text(code_sample(page, "JavaScript"))
        run = subprocess.run(
            ["node", "call.mjs"],
            cwd=tmp_path,
            env={**os.environ, "API_SECRET": key.secret},
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        status, printed = run.stdout.split("\n", 1)
        assert status.startswith("200 ")
        assert [face["rect"] for face in json.loads(printed)["faces"]] == [
            face["rect"] for face in again_faces
        ]

    # On a phone, the tabs wrap and the samples scroll inside their own box.
    page.set_viewport_size(PHONE)
    page.wait_for_timeout(200)
    fits_the_width(page)
    browsing.shot("try-detect-code-phone")
    no_page_errors(browsing)

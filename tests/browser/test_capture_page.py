"""The capture page end to end in headless Chromium: a fake camera showing a photo, the browser
SDK (static/capture/faceportal-capture.js) encoding and sealing the package, and the real API
answering through a live server.

Needs Debian's `chromium` (/usr/bin/chromium) and Playwright for Python (only its driver: the
browser is never downloaded). Without them the test fails on CI (CI=true) and skips elsewhere.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from django.core.cache import cache

from accounts.models import ApiCall
from accounts.services import account_create
from faceportal_capture.package import open_package
from resources.liveness import challenge_key
from resources.models import LivenessChallenge, LivenessData
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, require_browser
from tests.conftest import pixels

pytestmark = pytest.mark.models

WIDTH, HEIGHT, FPS, SECONDS = 640, 480, 12, 4
RESULT_TIMEOUT_MS = 60_000
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}


def write_fake_camera(path: Path) -> Path:
    """A YUV4MPEG2 clip of the grace_hopper photo drifting a few pixels, as Chromium's fake
    camera plays it (looped): 640x480, 12 fps, 4 s, I420."""
    photo = pixels("grace_hopper")
    side = 440
    scale = side / photo.shape[0]
    face = cv2.resize(photo, (round(photo.shape[1] * scale), side), interpolation=cv2.INTER_AREA)
    base = np.full((HEIGHT, WIDTH, 3), 96, np.uint8)
    top, left = (HEIGHT - face.shape[0]) // 2, (WIDTH - face.shape[1]) // 2
    base[top : top + face.shape[0], left : left + face.shape[1]] = face
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F{FPS}:1 Ip A1:1 C420jpeg\n".encode("ascii"))
        for i in range(FPS * SECONDS):
            phase = 2 * math.pi * i / (FPS * SECONDS)
            # A photo moved by hand: a small drift and a slight zoom, no change of shape.
            zoom = 1 + 0.02 * math.sin(phase)
            matrix = cv2.getRotationMatrix2D((WIDTH / 2, HEIGHT / 2), 0, zoom)
            matrix[:, 2] += np.array([8 * math.sin(phase), 4 * math.cos(phase)])
            frame = cv2.warpAffine(base, matrix, (WIDTH, HEIGHT), borderMode=cv2.BORDER_REPLICATE)
            out.write(b"FRAME\n")
            out.write(cv2.cvtColor(frame, cv2.COLOR_RGB2YUV_I420).tobytes())
    return path


def write_empty_camera(path: Path) -> Path:
    """A clip of a grey wall: no face in the frame."""
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F{FPS}:1 Ip A1:1 C420jpeg\n".encode("ascii"))
        frame = np.full((HEIGHT, WIDTH, 3), 128, np.uint8)
        frame[::16] = 110  # some texture, still no face
        for _ in range(FPS):
            out.write(b"FRAME\n")
            out.write(cv2.cvtColor(frame, cv2.COLOR_RGB2YUV_I420).tobytes())
    return path


@contextmanager
def fake_camera_browser(video: Path) -> Iterator[Any]:
    """Debian's chromium with a fake camera playing `video` (Chromium's own flags)."""
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=[
                *CHROMIUM_ARGS,
                "--use-fake-ui-for-media-stream",
                "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-video-capture={video}",
            ],
        )
        try:
            yield browser
        finally:
            browser.close()


def open_capture_page(
    browser: Any, url: str, viewport: dict[str, int], console: list[str], *, polling: bool = False
) -> Any:
    page = browser.new_page(viewport=viewport)
    page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
    page.on("pageerror", lambda error: console.append(f"pageerror: {error}"))
    if polling:
        # A browser without requestVideoFrameCallback: the SDK's fallback finds new frames.
        page.add_init_script("delete HTMLVideoElement.prototype.requestVideoFrameCallback")
    page.goto(url)
    return page


def fits(page: Any, viewport: dict[str, int]) -> None:
    """Nothing wider than the screen."""
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]


def in_view(page: Any, selector: str) -> bool:
    return bool(
        page.evaluate(
            "(selector) => { const r = document.querySelector(selector).getBoundingClientRect();"
            " return r.top >= 0 && r.bottom <= window.innerHeight && r.height > 0; }",
            selector,
        )
    )


@pytest.mark.parametrize(
    ("viewport", "polling"), [(PHONE, False), (DESKTOP, True)], ids=["phone-rvfc", "desktop-polling"]
)
@pytest.mark.django_db(transaction=True)
def test_the_capture_page_catches_a_photo_held_to_the_camera(
    live_server: Any, settings: Any, tmp_path: Path, viewport: dict[str, int], polling: bool
) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    cache.clear()
    account, secret = account_create(username="browser", quota=100, rate=0, concurrency=10)
    video = write_fake_camera(tmp_path / "fake-camera.y4m")
    shots = tmp_path / "screenshots"
    shots.mkdir()
    console: list[str] = []

    started = time.monotonic()
    with fake_camera_browser(video) as browser:
        page = open_capture_page(
            browser, f"{live_server.url}/liveness/capture/", viewport, console, polling=polling
        )
        assert page.evaluate("typeof HTMLVideoElement.prototype.requestVideoFrameCallback") == (
            "undefined" if polling else "function"
        )
        page.get_by_label("API id").fill(account.api_id)
        page.get_by_label("API secret").fill(secret)
        page.screenshot(path=shots / "1-before-start.png", full_page=True)
        fits(page, viewport)
        page.get_by_role("button", name="Start").click()
        page.wait_for_function(
            "() => /^(Blink|Turn your head)/.test(document.getElementById('prompt').textContent)",
            timeout=RESULT_TIMEOUT_MS,
        )
        page.wait_for_timeout(700)  # the smooth scroll to the camera
        page.screenshot(path=shots / "2-prompt.png")
        # While recording, the camera and its prompt are on the screen, whole.
        assert in_view(page, "#prompt") and in_view(page, "#camera-stage"), page.evaluate(
            "JSON.stringify(document.getElementById('camera-stage').getBoundingClientRect())"
        )
        fits(page, viewport)
        page.wait_for_selector("#result:not([hidden]), #error:not([hidden])", timeout=RESULT_TIMEOUT_MS)
        page.locator("#result details").evaluate("element => element.open = true")
        page.screenshot(path=shots / "3-result.png", full_page=True)
        error = page.locator("#error")
        assert error.is_hidden(), f"{error.text_content()}\nconsole:\n" + "\n".join(console)
        fits(page, viewport)
        body = json.loads(page.locator("#raw-json").text_content() or "{}")
        shown_hack = page.locator("#hack-score").text_content()
        cue_rows = page.locator("#details-body tr").count()
        table_text = page.locator("#details-body").inner_text()
        advice = page.locator("#advice").inner_text()
        # No script error; the browser's own "Failed to load resource" is the favicon (the page
        # has none).
        assert not [
            line
            for line in console
            if line.startswith("pageerror")
            or (line.startswith("error") and "Failed to load resource" not in line)
        ], console
    elapsed = time.monotonic() - started
    print(f"\nscreenshots: {shots} (capture page run took {elapsed:.1f} s)")
    print("verification:", json.dumps({k: v for k, v in body.items() if k != "details"}))

    assert body["status"] == "OK"
    assert isinstance(body["hack_score"], float | int) and isinstance(body["verify_score"], float | int)
    assert shown_hack == f"{body['hack_score']:.3f}"
    assert cue_rows == len(body["details"]) > 0
    # A photo moved before the camera, however well lit, is caught ...
    assert body["hack_score"] >= 0.9, body["details"]
    # ... but never because of the SDK itself: its frames are new camera frames, stamped with
    # their capture times, as the timestamps cue wants them (docs/liveness.md).
    assert body["details"]["timestamps"]["passed"] is True, body["details"]["timestamps"]
    assert body["details"]["faces"]["passed"] is True, body["details"]["faces"]
    # The cue table says what was measured in words, and the page says what to do.
    assert "frames show exactly one face" in table_text and "(action=" not in table_text, table_text
    assert "We did not see a blink" in advice, advice
    # ... while its own first frame matches the best face of the capture.
    assert body["verify_score"] >= 0.7

    # The page's calls: a face check, a challenge, and one verification that uploads the package.
    calls = sorted(ApiCall.objects.filter(account=account).values_list("endpoint", flat=True))
    assert calls == ["detect", "liveness_challenge", "liveness_verification"], calls
    stored = LivenessData.objects.select_related("challenge").get(id=body["liveness_data_id"])
    assert stored.account == account and stored.challenge.account == account
    assert stored.challenge.used_at is not None
    # The package the browser sealed opens with the server's key and says what made it.
    with stored.file.open("rb") as handle:
        capture = open_package(handle.read(), challenge_key(account, stored.challenge.id))
    assert list(capture.actions) == stored.challenge.actions
    assert [mark.action for mark in capture.marks] == list(capture.actions)
    assert 10 <= len(capture.frames) <= 60
    stamps = [frame.timestamp_us for frame in capture.frames]
    assert stamps == sorted(set(stamps))
    intervals = np.diff(stamps) / 1e6
    # The fake camera plays 12 frames a second: no two recorded frames are one camera frame
    # seen twice (the 4.4 ms apart that failed the cue before), none is further apart than 1 s.
    assert intervals.min() >= 1 / 120 and intervals.max() <= 1.0, intervals
    assert intervals.min() >= 0.5 / FPS, intervals
    # Prompts are stamped on the frames' clock, inside the recording.
    prompts = [mark.prompted_at_us for mark in capture.marks]
    assert stamps[0] >= 0 and all(stamps[0] <= p <= stamps[-1] for p in prompts), (stamps, prompts)
    assert capture.device.sdk == "faceportal-capture-js"
    assert (capture.device.width, capture.device.height) == (WIDTH, HEIGHT)
    assert capture.started_at_unix_ms > 0


@pytest.mark.django_db(transaction=True)
def test_the_capture_page_says_no_face_before_recording_anything(
    live_server: Any, settings: Any, tmp_path: Path
) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    cache.clear()
    account, secret = account_create(username="browser", quota=100, rate=0, concurrency=10)
    video = write_empty_camera(tmp_path / "grey-wall.y4m")
    console: list[str] = []
    with fake_camera_browser(video) as browser:
        page = open_capture_page(browser, f"{live_server.url}/liveness/capture/", PHONE, console)
        page.get_by_label("API id").fill(account.api_id)
        page.get_by_label("API secret").fill(secret)
        page.get_by_role("button", name="Start").click()
        page.wait_for_function(
            "() => /No face in the frame/.test(document.getElementById('prompt').textContent)",
            timeout=RESULT_TIMEOUT_MS,
        )
        page.wait_for_selector("#error:not([hidden])", timeout=RESULT_TIMEOUT_MS)
        page.wait_for_timeout(700)  # the smooth scroll to the error
        page.screenshot(path=tmp_path / "no-face.png", full_page=False)
        text = page.locator("#error").inner_text()
        assert in_view(page, "#error")
        fits(page, PHONE)
    print(f"\nscreenshot: {tmp_path / 'no-face.png'}")
    assert "No face in the frame." in text and "Nothing was recorded" in text, text
    # Nothing was asked of the liveness endpoints: no challenge used up, no package.
    assert not LivenessChallenge.objects.filter(account=account).exists()
    assert not LivenessData.objects.filter(account=account).exists()


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
@pytest.mark.django_db(transaction=True)
def test_a_refused_key_is_explained_in_view_without_widening_the_page(
    live_server: Any, settings: Any, tmp_path: Path, viewport: dict[str, int]
) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    cache.clear()
    account, _secret = account_create(username="browser", quota=100, rate=0, concurrency=10)
    video = write_fake_camera(tmp_path / "fake-camera.y4m")
    console: list[str] = []
    with fake_camera_browser(video) as browser:
        page = open_capture_page(browser, f"{live_server.url}/liveness/capture/", viewport, console)
        page.get_by_label("API id").fill(account.api_id)
        page.get_by_label("API secret").fill("an old secret, from before the rotation")
        page.get_by_role("button", name="Start").click()
        page.wait_for_selector("#error:not([hidden])", timeout=RESULT_TIMEOUT_MS)
        page.wait_for_timeout(700)
        page.screenshot(path=tmp_path / f"refused-{viewport['width']}.png", full_page=False)
        text = page.locator("#error").inner_text()
        assert in_view(page, "#error")
        fits(page, viewport)
    assert "UNAUTHORIZED" in text and "paste the new secret" in text, text


@pytest.mark.django_db(transaction=True)
def test_a_linked_key_without_a_secret_gives_way_to_the_key_this_tab_has(
    live_server: Any, settings: Any, tmp_path: Path
) -> None:
    """After a rotation or a new key, the portal may link a key whose secret the tab lacks."""
    saved, saved_secret = account_create(username="browser", quota=10, rate=0, concurrency=1)
    newest, _ = account_create(username="browser2", quota=10, rate=0, concurrency=1)
    console: list[str] = []
    with fake_camera_browser(write_empty_camera(tmp_path / "grey.y4m")) as browser:
        page = open_capture_page(browser, f"{live_server.url}/liveness/capture/", DESKTOP, console)
        page.evaluate(
            "([id, secret]) => { sessionStorage.setItem('faceportal.api_id', id);"
            " sessionStorage.setItem('faceportal.secret.' + id, secret); }",
            [saved.api_id, saved_secret],
        )
        page.goto(f"{live_server.url}/liveness/capture/?api_id={newest.api_id}")
        assert page.locator("#api_id").input_value() == saved.api_id
        assert page.locator("#api_secret").input_value() == saved_secret
        note = page.locator("#key-note").inner_text()
        assert newest.api_id in note and "no secret" in note, note
        # The key the tab saved, linked directly: filled in with its secret, nothing to say.
        page.goto(f"{live_server.url}/liveness/capture/?api_id={saved.api_id}")
        assert page.locator("#api_secret").input_value() == saved_secret
        assert page.locator("#key-note").is_hidden()
    assert saved_secret not in page.url

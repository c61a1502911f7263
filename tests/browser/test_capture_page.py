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
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from django.core.cache import cache

from accounts.services import account_create
from faceportal_capture.package import open_package
from resources.liveness import challenge_key
from resources.models import LivenessData
from tests.browser.conftest import CHROMIUM, require_browser
from tests.conftest import pixels

pytestmark = pytest.mark.models

WIDTH, HEIGHT, FPS, SECONDS = 640, 480, 12, 4
RESULT_TIMEOUT_MS = 60_000


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


@pytest.mark.django_db(transaction=True)
def test_the_capture_page_catches_a_photo_held_to_the_camera(
    live_server: Any, settings: Any, tmp_path: Path
) -> None:
    require_browser()
    from playwright.sync_api import sync_playwright

    settings.MEDIA_ROOT = tmp_path / "media"
    cache.clear()
    account, secret = account_create(username="browser", quota=100, rate=0, concurrency=10)
    video = write_fake_camera(tmp_path / "fake-camera.y4m")
    shots = tmp_path / "screenshots"
    shots.mkdir()
    console: list[str] = []

    started = time.monotonic()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=[
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--use-fake-ui-for-media-stream",
                "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-video-capture={video}",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
                "--disable-sync",
            ],
        )
        try:
            page = browser.new_page(viewport={"width": 900, "height": 900})
            page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
            page.on("pageerror", lambda error: console.append(f"pageerror: {error}"))
            page.goto(f"{live_server.url}/liveness/capture/")
            page.get_by_label("API id").fill(account.api_id)
            page.get_by_label("API secret").fill(secret)
            page.screenshot(path=shots / "1-before-start.png", full_page=True)
            page.get_by_role("button", name="Start").click()
            page.wait_for_function(
                "() => /^(Blink|Turn your head)/.test(document.getElementById('prompt').textContent)",
                timeout=RESULT_TIMEOUT_MS,
            )
            page.screenshot(path=shots / "2-prompt.png")
            page.wait_for_selector("#result:not([hidden]), #error:not([hidden])", timeout=RESULT_TIMEOUT_MS)
            page.locator("details").evaluate("element => element.open = true")
            page.screenshot(path=shots / "3-result.png", full_page=True)
            error = page.locator("#error")
            assert error.is_hidden(), f"{error.text_content()}\nconsole:\n" + "\n".join(console)
            body = json.loads(page.locator("#raw-json").text_content() or "{}")
            shown_hack = page.locator("#hack-score").text_content()
            cue_rows = page.locator("#details-body tr").count()
        finally:
            browser.close()
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
    # ... while its own first frame matches the best face of the capture.
    assert body["verify_score"] >= 0.7

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
    assert 0 <= stamps[0] and all(stamps[0] <= p <= stamps[-1] for p in prompts), (stamps, prompts)
    assert capture.device.sdk == "faceportal-capture-js"
    assert (capture.device.width, capture.device.height) == (WIDTH, HEIGHT)
    assert capture.started_at_unix_ms > 0

"""Producers: challenges, frames from a video and from a folder, captures and packages."""

from __future__ import annotations

import base64
import io
import itertools
import json
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from faceportal_capture import __version__
from faceportal_capture.build import (
    SDK_NAME,
    Challenge,
    FrameList,
    InputError,
    build_capture,
    build_package,
    frames_from_folder,
    frames_from_video,
)
from faceportal_capture.package import PackageError, open_package, read_key_id
from tests.capture.conftest import challenge_json

WIDTH, HEIGHT = 320, 240


def moving_frames(photo: np.ndarray, count: int) -> list[np.ndarray]:
    """A WIDTHxHEIGHT window moving a few pixels per frame over the photo (RGB)."""
    return [
        photo[20 + 2 * i : 20 + 2 * i + HEIGHT, 30 + 3 * i : 30 + 3 * i + WIDTH].copy() for i in range(count)
    ]


def write_video(path: Path, frames: list[np.ndarray], fps: float) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), fps, (WIDTH, HEIGHT))
    if not writer.isOpened():
        pytest.skip("this OpenCV build cannot write MJPG/AVI")
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


@pytest.fixture
def video(tmp_path: Path, astronaut: np.ndarray) -> Path:
    return write_video(tmp_path / "clip.avi", moving_frames(astronaut, 40), fps=20.0)


def decoded_size(jpeg: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(jpeg)) as image:
        image.load()
        assert image.format == "JPEG"
        return image.size


# Challenge answers.


def test_challenge_from_json() -> None:
    key = bytes(range(32))
    text = challenge_json("5f0c1b7e9a3d4c2e8b6a1f0d3c5e7a9b", key, extra="ignored", nested={"a": 1})
    challenge = Challenge.from_json(text)
    assert challenge == Challenge(
        challenge_id="5f0c1b7e9a3d4c2e8b6a1f0d3c5e7a9b",
        actions=["blink", "turn_left"],
        key=key,
        expires_at="2099-01-01T00:00:00Z",
    )
    assert not challenge.expired()
    assert Challenge.from_json(text.encode()) == challenge


def test_expired_challenge() -> None:
    challenge = Challenge.from_json(challenge_json())
    challenge.expires_at = "2020-01-01T00:00:00Z"
    assert challenge.expired()


def good_challenge() -> dict[str, object]:
    return json.loads(challenge_json())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: "{not json", "not valid JSON"),
        (lambda d: "[1, 2]", "must be an object"),
        (lambda d: {k: v for k, v in d.items() if k != "key"}, "lacks 'key'"),
        (lambda d: {**d, "key": "not base64!"}, "'key' must be the base64 of 32 bytes"),
        (lambda d: {**d, "key": base64.b64encode(bytes(16)).decode()}, "'key' must be the base64"),
        (lambda d: {**d, "key": 5}, "'key' must be the base64"),
        (lambda d: {**d, "challenge_id": ""}, "'challenge_id' must be 1 to 64"),
        (lambda d: {**d, "challenge_id": "x" * 65}, "'challenge_id' must be 1 to 64"),
        (lambda d: {**d, "challenge_id": 12}, "'challenge_id'"),
        (lambda d: {**d, "actions": []}, "'actions' must be a non-empty list"),
        (lambda d: {**d, "actions": "blink"}, "'actions'"),
        (lambda d: {**d, "actions": ["blink", 3]}, "'actions'"),
        (lambda d: {**d, "expires_at": "tomorrow"}, "'expires_at'"),
    ],
)
def test_bad_challenge_json(change: object, message: str) -> None:
    changed = change(good_challenge())  # type: ignore[operator]
    text = changed if isinstance(changed, str) else json.dumps(changed)
    with pytest.raises(InputError, match=message):
        Challenge.from_json(text)


# Frames from a video.


def test_frames_from_video(video: Path) -> None:
    frames = frames_from_video(video, max_frames=12, max_side=200)
    assert len(frames) == 12
    times = [seconds for _, seconds in frames]
    assert times[0] == 0.0
    assert all(later > earlier for earlier, later in itertools.pairwise(times))
    assert times[-1] == pytest.approx(39 / 20.0, abs=1e-3)  # first and last frame are kept
    for pixels, _ in frames:
        assert pixels.dtype == np.uint8
        assert pixels.shape == (150, 200, 3)


def test_frames_from_video_keeps_colour_order(tmp_path: Path) -> None:
    red = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    red[..., 0] = 220
    frames = frames_from_video(write_video(tmp_path / "red.avi", [red] * 3, fps=10.0))
    assert len(frames) == 3
    mean = frames[1][0].reshape(-1, 3).mean(axis=0)
    assert mean[0] > 180 and mean[1] < 40 and mean[2] < 40
    assert frames[1][0].shape == (HEIGHT, WIDTH, 3)  # never enlarged
    assert [seconds for _, seconds in frames] == pytest.approx([0.0, 0.1, 0.2], abs=1e-3)


def test_a_package_from_a_video(video: Path, challenge: Challenge) -> None:
    frames = frames_from_video(video, max_frames=30, max_side=256)
    before = int(time.time() * 1000)
    package = build_package(frames, challenge, marks=[("blink", 0.25), ("turn_left", 1.0)])
    assert read_key_id(package) == challenge.challenge_id
    capture = open_package(package, challenge.key)
    assert capture.challenge_id == challenge.challenge_id
    assert list(capture.actions) == challenge.actions
    assert len(capture.frames) == 30
    times = [frame.timestamp_us for frame in capture.frames]
    assert times[0] == 0
    assert all(later > earlier for earlier, later in itertools.pairwise(times))
    assert times[-1] == pytest.approx(1_950_000, abs=1_000)
    for frame in capture.frames:
        assert decoded_size(frame.jpeg) == (256, 192)
    assert [(m.action, m.prompted_at_us) for m in capture.marks] == [
        ("blink", 250_000),
        ("turn_left", 1_000_000),
    ]
    assert capture.device.sdk == SDK_NAME
    assert capture.device.sdk_version == __version__
    assert (capture.device.width, capture.device.height) == (256, 192)
    # The capture is taken to have just ended: it started the last frame's time ago.
    last_ms = times[-1] // 1000
    assert before - last_ms <= capture.started_at_unix_ms <= int(time.time() * 1000) - last_ms


def test_short_video_keeps_every_frame(video: Path) -> None:
    assert len(frames_from_video(video, max_frames=120)) == 40


def test_video_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such video file"):
        frames_from_video(tmp_path / "missing.mp4")
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"not a video at all" * 100)
    with pytest.raises(InputError, match=r"cannot read video|no readable frames"):
        frames_from_video(garbage)
    with pytest.raises(InputError, match="max_frames"):
        frames_from_video(garbage, max_frames=0)
    with pytest.raises(InputError, match="max_frames"):
        frames_from_video(garbage, max_frames=121)


# Frames from a folder.


def test_a_package_from_a_folder(tmp_path: Path, astronaut: np.ndarray, challenge: Challenge) -> None:
    originals = moving_frames(astronaut, 12)
    for index, pixels in enumerate(originals):
        # Unpadded numbers: frame_10 must come after frame_9.
        Image.fromarray(pixels).save(tmp_path / f"frame_{index}.png")
    (tmp_path / "notes.txt").write_text("not a frame")
    (tmp_path / "sub.png").mkdir()

    frames = frames_from_folder(tmp_path, fps=12.0)
    assert len(frames) == 12
    for index, (pixels, seconds) in enumerate(frames):
        assert seconds == pytest.approx(index / 12.0)
        np.testing.assert_array_equal(pixels, originals[index])

    capture = open_package(build_package(frames, challenge), challenge.key)
    assert len(capture.frames) == 12
    times = [frame.timestamp_us for frame in capture.frames]
    assert times == [round(index * 1_000_000 / 12.0) for index in range(12)]
    for frame in capture.frames:
        assert decoded_size(frame.jpeg) == (WIDTH, HEIGHT)


def test_folder_sampling_and_resizing(tmp_path: Path, astronaut: np.ndarray) -> None:
    for index, pixels in enumerate(moving_frames(astronaut, 10)):
        Image.fromarray(pixels).save(tmp_path / f"{index:03d}.JPG")
    frames = frames_from_folder(tmp_path, fps=10.0, max_frames=4, max_side=160)
    assert [seconds for _, seconds in frames] == pytest.approx([0.0, 0.3, 0.6, 0.9])
    assert all(pixels.shape == (120, 160, 3) for pixels, _ in frames)


def test_folder_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such folder"):
        frames_from_folder(tmp_path / "missing")
    with pytest.raises(InputError, match="no image files"):
        frames_from_folder(tmp_path)
    (tmp_path / "broken.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(InputError, match="cannot read image"):
        frames_from_folder(tmp_path)
    with pytest.raises(InputError, match="fps"):
        frames_from_folder(tmp_path, fps=0)


# Captures.


def test_build_capture_checks_its_input(challenge: Challenge) -> None:
    pixels = np.zeros((16, 16, 3), np.uint8)
    with pytest.raises(InputError, match="no frames"):
        build_capture([], challenge)
    with pytest.raises(InputError, match="at most 120"):
        build_capture([(pixels, i / 10) for i in range(121)], challenge)
    with pytest.raises(InputError, match="earlier than the frame before"):
        build_capture([(pixels, 0.5), (pixels, 0.4)], challenge)
    with pytest.raises(InputError, match="negative"):
        build_capture([(pixels, -1.0)], challenge)
    with pytest.raises(InputError, match="uint8"):
        build_capture([(pixels.astype(np.float32), 0.0)], challenge)
    with pytest.raises(InputError, match="shape"):
        build_capture([(np.zeros((16, 16, 4), np.uint8), 0.0)], challenge)
    with pytest.raises(InputError, match="did not ask for"):
        build_capture([(pixels, 0.0)], challenge, marks=[("turn_right", 0.1)])
    with pytest.raises(InputError, match="unknown device fields"):
        build_capture([(pixels, 0.0)], challenge, device={"colour": "red"})


def test_build_capture_details(challenge: Challenge) -> None:
    frames: FrameList = [
        (np.full((30, 40), 128, np.uint8), 0.0),
        (np.zeros((30, 40, 3), np.uint8), 0.0333333),
    ]
    capture = build_capture(frames, challenge, device={"user_agent": "Mozilla/5.0", "platform": "test"})
    assert capture.format_version == 1
    assert [frame.timestamp_us for frame in capture.frames] == [0, 33_333]
    assert all(frame.jpeg.startswith(b"\xff\xd8") for frame in capture.frames)
    assert decoded_size(capture.frames[0].jpeg) == (40, 30)
    assert capture.device.user_agent == "Mozilla/5.0"
    assert capture.device.platform == "test"
    assert (capture.device.width, capture.device.height) == (40, 30)
    assert len(capture.marks) == 0


def test_frames_too_large_for_one_package(challenge: Challenge) -> None:
    noise = np.random.default_rng(7).integers(0, 256, (1500, 1500, 3), dtype=np.uint8)  # ~2 MB as JPEG
    with pytest.raises(PackageError, match="package over 8388608 bytes"):
        build_package([(noise, i / 10) for i in range(5)], challenge)


def test_build_capture_keeps_frames_inside_the_services_limits(challenge: Challenge) -> None:
    with pytest.raises(InputError, match="frame 1 is 5000x3000; sides must be over 8 and at most 4000"):
        build_capture(
            [(np.zeros((16, 16, 3), np.uint8), 0.0), (np.zeros((3000, 5000, 3), np.uint8), 0.1)], challenge
        )
    with pytest.raises(InputError, match="frame 0 is 8x30; sides must be over 8"):
        build_capture([(np.zeros((30, 8, 3), np.uint8), 0.0)], challenge)
    big = np.zeros((3000, 4000, 3), np.uint8)
    with pytest.raises(InputError, match="hold 48,000,000 pixels; a package holds at most 40,000,000"):
        build_capture([(big, i / 10) for i in range(4)], challenge)
    with pytest.raises(InputError, match="max_side must be between 16 and 4000"):
        frames_from_folder(Path("."), max_side=5000)


def test_build_capture_takes_the_capture_start_it_is_given(challenge: Challenge) -> None:
    frames = [(np.zeros((16, 16, 3), np.uint8), i / 10) for i in range(3)]
    assert build_capture(frames, challenge, started_at_unix_ms=1_760_000_000_000).started_at_unix_ms == (
        1_760_000_000_000
    )

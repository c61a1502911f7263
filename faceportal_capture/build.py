"""Producers: turn a video or a folder of images into a sealed liveness package.

Frames travel as ``(pixels, seconds)`` pairs: ``pixels`` an RGB ``uint8`` array of shape
``(height, width, 3)``, ``seconds`` the capture time since the capture started.
"""

from __future__ import annotations

import base64
import binascii
import io
import itertools
import json
import math
import platform
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps

from faceportal_capture import __version__, liveness_pb2
from faceportal_capture.package import (
    CAPTURE_FORMAT_VERSION,
    KEY_BYTES,
    MAX_FRAME_SIDE,
    MAX_FRAMES,
    MAX_KEY_ID_BYTES,
    MAX_PACKAGE_PIXELS,
    MIN_FRAME_SIDE,
    seal,
)

__all__ = [
    "IMAGE_SUFFIXES",
    "JPEG_QUALITY",
    "SDK_NAME",
    "Challenge",
    "FrameList",
    "InputError",
    "build_capture",
    "build_package",
    "frames_from_folder",
    "frames_from_video",
]

SDK_NAME = "faceportal-capture-python"
JPEG_QUALITY = 90
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})
DEFAULT_FPS = 30.0
"""Frame rate assumed for a video that reports neither timestamps nor a frame rate."""

FrameList = list[tuple[np.ndarray, float]]


class InputError(ValueError):
    """Input the producers cannot use: a missing or unreadable video, an empty folder, a bad
    challenge answer, bad frames. The message is one line, fit for a user."""


@dataclass
class Challenge:
    """The service's answer to a challenge request: what to perform and how to seal it."""

    challenge_id: str
    actions: list[str]
    key: bytes
    expires_at: str

    @classmethod
    def from_json(cls, text: str | bytes) -> Challenge:
        """Parse the service's challenge JSON; unknown keys are ignored.

        ``{"challenge_id": "<32 hex>", "actions": ["blink", ...], "expires_at": "...Z",
        "key": "<base64 of 32 bytes>"}``. Raises ``InputError`` naming the bad field.
        """
        try:
            data = json.loads(text)
        except (ValueError, UnicodeDecodeError) as exc:
            raise InputError(f"challenge is not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise InputError("challenge JSON must be an object")
        missing = [name for name in ("challenge_id", "actions", "key", "expires_at") if name not in data]
        if missing:
            raise InputError(f"challenge JSON lacks {', '.join(repr(name) for name in missing)}")

        challenge_id = data["challenge_id"]
        if (
            not isinstance(challenge_id, str)
            or not 1 <= len(challenge_id) <= MAX_KEY_ID_BYTES
            or not all("!" <= char <= "~" for char in challenge_id)
        ):
            raise InputError(
                f"challenge 'challenge_id' must be 1 to {MAX_KEY_ID_BYTES} printable ASCII characters"
            )
        actions = data["actions"]
        if (
            not isinstance(actions, list)
            or not actions
            or not all(isinstance(action, str) and action for action in actions)
        ):
            raise InputError("challenge 'actions' must be a non-empty list of action names")
        try:
            key = base64.b64decode(data["key"], validate=True)
        except (TypeError, ValueError, binascii.Error):
            key = b""
        if len(key) != KEY_BYTES:
            raise InputError(f"challenge 'key' must be the base64 of {KEY_BYTES} bytes")
        expires_at = data["expires_at"]
        if not isinstance(expires_at, str) or _parse_time(expires_at) is None:
            raise InputError("challenge 'expires_at' must be an ISO 8601 time")
        return cls(challenge_id=challenge_id, actions=list(actions), key=key, expires_at=expires_at)

    def expired(self, now: datetime | None = None) -> bool:
        """Whether ``expires_at`` has passed (the service then refuses the package)."""
        expires = _parse_time(self.expires_at)
        return expires is not None and expires <= (now or datetime.now(UTC))


def _parse_time(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _evenly(count: int, wanted: int) -> list[int]:
    """``wanted`` indices spread evenly over ``range(count)``, first and last included."""
    if count <= wanted:
        return list(range(count))
    if wanted == 1:
        return [0]
    return sorted({round(i * (count - 1) / (wanted - 1)) for i in range(wanted)})


def _check_limits(max_frames: int, max_side: int) -> None:
    if not 1 <= max_frames <= MAX_FRAMES:
        raise InputError(f"max_frames must be between 1 and {MAX_FRAMES}")
    if not 16 <= max_side <= MAX_FRAME_SIDE:
        raise InputError(f"max_side must be between 16 and {MAX_FRAME_SIDE} pixels")


def _fit(pixels: np.ndarray, max_side: int) -> np.ndarray:
    """Shrink (never enlarge) so that the longer side is at most ``max_side``."""
    height, width = pixels.shape[:2]
    longer = max(height, width)
    if longer <= max_side:
        return pixels
    scale = max_side / longer
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    resized = Image.fromarray(pixels).resize(size, Image.Resampling.LANCZOS)
    return np.asarray(resized)


def frames_from_video(path: str | Path, *, max_frames: int = 60, max_side: int = 640) -> FrameList:
    """Read a video file with OpenCV; sample at most ``max_frames`` frames evenly over it.

    Timestamps come from the container (``CAP_PROP_POS_MSEC``); when it reports none, from the
    frame index divided by the frame rate (``DEFAULT_FPS`` if that is unknown too). Frames are
    RGB and shrunk so that their longer side is at most ``max_side``.
    """
    import cv2

    _check_limits(max_frames, max_side)
    path = Path(path)
    if not path.is_file():
        raise InputError(f"no such video file: {path}")

    def open_video() -> Any:
        video = cv2.VideoCapture(str(path))
        if not video.isOpened():
            video.release()
            raise InputError(f"cannot read video: {path}")
        return video

    # Pass 1: count the frames and note their times without converting any of them.
    video = open_video()
    try:
        fps = video.get(cv2.CAP_PROP_FPS) or 0.0
        positions: list[float] = []
        while video.grab():
            positions.append(float(video.get(cv2.CAP_PROP_POS_MSEC)) / 1000.0)
    finally:
        video.release()
    if not positions:
        raise InputError(f"video has no readable frames: {path}")
    usable = all(math.isfinite(t) and t >= 0 for t in positions) and all(
        later > earlier for earlier, later in itertools.pairwise(positions)
    )
    if not usable:
        rate = fps if math.isfinite(fps) and fps > 0 else DEFAULT_FPS
        positions = [index / rate for index in range(len(positions))]

    # Pass 2: decode only the chosen frames.
    chosen = _evenly(len(positions), max_frames)
    wanted = set(chosen)
    frames: FrameList = []
    video = open_video()
    try:
        for index in range(chosen[-1] + 1):
            if not video.grab():
                break
            if index not in wanted:
                continue
            ok, bgr = video.retrieve()
            if not ok or bgr is None:
                continue
            if bgr.ndim == 2:
                rgb = np.stack([bgr] * 3, axis=-1)
            else:
                rgb = cv2.cvtColor(bgr, cv2.COLOR_BGRA2RGB if bgr.shape[2] == 4 else cv2.COLOR_BGR2RGB)
            frames.append((_fit(np.ascontiguousarray(rgb, dtype=np.uint8), max_side), positions[index]))
    finally:
        video.release()
    if not frames:
        raise InputError(f"video has no readable frames: {path}")
    return frames


def _natural_key(name: str) -> list[Any]:
    """``frame2.png`` before ``frame10.png``; zero-padded names sort as usual."""
    return [(0, int(part), part) if part.isdigit() else (1, part, part) for part in re.split(r"(\d+)", name)]


def frames_from_folder(
    path: str | Path, *, fps: float = 15.0, max_frames: int = 60, max_side: int = 640
) -> FrameList:
    """Read the image files of a folder as consecutive frames taken at ``fps``.

    Files (``IMAGE_SUFFIXES``, case-insensitive) are taken in name order with numbers compared
    by value; frame ``i`` is at ``i / fps`` seconds. At most ``max_frames`` are sampled evenly,
    keeping their original times. EXIF orientation is applied; frames are RGB and shrunk so that
    their longer side is at most ``max_side``.
    """
    _check_limits(max_frames, max_side)
    if not math.isfinite(fps) or fps <= 0:
        raise InputError("fps must be a positive number")
    folder = Path(path)
    if not folder.is_dir():
        raise InputError(f"no such folder: {folder}")
    files = sorted(
        (entry for entry in folder.iterdir() if entry.is_file() and entry.suffix.lower() in IMAGE_SUFFIXES),
        key=lambda entry: _natural_key(entry.name),
    )
    if not files:
        raise InputError(f"no image files in {folder}")
    frames: FrameList = []
    for index in _evenly(len(files), max_frames):
        try:
            with Image.open(files[index]) as image:
                rgb = ImageOps.exif_transpose(image).convert("RGB")
        except (OSError, ValueError, Image.DecompressionBombError) as exc:
            raise InputError(f"cannot read image {files[index]}: {exc}") from None
        frames.append((_fit(np.asarray(rgb), max_side), index / fps))
    return frames


def _jpeg(pixels: np.ndarray, index: int) -> bytes:
    if not isinstance(pixels, np.ndarray) or pixels.dtype != np.uint8:
        raise InputError(f"frame {index} must be a uint8 numpy array")
    if pixels.ndim == 2:
        pixels = np.stack([pixels] * 3, axis=-1)
    if pixels.ndim != 3 or pixels.shape[2] != 3 or 0 in pixels.shape:
        raise InputError(f"frame {index} must have shape (height, width, 3), not {pixels.shape}")
    height, width = pixels.shape[:2]
    if not min(height, width) > MIN_FRAME_SIDE or max(height, width) > MAX_FRAME_SIDE:
        raise InputError(
            f"frame {index} is {width}x{height}; sides must be over {MIN_FRAME_SIDE} and at most "
            f"{MAX_FRAME_SIDE} pixels"
        )
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(pixels), "RGB").save(buffer, "JPEG", quality=JPEG_QUALITY)
    return buffer.getvalue()


_DEVICE_FIELDS = frozenset({"sdk", "sdk_version", "platform", "user_agent", "width", "height"})


def build_capture(
    frames: Sequence[tuple[np.ndarray, float]],
    challenge: Challenge,
    *,
    marks: list[tuple[str, float]] | None = None,
    device: dict[str, Any] | None = None,
    started_at_unix_ms: int | None = None,
) -> liveness_pb2.Capture:
    """Encode ``frames`` as JPEG (quality 90) into a ``Capture`` answering ``challenge``.

    ``marks`` are ``(action, seconds)`` pairs: when each prompt was shown, on the frames' clock.
    ``device`` overrides fields of the ``Device`` description (defaults: this SDK, its
    version, the platform, and the first frame's size). ``started_at_unix_ms`` is the
    wall-clock time of the frames' zero; by default the capture is taken to have just ended
    (now minus the last frame's time), which is what the service checks against the
    challenge's issue and expiry times. Raises ``InputError`` for no or too many frames,
    bad pixels, frames outside the service's size limits (sides over 8 and at most 4000 px,
    ``MAX_PACKAGE_PIXELS`` in all), negative or decreasing times, and marks for actions the
    challenge did not ask for.
    """
    if not frames:
        raise InputError("no frames to package")
    if len(frames) > MAX_FRAMES:
        raise InputError(f"{len(frames)} frames; a package holds at most {MAX_FRAMES}")
    total = sum(int(np.prod(np.shape(pixels)[:2])) for pixels, _ in frames)
    if total > MAX_PACKAGE_PIXELS:
        raise InputError(
            f"the frames hold {total:,} pixels; a package holds at most {MAX_PACKAGE_PIXELS:,} "
            "(use fewer frames or a smaller max_side)"
        )
    times = [_micros(seconds, f"frame {index}") for index, (_, seconds) in enumerate(frames)]
    if started_at_unix_ms is None:
        started_at_unix_ms = int(time.time() * 1000) - times[-1] // 1000
    capture = liveness_pb2.Capture(
        format_version=CAPTURE_FORMAT_VERSION,
        challenge_id=challenge.challenge_id,
        actions=challenge.actions,
        started_at_unix_ms=started_at_unix_ms,
    )
    previous = 0
    for index, ((pixels, _), micros) in enumerate(zip(frames, times, strict=True)):
        if micros < previous:
            raise InputError(f"frame {index} is earlier than the frame before it")
        previous = micros
        capture.frames.add(jpeg=_jpeg(pixels, index), timestamp_us=micros)
    for action, seconds in marks or []:
        if action not in challenge.actions:
            raise InputError(f"mark for {action!r}, which the challenge did not ask for")
        capture.marks.add(action=action, prompted_at_us=_micros(seconds, f"mark {action!r}"))

    height, width = frames[0][0].shape[:2]
    described: dict[str, Any] = {
        "sdk": SDK_NAME,
        "sdk_version": __version__,
        "platform": platform.platform(),
        "width": width,
        "height": height,
    }
    unknown = set(device or {}) - _DEVICE_FIELDS
    if unknown:
        raise InputError(f"unknown device fields: {', '.join(sorted(unknown))}")
    described.update(device or {})
    try:
        capture.device.CopyFrom(liveness_pb2.Device(**described))
    except (TypeError, ValueError) as exc:
        raise InputError(f"bad device description: {exc}") from None
    return capture


def _micros(seconds: float, what: str) -> int:
    try:
        value = float(seconds)
    except (TypeError, ValueError):
        raise InputError(f"{what} has no time in seconds") from None
    if not math.isfinite(value) or value < 0:
        raise InputError(f"{what} has a negative or invalid time")
    return round(value * 1_000_000)


def build_package(
    frames: Sequence[tuple[np.ndarray, float]],
    challenge: Challenge,
    *,
    marks: list[tuple[str, float]] | None = None,
    device: dict[str, Any] | None = None,
    started_at_unix_ms: int | None = None,
) -> bytes:
    """``seal(build_capture(frames, challenge, ...), challenge.key, challenge.challenge_id)``.

    Raises ``InputError`` as ``build_capture`` does, and ``PackageError`` ("package over
    8388608 bytes") when the frames are too large for one package: use fewer frames or a
    smaller ``max_side``.
    """
    capture = build_capture(
        frames, challenge, marks=marks, device=device, started_at_unix_ms=started_at_unix_ms
    )
    return seal(capture, challenge.key, challenge.challenge_id)

"""What a liveness package must satisfy beyond its format: frames the service will decode,
and a capture clock that agrees with its challenge.

Frames get the documented image rules (sides over 8 and at most 4000 px, the decoder's
guards of every image), and the package as a whole a decode budget: MAX_PACKAGE_PIXELS in
all, and the JPEG scans of all frames together no more block visits than one image may
have. Every header is checked before any frame is decoded, so a refused package costs
only its header walks.

The clock: `started_at_unix_ms` is the device's wall clock when the capture started, frame
and prompt times count from it. A live answer starts after its challenge was issued and
ends before it expired; both are checked with FACEPORTAL_LIVENESS_CLOCK_SKEW_SECONDS of
tolerance for a device clock that is a little off. This stops stale or pre-recorded captures
presented with made-up times, and broken clocks, not a forger who holds the key (who can
write any time): that is the other cues' work.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.conf import settings

from faceengine import EngineError, ImageTooCostly, ImageTooLarge, decode, read_header
from faceengine.imageio import ANALYSIS_SIDE, ImageHeader
from faceengine.jpegwork import MAX_SCAN_BLOCKS
from faceengine.liveness import CaptureFrame
from faceportal_capture import liveness_pb2
from faceportal_capture.package import MAX_FRAME_SIDE, MAX_PACKAGE_PIXELS, MIN_FRAME_SIDE
from resources.models import LivenessChallenge


class PackageRefused(Exception):
    """A liveness package that does not open, parse or validate; the API names it
    (WRONG_LIVENESS_DATA), storage only says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def wrong(reason: str) -> PackageRefused:
    return PackageRefused(reason)


def frame_headers(capture: liveness_pb2.Capture) -> list[ImageHeader]:
    """Each frame's header, checked against the image rules and the package's budget."""
    headers = []
    pixels = blocks = 0
    for index, frame in enumerate(capture.frames):
        try:
            header = read_header(frame.jpeg)
        except ImageTooLarge as exc:
            raise wrong(f"frame {index} is too large") from exc
        except ImageTooCostly as exc:  # the decoder's guards: too many scans, segments, ...
            raise wrong(f"frame {index} does not decode ({exc})") from exc
        except EngineError as exc:
            raise wrong(f"frame {index} does not decode") from exc
        size = f"{header.width}x{header.height}"
        if max(header.width, header.height) > MAX_FRAME_SIDE:
            raise wrong(f"frame {index} is too large ({size}, sides at most {MAX_FRAME_SIDE} px)")
        if min(header.width, header.height) <= MIN_FRAME_SIDE:
            raise wrong(f"frame {index} is too small ({size}, sides over {MIN_FRAME_SIDE} px)")
        pixels += header.width * header.height
        blocks += header.scan_blocks
        if pixels > MAX_PACKAGE_PIXELS:
            raise wrong(f"frames 0 to {index} hold more than {MAX_PACKAGE_PIXELS:,} pixels")
        if blocks > MAX_SCAN_BLOCKS:
            raise wrong(f"frames 0 to {index} have JPEG scans visiting more than {MAX_SCAN_BLOCKS:,} blocks")
        headers.append(header)
    return headers


def decoded_frames(capture: liveness_pb2.Capture) -> list[CaptureFrame]:
    """The capture's frames decoded for analysis, with their times in seconds."""
    frame_headers(capture)
    frames = []
    for index, frame in enumerate(capture.frames):
        try:
            image = decode(frame.jpeg, max_side=ANALYSIS_SIDE)
        except EngineError as exc:
            raise wrong(f"frame {index} does not decode") from exc
        frames.append(CaptureFrame(pixels=image.pixels, timestamp=frame.timestamp_us / 1e6))
    return frames


def _utc(unix_ms: int) -> datetime:
    return datetime.fromtimestamp(unix_ms / 1000, UTC)


def _seconds(delta: timedelta) -> str:
    return f"{abs(delta.total_seconds()):.0f} s"


def check_clock(capture: liveness_pb2.Capture, challenge: LivenessChallenge, now: datetime) -> None:
    """Refuses a capture that did not start after its challenge was issued, or that ended
    after now, its upload (which is before the challenge's expiry, or it would have been
    refused as expired)."""
    if capture.started_at_unix_ms <= 0:
        raise wrong("capture has no start time")
    skew = timedelta(seconds=settings.FACEPORTAL_LIVENESS_CLOCK_SKEW_SECONDS)
    try:
        started = _utc(capture.started_at_unix_ms)
        last = max((frame.timestamp_us for frame in capture.frames), default=0)
        ended = started + timedelta(microseconds=last)
    except (OverflowError, ValueError, OSError) as exc:  # years past 9999
        raise wrong("capture start time is not a real time") from exc
    if started < challenge.created_at - skew:
        raise wrong(
            f"capture started {_seconds(challenge.created_at - started)} before its challenge was issued"
        )
    deadline = min(challenge.expires_at, now)
    if ended > deadline + skew:
        raise wrong(f"capture ended {_seconds(ended - deadline)} after it was uploaded")

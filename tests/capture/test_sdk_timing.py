"""The browser SDK and the server's timestamps cue agree on how far apart frames may be: the
SDK's constants are read from its source, the cue's from faceengine.liveness_cues."""

from __future__ import annotations

import re
from pathlib import Path

from faceengine.liveness_cues import MAX_INTERVAL, MIN_INTERVAL

SDK = Path(__file__).resolve().parents[2] / "static" / "capture" / "faceportal-capture.js"


def constant(name: str) -> float:
    match = re.search(rf"export const {name} = ([0-9_ ./]+);", SDK.read_text())
    assert match, f"{name} is not in {SDK.name}"
    numerator, _, denominator = match.group(1).replace("_", "").partition("/")
    return float(numerator) / (float(denominator) if denominator else 1.0)


def test_the_sdk_never_records_two_frames_closer_than_the_cue_allows() -> None:
    assert constant("MIN_FRAME_INTERVAL_MS") / 1000 == MIN_INTERVAL


def test_the_sdk_stops_before_a_gap_the_cue_refuses() -> None:
    assert constant("MAX_FRAME_GAP_MS") / 1000 == MAX_INTERVAL

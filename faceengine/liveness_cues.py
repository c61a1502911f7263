"""The six liveness cues as rules on plain measurements, their thresholds and the score scale.

Each cue function (`faces_cue`, `timestamps_cue`, `actions_cue`, `rigidity_cue`,
`repetition_cue`, `identity_cue`) takes numbers (face counts, timestamps, eye signals, yaws,
landmark points, chip changes, confidences), never images or the engine, and returns the cue:
an attack score in [0, 1] on the scale `_shortfall` defines (a pass at most PASS_CEILING, a
failure at least DECISION_THRESHOLD) with the measurements behind it, JSON-ready. Keeping the
rules apart from the pipeline lets every threshold be tested on small synthetic inputs.

`faceengine.liveness` runs the engine over a capture's frames, measures the faces and feeds
these functions, and re-exports every public name here: import from there. The challenge
rule (a blink and a turn) lives here too, so that `draw_challenge` and the actions cue share
it. The direction convention for turns and why the cues combine by their maximum are in
`faceengine.liveness`'s docstring; thresholds and how they were chosen in docs/liveness.md.
Django-free.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from faceengine.runtime import FloatArray

ACTIONS = ("blink", "turn_left", "turn_right")
TURNS = ("turn_left", "turn_right")
CUES = ("faces", "timestamps", "actions", "rigidity", "repetition", "identity")

# hack_score >= DECISION_THRESHOLD: an attack. Passing cues score at most PASS_CEILING.
DECISION_THRESHOLD = 0.9
PASS_CEILING = 0.8

# faces: share of frames that must show exactly one face.
MIN_SINGLE_FACE_SHARE = 0.8

# timestamps (seconds).
MIN_INTERVAL, MAX_INTERVAL = 1 / 120, 1.0
MIN_DURATION, MAX_DURATION = 1.0, 30.0
# The first frame comes this soon after the capture's start at the latest (the SDKs grab it
# at once; a video's first frame is at 0). Without it, frames 31 years after the start passed.
MAX_FIRST_FRAME = 5.0

# actions.
CLOSED_RATIO = 0.55  # eyes closed: the eye signal under this share of the capture's median
REOPEN_RATIO = 0.8  # eyes open (before and after a blink): at least this share
TURN_DEGREES = 15.0  # yaw beyond the starting yaw, in the prompted direction
RETURN_SHARE = 0.5  # "back towards frontal": yaw falls to this share of the turn's peak
BASELINE_FRAMES = 3  # the starting yaw is the median of the first frames with one face
FRONTAL_START = 25.0  # the capture must start facing the camera within this many degrees
RESPONSE_SECONDS = 3.0  # with prompts: the action must start within this after its prompt

# rigidity: the median homography residual (over STABLE_POINTS, in the reference frame's
# pixels, over its inter-ocular distance) that at least NON_PLANAR_FRAMES frames must reach.
PLANAR_RESIDUAL = 0.05
NON_PLANAR_FRAMES = 2

# repetition: the face must change by at least one of these against the reference frame.
STILL_CHIP_CHANGE = 3.0  # mean absolute grey-level difference of the blurred aligned chips
STILL_LANDMARK_CHANGE = 0.03  # median landmark displacement over the inter-ocular distance

# identity.
SAME_PERSON = 0.7  # calibrated confidence, the same threshold as verify_score

Cue = dict[str, object]


# -- the challenge ------------------------------------------------------------------


def draw_challenge(rng: random.Random | None = None, length: int = 2) -> tuple[str, ...]:
    """A random challenge: `length` actions (at least 2) holding a blink and a turn, never
    the same action twice in a row."""
    if length < 2:
        raise ValueError("a challenge needs a blink and a turn: at least two actions")
    chooser = rng or random.SystemRandom()
    while True:
        actions = tuple(chooser.choice(ACTIONS) for _ in range(length))
        repeated = any(actions[k] == actions[k + 1] for k in range(length - 1))
        if not repeated and not _weak_challenge(actions):
            return actions


def _weak_challenge(actions: Sequence[str]) -> list[str]:
    problems = []
    if "blink" not in actions:
        problems.append("the challenge has no blink: a still photo is not ruled out")
    if not any(action in TURNS for action in actions):
        problems.append("the challenge has no turn: nothing shows depth")
    return problems


# -- the cues, on plain measurements (testable without images) ----------------------


def faces_cue(face_counts: Sequence[int]) -> Cue:
    """Every frame must show exactly one face; fewer than MIN_SINGLE_FACE_SHARE fails."""
    counts = np.asarray(face_counts, np.int64)
    share = float(np.mean(counts == 1)) if len(counts) else 0.0
    score, passed = _shortfall(share, boundary=MIN_SINGLE_FACE_SHARE, clear=1.0, certain=0.5)
    return _cue(
        score,
        passed,
        frames=len(counts),
        single_face_share=share,
        frames_without_face=int(np.sum(counts == 0)),
        frames_with_several=int(np.sum(counts > 1)),
        required_share=MIN_SINGLE_FACE_SHARE,
    )


def timestamps_cue(timestamps: Sequence[float], prompted_at: Sequence[float] | None = None) -> Cue:
    """Strictly increasing from the capture's start (the first frame within MAX_FIRST_FRAME),
    every interval plausible, a plausible total duration; prompts (when given) strictly
    increasing and inside the capture. Any violation fails outright."""
    t = np.asarray(timestamps, np.float64)
    problems: list[str] = []
    if len(t) < 2:
        problems.append("fewer than two frames")
    if not np.all(np.isfinite(t)):
        problems.append("timestamps that are not finite numbers")
        t = np.nan_to_num(t, nan=-1.0, posinf=-1.0, neginf=-1.0)
    intervals = np.diff(t)
    non_increasing = int(np.sum(intervals <= 0))
    too_short = int(np.sum((intervals > 0) & (intervals < MIN_INTERVAL)))
    too_long = int(np.sum(intervals > MAX_INTERVAL))
    duration = float(t[-1] - t[0]) if len(t) else 0.0
    if len(t) and t[0] < 0:
        problems.append("a timestamp before the capture start")
    elif len(t) and t[0] > MAX_FIRST_FRAME:
        problems.append(f"first frame {t[0]:.1f} s after the capture start (at most {MAX_FIRST_FRAME:.0f} s)")
    if non_increasing:
        problems.append(f"{non_increasing} non-increasing timestamps (duplicated, reordered or replayed)")
    if too_short:
        problems.append(f"{too_short} intervals under {MIN_INTERVAL:.4f} s")
    if too_long:
        problems.append(f"{too_long} intervals over {MAX_INTERVAL:.1f} s")
    if len(t) >= 2 and not MIN_DURATION <= duration <= MAX_DURATION:
        problems.append(f"duration {duration:.2f} s outside {MIN_DURATION:.0f}..{MAX_DURATION:.0f} s")
    if prompted_at is not None and len(prompted_at):
        prompts = np.asarray(prompted_at, np.float64)
        if not np.all(np.isfinite(prompts)) or np.any(np.diff(prompts) <= 0):
            problems.append("prompt times not strictly increasing")
        elif len(t) and (prompts[0] < 0 or prompts[-1] > t[-1]):
            problems.append("prompt times outside the capture")
    return _cue(
        1.0 if problems else 0.0,
        not problems,
        frames=len(t),
        first_frame=float(t[0]) if len(t) else None,
        duration=duration,
        min_interval=float(intervals.min()) if len(intervals) else None,
        median_interval=float(np.median(intervals)) if len(intervals) else None,
        max_interval=float(intervals.max()) if len(intervals) else None,
        non_increasing=non_increasing,
        problems=problems,
    )


@dataclass(frozen=True)
class ActionEvent:
    start: float  # time the threshold was first crossed
    peak_time: float
    end: float  # time the eyes were open again / the head came back
    peak: float  # eye signal / baseline for blinks, degrees from the starting yaw for turns


def find_blinks(times: Sequence[float], signal: Sequence[float]) -> list[ActionEvent]:
    """Closures under CLOSED_RATIO x the capture's median eye signal that start from open
    eyes (at least REOPEN_RATIO x the median) and open again to that level."""
    if len(signal) < BASELINE_FRAMES + 1:
        return []
    baseline = float(np.median(signal))
    if not baseline > 0:
        return []
    ratio = np.asarray(signal, np.float64) / baseline
    events = []
    was_open = False
    k, n = 0, len(ratio)
    while k < n:
        if ratio[k] >= REOPEN_RATIO:
            was_open = True
        elif ratio[k] < CLOSED_RATIO and was_open:
            end = k
            while end < n and ratio[end] < REOPEN_RATIO:
                end += 1
            if end == n:
                break
            low = k + int(np.argmin(ratio[k:end]))
            events.append(
                ActionEvent(float(times[k]), float(times[low]), float(times[end]), float(ratio[low]))
            )
            k = end
            continue
        k += 1
    return events


def find_turns(times: Sequence[float], yaw: Sequence[float], action: str) -> list[ActionEvent]:
    """Turns beyond TURN_DEGREES from the starting yaw in the action's direction (from a frame
    short of it), and back to at most RETURN_SHARE of the turn's peak."""
    if len(yaw) < BASELINE_FRAMES + 1:
        return []
    relative = np.asarray(yaw, np.float64) - starting_yaw(yaw)
    toward = relative if action == "turn_left" else -relative
    events = []
    k, n = 1, len(toward)
    while k < n:
        if toward[k] >= TURN_DEGREES > toward[k - 1]:
            peak = end = k
            while end < n and toward[end] > RETURN_SHARE * toward[peak]:
                if toward[end] > toward[peak]:
                    peak = end
                end += 1
            if end == n:
                break
            events.append(
                ActionEvent(float(times[k]), float(times[peak]), float(times[end]), float(toward[peak]))
            )
            k = end
        k += 1
    return events


def starting_yaw(yaw: Sequence[float]) -> float:
    return float(np.median(np.asarray(yaw, np.float64)[:BASELINE_FRAMES]))


def actions_cue(
    times: Sequence[float],
    eye: Sequence[float],
    yaw: Sequence[float],
    actions: Sequence[str],
    prompted_at: Sequence[float] | None = None,
) -> Cue:
    """Each prompted action, in order: its event must start after the previous action's peak
    and, with prompts, after its own prompt and within RESPONSE_SECONDS of it. The capture
    must start facing the camera, and the challenge must hold a blink and a turn.

    times, eye (`eye_signal`) and yaw (`head_yaw`, degrees) are per frame with one face.
    """
    blinks = find_blinks(times, eye)
    turns = {action: find_turns(times, yaw, action) for action in TURNS}
    after = -math.inf
    results: list[dict[str, object]] = []
    for i, action in enumerate(actions):
        prompt = float(prompted_at[i]) if prompted_at is not None else None
        candidates = blinks if action == "blink" else turns[action]
        event = next((e for e in candidates if _in_window(e.start, after, prompt)), None)
        entry: dict[str, object] = {"action": action, "found": event is not None, "prompted_at": prompt}
        if event is not None:
            entry.update(start=event.start, peak_time=event.peak_time, end=event.end, peak=event.peak)
            after = event.peak_time
        else:
            entry["peak"] = _closest(times, eye, yaw, action, after, prompt)
        results.append(entry)
    problems = _weak_challenge(actions)
    start = starting_yaw(yaw) if len(yaw) else None
    if len(times) < BASELINE_FRAMES + 1:
        problems.append("too few frames with one face")
    elif start is not None and abs(start) > FRONTAL_START:
        problems.append(f"the capture started {start:.0f} degrees from facing the camera")
    missing = [str(entry["action"]) for entry in results if not entry["found"]]
    if missing:
        problems.append(f"not performed in order and in time: {', '.join(missing)}")
    return _cue(
        1.0 if problems else 0.0,
        not problems,
        actions=results,
        eye_baseline=float(np.median(eye)) if len(eye) else None,
        starting_yaw=start,
        closed_ratio=CLOSED_RATIO,
        turn_degrees=TURN_DEGREES,
        problems=problems,
    )


def _in_window(start: float, after: float, prompt: float | None) -> bool:
    if prompt is None:
        return start > after
    return start > after and prompt <= start <= prompt + RESPONSE_SECONDS


def _closest(
    times: Sequence[float],
    eye: Sequence[float],
    yaw: Sequence[float],
    action: str,
    after: float,
    prompt: float | None,
) -> float | None:
    """The closest the capture came to the action inside its window, for the report."""
    inside = np.array([_in_window(float(t), after, prompt) for t in times], bool)
    if not np.any(inside) or len(times) < BASELINE_FRAMES + 1:
        return None
    if action == "blink":
        baseline = float(np.median(eye))
        return float(np.min(np.asarray(eye)[inside]) / baseline) if baseline > 0 else None
    relative = np.asarray(yaw, np.float64)[inside] - starting_yaw(yaw)
    return float(np.max(relative) if action == "turn_left" else np.min(relative))


def homography_residual(reference: FloatArray, points: FloatArray, scale: float) -> float:
    """How far `points` are from a plane seen again: the least-squares homography mapping
    them onto `reference`, its median reprojection error in reference pixels over `scale`.

    Least squares, not RANSAC or LMEDS: a robust fit would explain half the points (those
    at one depth) and hide exactly the parallax this measures.
    """
    src = np.asarray(points, np.float64).reshape(-1, 2)
    dst = np.asarray(reference, np.float64).reshape(-1, 2)
    if len(src) < 5 or not (np.all(np.isfinite(src)) and np.all(np.isfinite(dst))):
        return math.inf
    matrix, _ = cv2.findHomography(src, dst, 0)
    if matrix is None:
        return math.inf
    projected = cv2.perspectiveTransform(src[None], matrix)[0]
    return float(np.median(np.linalg.norm(projected - dst, axis=1))) / max(scale, 1e-9)


def rigidity_cue(
    reference: FloatArray | None,
    others: Sequence[FloatArray],
    scale: float,
    frames: Sequence[int],
    *,
    reference_frame: int | None = None,
) -> Cue:
    """Fails unless at least NON_PLANAR_FRAMES frames are off the best homography from the
    reference frame by PLANAR_RESIDUAL or more: a plane (print, screen), or a head that never
    turned enough to show depth."""
    residuals = (
        [homography_residual(reference, points, scale) for points in others] if reference is not None else []
    )
    finite = sorted((r for r in residuals if math.isfinite(r)), reverse=True)
    evidence = (
        finite[NON_PLANAR_FRAMES - 1] if reference is not None and len(finite) >= NON_PLANAR_FRAMES else 0.0
    )
    score, passed = _shortfall(
        evidence, boundary=PLANAR_RESIDUAL, clear=2 * PLANAR_RESIDUAL, certain=PLANAR_RESIDUAL / 2
    )
    return _cue(
        score,
        passed,
        reference_frame=reference_frame,
        frames=list(frames),
        residuals=residuals,
        evidence=evidence,
        non_planar_frames=sum(r >= PLANAR_RESIDUAL for r in finite),
        threshold=PLANAR_RESIDUAL,
    )


def repetition_cue(
    chip_changes: Sequence[float], landmark_changes: Sequence[float], *, reference_frame: int | None
) -> Cue:
    """Fails when no frame differs from the reference beyond noise, in the aligned face's
    pixels (STILL_CHIP_CHANGE) or in landmark position (STILL_LANDMARK_CHANGE)."""
    chip = max(chip_changes, default=0.0)
    marks = max(landmark_changes, default=0.0)
    change = max(chip / STILL_CHIP_CHANGE, marks / STILL_LANDMARK_CHANGE)
    score, passed = _shortfall(change, boundary=1.0, clear=2.0, certain=0.5)
    return _cue(
        score,
        passed,
        reference_frame=reference_frame,
        max_chip_change=chip,
        max_landmark_change=marks,
        chip_threshold=STILL_CHIP_CHANGE,
        landmark_threshold=STILL_LANDMARK_CHANGE,
    )


def identity_cue(confidences: Sequence[float], frames: Sequence[int], *, reference_frame: int | None) -> Cue:
    """Fails when any sampled frame's face is under SAME_PERSON against the best frame's
    (or when there is nothing to compare)."""
    lowest = min(confidences, default=0.0)
    score, passed = _shortfall(lowest, boundary=SAME_PERSON, clear=0.85, certain=0.5)
    return _cue(
        score,
        passed,
        reference_frame=reference_frame,
        frames=list(frames),
        confidences=list(confidences),
        min_confidence=lowest if confidences else None,
        threshold=SAME_PERSON,
    )


# -- helpers ------------------------------------------------------------------------


def _shortfall(value: float, *, boundary: float, clear: float, certain: float) -> tuple[float, bool]:
    """Attack score for a measurement that must reach `boundary`: passing, 0 from `clear` up
    and PASS_CEILING at the boundary; failing, DECISION_THRESHOLD just under the boundary
    and 1 from `certain` down. Linear in between, so monotone."""
    if not math.isfinite(value):
        value = certain
    if value >= boundary:
        return PASS_CEILING * _clip((clear - value) / (clear - boundary)), True
    share = _clip((boundary - value) / (boundary - certain))
    return DECISION_THRESHOLD + (1 - DECISION_THRESHOLD) * share, False


def _clip(value: float) -> float:
    return min(1.0, max(0.0, value))


def _cue(score: float, passed: bool, **measurements: object) -> Cue:
    return {"score": _plain(score), "passed": passed, **{k: _plain(v) for k, v in measurements.items()}}


def _plain(value: object) -> object:
    """JSON-ready: numpy scalars to Python, floats rounded, non-finite floats to None."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [_plain(v) for v in value]
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        number = float(value)
        return round(number, 4) if math.isfinite(number) else None
    return value

"""Server-side liveness: did a live person answer the challenge, or was it a photo, a screen
or forged frames?

The capture SDK records the user answering a server-issued challenge (a sequence drawn
from ACTIONS) as RGB frames with capture timestamps, and optionally when each prompt was
shown. `score_capture` analyses every frame with the engine and scores six cues, each an
attack score in [0, 1] with the measurements behind it:

- faces: every frame shows exactly one face;
- timestamps: strictly increasing, plausible intervals and duration, starting with the
  capture;
- actions: the prompted blinks and turns happened, in order, after their prompts;
- rigidity: the face did not move like a plane (a print or a screen is explained by one
  homography per frame; a turning head is not, because the nose moves against the cheeks);
- repetition: the face changed beyond noise (not one image repeated or held still);
- identity: every sampled frame shows the same person as the best frame.

hack_score is the maximum over the cues. Each cue is a necessary condition aimed at a
different attack; an attacker only has to get past the weakest check, so an average would
let strong passes on the other cues hide one failure, and the maximum cannot. It is also
monotone: no cue getting worse can lower it. A passing cue scores at most PASS_CEILING, a
failing one at least DECISION_THRESHOLD, so `hack_score >= DECISION_THRESHOLD` means "some
cue failed". Nothing is assumed: a cue that cannot be measured (no face, too few frames)
fails.

A challenge must hold a blink and a turn, or the actions cue fails: a still photo cannot
blink, and only a turn shows depth. Turns alone are not enough: FaceMesh reads a print
tilted towards the camera as a turned head and places its landmarks as if the head had
depth (docs/liveness.md has the measurements), so a tilted print can fake a turn and its
parallax at once. `draw_challenge` makes valid challenges.

Direction convention. turn_left means the person turns their head to THEIR left. In an
unmirrored camera image (what the SDK sends) the face then turns towards the image's right,
which is yaw > 0 (as in `Landmarks.pose`). So turn_left expects yaw to rise, turn_right to
fall. A preview shown mirrored to the user does not change this: the frames are not mirrored.

Thresholds and how they were chosen are in docs/liveness.md. Django-free.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from faceengine.engine import Face, FaceEngine
from faceengine.imageio import RGBImage, from_array
from faceengine.landmarks import LEFT_LIDS, RIGHT_LIDS, Landmarks
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
CHIP_BLUR = 1.5  # Gaussian sigma (chip pixels) applied before comparing chips

# identity.
SAME_PERSON = 0.7  # calibrated confidence, the same threshold as verify_score
IDENTITY_FRAMES = 8  # embedded frames at most, the best one included

# FaceMesh points that move with the head but not with expressions (no eyes, brows, lips
# or jaw): the upper face oval, the nose, the eye corners, cheeks and forehead.
_OVAL_UPPER = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 58, 132, 93, 234, 127)
_OVAL_UPPER_END = (162, 21, 54, 103, 67, 109)
_NOSE = (1, 2, 4, 5, 6, 168, 197, 195, 98, 327, 129, 358, 64, 294, 48, 278, 19, 94)
_EYE_CORNERS = (33, 133, 263, 362)
_CHEEKS = (50, 280, 101, 330, 116, 345, 123, 352, 205, 425, 207, 427, 187, 411)
_FOREHEAD = (151, 9, 108, 337, 69, 299, 104, 333)
STABLE_POINTS = _OVAL_UPPER + _OVAL_UPPER_END + _NOSE + _EYE_CORNERS + _CHEEKS + _FOREHEAD
# The nose from its root between the eyes to its base: a rigid vertical length.
NASION, NOSE_BASE = 168, 2

# The central part of the 150 px chip: the face, not the background.
_CHIP_CENTRE = slice(30, 120)

Cue = dict[str, object]


@dataclass(frozen=True)
class CaptureFrame:
    pixels: RGBImage  # H x W x 3 uint8, as captured (not mirrored)
    timestamp: float  # seconds since capture start


@dataclass(frozen=True)
class LivenessResult:
    hack_score: float  # 0..1, higher = more likely an attack
    details: dict[str, dict[str, object]]  # one entry per cue (CUES), JSON-serialisable
    best_frame: int | None  # index of the best-quality frame with a face
    best_face: Face | None  # that frame's face, with its embedding

    @property
    def is_attack(self) -> bool:
        return self.hack_score >= DECISION_THRESHOLD


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


# -- the whole capture --------------------------------------------------------------


def score_capture(
    engine: FaceEngine,
    frames: Sequence[CaptureFrame],
    actions: Sequence[str],
    *,
    prompted_at: Sequence[float] | None = None,
) -> LivenessResult:
    """Score one capture. Raises ValueError only for a malformed challenge (unknown action,
    prompts not matching the actions); anything wrong with the frames scores as an attack."""
    unknown = [action for action in actions if action not in ACTIONS]
    if unknown:
        raise ValueError(f"unknown actions {unknown}; expected some of {ACTIONS}")
    if prompted_at is not None and len(prompted_at) != len(actions):
        raise ValueError("prompted_at needs one time per action")

    found = [engine.analyze(from_array(frame.pixels), embed=False) for frame in frames]
    usable = [i for i, faces in enumerate(found) if len(faces) == 1]
    faces = [found[i][0] for i in usable]
    best = _best_frame(found, usable)
    best_face = _embedded(engine, [found[best][0]])[0] if best is not None else None
    reference = usable.index(best) if best in usable else None

    details = {
        "faces": faces_cue([len(faces_in_frame) for faces_in_frame in found]),
        "timestamps": timestamps_cue([frame.timestamp for frame in frames], prompted_at),
        "actions": actions_cue(
            [frames[i].timestamp for i in usable],
            [eye_signal(face.landmarks) for face in faces],
            [head_yaw(face.landmarks) for face in faces],
            actions,
            prompted_at,
        ),
        "rigidity": _rigidity(faces, usable, reference),
        "repetition": _repetition(faces, usable, reference),
        "identity": _identity(engine, faces, usable, reference, best_face),
    }
    hack_score = max(_score(cue) for cue in details.values())
    return LivenessResult(hack_score=hack_score, details=details, best_frame=best, best_face=best_face)


def head_yaw(marks: Landmarks) -> float:
    """Yaw in degrees about the face's own vertical axis, > 0 towards the image's right.

    `Landmarks.pose` measures yaw about the camera's vertical axis, which mixes in roll when
    the head is pitched: a print of a face looking down, turned by 30 degrees in its plane,
    moved its pose yaw by 19 degrees. Here the angle comes from the depth difference across
    the eye line, which neither roll nor pitch changes (4 degrees on the same frames).
    """
    x_axis, _y_axis, forward = marks.face_axes()
    return math.degrees(math.atan2(float(x_axis[2]), float(-forward[2])))


def eye_signal(marks: Landmarks) -> float:
    """How open the eyes are: the mean lid gap of both eyes, measured along the nose, over
    the length of the nose.

    `Landmarks.eye_openness` divides the lid gap by the eye's width, so a print pitched away
    from the camera, which squashes the face vertically, "closes" its eyes: to 0.55 of the
    frontal value at 60 degrees on the package photos. Lengths along one direction shrink
    alike under any such squash (and under a turn): with the FaceMesh points of the package
    photos' 9 faces squashed to half in four directions, this ratio stayed within 0.95..1.07
    of its value while eye_openness ranged over 0.52..1.93. Only a closing eye lowers it.
    """
    p = marks.points[:, :2].astype(np.float64)
    nose = p[NOSE_BASE] - p[NASION]
    length = float(np.linalg.norm(nose))
    if length < 1e-6:
        return 0.0
    along = nose / length
    gaps = [abs(float(np.dot(p[a] - p[b], along))) for a, b in (*RIGHT_LIDS, *LEFT_LIDS)]
    return float(np.mean(gaps)) / length


def _best_frame(found: list[list[Face]], usable: list[int]) -> int | None:
    """The best-quality frame showing exactly one face; failing that, any face."""
    candidates = usable or [i for i, faces in enumerate(found) if faces]
    if not candidates:
        return None
    return max(candidates, key=lambda i: found[i][0].quality)


def _embedded(engine: FaceEngine, faces: list[Face]) -> list[Face]:
    return engine.embed_faces(faces)


def _rigidity(faces: list[Face], usable: list[int], reference: int | None) -> Cue:
    if reference is None:
        return rigidity_cue(None, [], 1.0, [])
    ref = faces[reference].landmarks
    others = [k for k in range(len(faces)) if k != reference]
    return rigidity_cue(
        ref.points[list(STABLE_POINTS), :2],
        [faces[k].landmarks.points[list(STABLE_POINTS), :2] for k in others],
        ref.interocular,
        [usable[k] for k in others],
        reference_frame=usable[reference],
    )


def _repetition(faces: list[Face], usable: list[int], reference: int | None) -> Cue:
    if reference is None:
        return repetition_cue([], [], reference_frame=None)
    ref = faces[reference]
    ref_chip = _grey_centre(ref.chip)
    ref_points = ref.landmarks.points[:, :2]
    chip_changes, landmark_changes = [], []
    for k, face in enumerate(faces):
        if k == reference:
            continue
        chip_changes.append(float(np.mean(np.abs(_grey_centre(face.chip) - ref_chip))))
        moved = np.linalg.norm(face.landmarks.points[:, :2] - ref_points, axis=1)
        landmark_changes.append(float(np.median(moved)) / max(ref.landmarks.interocular, 1e-6))
    return repetition_cue(chip_changes, landmark_changes, reference_frame=usable[reference])


def _grey_centre(chip: RGBImage) -> FloatArray:
    """The chip's centre in grey, blurred so that sensor noise and JPEG blocks count little."""
    grey = cv2.GaussianBlur(cv2.cvtColor(chip, cv2.COLOR_RGB2GRAY), (0, 0), CHIP_BLUR)
    return np.asarray(grey[_CHIP_CENTRE, _CHIP_CENTRE], np.float32)


def identity_sample(faces: list[Face], reference: int, count: int = IDENTITY_FRAMES) -> list[int]:
    """Which frames to embed besides the reference: up to half those that look most unlike
    it (a second person shows up there, however briefly), the rest spread over the capture
    (a switch of person halfway)."""
    others = [k for k in range(len(faces)) if k != reference]
    if len(others) <= count - 1:
        return others
    ref_chip = _grey_centre(faces[reference].chip)
    change = {k: float(np.mean(np.abs(_grey_centre(faces[k].chip) - ref_chip))) for k in others}
    chosen = sorted(others, key=lambda k: change[k], reverse=True)[: (count - 1) // 2]
    for position in np.linspace(0, len(others) - 1, count - 1):
        k = others[round(float(position))]
        if len(chosen) < count - 1 and k not in chosen:
            chosen.append(k)
    return sorted(chosen)


def _identity(
    engine: FaceEngine, faces: list[Face], usable: list[int], reference: int | None, best: Face | None
) -> Cue:
    if reference is None or best is None or len(faces) < 2:
        return identity_cue([], [], reference_frame=None)
    sample = identity_sample(faces, reference)
    confidences = engine.compare([best], _embedded(engine, [faces[k] for k in sample]))[0]
    return identity_cue(
        [float(c) for c in confidences], [usable[k] for k in sample], reference_frame=usable[reference]
    )


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


def _score(cue: Cue) -> float:
    value = cue["score"]
    return float(value) if isinstance(value, int | float) else 1.0


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

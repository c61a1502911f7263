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

What is where. This module is the pipeline: the capture's types (`CaptureFrame`,
`LivenessResult`), `score_capture` (the engine over every frame, the best frame, the
measurements taken from faces and landmarks: `head_yaw`, `eye_signal`, the stable landmark
points, the blurred chips, the identity sample) and the combination of the cues into
hack_score. `faceengine.liveness_cues` holds the cue rules themselves on plain measurements
(testable without images), their thresholds, the score scale and `draw_challenge`; every
public name there is re-exported here, so `from faceengine.liveness import ...` is the one
way in.

Thresholds and how they were chosen are in docs/liveness.md. Django-free.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from faceengine.engine import Face, FaceEngine
from faceengine.imageio import RGBImage, from_array
from faceengine.landmarks import LEFT_LIDS, RIGHT_LIDS, Landmarks
from faceengine.liveness_cues import (
    ACTIONS,
    BASELINE_FRAMES,
    CLOSED_RATIO,
    CUES,
    DECISION_THRESHOLD,
    FRONTAL_START,
    MAX_DURATION,
    MAX_FIRST_FRAME,
    MAX_INTERVAL,
    MIN_DURATION,
    MIN_INTERVAL,
    MIN_SINGLE_FACE_SHARE,
    NON_PLANAR_FRAMES,
    PASS_CEILING,
    PLANAR_RESIDUAL,
    REOPEN_RATIO,
    RESPONSE_SECONDS,
    RETURN_SHARE,
    SAME_PERSON,
    STILL_CHIP_CHANGE,
    STILL_LANDMARK_CHANGE,
    TURN_DEGREES,
    TURNS,
    ActionEvent,
    Cue,
    actions_cue,
    draw_challenge,
    faces_cue,
    find_blinks,
    find_turns,
    homography_residual,
    identity_cue,
    repetition_cue,
    rigidity_cue,
    starting_yaw,
    timestamps_cue,
)
from faceengine.runtime import FloatArray
from faceengine.stages import timed

# The pipeline's names and, re-exported, the cues' (faceengine.liveness is the one way in).
__all__ = [
    "ACTIONS",
    "BASELINE_FRAMES",
    "CHIP_BLUR",
    "CLOSED_RATIO",
    "CUES",
    "DECISION_THRESHOLD",
    "FRONTAL_START",
    "IDENTITY_FRAMES",
    "MAX_DURATION",
    "MAX_FIRST_FRAME",
    "MAX_INTERVAL",
    "MIN_DURATION",
    "MIN_INTERVAL",
    "MIN_SINGLE_FACE_SHARE",
    "NASION",
    "NON_PLANAR_FRAMES",
    "NOSE_BASE",
    "PASS_CEILING",
    "PLANAR_RESIDUAL",
    "REOPEN_RATIO",
    "RESPONSE_SECONDS",
    "RETURN_SHARE",
    "SAME_PERSON",
    "STABLE_POINTS",
    "STILL_CHIP_CHANGE",
    "STILL_LANDMARK_CHANGE",
    "TURNS",
    "TURN_DEGREES",
    "ActionEvent",
    "CaptureFrame",
    "Cue",
    "LivenessResult",
    "actions_cue",
    "chip_changes",
    "draw_challenge",
    "eye_signal",
    "faces_cue",
    "find_blinks",
    "find_turns",
    "head_yaw",
    "homography_residual",
    "identity_cue",
    "identity_sample",
    "repetition_cue",
    "rigidity_cue",
    "score_capture",
    "starting_yaw",
    "timestamps_cue",
]

# Measuring the faces (the thresholds the measurements are held to are in liveness_cues).
CHIP_BLUR = 1.5  # Gaussian sigma (chip pixels) applied before comparing chips
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
    # How each face's chip differs from the reference's: repetition and identity both use it.
    changes = chip_changes(faces, reference) if reference is not None else {}

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
        "repetition": _repetition(faces, usable, reference, changes),
        "identity": _identity(engine, faces, usable, reference, best_face, changes),
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
    with timed("embed"):
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


def chip_changes(faces: list[Face], reference: int) -> dict[int, float]:
    """Mean absolute grey-level difference of each other face's blurred chip centre from the
    reference's, by face index (computed once: repetition and the identity sample use it)."""
    ref_chip = _grey_centre(faces[reference].chip)
    return {
        k: float(np.mean(np.abs(_grey_centre(face.chip) - ref_chip)))
        for k, face in enumerate(faces)
        if k != reference
    }


def _repetition(
    faces: list[Face], usable: list[int], reference: int | None, changes: dict[int, float]
) -> Cue:
    if reference is None:
        return repetition_cue([], [], reference_frame=None)
    ref = faces[reference]
    ref_points = ref.landmarks.points[:, :2]
    landmark_changes = []
    for k, face in enumerate(faces):
        if k == reference:
            continue
        moved = np.linalg.norm(face.landmarks.points[:, :2] - ref_points, axis=1)
        landmark_changes.append(float(np.median(moved)) / max(ref.landmarks.interocular, 1e-6))
    return repetition_cue(list(changes.values()), landmark_changes, reference_frame=usable[reference])


def _grey_centre(chip: RGBImage) -> FloatArray:
    """The chip's centre in grey, blurred so that sensor noise and JPEG blocks count little."""
    grey = cv2.GaussianBlur(cv2.cvtColor(chip, cv2.COLOR_RGB2GRAY), (0, 0), CHIP_BLUR)
    return np.asarray(grey[_CHIP_CENTRE, _CHIP_CENTRE], np.float32)


def identity_sample(
    faces: list[Face], reference: int, count: int = IDENTITY_FRAMES, changes: dict[int, float] | None = None
) -> list[int]:
    """Which frames to embed besides the reference: up to half those that look most unlike
    it (a second person shows up there, however briefly), the rest spread over the capture
    (a switch of person halfway). `changes` is `chip_changes(faces, reference)` when the
    caller has it."""
    others = [k for k in range(len(faces)) if k != reference]
    if len(others) <= count - 1:
        return others
    change = changes if changes is not None else chip_changes(faces, reference)
    chosen = sorted(others, key=lambda k: change[k], reverse=True)[: (count - 1) // 2]
    for position in np.linspace(0, len(others) - 1, count - 1):
        k = others[round(float(position))]
        if len(chosen) < count - 1 and k not in chosen:
            chosen.append(k)
    return sorted(chosen)


def _identity(
    engine: FaceEngine,
    faces: list[Face],
    usable: list[int],
    reference: int | None,
    best: Face | None,
    changes: dict[int, float],
) -> Cue:
    if reference is None or best is None or len(faces) < 2:
        return identity_cue([], [], reference_frame=None)
    sample = identity_sample(faces, reference, changes=changes)
    confidences = engine.compare([best], _embedded(engine, [faces[k] for k in sample]))[0]
    return identity_cue(
        [float(c) for c in confidences], [usable[k] for k in sample], reference_frame=usable[reference]
    )


def _score(cue: Cue) -> float:
    value = cue["score"]
    return float(value) if isinstance(value, int | float) else 1.0

"""Liveness scoring: every synthetic attack class is flagged with the real engine, results
are JSON-ready, and each cue behaves on small synthetic inputs.

No test here shows a live person passing: still photos cannot blink or turn a head. The
closest is the geometry test, a photo textured onto FaceMesh's own 3D mesh and turned,
which passes the rigidity cue and registers the turn (and fails on the blink it cannot do).
"""

from __future__ import annotations

import io
import itertools
import json
import math
import random

import cv2
import numpy as np
import pytest
from django.core.management import call_command

from faceengine import FaceEngine, from_array
from faceengine.landmarks import Landmarks
from faceengine.liveness import (
    CUES,
    DECISION_THRESHOLD,
    PASS_CEILING,
    PLANAR_RESIDUAL,
    CaptureFrame,
    actions_cue,
    chip_changes,
    draw_challenge,
    eye_signal,
    faces_cue,
    find_blinks,
    find_turns,
    head_yaw,
    homography_residual,
    identity_cue,
    identity_sample,
    repetition_cue,
    rigidity_cue,
    score_capture,
    timestamps_cue,
)
from facelab.liveness_attacks import (
    ATTACK_CLASSES,
    PrintPose,
    background,
    camera_output,
    load_prints,
    presentations,
    render,
)
from facelab.liveness_eval import turning_head
from tests.conftest import pixels


def capture(frames: list[np.ndarray], fps: float = 10.0) -> list[CaptureFrame]:
    return [CaptureFrame(frame, round(0.05 + k / fps, 4)) for k, frame in enumerate(frames)]


def performed(cue: dict[str, object]) -> list[dict[str, object]]:
    """The actions cue's per-action entries."""
    entries = cue["actions"]
    assert isinstance(entries, list)
    return entries


def score(cue: dict[str, object]) -> float:
    value = cue["score"]
    assert isinstance(value, float)
    return value


# -- the whole capture, real engine ---------------------------------------------------


@pytest.mark.parametrize("attack_class", ATTACK_CLASSES)
def test_every_attack_class_is_flagged(engine: FaceEngine, attack_class: str) -> None:
    # Seeds the evaluation command does not use by default, a sharp print and a group face.
    made = list(presentations(engine, 1, [attack_class], prints=["grace_hopper", "group_3"], first_seed=7))
    assert len(made) == 2
    for presentation in made:
        result = score_capture(engine, presentation.capture(), presentation.actions)
        assert result.hack_score >= DECISION_THRESHOLD, (presentation.name, result.details)
        assert result.is_attack


def test_details_are_json_and_name_every_cue(engine: FaceEngine) -> None:
    presentation = next(presentations(engine, 1, ["photo_moved_in_plane"], prints=["astronaut"]))
    result = score_capture(engine, presentation.capture(), presentation.actions)

    assert list(result.details) == list(CUES)
    decoded = json.loads(json.dumps(result.details, allow_nan=False))
    assert decoded == result.details
    for cue in result.details.values():
        assert 0.0 <= score(cue) <= 1.0
        assert cue["passed"] is (score(cue) <= PASS_CEILING)
        assert cue["passed"] is not (score(cue) >= DECISION_THRESHOLD)
    assert result.hack_score == max(score(cue) for cue in result.details.values())


def test_the_best_frame_holds_the_face_used_for_verification(engine: FaceEngine) -> None:
    presentation = next(presentations(engine, 1, ["photo_perspective"], prints=["grace_hopper"]))
    result = score_capture(engine, presentation.capture(), presentation.actions)

    assert result.best_frame is not None and result.best_face is not None
    assert result.best_face.embedding is not None
    again = engine.analyze(from_array(presentation.frames[result.best_frame]))
    assert len(again) == 1
    assert np.allclose(again[0].box, result.best_face.box, atol=1.0)
    assert engine.compare(again, [result.best_face])[0, 0] > 0.99


def test_an_empty_capture_is_an_attack_not_an_error(engine: FaceEngine) -> None:
    result = score_capture(engine, [], ["blink", "turn_left"])
    assert result.hack_score == 1.0
    assert (result.best_frame, result.best_face) == (None, None)
    assert all(not cue["passed"] for cue in result.details.values())
    json.dumps(result.details, allow_nan=False)


def test_frames_without_faces_are_an_attack(engine: FaceEngine) -> None:
    room = np.ascontiguousarray(cv2.resize(pixels("coffee"), (640, 480)))
    result = score_capture(engine, capture([room] * 12), ["turn_right", "blink"], prompted_at=[0.2, 0.6])
    assert result.hack_score == 1.0
    assert result.best_frame is None
    assert result.details["faces"]["frames_without_face"] == 12
    json.dumps(result.details, allow_nan=False)


def test_a_malformed_challenge_is_refused(engine: FaceEngine) -> None:
    with pytest.raises(ValueError, match="unknown actions"):
        score_capture(engine, [], ["smile"])
    with pytest.raises(ValueError, match="one time per action"):
        score_capture(engine, [], ["blink", "turn_left"], prompted_at=[0.5])


def test_a_turning_textured_mesh_shows_depth_and_a_tilted_print_does_not(engine: FaceEngine) -> None:
    frames, times = turning_head(engine, "grace_hopper", 20.0)
    turned = score_capture(
        engine, [CaptureFrame(f, t) for f, t in zip(frames, times, strict=True)], ["blink", "turn_left"]
    )
    details = turned.details
    assert details["rigidity"]["passed"], details["rigidity"]
    assert [a["found"] for a in performed(details["actions"])] == [False, True]
    assert details["identity"]["passed"] and details["repetition"]["passed"]
    assert turned.hack_score == 1.0  # it cannot blink

    rng = np.random.default_rng(3)
    printed = next(p for p in load_prints(engine) if p.name == "grace_hopper")
    room = background(rng)
    tilts = [0, 0, 0, 8, 16, 24, 32, 40, 32, 24, 16, 8, 0, 0, 0]
    frames = [camera_output(render(printed, PrintPose(yaw=-tilt), room), rng) for tilt in tilts]
    tilted = score_capture(engine, capture(frames), ["blink", "turn_left"]).details
    assert not tilted["rigidity"]["passed"], tilted["rigidity"]
    assert not performed(tilted["actions"])[1]["found"]


@pytest.mark.models
def test_the_command_reports_apcer_and_says_bpcer_is_not_measured() -> None:
    out = io.StringIO()
    call_command(
        "evaluate_liveness",
        "--seeds=1",
        "--classes",
        "photo_repeated",
        "--prints",
        "grace_hopper",
        "--no-geometry",
        stdout=out,
        stderr=io.StringIO(),
    )
    lines = out.getvalue().strip().splitlines()
    assert json.loads(lines[-1]) == {"apcer": {"photo_repeated": 0.0}, "presentations": {"photo_repeated": 1}}
    assert any("BPCER is not measured" in line for line in lines)
    assert any(line.startswith("photo_repeated") for line in lines)


# -- landmark measurements ----------------------------------------------------------


def turned(marks: Landmarks, yaw: float = 0.0, roll: float = 0.0, squash: float = 1.0) -> Landmarks:
    """The points turned about a vertical axis through their centre (yaw > 0 towards the
    image's right), rolled in the image plane, or squashed vertically (a print tilted back)."""
    p = marks.points.astype(np.float64)
    centre = p.mean(axis=0)
    a, r = math.radians(-yaw), math.radians(roll)  # image z points away from the camera
    about_y = np.array([[math.cos(a), 0, math.sin(a)], [0, 1, 0], [-math.sin(a), 0, math.cos(a)]])
    about_z = np.array([[math.cos(r), -math.sin(r), 0], [math.sin(r), math.cos(r), 0], [0, 0, 1]])
    q = (p - centre) @ about_y.T @ about_z.T * np.array([1.0, squash, 1.0]) + centre
    return Landmarks(points=q.astype(np.float32), presence=marks.presence)


def test_head_yaw_follows_a_turn_and_ignores_roll(engine: FaceEngine) -> None:
    frontal = engine.analyze(from_array(pixels("grace_hopper")), embed=False)[0].landmarks
    start = head_yaw(frontal)
    assert head_yaw(turned(frontal, yaw=20)) - start == pytest.approx(20, abs=1.5)
    assert head_yaw(turned(frontal, yaw=-20)) - start == pytest.approx(-20, abs=1.5)
    # The man in the middle of the group photo, looking down at the table.
    looking_down = min(
        engine.analyze(from_array(pixels("group")), embed=False),
        key=lambda face: abs(face.box[0] - 457) + abs(face.box[1] - 290),
    ).landmarks
    for marks in (frontal, looking_down):
        assert head_yaw(turned(marks, roll=30)) == pytest.approx(head_yaw(marks), abs=0.01)
    # The camera-axis yaw of `Landmarks.pose` moves with roll on a face looking down.
    assert abs(turned(looking_down, roll=30).pose().yaw - looking_down.pose().yaw) > 5


def test_the_eye_signal_ignores_a_squash_that_closes_eye_openness(engine: FaceEngine) -> None:
    for marks in (face.landmarks for face in engine.analyze(from_array(pixels("group")), embed=False)):
        squashed = turned(marks, squash=0.5)  # a print tilted back by 60 degrees
        assert np.mean(squashed.eye_openness()) < 0.85 * np.mean(marks.eye_openness())
        for roll in (0, 20, 45):
            upright = turned(marks, roll=roll)
            assert eye_signal(turned(marks, roll=roll, squash=0.5)) == pytest.approx(
                eye_signal(upright), rel=0.08
            )


# -- cues on synthetic measurements ---------------------------------------------------


TIMES = [round(0.1 * k, 2) for k in range(30)]


def blink_series(at: int, depth: float = 0.3, frames: int = 2) -> list[float]:
    signal = [0.3 + 0.005 * math.sin(k) for k in range(30)]
    for k in range(at, at + frames):
        signal[k] = 0.3 * depth
    return signal


def turn_series(at: int, peak: float, *, back: bool = True) -> list[float]:
    yaw = [0.5 * math.sin(k) for k in range(30)]
    shape = [0.3, 0.6, 1.0, 1.0, 0.6, 0.2] if back else [0.3, 0.6] + [1.0] * 30
    for offset, share in enumerate(shape):
        if at + offset < 30:
            yaw[at + offset] += peak * share
    return yaw


def test_a_blink_is_a_closure_from_open_eyes_and_back() -> None:
    [blink] = find_blinks(TIMES, blink_series(10))
    assert (blink.start, blink.end) == (1.0, 1.2)
    assert blink.peak == pytest.approx(0.3, abs=0.02)
    assert find_blinks(TIMES, blink_series(10, depth=0.6)) == []  # half-closed is not a blink
    assert find_blinks(TIMES, blink_series(27, frames=3)) == []  # never reopened
    closed_at_start = blink_series(0, frames=3)
    assert find_blinks(TIMES, closed_at_start) == []  # never seen open before
    assert (
        len(find_blinks(TIMES, [a * b / 0.3 for a, b in zip(blink_series(5), blink_series(20), strict=True)]))
        == 2
    )


def test_a_turn_goes_beyond_15_degrees_the_prompted_way_and_comes_back() -> None:
    [turn] = find_turns(TIMES, turn_series(10, 30), "turn_left")
    assert (turn.start, turn.end) == (1.1, 1.5)
    assert turn.peak == pytest.approx(30, abs=1)
    assert find_turns(TIMES, turn_series(10, 30), "turn_right") == []
    assert len(find_turns(TIMES, turn_series(10, -30), "turn_right")) == 1
    assert find_turns(TIMES, turn_series(10, 12), "turn_left") == []  # not far enough
    assert find_turns(TIMES, turn_series(10, 30, back=False), "turn_left") == []  # never came back
    # Relative to where the capture started, not to the camera.
    offset = [y + 18 for y in turn_series(10, 20)]
    assert len(find_turns(TIMES, offset, "turn_left")) == 1


def test_actions_must_happen_in_order_and_after_their_prompts() -> None:
    eye, yaw = blink_series(5), turn_series(15, 30)  # blink at 0.5 s, turn from 1.6 s

    def passed(actions: list[str], prompts: list[float] | None = None) -> bool:
        return bool(actions_cue(TIMES, eye, yaw, actions, prompts)["passed"])

    assert passed(["blink", "turn_left"])
    assert not passed(["turn_left", "blink"])  # the blink came first
    assert not passed(["blink", "turn_right"])  # wrong direction
    assert passed(["blink", "turn_left"], [0.3, 1.2])
    assert not passed(["blink", "turn_left"], [0.3, 1.7])  # turned before the prompt
    assert not passed(["blink", "turn_left"], [0.3, 1.2 - 3.5])  # long before: not an answer
    cue = actions_cue(TIMES, eye, yaw, ["blink", "turn_left"])
    assert [a["found"] for a in performed(cue)] == [True, True]
    assert performed(cue)[1]["peak"] == pytest.approx(30, abs=1)


def test_a_challenge_needs_a_blink_a_turn_and_a_frontal_start() -> None:
    eye, yaw = blink_series(5), turn_series(15, 25)
    only_turns = actions_cue(TIMES, eye, yaw, ["turn_left"])
    assert not only_turns["passed"] and "no blink" in str(only_turns["problems"])
    assert not actions_cue(TIMES, eye, yaw, ["blink"])["passed"]
    assert not actions_cue(TIMES, eye, yaw, [])["passed"]
    sideways = [y + 40 for y in yaw]
    assert not actions_cue(TIMES, eye, sideways, ["blink", "turn_left"])["passed"]
    rng = random.Random(1)
    for length in (2, 3, 4):
        for _ in range(50):
            actions = draw_challenge(rng, length)
            assert len(actions) == length and "blink" in actions
            assert {"turn_left", "turn_right"} & set(actions)
            assert all(a != b for a, b in itertools.pairwise(actions))
    with pytest.raises(ValueError):
        draw_challenge(rng, 1)


def test_timestamps_must_increase_plausibly() -> None:
    assert timestamps_cue(TIMES)["passed"]
    assert timestamps_cue(TIMES, [0.5, 1.5])["passed"]
    shuffled = TIMES[:]
    random.Random(0).shuffle(shuffled)
    forged = {
        "shuffled": shuffled,
        "duplicated": TIMES[:10] + TIMES[9:29],
        "replayed": TIMES[:15] + TIMES[:15],
        "a gap of 2 s": TIMES[:10] + [t + 2 for t in TIMES[10:]],
        "240 fps": [k / 240 for k in range(300)],
        "0.5 s in all": TIMES[:6],
        "40 s in all": [0.5 * k for k in range(81)],
        "not a number": [*TIMES[:5], math.nan, *TIMES[6:]],
        "before the start": [t - 1 for t in TIMES],
        "one frame": [0.0],
        "6 s after the start": [t + 6 for t in TIMES],
        "31 years after the start": [t + 31 * 365.25 * 86400 for t in TIMES],
    }
    for label, stamps in forged.items():
        cue = timestamps_cue(stamps)
        assert not cue["passed"] and cue["score"] == 1.0, label
        json.dumps(cue, allow_nan=False)
    assert not timestamps_cue(TIMES, [1.5, 0.5])["passed"]  # prompts out of order
    assert not timestamps_cue(TIMES, [0.5, 9.0])["passed"]  # a prompt after the capture


# A face-like surface in centimetres: points on an ellipsoid cap (the face 13 cm wide,
# 18 cm high, curving back 9 cm at its edges) with a 2.5 cm nose, 50 cm from a pinhole
# camera of focal length 600 px; the inter-ocular distance, 6.3 cm, is ~92 px there.
FOCAL, DISTANCE, IOD_CM = 600.0, 50.0, 6.3


def face_surface(*, flat: bool) -> np.ndarray:
    points = []
    for x in np.linspace(-6.5, 6.5, 9):
        for y in np.linspace(-8.0, 10.0, 9):
            if (x / 7.5) ** 2 + (y / 11) ** 2 > 0.9:
                continue
            z = 0.0
            if not flat:
                z = -9 * math.sqrt(max(0.0, 1 - (x / 8) ** 2 - (y / 12) ** 2))
                z -= 2.5 * math.exp(-(x**2 + (y - 2) ** 2) / 4)
            points.append((x, y, z))
    return np.array(points)


def seen(points: np.ndarray, yaw: float = 0.0, shift: tuple[float, float, float] = (0, 0, 0)) -> np.ndarray:
    """Pinhole projection after turning about the head's vertical axis (through the origin,
    9 cm behind the face) and moving."""
    a = math.radians(yaw)
    rotation = np.array([[math.cos(a), 0, math.sin(a)], [0, 1, 0], [-math.sin(a), 0, math.cos(a)]])
    q = points @ rotation.T + np.array(shift) + np.array([0, 0, DISTANCE])
    return np.column_stack([FOCAL * q[:, 0] / q[:, 2], FOCAL * q[:, 1] / q[:, 2]])


def test_a_head_turning_20_degrees_is_not_a_plane_and_a_print_is() -> None:
    """The photo-based set cannot show this: a real head turning would not be flagged planar."""
    iod = FOCAL * IOD_CM / (DISTANCE - 9)
    head, card = face_surface(flat=False), face_surface(flat=True)

    assert homography_residual(seen(card), seen(card, 20), iod) < 1e-6
    assert homography_residual(seen(card), seen(card, 40, (5, -3, 10)), iod) < 1e-6
    assert homography_residual(seen(head), seen(head, 20), iod) > 1.2 * PLANAR_RESIDUAL
    # Moving without turning shows (almost) no depth: that is why a challenge needs a turn.
    assert homography_residual(seen(head), seen(head, 0, (3, 2, -5)), iod) < 0.5 * PLANAR_RESIDUAL

    path = [0, 5, 10, 15, 20, 20, 15, 10, 5, 0]
    for surface, planar in ((head, False), (card, True)):
        others = [seen(surface, yaw) for yaw in path[1:]]
        cue = rigidity_cue(seen(surface), others, iod, list(range(1, len(path))), reference_frame=0)
        assert cue["passed"] is not planar
        json.dumps(cue, allow_nan=False)
    still = rigidity_cue(seen(head), [seen(head, 0, (k, 0, 0)) for k in range(9)], iod, list(range(9)))
    assert not still["passed"]


def test_faces_repetition_and_identity_cues() -> None:
    assert faces_cue([1] * 10)["score"] == 0.0
    assert faces_cue([1] * 9 + [2])["passed"]
    assert not faces_cue([1] * 7 + [0] * 3)["passed"]
    assert not faces_cue([])["passed"]
    scores = [score(faces_cue([1] * k + [0] * (20 - k))) for k in range(21)]
    assert scores == sorted(scores, reverse=True)  # monotone: more good frames, lower score

    assert not repetition_cue([0.0] * 20, [0.0] * 20, reference_frame=0)["passed"]
    assert not repetition_cue([1.0] * 20, [0.01] * 20, reference_frame=0)["passed"]  # noise only
    assert repetition_cue([1.0] * 19 + [12.0], [0.01] * 20, reference_frame=0)["passed"]
    assert repetition_cue([1.0] * 20, [0.01] * 19 + [0.2], reference_frame=0)["passed"]

    assert identity_cue([0.97, 0.93, 0.9], [1, 2, 3], reference_frame=0)["passed"]
    assert not identity_cue([0.97, 0.35, 0.9], [1, 2, 3], reference_frame=0)["passed"]
    assert not identity_cue([], [], reference_frame=None)["passed"]


@pytest.mark.models
def test_repetition_and_the_identity_sample_share_one_measure_of_chip_change(engine: FaceEngine) -> None:
    """score_capture computes the chips' grey-level changes once for both; the identity sample
    picks the same frames with them as it does measuring them itself."""
    presentation = next(presentations(engine, 1, ["two_people"], prints=["grace_hopper"]))
    found = [engine.analyze(from_array(frame), embed=False) for frame in presentation.frames]
    faces = [faces[0] for faces in found if len(faces) == 1]
    reference = max(range(len(faces)), key=lambda k: faces[k].quality)
    changes = chip_changes(faces, reference)
    assert sorted(changes) == [k for k in range(len(faces)) if k != reference]
    assert identity_sample(faces, reference, changes=changes) == identity_sample(faces, reference)
    result = score_capture(engine, presentation.capture(), presentation.actions)
    assert result.details["repetition"]["max_chip_change"] == round(max(changes.values()), 4)

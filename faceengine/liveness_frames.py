"""The faces of a liveness capture's frames, found the way a video is tracked.

A capture is up to 60 consecutive frames of one face that moves a little between them, so
the detector need not search every frame: as MediaPipe does when it tracks a face, the mesh
of frame k is taken on a crop around frame k-1's mesh (`landmarks.track`), and the detector
runs only on every DETECT_EVERY-th frame, on the first, after any frame that did not show
exactly one face, and whenever the tracked mesh is unsure (the face left the crop). Two
frames in three then cost the mesh alone instead of detection and mesh: measured by
`manage.py benchmark_liveness`, checked against the attack set by `manage.py
evaluate_liveness` (docs/liveness.md has both).

What a tracked frame cannot see is a second face appearing: it counts its one tracked face.
The detector runs at least every DETECT_EVERY frames, so a second face that stays in view
that long is counted on a frame in DETECT_EVERY, and after it every frame is detected until
one face is left.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from faceengine import landmarks, quality
from faceengine.detection import LEFT_EAR, LEFT_EYE, MOUTH, NOSE_TIP, RIGHT_EAR, RIGHT_EYE, Detection
from faceengine.engine import MIN_FACE_SIZE, MIN_PRESENCE, Face, FaceEngine, analysis_copy
from faceengine.imageio import RGBImage, from_array
from faceengine.landmarks import MOUTH_LEFT, MOUTH_RIGHT, FaceRegion, Landmarks
from faceengine.stages import timed

DETECT_EVERY = 3  # the detector runs on every third frame at least
# FaceMesh points standing in for the detector's keypoints that the mesh has no name for.
_MESH_NOSE_TIP, _MESH_RIGHT_EAR, _MESH_LEFT_EAR = 1, 234, 454


def analyse_frames(engine: FaceEngine, frames: Sequence[RGBImage]) -> list[list[Face]]:
    """The faces of each frame, as `FaceEngine.analyze(embed=False)` gives them, tracking one
    face from frame to frame where it can."""
    found: list[list[Face]] = []
    for index, frame in enumerate(frames):
        image = from_array(frame)
        previous = found[-1] if found else []
        tracked = None
        if len(previous) == 1 and index % DETECT_EVERY:
            tracked = _track(engine, image.pixels, previous[0])
        found.append([tracked] if tracked is not None else engine.analyze(image, embed=False))
    return found


def _track(engine: FaceEngine, pixels: RGBImage, previous: Face) -> Face | None:
    """The face on a crop around the previous frame's mesh; None when the mesh is unsure or
    the frame is one the engine would reduce first (then it is analysed as a photo)."""
    if analysis_copy(from_array(pixels))[1] != 1.0:
        return None
    guess = _as_detection(previous.landmarks, previous.detector_score)
    if guess.size < MIN_FACE_SIZE:
        return None
    with timed("landmarks"):
        region = FaceRegion.around(pixels, guess)
        before = previous.landmarks.points
        seen = Landmarks(np.hstack([region.to_region(before[:, :2]), before[:, 2:]]), previous.landmarks.presence)
        marks = region.to_image(landmarks.track(engine.mesh, region.pixels, seen))
    if marks.presence < MIN_PRESENCE:
        return None
    found = _as_detection(marks, previous.detector_score)
    with timed("quality"):
        chip = engine.chip(region, marks)
        identity_chip = engine.identity_chip(region, marks)
        pose = marks.pose()
        values = quality.factors(chip, marks.interocular, pose, found.score, marks.presence)
    return Face(
        box=found.box,
        keypoints=found.keypoints,
        landmarks=marks,
        detector_score=found.score,
        size=marks.spread * marks.share_inside(pixels.shape[1], pixels.shape[0]),
        pose=pose,
        quality=quality.score(values),
        quality_factors=values,
        orientation=0,
        chip=chip,
        identity_chip=identity_chip,
    )


def _as_detection(marks: Landmarks, score: float) -> Detection:
    """A detection standing for a mesh: the box around its points, the detector's six
    keypoints read off the mesh, and the score of the last real detection (a tracked frame
    has none of its own; quality weighs it in)."""
    points = marks.points[:, :2]
    x0, y0 = points.min(axis=0)
    x1, y1 = points.max(axis=0)
    keypoints = np.zeros((6, 2), np.float32)
    keypoints[RIGHT_EYE] = marks.right_eye
    keypoints[LEFT_EYE] = marks.left_eye
    keypoints[NOSE_TIP] = points[_MESH_NOSE_TIP]
    keypoints[MOUTH] = (points[MOUTH_RIGHT] + points[MOUTH_LEFT]) / 2
    keypoints[RIGHT_EAR] = points[_MESH_RIGHT_EAR]
    keypoints[LEFT_EAR] = points[_MESH_LEFT_EAR]
    return Detection((float(x0), float(y0), float(x1 - x0), float(y1 - y0)), keypoints, score)

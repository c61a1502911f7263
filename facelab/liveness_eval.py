"""The liveness evaluation: the synthetic attack set of `facelab.liveness_attacks` scored
by `score_capture`, APCER per attack class, and a geometry check on a turning face mesh.

Every presentation is an attack (how they are made is in `facelab.liveness_attacks`).
Bona fide presentations cannot be made here. A live person blinking and turning their head
is not a transformation of a still photo, and frames faked to look like one would measure
the faking, not the scoring. The bona fide error rate (BPCER) must be measured on real
captures recorded with the capture page or SDK (docs/liveness.md says how).

Here: scoring and summarising (`score_presentation`, `evaluate`, `summarise`, `Scored`,
`ClassReport`), and a photo's face as a textured 3D mesh turned in front of the camera
(`turning_head`, `geometry_checks`), which checks the rigidity and turn geometry that still
photos cannot.

Used by `manage.py evaluate_liveness` and the tests. Django-free.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from faceengine.engine import FaceEngine
from faceengine.imageio import RGBImage, decode, from_array
from faceengine.liveness import CUES, DECISION_THRESHOLD, CaptureFrame, score_capture
from faceengine.runtime import FloatArray
from facelab.liveness_attacks import (
    ATTACK_CLASSES,
    FOCAL,
    Presentation,
    camera_output,
    presentations,
    rotation_matrix,
)
from facelab.testdata import photo_bytes

BONA_FIDE_NOTE = (
    "No bona fide presentations: a live person blinking and turning their head cannot be made "
    "from still photos, so BPCER is not measured here. Record real captures with the capture "
    "page or SDK and score them with the same code (docs/liveness.md)."
)


# -- a turning head's geometry (not a person) ------------------------------------------


@dataclass(frozen=True)
class TexturedMesh:
    """A photo's face as a 3D surface: FaceMesh's 468 points with their depth, textured by
    the photo. Not a person: it cannot blink, its shape is FaceMesh's estimate, and turning
    it reveals no more of the head than the photo showed. It exists to check the geometry
    (does a surface with a face's depth, turned, escape the planar test and register as a
    turn?), which still photos cannot."""

    pixels: RGBImage
    points: FloatArray  # (468, 3), photo pixels, depth in the same scale
    triangles: np.ndarray  # (T, 3) indices into points


def textured_mesh(engine: FaceEngine, name: str, min_face_width: float = 200.0) -> TexturedMesh:
    image = decode(photo_bytes(name))
    pixels = image.pixels
    face = engine.analyze(image, embed=False)[0]
    if face.box[2] < min_face_width:  # small photos are enlarged, or FaceMesh sees mush
        factor = min_face_width / face.box[2]
        size = (round(pixels.shape[1] * factor), round(pixels.shape[0] * factor))
        pixels = np.asarray(cv2.resize(pixels, size, interpolation=cv2.INTER_CUBIC), np.uint8)
        face = engine.analyze(from_array(pixels), embed=False)[0]
    points = face.landmarks.points.astype(np.float64)
    return TexturedMesh(pixels, points, _triangulate(points[:, :2], pixels.shape[1], pixels.shape[0]))


def _triangulate(points: FloatArray, width: int, height: int) -> np.ndarray:
    """Delaunay triangles over the points, as index triples."""
    subdivision = cv2.Subdiv2D((0, 0, width + 1, height + 1))
    index = {}
    for i, (x, y) in enumerate(points):
        subdivision.insert((float(x), float(y)))
        index[(round(float(x), 2), round(float(y), 2))] = i
    triangles = []
    for corners in np.asarray(subdivision.getTriangleList(), np.float64).reshape(-1, 3, 2):
        ids = [index.get((round(float(x), 2), round(float(y), 2))) for x, y in corners]
        if all(i is not None for i in ids):
            triangles.append(ids)
    return np.array(triangles, np.int64)


def render_turned(mesh: TexturedMesh, yaw: float) -> RGBImage:
    """The mesh turned by `yaw` degrees about a vertical axis 1.2 inter-ocular distances
    behind the face (> 0: towards the image's right, like `head_yaw`), seen by a pinhole
    camera; where the face was, the photo is filled in from around it."""
    h, w = mesh.pixels.shape[:2]
    p = mesh.points
    iod = float(np.linalg.norm(p[263, :2] - p[33, :2]))
    cx, cy = float(p[:, 0].mean()), float(p[:, 1].mean())
    depth = FOCAL + p[:, 2]
    solid = np.column_stack([(p[:, 0] - cx) * depth / FOCAL, (p[:, 1] - cy) * depth / FOCAL, depth])
    pivot = np.array([0.0, 0.0, FOCAL + 1.2 * iod])
    turned = (solid - pivot) @ rotation_matrix(-yaw, 0, 0).T + pivot
    target = np.column_stack(
        [FOCAL * turned[:, 0] / turned[:, 2] + cx, FOCAL * turned[:, 1] / turned[:, 2] + cy]
    ).astype(np.float32)
    hull = np.zeros((h, w), np.uint8)
    cv2.fillConvexPoly(hull, cv2.convexHull(np.round(p[:, :2]).astype(np.int32)), 255)
    mask = cv2.dilate(hull, np.ones((7, 7), np.uint8))
    frame = np.asarray(cv2.inpaint(mesh.pixels, mask, 5, cv2.INPAINT_TELEA), np.uint8)
    source = p[:, :2].astype(np.float32)
    for triangle in mesh.triangles[np.argsort(-turned[mesh.triangles, 2].mean(axis=1))]:
        _paint(frame, mesh.pixels, source[triangle], target[triangle])
    return frame


def _paint(frame: RGBImage, texture: RGBImage, source: FloatArray, target: FloatArray) -> None:
    """Copy one textured triangle, unless it faces away from the camera."""

    def signed_area(t: FloatArray) -> float:
        return float((t[1, 0] - t[0, 0]) * (t[2, 1] - t[0, 1]) - (t[1, 1] - t[0, 1]) * (t[2, 0] - t[0, 0]))

    if signed_area(target) * signed_area(source) <= 0:
        return
    h, w = frame.shape[:2]
    x0, y0 = np.maximum(np.floor(target.min(axis=0)).astype(int), 0)
    x1, y1 = np.minimum(np.ceil(target.max(axis=0)).astype(int) + 1, (w, h))
    if x1 <= x0 or y1 <= y0:
        return
    offset = np.array([x0, y0], np.float32)
    matrix = cv2.getAffineTransform(source, target - offset)
    patch = cv2.warpAffine(texture, matrix, (int(x1 - x0), int(y1 - y0)), borderMode=cv2.BORDER_REFLECT)
    inside = np.zeros(patch.shape[:2], np.uint8)
    cv2.fillConvexPoly(inside, np.round(target - offset).astype(np.int32), 1)
    region = frame[y0:y1, x0:x1]
    region[inside > 0] = patch[inside > 0]


def turning_head(
    engine: FaceEngine, name: str, peak: float, *, seed: int = 0, fps: float = 10.0
) -> tuple[list[RGBImage], list[float]]:
    """Frames of the photo's textured mesh facing the camera, turning to `peak` degrees and
    back, with camera noise and JPEG, and their timestamps."""
    rng = np.random.default_rng(seed)
    mesh = textured_mesh(engine, name)
    path = [0.0, 0.0, 0.0, *np.linspace(0, peak, 6)[1:], *np.linspace(peak, 0, 6)[1:], 0.0, 0.0]
    frames = [camera_output(render_turned(mesh, float(yaw)), rng) for yaw in path]
    return frames, [round(0.05 + k / fps, 4) for k in range(len(frames))]


# -- evaluation --------------------------------------------------------------------------


@dataclass(frozen=True)
class Scored:
    name: str
    attack_class: str
    hack_score: float
    failed_cues: tuple[str, ...]
    frames: int
    seconds: float


@dataclass
class ClassReport:
    presentations: int = 0
    scores: list[float] = field(default_factory=list)
    caught_by: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CUES, 0))
    caught_only_by: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CUES, 0))
    missed: list[str] = field(default_factory=list)

    @property
    def apcer(self) -> float:
        """Share of attack presentations classified bona fide (ISO/IEC 30107-3)."""
        return len(self.missed) / self.presentations if self.presentations else 0.0


def score_presentation(engine: FaceEngine, presentation: Presentation) -> Scored:
    started = time.perf_counter()
    result = score_capture(engine, presentation.capture(), presentation.actions)
    seconds = time.perf_counter() - started
    return Scored(
        name=presentation.name,
        attack_class=presentation.attack_class,
        hack_score=result.hack_score,
        failed_cues=tuple(cue for cue in CUES if not result.details[cue]["passed"]),
        frames=len(presentation.frames),
        seconds=seconds,
    )


def evaluate(
    engine: FaceEngine,
    seeds: int = 2,
    classes: Sequence[str] = ATTACK_CLASSES,
    *,
    prints: Sequence[str] | None = None,
    on_scored: Callable[[Scored], None] | None = None,
) -> list[Scored]:
    results = []
    for presentation in presentations(engine, seeds, classes, prints=prints):
        scored = score_presentation(engine, presentation)
        results.append(scored)
        if on_scored:
            on_scored(scored)
    return results


def summarise(results: Sequence[Scored]) -> dict[str, ClassReport]:
    reports: dict[str, ClassReport] = {}
    for scored in results:
        report = reports.setdefault(scored.attack_class, ClassReport())
        report.presentations += 1
        report.scores.append(scored.hack_score)
        for cue in scored.failed_cues:
            report.caught_by[cue] += 1
        if len(scored.failed_cues) == 1:
            report.caught_only_by[scored.failed_cues[0]] += 1
        if scored.hack_score < DECISION_THRESHOLD:
            report.missed.append(scored.name)
    return reports


@dataclass(frozen=True)
class GeometryCheck:
    name: str
    peak: float  # degrees the mesh was turned
    measured: float | None  # the turn's peak as `head_yaw` saw it, None when not found
    rigidity_evidence: float
    rigidity_passed: bool
    identity: float | None


GEOMETRY_PHOTOS = ("grace_hopper", "astronaut", "tom_hanks")


def geometry_checks(
    engine: FaceEngine, names: Sequence[str] = GEOMETRY_PHOTOS, peaks: Sequence[float] = (20.0, -20.0)
) -> list[GeometryCheck]:
    """Turn each photo's textured mesh and score it: does a surface with a face's depth pass
    the rigidity cue and register the turn? (Its blink is missing, so it always fails as a
    whole: it is not a bona fide presentation.)"""
    checks = []
    for name in names:
        for peak in peaks:
            frames, times = turning_head(engine, name, peak)
            action = "turn_left" if peak > 0 else "turn_right"
            capture = [CaptureFrame(f, t) for f, t in zip(frames, times, strict=True)]
            details = score_capture(engine, capture, ["blink", action]).details
            performed = details["actions"]["actions"]
            turn = next(
                (
                    entry
                    for entry in (performed if isinstance(performed, list) else [])
                    if entry["action"] == action and entry["found"]
                ),
                None,
            )
            checks.append(
                GeometryCheck(
                    name=name,
                    peak=peak,
                    measured=_number(turn["peak"]) if turn else None,
                    rigidity_evidence=_number(details["rigidity"]["evidence"]) or 0.0,
                    rigidity_passed=bool(details["rigidity"]["passed"]),
                    identity=_number(details["identity"]["min_confidence"]),
                )
            )
    return checks


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None

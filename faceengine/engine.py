"""The face engine: one object holding the loaded models, and the pipeline over them.

decode -> detect (short-range, then full-range for small faces; quarter turns when asked)
-> landmarks (FaceMesh) -> alignment -> quality -> embedding (SFace). Coordinates in results are
in the full image's pixels (after EXIF orientation), whatever copy was analysed.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np

from faceengine import alignment, detection, embedding, landmarks, quality, sface
from faceengine.calibration import Calibration, load_calibration
from faceengine.config import engine_threads
from faceengine.detection import Detection
from faceengine.errors import ModelUnavailable, NoFaceFound, TooManyFaces
from faceengine.imageio import ANALYSIS_SIDE, DecodedImage, RGBImage
from faceengine.landmarks import FaceRegion, Landmarks, Pose
from faceengine.models import model_path, require_models
from faceengine.orientation import (
    ORIENTATIONS,
    detection_to_original,
    face_orientation,
    upright,
)
from faceengine.runtime import FloatArray, OnnxModel
from faceengine.stages import timed

# Faces smaller than this (box side, full-image pixels) are ignored: too small to compare.
MIN_FACE_SIZE = 20
# A face that fills this share of the image's longer side, found with this score, is a
# portrait: the short-range detector's answer is enough and the slower full-range one is
# skipped. The score matters: loose false boxes of that size scored 0.50-0.60 on group
# photos and hid every smaller face; the largest face of 599 in 600 LFW photos scored
# 0.75 or more.
PORTRAIT_SHARE = 0.2
PORTRAIT_SCORE = 0.75
# An upright face scoring this much ends the orientation search at once.
CONFIDENT_UPRIGHT = 0.75
# Below this FaceMesh presence the detection is taken for a false positive.
MIN_PRESENCE = 0.5


@dataclass(frozen=True)
class Face:
    box: tuple[float, float, float, float]  # x, y, width, height in full-image pixels
    keypoints: FloatArray  # detector's 6 points (eyes, nose, mouth, ears)
    landmarks: Landmarks  # 468 points, full-image pixels
    detector_score: float
    # What "the largest face" is measured by (`box` stays the detector's, as the API
    # returns it): the mesh's spread (Landmarks.spread) times the share of the mesh
    # inside the image, so that a face the frame cuts in half counts by what it shows.
    # On 630 LFW photos with a centred subject and another face, the other face was the
    # larger by box area in 26, by spread alone in 34 (mostly faces cut by the frame),
    # by this size in 26 (9 of them not among the boxes' 26).
    size: float
    pose: Pose
    quality: float
    quality_factors: dict[str, float]
    orientation: int  # clockwise quarter turn of the face; see orientation.py
    chip: RGBImage = field(repr=False)  # the aligned 150x150 face: quality and liveness cues
    identity_chip: RGBImage = field(repr=False)  # the 112x112 ArcFace-aligned face SFace embeds
    embedding: FloatArray | None = field(default=None, repr=False)

    @property
    def area(self) -> float:
        return self.box[2] * self.box[3]


class FaceEngine:
    """Loads each model once; thread-safe for concurrent `analyze` calls."""

    def __init__(
        self, models_dir: Path | None = None, threads: int | None = None, *, calibrated: bool = True
    ) -> None:
        """`calibrated=False` is for the offline tools that measure a new model's scores
        before it has a table of its own (calibrate_faces)."""
        directory = require_models(models_dir)
        count = threads or engine_threads()
        self.threads = count
        self.short = OnnxModel(model_path("detector_short", directory), count)
        self.full = OnnxModel(model_path("detector_full", directory), count)
        self.mesh = OnnxModel(model_path("face_mesh", directory), count)
        self.embedder = OnnxModel(model_path(sface.MODEL_NAME, directory), count)
        self.calibration: Calibration = load_calibration()
        if calibrated and self.calibration.model != sface.MODEL_ID:
            # A table measured on another model's scores would promise rates it cannot keep.
            raise ModelUnavailable(
                f"the calibration table is for {self.calibration.model!r}, the embedder is {sface.MODEL_ID!r}"
            )
        self.model_id = sface.MODEL_ID

    # -- stages, public so that benchmarks can time them one by one -----------------

    def detect(self, image: RGBImage) -> list[Detection]:
        """Faces on one upright image, in its pixels, largest box first."""
        short = detection.detect(self.short, detection.SHORT_RANGE, image)
        longest = max(image.shape[:2])
        portrait = any(d.size >= PORTRAIT_SHARE * longest and d.score >= PORTRAIT_SCORE for d in short)
        full = [] if portrait else detection.detect(self.full, detection.FULL_RANGE, image)
        # Where both detectors find a face, the full-range box is kept: on crops of the
        # group photo the short-range box of the same face had 1.16x its area (median;
        # 1.88x at the 90th percentile), and the loose outliers were short-range ones.
        found = detection.distinct(full + short)
        return sorted(found, key=lambda d: d.box[2] * d.box[3], reverse=True)

    def detect_oriented(self, image: RGBImage, *, auto_rotate: bool) -> list[tuple[Detection, int]]:
        """Detections mapped to `image`'s pixels, each with its face orientation.

        Without auto_rotate only the image as given is searched, and each face's
        orientation is read from its keypoints. With it, unless a face stands upright
        with a confident score, every quarter turn is searched and the turn whose
        upright faces score best wins. The score decides because BlazeFace also "finds"
        upside-down faces, with keypoints placed as if upright, but scores them lower
        (measured on the package photos: 0.51-0.65 upside down, 0.79-0.95 upright).
        """
        h, w = image.shape[:2]
        if not auto_rotate:
            return [(detection_to_original(d, 0, w, h), face_orientation(d)) for d in self.detect(image)]
        best: tuple[float, int, list[Detection]] = (0.0, 0, [])
        for turn in ORIENTATIONS:
            standing = [d for d in self.detect(upright(image, turn)) if face_orientation(d) == 0]
            top = max((d.score for d in standing), default=0.0)
            if top > best[0]:
                best = (top, turn, standing)
            if turn == 0 and top >= CONFIDENT_UPRIGHT:
                break
        _, turn, standing = best
        return [(detection_to_original(d, turn, w, h), turn) for d in standing]

    def landmarks(self, region: FaceRegion, found: Detection) -> Landmarks:
        """The mesh of a detected face, in the pixels of the image `found` was found on.
        The mesh and the chip are both taken from one copy of the face's surroundings
        (`FaceRegion.around(image, found)`), reduced when the face is large."""
        marks = landmarks.locate(self.mesh, region.pixels, region.detection(found), confident=MIN_PRESENCE)
        return region.to_image(marks)

    def chip(self, region: FaceRegion, marks: Landmarks) -> RGBImage:
        """The aligned 150x150 face that quality and the liveness cues look at."""
        return alignment.align(region.pixels, region.to_region(marks.five_points()))

    def identity_chip(self, region: FaceRegion, marks: Landmarks) -> RGBImage:
        """The 112x112 ArcFace-aligned face SFace embeds."""
        return sface.align(region.pixels, region.to_region(marks.five_points()))

    def embed(self, chips: list[RGBImage]) -> FloatArray:
        """Unit embeddings of 112x112 identity chips (`Face.identity_chip`)."""
        return sface.embed(self.embedder, chips)

    def embed_faces(self, faces: list[Face]) -> list[Face]:
        """The faces with their embeddings, in one batch."""
        vectors = self.embed([face.identity_chip for face in faces])
        return [replace(face, embedding=vector) for face, vector in zip(faces, vectors, strict=True)]

    # -- the pipeline --------------------------------------------------------------

    def analyze(
        self,
        image: DecodedImage,
        *,
        auto_rotate: bool = False,
        embed: bool = True,
        max_faces: int | None = None,
        require_face: bool = False,
    ) -> list[Face]:
        """All faces, largest (Face.size) first. Raises NoFaceFound / TooManyFaces when asked to."""
        with timed("resize"):
            pixels, scale = analysis_copy(image)
        with timed("detect"):
            detected = self.detect_oriented(pixels, auto_rotate=auto_rotate)
        faces = []
        for found, orientation in detected:
            if found.size / scale < MIN_FACE_SIZE:
                continue
            with timed("landmarks"):
                region = FaceRegion.around(pixels, found)
                marks = self.landmarks(region, found)
            if marks.presence < MIN_PRESENCE:
                continue
            with timed("quality"):
                chip = self.chip(region, marks)
                identity_chip = self.identity_chip(region, marks)
                pose = marks.pose()
                values = quality.factors(chip, marks.interocular / scale, pose, found.score, marks.presence)
            size = marks.spread * marks.share_inside(pixels.shape[1], pixels.shape[0]) / scale
            chips = (chip, identity_chip)
            faces.append(_to_full_scale(found, marks, pose, values, orientation, chips, scale, size))
        faces.sort(key=lambda face: face.size, reverse=True)
        if require_face and not faces:
            raise NoFaceFound("no face found")
        if max_faces is not None and len(faces) > max_faces:
            raise TooManyFaces(len(faces), max_faces)
        if embed and faces:
            with timed("embed"):
                faces = self.embed_faces(faces)
        return faces

    def compare(self, faces_a: list[Face], faces_b: list[Face]) -> FloatArray:
        """Calibrated confidence matrix: one row per face of a, one column per face of b."""
        with timed("compare"):
            a = np.stack([_embedding_of(face) for face in faces_a])
            b = np.stack([_embedding_of(face) for face in faces_b])
            return self.calibration.confidence(embedding.similarity(a, b))


def analysis_copy(image: DecodedImage) -> tuple[RGBImage, float]:
    """The pixels the pipeline works on (at most ~1.5 x ANALYSIS_SIDE) and their scale
    relative to the full image."""
    pixels = image.pixels
    if max(pixels.shape[:2]) > ANALYSIS_SIDE * 1.5:
        ratio = ANALYSIS_SIDE / max(pixels.shape[:2])
        size = (round(pixels.shape[1] * ratio), round(pixels.shape[0] * ratio))
        pixels = np.asarray(cv2.resize(pixels, size, interpolation=cv2.INTER_AREA), np.uint8)
    return pixels, pixels.shape[1] / image.width


def _to_full_scale(
    found: Detection,
    marks: Landmarks,
    pose: Pose,
    values: dict[str, float],
    orientation: int,
    chips: tuple[RGBImage, RGBImage],
    scale: float,
    size: float,
) -> Face:
    x, y, w, h = (v / scale for v in found.box)
    return Face(
        box=(x, y, w, h),
        keypoints=found.keypoints / scale,
        landmarks=Landmarks(points=marks.points / scale, presence=marks.presence),
        detector_score=found.score,
        size=size,
        pose=pose,
        quality=quality.score(values),
        quality_factors=values,
        orientation=orientation,
        chip=chips[0],
        identity_chip=chips[1],
    )


def _embedding_of(face: Face) -> FloatArray:
    if face.embedding is None:
        raise ValueError("face was analysed without embed=True")
    return face.embedding


_default: FaceEngine | None = None
_default_lock = threading.Lock()


def get_engine() -> FaceEngine:
    """The process-wide engine, created on first use; ModelUnavailable until the models are
    prepared (`manage.py prepare_models`, which scripts/install runs)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = FaceEngine()
        return _default

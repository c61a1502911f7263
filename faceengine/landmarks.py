"""Dense landmarks (MediaPipe FaceMesh, 468 points) and what is derived from them.

The mesh model sees a 192x192 crop of the face, rotated so the detector's eyes lie
level, 1.5x the detector's box, as MediaPipe crops it. Its points come back in crop
pixels and are mapped to the image; z (depth) is in the same pixel scale, which makes a
head pose estimate possible without a 3D face model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from faceengine.detection import LEFT_EYE, RIGHT_EYE, Detection
from faceengine.geometry import apply_affine, warp
from faceengine.imageio import RGBImage
from faceengine.runtime import FloatArray, OnnxModel

MESH_INPUT = 192
ROI_SCALE = 1.5
REFINE_PASSES = 2

# MediaPipe FaceMesh topology indices ("right" is the subject's right, on the image's left).
RIGHT_EYE_RING = (33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246)
LEFT_EYE_RING = (263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466)
RIGHT_EYE_CORNERS, LEFT_EYE_CORNERS = (33, 133), (263, 362)
# Upper/lower lid pairs, inner to outer, for eye openness.
RIGHT_LIDS = ((158, 153), (159, 145), (160, 144))
LEFT_LIDS = ((385, 380), (386, 374), (387, 373))
NOSE_TIP, MOUTH_RIGHT, MOUTH_LEFT = 1, 61, 291
FOREHEAD, CHIN = 10, 152
# The mesh's forehead-to-chin line leans back on a frontal face: the median pitch it gave
# over the LFW calibration photos (faces mostly frontal) was -5.2 degrees.
PITCH_BIAS = -5.2


@dataclass(frozen=True)
class Pose:
    """Head pose in degrees. yaw > 0: the face turns towards the image's right;
    pitch > 0: the face looks up; roll > 0: the eye line tilts clockwise in the image."""

    yaw: float
    pitch: float
    roll: float


@dataclass(frozen=True)
class Landmarks:
    points: FloatArray  # (468, 3): x, y in image pixels, z depth in the same scale
    presence: float  # the mesh model's probability that a face is in the crop

    def centroid(self, indices: tuple[int, ...]) -> FloatArray:
        return np.asarray(self.points[list(indices), :2].mean(axis=0), np.float32)

    @property
    def right_eye(self) -> FloatArray:
        return self.centroid(RIGHT_EYE_RING)

    @property
    def left_eye(self) -> FloatArray:
        return self.centroid(LEFT_EYE_RING)

    @property
    def interocular(self) -> float:
        return float(np.linalg.norm(self.left_eye - self.right_eye))

    @property
    def spread(self) -> float:
        """The face's own size in pixels: the root mean square distance of the 468 points
        from their centroid, in 3D, so that turning the head does not change it.

        Detector boxes are loose by different amounts (on group photos the short-range
        box of a face had 0.8x to 1.9x the area of the full-range one, 10th to 90th
        percentile), and the inter-ocular distance shrinks as the head turns (13% shorter
        at 30-45 degrees of yaw). On 3,000 LFW photos, against lengths that the pose leaves
        alone, this one moved by 1% across pitch and by 4% up to 45 degrees of yaw.
        """
        centred = self.points.astype(np.float64) - self.points.mean(axis=0)
        return float(np.sqrt(np.mean(np.sum(centred**2, axis=1))))

    def share_inside(self, width: float, height: float) -> float:
        """The share of the points that lie inside a `width` x `height` image."""
        x, y = self.points[:, 0], self.points[:, 1]
        return float(np.mean((x >= 0) & (x <= width) & (y >= 0) & (y <= height)))

    def five_points(self) -> FloatArray:
        """Right eye, left eye, nose tip, right and left mouth corners: alignment's points."""
        rest = self.points[[NOSE_TIP, MOUTH_RIGHT, MOUTH_LEFT], :2]
        return np.vstack([self.right_eye, self.left_eye, rest]).astype(np.float32)

    def eye_openness(self) -> tuple[float, float]:
        """Lid gap over eye width for (right, left) eye: ~0.3 open, below ~0.12 closed."""

        def openness(lids: tuple[tuple[int, int], ...], corners: tuple[int, int]) -> float:
            p = self.points[:, :2]
            gap = np.mean([np.linalg.norm(p[a] - p[b]) for a, b in lids])
            width = np.linalg.norm(p[corners[0]] - p[corners[1]])
            return float(gap / max(width, 1e-6))

        return openness(RIGHT_LIDS, RIGHT_EYE_CORNERS), openness(LEFT_LIDS, LEFT_EYE_CORNERS)

    def face_axes(self) -> tuple[FloatArray, FloatArray, FloatArray]:
        """The face's own frame in image space (unit vectors): across (right eye to left
        eye), down (forehead to chin, made square to across) and forward (out of the face;
        image z points away from the camera)."""
        p = self.points.astype(np.float64)
        across = p[LEFT_EYE_CORNERS[0]] - p[RIGHT_EYE_CORNERS[0]]
        down = p[CHIN] - p[FOREHEAD]
        x_axis = across / max(float(np.linalg.norm(across)), 1e-9)
        down = down - x_axis * float(np.dot(down, x_axis))
        y_axis = down / max(float(np.linalg.norm(down)), 1e-9)
        return x_axis, y_axis, -np.cross(x_axis, y_axis)

    def pose(self) -> Pose:
        """From a face frame built on the 3D mesh: eye corners across, forehead to chin down."""
        x_axis, _y_axis, forward = self.face_axes()
        yaw = math.degrees(math.atan2(forward[0], -forward[2]))
        pitch = math.degrees(math.atan2(-forward[1], math.hypot(forward[0], forward[2]))) - PITCH_BIAS
        roll = math.degrees(math.atan2(x_axis[1], x_axis[0]))
        return Pose(yaw=yaw, pitch=pitch, roll=roll)


def _crop_matrix(centre: tuple[float, float], angle: float, side: float) -> FloatArray:
    """Image -> 192x192 crop of a square of `side` px around `centre`, turned by `angle`."""
    matrix = cv2.getRotationMatrix2D(centre, angle, MESH_INPUT / side)
    shift = np.array([MESH_INPUT / 2 - centre[0], MESH_INPUT / 2 - centre[1]], np.float64)
    return np.asarray(matrix, np.float64) + np.hstack([np.zeros((2, 2)), shift[:, None]])


def _eye_line_angle(right: FloatArray, left: FloatArray) -> float:
    return math.degrees(math.atan2(float(left[1] - right[1]), float(left[0] - right[0])))


def roi_transform(detection: Detection) -> FloatArray:
    """The crop MediaPipe takes from a detection: centred on the box, eyes level, 1.5x its size."""
    angle = _eye_line_angle(detection.keypoints[RIGHT_EYE], detection.keypoints[LEFT_EYE])
    x, y, w, h = detection.box
    return _crop_matrix((x + w / 2, y + h / 2), angle, max(w, h) * ROI_SCALE)


def roi_from_landmarks(marks: Landmarks) -> FloatArray:
    """The crop MediaPipe takes when tracking: around the previous mesh, eyes level."""
    angle = _eye_line_angle(marks.points[RIGHT_EYE_CORNERS[0], :2], marks.points[LEFT_EYE_CORNERS[0], :2])
    points = marks.points[:, :2].astype(np.float64)
    centre = (points.min(axis=0) + points.max(axis=0)) / 2
    turn = math.radians(angle)
    rotation = np.array([[math.cos(turn), math.sin(turn)], [-math.sin(turn), math.cos(turn)]])
    levelled = (points - centre) @ rotation.T
    side = float((levelled.max(axis=0) - levelled.min(axis=0)).max()) * ROI_SCALE
    return _crop_matrix((float(centre[0]), float(centre[1])), angle, max(side, 1.0))


def _run_mesh(model: OnnxModel, image: RGBImage, matrix: FloatArray) -> Landmarks:
    crop = warp(image, matrix, (MESH_INPUT, MESH_INPUT))
    outputs = model.run((crop.astype(np.float32) / 255.0)[None])
    mesh, logit = sorted(outputs.values(), key=lambda output: output.size, reverse=True)
    points = mesh.reshape(468, 3)
    inverse = np.asarray(cv2.invertAffineTransform(matrix), np.float64)
    xy = apply_affine(inverse, points[:, :2])
    z = points[:, 2:3] / float(np.sqrt(abs(np.linalg.det(matrix[:, :2]))))
    presence = 1.0 / (1.0 + math.exp(-float(np.clip(logit.reshape(-1)[0], -50, 50))))
    return Landmarks(points=np.hstack([xy, z]).astype(np.float32), presence=presence)


@dataclass(frozen=True)
class FaceRegion:
    """The surroundings of one face, reduced by a whole factor when the face is large.

    The mesh crop (192 px) and the alignment chip (150 px) shrink a large face a lot, and
    `geometry.warp` then area-resizes by a fractional factor first, which OpenCV does
    slowly: 2.5-5 ms for the mesh crop of a 390 px face and 1.8-3.5 ms for its chip on
    this project's (shared, 2-core) machine. Reducing the face's surroundings once by a
    whole factor takes OpenCV's fast path (~0.2 ms) and
    leaves both warps a direct shrink of at most 2x. Pixel (u, v) of the copy is the mean
    of the `factor` x `factor` block at origin + factor * (u, v) in the image.
    """

    pixels: RGBImage
    factor: int
    origin: tuple[int, int]

    @classmethod
    def around(cls, image: RGBImage, detection: Detection) -> FaceRegion:
        shrink = MESH_INPUT / (ROI_SCALE * detection.size)
        if shrink >= 0.5:
            return cls(image, 1, (0, 0))
        factor = math.ceil(0.5 / shrink)
        # The mesh crop reaches 1.06 x the box side from its centre (a turned square),
        # the chip less; the margin leaves room for a re-crop around the first mesh.
        x, y, w, h = detection.box
        reach = 1.5 * detection.size
        height, width = image.shape[:2]
        x0, y0 = max(0, math.floor(x + w / 2 - reach)), max(0, math.floor(y + h / 2 - reach))
        x1, y1 = min(width, math.ceil(x + w / 2 + reach)), min(height, math.ceil(y + h / 2 + reach))
        x1, y1 = x0 + (x1 - x0) // factor * factor, y0 + (y1 - y0) // factor * factor
        if x1 <= x0 or y1 <= y0:
            return cls(image, 1, (0, 0))
        ratio = 1.0 / factor
        reduced = cv2.resize(image[y0:y1, x0:x1], None, fx=ratio, fy=ratio, interpolation=cv2.INTER_AREA)
        return cls(np.asarray(reduced, np.uint8), factor, (x0, y0))

    def _offset(self) -> FloatArray:
        # Pixel centres: the copy's pixel 0 averages image pixels 0 .. factor - 1.
        return np.array(self.origin, np.float64) + (self.factor - 1) / 2

    def to_region(self, points: FloatArray) -> FloatArray:
        """Image (N, 2) points in the copy's pixels."""
        return np.asarray((np.asarray(points, np.float64) - self._offset()) / self.factor, np.float32)

    def detection(self, found: Detection) -> Detection:
        x, y, w, h = found.box
        corner = self.to_region(np.array([[x, y]]))[0]
        box = (float(corner[0]), float(corner[1]), w / self.factor, h / self.factor)
        return Detection(box, self.to_region(found.keypoints), found.score)

    def to_image(self, marks: Landmarks) -> Landmarks:
        if self.factor == 1 and self.origin == (0, 0):
            return marks
        points = marks.points.astype(np.float64) * self.factor
        points[:, :2] += self._offset()
        return Landmarks(points=points.astype(np.float32), presence=marks.presence)


def locate(model: OnnxModel, image: RGBImage, detection: Detection, *, confident: float = 0.5) -> Landmarks:
    """The mesh of a detected face.

    When the detector's box fits the face badly (turned heads: the box sits on the
    cheek), the mesh comes back unsure. Re-cropping around that first mesh, as MediaPipe
    does when it tracks a face, usually finds the face: on LFW it rescued both profile
    photos that were otherwise lost. A crop that holds no face stays unsure.
    """
    marks = _run_mesh(model, image, roi_transform(detection))
    for _ in range(REFINE_PASSES):
        if marks.presence >= confident:
            break
        marks = _run_mesh(model, image, roi_from_landmarks(marks))
    return marks

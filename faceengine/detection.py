"""Face detection with MediaPipe's BlazeFace detectors.

Two models: short-range (128x128 input) is fast and fits portraits and selfies; full-range
(192x192) finds small faces in group photos. The image is letterboxed (aspect kept, padded
to a square), the raw regressions are decoded against SSD anchors and overlapping
detections are merged by score-weighted averaging, as MediaPipe does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from faceengine.imageio import RGBImage
from faceengine.runtime import FloatArray, OnnxModel

# Keypoint order of both detectors (the subject's right eye is on the image's left).
RIGHT_EYE, LEFT_EYE, NOSE_TIP, MOUTH, RIGHT_EAR, LEFT_EAR = range(6)


@dataclass(frozen=True)
class Detection:
    """A face found in an image: box (x, y, width, height) and keypoints in pixels."""

    box: tuple[float, float, float, float]
    keypoints: FloatArray  # (6, 2)
    score: float

    @property
    def size(self) -> float:
        return max(self.box[2], self.box[3])


def _anchors(input_size: int, strides: tuple[int, ...], per_stride: dict[int, int]) -> FloatArray:
    """SSD anchor centres in [0, 1]; fixed-size anchors, so only centres matter."""
    centres = []
    for stride in dict.fromkeys(strides):  # layers with the same stride share a grid
        cells = input_size // stride
        ys, xs = np.mgrid[0:cells, 0:cells]
        grid = np.stack([(xs + 0.5) / cells, (ys + 0.5) / cells], axis=-1).reshape(-1, 1, 2)
        centres.append(np.repeat(grid, per_stride[stride], axis=1).reshape(-1, 2))
    return np.concatenate(centres).astype(np.float32)


@dataclass(frozen=True)
class DetectorSpec:
    model: str
    input_size: int
    anchors: FloatArray
    min_score: float


SHORT_RANGE = DetectorSpec(
    "detector_short", 128, _anchors(128, (8, 16, 16, 16), {8: 2, 16: 6}), min_score=0.5
)
FULL_RANGE = DetectorSpec("detector_full", 192, _anchors(192, (4,), {4: 1}), min_score=0.5)
NMS_IOU = 0.3


def _letterbox(image: RGBImage, size: int) -> tuple[FloatArray, float, float, float]:
    """Square model input in [-1, 1]; returns it with the scale and padding applied."""
    h, w = image.shape[:2]
    scale = size / max(h, w)
    new_w, new_h = max(1, round(w * scale)), max(1, round(h * scale))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(image, (new_w, new_h), interpolation=interpolation)
    pad_x, pad_y = (size - new_w) // 2, (size - new_h) // 2
    # Scaled in place into a blob of the padding's value (-1): one pass over the pixels.
    blob = np.full((1, size, size, 3), -1.0, np.float32)
    inside = blob[0, pad_y : pad_y + new_h, pad_x : pad_x + new_w]
    np.multiply(resized, np.float32(2.0 / 255.0), out=inside, dtype=np.float32)
    inside -= np.float32(1.0)
    return blob, scale, float(pad_x), float(pad_y)


def _iou(box: FloatArray, boxes: FloatArray) -> FloatArray:
    """Intersection over union of one (x0, y0, x1, y1) box with many."""
    x0 = np.maximum(box[0], boxes[:, 0])
    y0 = np.maximum(box[1], boxes[:, 1])
    x1 = np.minimum(box[2], boxes[:, 2])
    y1 = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return np.asarray(inter / np.maximum(area + areas - inter, 1e-9), np.float32)


def weighted_nms(
    corners: FloatArray, keypoints: FloatArray, scores: FloatArray, iou: float = NMS_IOU
) -> list[tuple[FloatArray, FloatArray, float]]:
    """Merge overlapping detections into their score-weighted mean (MediaPipe's blending)."""
    order = np.argsort(-scores)
    corners, keypoints, scores = corners[order], keypoints[order], scores[order]
    remaining = np.ones(len(scores), bool)
    merged = []
    for i in range(len(scores)):
        if not remaining[i]:
            continue
        group = remaining & (_iou(corners[i], corners) >= iou)
        remaining &= ~group
        weights = scores[group] / scores[group].sum()
        merged.append(
            (
                (corners[group] * weights[:, None]).sum(axis=0),
                (keypoints[group] * weights[:, None, None]).sum(axis=0),
                float(scores[i]),
            )
        )
    return merged


def _decode(spec: DetectorSpec, outputs: dict[str, FloatArray]) -> tuple[FloatArray, ...]:
    # Two outputs: regressors (..., 16) and classificator logits (..., 1).
    by_width = sorted(outputs.values(), key=lambda output: output.shape[-1])
    raw_scores, raw_boxes = by_width[0], by_width[-1]
    raw_boxes = raw_boxes.reshape(-1, 16)
    logits = np.clip(raw_scores.reshape(-1).astype(np.float64), -80, 80)
    scores = 1.0 / (1.0 + np.exp(-logits))
    keep = scores >= spec.min_score
    raw_boxes, scores, anchors = raw_boxes[keep], scores[keep], spec.anchors[keep]
    size = float(spec.input_size)
    centres = raw_boxes[:, 0:2] / size + anchors
    half = raw_boxes[:, 2:4] / size / 2
    corners = np.concatenate([centres - half, centres + half], axis=1) * size
    keypoints = (raw_boxes[:, 4:16].reshape(-1, 6, 2) / size + anchors[:, None, :]) * size
    return corners, keypoints, scores.astype(np.float32)


def detect(model: OnnxModel, spec: DetectorSpec, image: RGBImage) -> list[Detection]:
    """All faces the model finds, in the image's pixel coordinates, best first."""
    blob, scale, pad_x, pad_y = _letterbox(image, spec.input_size)
    corners, keypoints, scores = _decode(spec, model.run(blob))
    h, w = image.shape[:2]
    offset = np.array([pad_x, pad_y], np.float32)
    found = []
    for box, points, score in weighted_nms(corners, keypoints, scores):
        x0, y0 = np.clip((box[:2] - offset) / scale, 0, [w, h])
        x1, y1 = np.clip((box[2:] - offset) / scale, 0, [w, h])
        if x1 - x0 < 1 or y1 - y0 < 1:
            continue
        points = ((points - offset) / scale).astype(np.float32)
        found.append(Detection((float(x0), float(y0), float(x1 - x0), float(y1 - y0)), points, score))
    return found


def _corners(box: Sequence[float]) -> FloatArray:
    x, y, w, h = box
    return np.array([x, y, x + w, y + h], np.float32)


def box_iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two (x, y, width, height) boxes."""
    return float(_iou(_corners(a), _corners(b)[None])[0])


def holds_centre(outer: Detection, inner: Detection) -> bool:
    """Whether `inner`'s box centre lies inside `outer`'s box."""
    x, y, w, h = inner.box
    x0, y0, x1, y1 = _corners(outer.box)
    return bool(x0 <= x + w / 2 <= x1 and y0 <= y + h / 2 <= y1)


def same_face(a: Detection, b: Detection, threshold: float = NMS_IOU) -> bool:
    """Whether two detections are one face: their boxes overlap by `threshold` IoU, or
    one box holds the other's centre.

    IoU alone is not enough: on crops and rescalings of the group photo the short-range
    detector boxed some faces at about twice their side (keypoints a third to two thirds
    of the face off) around a face the full-range one boxed tightly, and that pair had an
    IoU of 0.19-0.30; the full-range one also left pairs on one face at IoU 0.28. Two
    faces' boxes never hold each other's centres unless the faces themselves overlap.
    """
    return box_iou(a.box, b.box) >= threshold or holds_centre(a, b) or holds_centre(b, a)


def distinct(detections: list[Detection]) -> list[Detection]:
    """Each face once: a detection that is the same face as an earlier one is dropped,
    so the caller orders them by preference."""
    kept: list[Detection] = []
    for candidate in detections:
        if not any(same_face(candidate, earlier) for earlier in kept):
            kept.append(candidate)
    return kept

"""A call's result drawn again on its detail page, from what the history recorded: detect's boxes
on its photo, compare's matrix with a crop of each face, mask's selfie beside its answer.

Everything is computed here and drawn by the template with HTML and CSS alone (percentages
for boxes, CSS backgrounds for crops, as the try-it pages do): no script, nothing to decode.
The pictures are thumbnails of the images the call used: stored images (by the ids recorded)
or the copies kept with the history (resources.models.CallImage), while they are retained.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from identity.documented import DOCUMENTED_THRESHOLDS, QUALITY_THRESHOLD, documented_far

CROP_PX = 56  # tryit.css's .crop
# Body fields that name a stored image, by the image they are (liveness answers its selfie
# as `image_id`).
ID_FIELDS = {
    "image_one_id": "image_one",
    "image_two_id": "image_two",
    "selfie_image_id": "selfie",
    "image_id": "selfie",
}


@dataclass(frozen=True)
class Picture:
    """An image the page can show: a thumbnail URL and the original's size (EXIF applied),
    which the recorded boxes are measured in."""

    role: str
    url: str
    width: int
    height: int
    kept: bool  # a copy kept with the history, not a stored image


@dataclass(frozen=True)
class Box:
    """A face box over a picture, in percent of it."""

    number: int
    left: float
    top: float
    width: float
    height: float
    quality: float | None
    fit: bool  # quality above the threshold for comparison

    @property
    def style(self) -> str:
        return f"left:{self.left:.3f}%;top:{self.top:.3f}%;width:{self.width:.3f}%;height:{self.height:.3f}%"


@dataclass(frozen=True)
class Crop:
    name: str
    style: str  # empty: no picture of this face (the call was not verbose, or the image is gone)


@dataclass(frozen=True)
class Cell:
    value: float
    level: int  # how many documented thresholds it reaches: 0 to 6
    title: str


@dataclass
class Redraw:
    kind: str = ""  # detect, compare, mask, or "" (nothing to draw)
    picture: Picture | None = None
    boxes: list[Box] = field(default_factory=list)
    columns: list[Crop] = field(default_factory=list)
    rows: list[tuple[Crop, list[Cell]]] = field(default_factory=list)
    before: Picture | None = None
    after: Picture | None = None
    notes: list[str] = field(default_factory=list)


def redraw(endpoint: str, status: str, body: Any, pictures: dict[str, Picture]) -> Redraw:
    """What to draw for a call of `endpoint` that answered `body` (parsed JSON, or None)."""
    if status != "OK":
        return Redraw()
    if endpoint == "detect" and isinstance(body, dict):
        return _detect(body, pictures.get("image"))
    if endpoint == "compare" and isinstance(body, dict):
        return _compare(body, pictures.get("image_one"), pictures.get("image_two"))
    if endpoint == "mask":
        return _mask(pictures.get("selfie"), pictures.get("answer"))
    return Redraw()


def _detect(body: dict[str, Any], picture: Picture | None) -> Redraw:
    faces = [face for face in body.get("faces") or [] if isinstance(face, dict)]
    drawn = Redraw(kind="detect", picture=picture)
    for number, face in enumerate(faces, start=1):
        rect = _rect(face.get("rect"))
        if rect is None:
            continue
        quality = face.get("quality") if _number(face.get("quality")) else None
        threshold = face.get("quality_threshold")
        threshold = threshold if _number(threshold) else QUALITY_THRESHOLD
        left, top, width, height = (side * 100 for side in rect)
        fit = quality is not None and quality >= threshold
        drawn.boxes.append(Box(number, left, top, width, height, quality, fit))
    if picture is None:
        drawn.notes.append("The photo is no longer retained (or was not kept): its boxes are in the body.")
    if not faces:
        drawn.notes.append("No face was found in the photo.")
    return drawn


def _compare(body: dict[str, Any], one: Picture | None, two: Picture | None) -> Redraw:
    matrix = body.get("confidences")
    if not isinstance(matrix, list) or not all(isinstance(row, list) for row in matrix):
        return Redraw()
    faces_one, faces_two = body.get("faces_one"), body.get("faces_two")
    columns = len(matrix[0]) if matrix else 0
    drawn = Redraw(kind="compare")
    drawn.columns = [_crop(two, _face(faces_two, j), f"Image two, face {j + 1}") for j in range(columns)]
    for i, row in enumerate(matrix):
        cells = [_cell(value) for value in row if _number(value)]
        drawn.rows.append((_crop(one, _face(faces_one, i), f"Image one, face {i + 1}"), cells))
    if faces_one is None or faces_two is None:
        drawn.notes.append("The call was made without verbose=true: the body has no face boxes to crop.")
    elif one is None or two is None:
        drawn.notes.append("An image of this call is no longer retained: its faces cannot be shown.")
    return drawn


def _mask(selfie: Picture | None, answer: Picture | None) -> Redraw:
    drawn = Redraw(kind="mask", before=selfie, after=answer)
    if answer is None:
        drawn.notes.append("The masked image answered is no longer retained (or was not kept).")
    return drawn


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _rect(rect: object) -> tuple[float, float, float, float] | None:
    """(left, top, width, height) of a recorded box, None unless all four are numbers."""
    if not isinstance(rect, dict):
        return None
    sides = [rect.get(name) for name in ("left", "top", "width", "height")]
    numbers = [float(side) for side in sides if isinstance(side, int | float) and not isinstance(side, bool)]
    if len(numbers) != 4:
        return None
    return numbers[0], numbers[1], numbers[2], numbers[3]


def _face(faces: object, index: int) -> dict[str, Any] | None:
    if isinstance(faces, list) and index < len(faces) and isinstance(faces[index], dict):
        return faces[index]
    return None


def _crop(picture: Picture | None, face: dict[str, Any] | None, name: str) -> Crop:
    """The face's square, CROP_PX wide, cut out of the thumbnail with a CSS background: the
    boxes are in the original's pixels, and background-size scales whatever size was sent."""
    rect = _rect(face.get("rect")) if face else None
    if picture is None or rect is None or min(rect[2], rect[3]) <= 0:
        return Crop(name, "")
    left, top, width, height = rect
    side = max(width, height)
    zoom = CROP_PX / side
    x = (left + width / 2 - side / 2) * zoom
    y = (top + height / 2 - side / 2) * zoom
    return Crop(
        name,
        f"background-image:url('{picture.url}');background-size:{picture.width * zoom:.1f}px "
        f"{picture.height * zoom:.1f}px;background-position:{-x:.1f}px {-y:.1f}px",
    )


def _cell(value: float) -> Cell:
    reached = [t for t in DOCUMENTED_THRESHOLDS if value >= t]
    if not reached:
        title = f"Below {DOCUMENTED_THRESHOLDS[0]}: no documented threshold reached"
    else:
        top = reached[-1]
        title = f"Reaches {top}: accepts another person 1/{round(1 / documented_far(top)):,} of the time"
    return Cell(value=float(value), level=len(reached), title=title)

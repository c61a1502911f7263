"""Detection, landmarks and orientation on real package photos with the real models."""

from __future__ import annotations

from itertools import pairwise, permutations

import cv2
import numpy as np
import pytest

from faceengine import FaceEngine, detection, from_array
from faceengine.detection import Detection
from faceengine.engine import analysis_copy
from tests.conftest import photo, pixels


def inside(points: np.ndarray, box: tuple[float, float, float, float], margin: float = 0.0) -> bool:
    x, y, w, h = box
    return bool(
        np.all(points[:, 0] >= x - margin * w)
        and np.all(points[:, 0] <= x + w + margin * w)
        and np.all(points[:, 1] >= y - margin * h)
        and np.all(points[:, 1] <= y + h + margin * h)
    )


@pytest.mark.parametrize(
    ("name", "centre"),
    [("astronaut", (226, 122)), ("grace_hopper", (266, 243)), ("tom_hanks", (45, 64))],
)
def test_it_finds_the_one_face_of_a_portrait_where_it_is(
    engine: FaceEngine, name: str, centre: tuple[int, int]
) -> None:
    faces = engine.analyze(photo(name), embed=False)
    assert len(faces) == 1
    x, y, w, h = faces[0].box
    assert abs(x + w / 2 - centre[0]) < 0.15 * w and abs(y + h / 2 - centre[1]) < 0.15 * h


def test_it_finds_every_person_of_the_group_photo(engine: FaceEngine) -> None:
    faces = engine.analyze(photo("group"), embed=False)
    assert len(faces) == 6
    centres = sorted((x + w / 2, y + h / 2) for x, y, w, h in (face.box for face in faces))
    # Six distinct people: no two boxes share a centre.
    assert min(np.hypot(a[0] - b[0], a[1] - b[1]) for a, b in pairwise(centres)) > 50
    assert [face.size for face in faces] == sorted((face.size for face in faces), reverse=True)


@pytest.mark.parametrize("name", ["coffee", "chelsea", "rocket"])
def test_it_finds_no_face_where_there_is_none(engine: FaceEngine, name: str) -> None:
    assert engine.analyze(photo(name), embed=False, auto_rotate=True) == []


@pytest.mark.parametrize("name", ["astronaut", "grace_hopper", "group"])
def test_keypoints_and_landmarks_lie_on_the_face(engine: FaceEngine, name: str) -> None:
    for face in engine.analyze(photo(name), embed=False):
        assert inside(face.keypoints[:4], face.box)  # eyes, nose, mouth (ears may stick out)
        assert inside(face.landmarks.points[:, :2], face.box, margin=0.35)
        assert face.landmarks.right_eye[0] < face.landmarks.left_eye[0]  # upright: right eye on the left


def test_a_frontal_face_has_a_small_pose(engine: FaceEngine) -> None:
    pose = engine.analyze(photo("grace_hopper"), embed=False)[0].pose
    assert abs(pose.yaw) < 12 and abs(pose.pitch) < 12 and abs(pose.roll) < 12


def test_a_turned_head_has_a_large_yaw(engine: FaceEngine) -> None:
    # skimage's camera.png: a photographer in three-quarter view, looking to the image's right.
    assert engine.analyze(photo("camera"), embed=False)[0].pose.yaw > 20


def test_mirroring_the_image_mirrors_yaw_and_roll(engine: FaceEngine) -> None:
    image = pixels("camera")
    pose = engine.analyze(from_array(image), embed=False)[0].pose
    mirrored = engine.analyze(from_array(np.ascontiguousarray(image[:, ::-1])), embed=False)[0].pose
    assert mirrored.yaw == pytest.approx(-pose.yaw, abs=6)
    assert mirrored.roll == pytest.approx(-pose.roll, abs=4)


@pytest.mark.parametrize("name", ["astronaut", "grace_hopper", "tom_hanks", "camera", "group"])
@pytest.mark.parametrize("turn", [0, 90, 180, 270])
def test_it_finds_the_orientation_of_rotated_photos(engine: FaceEngine, name: str, turn: int) -> None:
    # Rotating clockwise by `turn` puts the face at orientation `turn`.
    rotated = np.ascontiguousarray(np.rot90(pixels(name), k=-turn // 90))
    faces = engine.analyze(from_array(rotated), embed=False, auto_rotate=True)
    assert faces and {face.orientation for face in faces} == {turn}


def test_boxes_of_a_rotated_photo_are_in_its_own_coordinates(engine: FaceEngine) -> None:
    image = pixels("astronaut")
    upright = engine.analyze(from_array(image), embed=False)[0]
    rotated = np.ascontiguousarray(np.rot90(image, k=-1))  # clockwise: (x, y) -> (h - y, x)
    face = engine.analyze(from_array(rotated), embed=False, auto_rotate=True)[0]
    x, y, w, h = upright.box
    expected_centre = (image.shape[0] - (y + h / 2), x + w / 2)
    assert face.box[0] + face.box[2] / 2 == pytest.approx(expected_centre[0], abs=0.1 * w)
    assert face.box[1] + face.box[3] / 2 == pytest.approx(expected_centre[1], abs=0.1 * h)


def test_without_auto_rotate_a_sideways_face_reports_its_orientation(engine: FaceEngine) -> None:
    rotated = np.ascontiguousarray(np.rot90(pixels("grace_hopper"), k=-1))
    faces = engine.analyze(from_array(rotated), embed=False)
    assert [face.orientation for face in faces] == [90]


def test_a_large_photo_is_analysed_on_a_reduced_copy_in_full_size_coordinates(engine: FaceEngine) -> None:
    from faceengine import decode
    from facelab.benchmark import jpeg_at

    small = engine.analyze(decode(jpeg_at("grace_hopper", (640, 480))), embed=False)[0]
    large_image = decode(jpeg_at("grace_hopper", (4000, 3000)), max_side=1000)
    assert large_image.pixels.shape[1] == 1000 and large_image.width == 4000
    large = engine.analyze(large_image, embed=False)[0]
    ratio = 4000 / 640
    assert large.box[0] == pytest.approx(small.box[0] * ratio, rel=0.05)
    assert large.box[2] == pytest.approx(small.box[2] * ratio, rel=0.05)


Box = tuple[float, float, float, float]


def holds_a_smaller_faces_centre(boxes: list[Box]) -> list[tuple[Box, Box]]:
    """Pairs (big, small) where big holds small's centre while being over 1.5x its area:
    one face found twice, the second time in a box far too large for it."""
    found = []
    for big, small in permutations(boxes, 2):
        x, y, w, h = small
        cx, cy = x + w / 2, y + h / 2
        inside = big[0] <= cx <= big[0] + big[2] and big[1] <= cy <= big[1] + big[3]
        if inside and big[2] * big[3] > 1.5 * w * h:
            found.append((big, small))
    return found


def group_variant(left: int, top: int, width: int, height: int, scale: float) -> np.ndarray:
    """A crop of insightface's t1.jpg (six people), rescaled."""
    crop = np.ascontiguousarray(pixels("group")[top : top + height, left : left + width])
    size = (round(width * scale), round(height * scale))
    return np.asarray(cv2.resize(crop, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR))


def composed(*parts: tuple[str, int]) -> np.ndarray:
    """Package photos side by side on one grey 1400x700 canvas, each at the given height."""
    canvas = np.full((700, 1400, 3), 128, np.uint8)
    x = 10
    for name, height in parts:
        image = pixels(name)
        width = round(image.shape[1] * height / image.shape[0])
        top = (700 - height) // 2
        resized = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
        canvas[top : top + height, x : x + width] = resized
        x += width + 10
    return canvas


# Canvases on which the short-range detector returned one loose false box the size of a
# portrait (score 0.5-0.6, no face in it for the mesh): the full-range detector was then
# skipped, and no face at all was found.
COMPOSED = {
    "between portraits": lambda: composed(("grace_hopper", 406), ("group", 523), ("tom_hanks", 140)),
    "beside portraits": lambda: composed(("group", 603), ("grace_hopper", 310), ("astronaut", 122)),
}


# Crops and scales of the group photo where the short-range detector boxed one face at
# about twice its side (IoU 0.22-0.29 with the full-range box, detector score 0.53-0.60),
# and the merge kept both; as shipped, the photo itself does not show it.
GROUP_PHOTOS = {
    "as shipped": lambda: pixels("group"),
    "cropped, x1.58": lambda: group_variant(74, 24, 1037, 607, 1.58),
    "cropped, x1.5": lambda: group_variant(80, 30, 1030, 600, 1.5),
    "cropped, x1.49": lambda: group_variant(4, 35, 1260, 812, 1.49),
    "cropped, x1.15": lambda: group_variant(70, 0, 1100, 886, 1.15),
    "cropped, x0.68": lambda: group_variant(14, 108, 1175, 770, 0.68),
    "cropped, x0.37": lambda: group_variant(21, 31, 1185, 450, 0.37),
    **COMPOSED,
}


@pytest.mark.parametrize("name", list(GROUP_PHOTOS))
def test_no_face_is_found_again_in_a_box_twice_its_size(engine: FaceEngine, name: str) -> None:
    image = GROUP_PHOTOS[name]()
    faces = engine.analyze(from_array(image), embed=False)
    assert len(faces) >= 4
    assert holds_a_smaller_faces_centre([face.box for face in faces]) == []
    small, _scale = analysis_copy(from_array(image))
    assert holds_a_smaller_faces_centre([found.box for found in engine.detect(small)]) == []


@pytest.mark.parametrize("name", list(COMPOSED))
def test_a_large_false_box_does_not_hide_the_faces_of_a_group(engine: FaceEngine, name: str) -> None:
    faces = engine.analyze(from_array(COMPOSED[name]()), embed=False)
    assert len(faces) >= 6


def test_a_loose_short_range_box_around_a_full_range_face_is_dropped(
    engine: FaceEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The detectors' own answers on the group photo cropped and scaled x1.58 (the face
    # at the top left): IoU 0.23, under the 0.3 that merges two boxes.
    points = np.zeros((6, 2), np.float32)
    tight = Detection((299.0, 228.0, 155.0, 155.0), points, 0.71)
    loose = Detection((254.0, 135.0, 322.0, 322.0), points, 0.53)
    elsewhere = Detection((1021.0, 518.0, 189.0, 189.0), points, 0.85)
    answers = {detection.SHORT_RANGE.model: [loose, elsewhere], detection.FULL_RANGE.model: [tight]}
    monkeypatch.setattr(detection, "detect", lambda model, spec, image: answers[spec.model])
    assert engine.detect(np.zeros((960, 1640, 3), np.uint8)) == [elsewhere, tight]


def test_one_face_boxed_twice_by_the_full_range_detector_is_kept_once(
    engine: FaceEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Its answers on a canvas of the group photo between portraits: two boxes on one
    # woman's face, IoU 0.28, which its own non-maximum suppression (0.3) left apart.
    points = np.zeros((6, 2), np.float32)
    first = Detection((343.0, 167.0, 76.0, 76.0), points, 0.62)
    second = Detection((370.0, 195.0, 70.0, 70.0), points, 0.58)
    answers = {detection.SHORT_RANGE.model: [], detection.FULL_RANGE.model: [first, second]}
    monkeypatch.setattr(detection, "detect", lambda model, spec, image: answers[spec.model])
    assert engine.detect(np.zeros((700, 1400, 3), np.uint8)) == [first]


def two_copies_of_one_face() -> np.ndarray:
    """grace_hopper twice on one canvas, the second copy at 0.85 of the first's size."""
    canvas = np.full((520, 1000, 3), 128, np.uint8)
    x = 10
    for height in (480, 408):
        image = pixels("grace_hopper")
        width = round(image.shape[1] * height / image.shape[0])
        top = (520 - height) // 2
        canvas[top : top + height, x : x + width] = cv2.resize(
            image, (width, height), interpolation=cv2.INTER_AREA
        )
        x += width + 20
    return canvas


def loosened(found: Detection, factor: float) -> Detection:
    x, y, w, h = found.box
    cx, cy = x + w / 2, y + h / 2
    return Detection(
        (cx - w * factor / 2, cy - h * factor / 2, w * factor, h * factor), found.keypoints, found.score
    )


def test_the_largest_face_is_measured_on_the_face_not_on_its_box(
    engine: FaceEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The vendor's rule: the largest face is used. The smaller copy gets a box 1.3x
    # the side of its own, as loose as the short-range detector's boxes can be beside
    # the full-range detector's: by box it would be the larger.
    image = two_copies_of_one_face()
    large, small = sorted(engine.detect(image), key=lambda found: found.box[0])
    loose = loosened(small, 1.3)
    assert loose.box[2] * loose.box[3] > large.box[2] * large.box[3]
    monkeypatch.setattr(engine, "detect", lambda pixels: [loose, large])
    faces = engine.analyze(from_array(image), embed=False)
    assert [face.box for face in faces] == [pytest.approx(large.box), pytest.approx(loose.box)]
    # Not by 1/0.85: the mesh comes out larger in a looser crop (by ~11% at 1.3x here).
    assert faces[0].size > 1.04 * faces[1].size


def test_a_face_the_frame_cuts_in_half_counts_by_what_it_shows(engine: FaceEngine) -> None:
    # grace_hopper with its left 250 columns (half the face) outside the canvas, and a
    # whole copy at 0.8 of its size: the mesh of the cut face still spans a whole face.
    image = pixels("grace_hopper")
    canvas = np.full((600, 1000, 3), 128, np.uint8)
    canvas[:, : 512 - 250] = image[:, 250:]
    canvas[60:540, 560:970] = cv2.resize(image, (410, 480), interpolation=cv2.INTER_AREA)
    cut, whole = sorted(engine.analyze(from_array(canvas), embed=False), key=lambda face: face.box[0])
    assert cut.landmarks.spread > whole.landmarks.spread
    assert whole.size > cut.size

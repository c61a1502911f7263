"""Detection, landmarks and orientation on real package photos with the real models."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest

from identity.engine import FaceEngine, from_array
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
    assert [face.area for face in faces] == sorted((face.area for face in faces), reverse=True)


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
    from identity.engine import decode
    from identity.engine.benchmark import jpeg_at

    small = engine.analyze(decode(jpeg_at("grace_hopper", (640, 480))), embed=False)[0]
    large_image = decode(jpeg_at("grace_hopper", (4000, 3000)), max_side=1000)
    assert large_image.pixels.shape[1] == 1000 and large_image.width == 4000
    large = engine.analyze(large_image, embed=False)[0]
    ratio = 4000 / 640
    assert large.box[0] == pytest.approx(small.box[0] * ratio, rel=0.05)
    assert large.box[2] == pytest.approx(small.box[2] * ratio, rel=0.05)

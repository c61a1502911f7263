"""POST /faceid/v1/detect through the full stack."""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pytest
from django.core import signing
from PIL import Image

from accounts import services
from tests.api.conftest import Api, nothing_left_behind, raw_upload, upload
from tests.conftest import encode, pixels


@pytest.mark.models
def test_one_face_with_quality_rect_and_token(api: Api, isolated: Path) -> None:
    response = api.faceid({"image": upload("grace_hopper")})
    body = response.json()
    assert response.status_code == 200
    assert list(body) == ["time_used", "request_id", "faces"]
    assert re.fullmatch(
        r"\d{10},[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", body["request_id"]
    )
    assert response["X-Request-Id"] == body["request_id"]
    assert isinstance(body["time_used"], int) and body["time_used"] >= 0
    (face,) = body["faces"]
    assert set(face) == {"quality", "quality_threshold", "rect", "token"}
    assert face["quality"] > face["quality_threshold"]
    rect = face["rect"]
    assert set(rect) == {"left", "top", "width", "height"}
    # grace_hopper.jpg is 512x600 with the face around (166..366, 143..343).
    assert rect["left"] == pytest.approx(166 / 512, abs=0.05) and rect["top"] == pytest.approx(
        143 / 600, abs=0.05
    )
    assert rect["width"] == pytest.approx(200 / 512, abs=0.05)
    assert signing.loads(face["token"], salt="faceportal.face-token")[0] == api.account.pk
    nothing_left_behind(api.account, quota_used=1)  # detect stores nothing


@pytest.mark.models
def test_every_face_of_the_group_photo(api: Api) -> None:
    faces = api.faceid({"image": upload("group", quality=92)}).json()["faces"]
    assert len(faces) == 6
    for face in faces:
        assert 0 <= face["rect"]["left"] < 1 and 0 <= face["rect"]["top"] < 1


@pytest.mark.models
def test_no_face_is_an_empty_list_not_an_error(api: Api) -> None:
    response = api.faceid({"image": upload("coffee")})
    assert response.status_code == 200 and response.json()["faces"] == []


@pytest.mark.models
@pytest.mark.parametrize("turn", [0, 90, 180, 270])
def test_multi_oriented_detection_reports_the_orientation(api: Api, turn: int) -> None:
    rotated = np.ascontiguousarray(np.rot90(pixels("astronaut"), k=-turn // 90))
    faces = api.faceid(
        {"image": raw_upload(encode(rotated, "PNG"), "a.png"), "multi_oriented_detection": "1"}
    ).json()["faces"]
    assert [face["orientation"] for face in faces] == [turn]


@pytest.mark.models
def test_orientation_is_only_reported_when_asked(api: Api) -> None:
    faces = api.faceid({"image": upload("astronaut"), "multi_oriented_detection": "0"}).json()["faces"]
    assert "orientation" not in faces[0]


@pytest.mark.parametrize("value", ["2", "true", "yes", ""])
def test_multi_oriented_detection_takes_only_1_or_0(api: Api, value: str) -> None:
    response = api.faceid({"image": upload("astronaut"), "multi_oriented_detection": value})
    assert (response.status_code, response.json()["error"]) == (400, "BAD_ARGUMENTS:multi_oriented_detection")
    assert set(response.json()) == {"time_used", "request_id", "error"} and response.json()["time_used"] == 0


def test_a_missing_image_is_a_missing_argument(api: Api) -> None:
    response = api.faceid({})
    assert (response.status_code, response.json()["error"]) == (400, "MISSING_ARGUMENTS:image")


@pytest.mark.parametrize("field", ["api_key", "api_secret"])
def test_missing_credentials_are_missing_arguments(api: Api, field: str) -> None:
    fields = {"api_key": api.account.api_id, "api_secret": api.secret, "image": upload("astronaut")}
    del fields[field]
    response = api.client.post("/faceid/v1/detect", fields)
    assert (response.status_code, response.json()["error"]) == (400, f"MISSING_ARGUMENTS:{field}")


def test_a_wrong_secret_is_an_authorization_error(api: Api) -> None:
    response = api.client.post(
        "/faceid/v1/detect", {"api_key": api.account.api_id, "api_secret": "no", "image": upload("astronaut")}
    )
    assert (response.status_code, response.json()["error"]) == (403, "AUTHORIZATION_ERROR")


def test_credentials_in_the_query_string_are_not_faceid(api: Api) -> None:
    response = api.client.post(
        f"/faceid/v1/detect?api_key={api.account.api_id}&api_secret={api.secret}",
        {"image": upload("astronaut")},
    )
    assert response.json()["error"] == "MISSING_ARGUMENTS:api_key"


def test_an_unreadable_image_is_an_unsupported_format(api: Api) -> None:
    response = api.faceid({"image": raw_upload(b"GIF89a but not really")})
    assert (response.status_code, response.json()["error"]) == (400, "IMAGE_ERROR_UNSUPPORTED_FORMAT")


def test_sides_over_4096_are_an_invalid_size(api: Api) -> None:
    buffer = io.BytesIO()
    Image.new("L", (4097, 16)).save(buffer, "PNG")
    response = api.faceid({"image": raw_upload(buffer.getvalue(), "wide.png")})
    assert (response.status_code, response.json()["error"]) == (400, "INVALID_IMAGE_SIZE:image")


@pytest.mark.models
def test_4096_sides_are_accepted(api: Api) -> None:
    buffer = io.BytesIO()
    Image.new("L", (4096, 16)).save(buffer, "PNG")
    response = api.faceid({"image": raw_upload(buffer.getvalue(), "wide.png")})
    assert response.status_code == 200 and response.json()["faces"] == []  # analysed: a blank strip
    api.account.refresh_from_db()
    assert api.account.quota_used == 1


def test_a_body_over_2_mb_is_413_plain_text(api: Api, isolated: Path) -> None:
    noise = np.random.default_rng(1).integers(0, 255, (900, 900, 3), dtype=np.uint8)
    data = encode(noise, "PNG")
    assert len(data) > 2 * 1024 * 1024
    response = api.faceid({"image": raw_upload(data, "noise.png")})
    assert response.status_code == 413
    assert (
        response["Content-Type"].startswith("text/plain") and response.content == b"Request Entity Too Large"
    )
    assert response["X-Request-Id"]
    nothing_left_behind(api.account)


@pytest.mark.models
def test_simultaneous_calls_over_the_limit_are_refused(api: Api) -> None:
    api.account.concurrency_limit = 1
    api.account.save()
    with services.concurrency_slot(api.account):  # another call of the same key is running
        response = api.faceid({"image": upload("astronaut")})
    assert (response.status_code, response.json()["error"]) == (403, "CONCURRENCY_LIMIT_EXCEEDED")
    assert api.faceid({"image": upload("astronaut")}).status_code == 200  # the slot was freed


def test_out_of_quota_is_an_authorization_error(api: Api) -> None:
    api.account.quota_limit = 0
    api.account.save()
    response = api.faceid({"image": upload("astronaut")})
    assert (response.status_code, response.json()["error"]) == (403, "AUTHORIZATION_ERROR:OUT_OF_QUOTA")


def test_an_unknown_faceid_path_is_api_not_found(api: Api) -> None:
    response = api.client.post("/faceid/v1/verify")
    assert (response.status_code, response.json()["error"]) == (404, "API_NOT_FOUND")


def test_an_internal_error_is_faceid_shaped(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    from faceengine.engine import FaceEngine

    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(FaceEngine, "analyze", explode)
    response = api.faceid({"image": upload("astronaut")})
    assert response.status_code == 500
    assert response.json() == {
        "time_used": 0,
        "request_id": response["X-Request-Id"],
        "error": "INTERNAL_ERROR",
    }


def test_a_non_utf8_form_value_is_a_bad_argument(api: Api) -> None:
    boundary = "b0undary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="api_key"\r\n\r\n{api.account.api_id}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="api_secret"\r\n\r\n{api.secret}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="multi_oriented_detection"\r\n\r\n'
        ).encode()
        + b"\xff\xfe\r\n"
        + f"--{boundary}--\r\n".encode()
    )
    response = api.client.post(
        "/faceid/v1/detect", body, content_type=f"multipart/form-data; boundary={boundary}"
    )
    assert (response.status_code, response.json()["error"]) == (400, "BAD_ARGUMENTS:multi_oriented_detection")


# -- verbose=1: landmarks and pose (the try-it page draws them) ----------------------------


@pytest.mark.models
def test_verbose_adds_named_landmarks_and_a_pose_inside_each_face(api: Api) -> None:
    (face,) = api.faceid({"image": upload("grace_hopper"), "verbose": "1"}).json()["faces"]
    assert list(face) == ["quality", "quality_threshold", "rect", "token", "landmarks", "pose"]
    marks, rect = face["landmarks"], face["rect"]
    assert list(marks) == ["right_eye", "left_eye", "nose_tip", "mouth_right", "mouth_left"]
    for point in marks.values():
        assert set(point) == {"x", "y"}
        assert rect["left"] < point["x"] < rect["left"] + rect["width"]
        assert rect["top"] < point["y"] < rect["top"] + rect["height"]
    # The person's own right eye is on the image's left; eyes above the nose, above the mouth.
    assert marks["right_eye"]["x"] < marks["nose_tip"]["x"] < marks["left_eye"]["x"]
    assert marks["mouth_right"]["x"] < marks["mouth_left"]["x"]
    eyes_y = max(marks["right_eye"]["y"], marks["left_eye"]["y"])
    assert eyes_y < marks["nose_tip"]["y"] < min(marks["mouth_right"]["y"], marks["mouth_left"]["y"])
    assert set(face["pose"]) == {"yaw", "pitch", "roll"}
    assert abs(face["pose"]["yaw"]) < 25 and abs(face["pose"]["roll"]) < 15  # a portrait facing us


@pytest.mark.models
def test_verbose_0_and_no_verbose_give_the_plain_body(api: Api) -> None:
    for fields in ({}, {"verbose": "0"}):
        (face,) = api.faceid({"image": upload("grace_hopper"), **fields}).json()["faces"]
        assert set(face) == {"quality", "quality_threshold", "rect", "token"}


@pytest.mark.parametrize("value", ["2", "true", "yes", ""])
def test_verbose_takes_only_1_or_0(api: Api, value: str) -> None:
    response = api.faceid({"image": upload("astronaut"), "verbose": value})
    assert (response.status_code, response.json()["error"]) == (400, "BAD_ARGUMENTS:verbose")
    api.account.refresh_from_db()
    assert api.account.quota_used == 0


def _turned_clockwise(point: dict[str, float], turn: int) -> tuple[float, float]:
    """Where a point (fractions of the upright image) lands once the image is turned clockwise."""
    x, y = point["x"], point["y"]
    return {0: (x, y), 90: (1 - y, x), 180: (1 - x, 1 - y), 270: (y, 1 - x)}[turn]


@pytest.mark.models
@pytest.mark.parametrize("turn", [90, 180, 270])
def test_verbose_landmarks_of_a_turned_photo_are_in_the_photo_as_uploaded(api: Api, turn: int) -> None:
    upright = pixels("astronaut")
    (reference,) = api.faceid({"image": raw_upload(encode(upright, "PNG"), "a.png"), "verbose": "1"}).json()[
        "faces"
    ]
    turned = np.ascontiguousarray(np.rot90(upright, k=-turn // 90))
    (face,) = api.faceid(
        {"image": raw_upload(encode(turned, "PNG"), "a.png"), "multi_oriented_detection": "1", "verbose": "1"}
    ).json()["faces"]
    assert face["orientation"] == turn
    for name, point in face["landmarks"].items():
        expected = _turned_clockwise(reference["landmarks"][name], turn)
        assert (point["x"], point["y"]) == pytest.approx(expected, abs=0.02), name
    # The pose is the head's in the uploaded image: lying on its side, the eye line is near vertical.
    roll = face["pose"]["roll"]
    assert min(abs(roll - turn), abs(roll - turn + 360)) < 15


@pytest.mark.models
def test_verbose_landmarks_follow_the_exif_orientation(api: Api) -> None:
    upright = pixels("astronaut")
    buffer = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6  # stored turned counter-clockwise: viewers turn it 90 degrees clockwise
    Image.fromarray(np.ascontiguousarray(np.rot90(upright, k=1))).save(buffer, "JPEG", exif=exif, quality=95)
    (face,) = api.faceid({"image": raw_upload(buffer.getvalue()), "verbose": "1"}).json()["faces"]
    (reference,) = api.faceid({"image": raw_upload(encode(upright, "PNG"), "a.png"), "verbose": "1"}).json()[
        "faces"
    ]
    for name, point in face["landmarks"].items():
        assert (point["x"], point["y"]) == pytest.approx(
            (reference["landmarks"][name]["x"], reference["landmarks"][name]["y"]), abs=0.02
        ), name

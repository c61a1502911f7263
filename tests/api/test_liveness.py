"""The liveness endpoints end to end: challenge -> sealed package -> upload -> verification."""

from __future__ import annotations

import io
import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.utils import timezone
from PIL import Image

from accounts.services import account_create
from faceportal_capture import liveness_pb2
from faceportal_capture.build import Challenge, build_capture, build_package
from faceportal_capture.package import seal
from resources.liveness import challenge_key
from resources.models import LivenessChallenge, LivenessData, StoredImage
from tests.api.conftest import Api, raw_upload, upload
from tests.api.helpers import CHALLENGE, UPLOAD, VERIFY, new_challenge, package_for, photo_frames
from tests.capture.conftest import raw_package
from tests.storage import stored_files


def upload_package(api: Api, data: bytes) -> Any:
    return api.linkface(UPLOAD, {"file": raw_upload(data, "capture.fplv")})


def test_a_challenge_has_a_nonce_actions_an_expiry_and_a_key(api: Api) -> None:
    response = api.linkface(CHALLENGE, {})
    body = response.json()
    assert list(body) == ["request_id", "status", "challenge_id", "actions", "expires_at", "key"]
    assert len(body["challenge_id"]) == 32 and "blink" in body["actions"] and len(body["actions"]) == 2
    challenge = LivenessChallenge.objects.get(id=body["challenge_id"])
    assert challenge.account == api.account and challenge.used_at is None
    assert Challenge.from_json(response.content.decode()).key == challenge_key(api.account, challenge.id)


def test_an_uploaded_package_is_stored_and_its_challenge_used(api: Api, isolated: Path) -> None:
    data, challenge = package_for(api)
    body = upload_package(api, data).json()
    assert list(body) == ["request_id", "status", "liveness_data_id"] and body["status"] == "OK"
    stored = LivenessData.objects.get(id=body["liveness_data_id"])
    assert stored.account == api.account and stored.frames == 12 and stored.size == len(data)
    assert LivenessChallenge.objects.get(id=challenge.challenge_id).used_at is not None
    assert any(path.suffix == ".fplv" for path in stored_files())


def test_a_package_is_accepted_once(api: Api) -> None:
    data, _ = package_for(api)
    assert upload_package(api, data).status_code == 200
    again = upload_package(api, data).json()
    assert again == {
        **again,
        "status": "WRONG_LIVENESS_DATA",
        "image": "liveness",
        "reason": "challenge already used",
    }


def test_an_expired_challenge_is_refused(api: Api) -> None:
    data, challenge = package_for(api)
    LivenessChallenge.objects.filter(id=challenge.challenge_id).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    body = upload_package(api, data).json()
    assert (body["status"], body["reason"]) == ("WRONG_LIVENESS_DATA", "challenge expired")


def test_a_package_for_another_accounts_challenge_is_refused(api: Api) -> None:
    other, secret = account_create(username="someone-else")
    response = api.client.post(f"{CHALLENGE}?api_id={other.api_id}&api_secret={secret}", {})
    foreign = build_package(photo_frames(), Challenge.from_json(response.content.decode()))
    body = upload_package(api, foreign).json()
    assert (body["status"], body["reason"]) == ("WRONG_LIVENESS_DATA", "unknown challenge")


def test_a_package_sealed_with_another_key_is_broken(api: Api) -> None:
    challenge = new_challenge(api)
    forged = build_package(
        photo_frames(), Challenge(challenge.challenge_id, challenge.actions, b"k" * 32, "")
    )
    body = upload_package(api, forged).json()
    assert (body["status"], body["reason"]) == ("WRONG_LIVENESS_DATA", "broken message")


@pytest.mark.parametrize("position", [0, 5, 40, -20, -1])
def test_a_tampered_byte_is_a_broken_message(api: Api, position: int) -> None:
    data, _ = package_for(api)
    tampered = bytearray(data)
    tampered[position] ^= 0x01
    body = upload_package(api, bytes(tampered)).json()
    assert body["status"] == "WRONG_LIVENESS_DATA"


@pytest.mark.parametrize("data", [b"", b"\x00" * 50, np.random.default_rng(5).bytes(4000)])
def test_garbage_is_a_broken_message(api: Api, isolated: Path, data: bytes) -> None:
    body = upload_package(api, data).json()
    assert (body["status"], body["reason"], body["image"]) == (
        "WRONG_LIVENESS_DATA",
        "broken message",
        "liveness",
    )
    assert LivenessData.objects.count() == 0 and stored_files() == []


def test_a_truncated_package_is_refused(api: Api) -> None:
    data, _ = package_for(api)
    assert upload_package(api, data[: len(data) // 2]).json()["status"] == "WRONG_LIVENESS_DATA"


def test_a_package_without_frames_is_refused(api: Api) -> None:
    challenge = new_challenge(api)
    capture = liveness_pb2.Capture(
        format_version=1, challenge_id=challenge.challenge_id, actions=challenge.actions
    )
    body = upload_package(
        api, raw_package(capture.SerializeToString(), challenge.key, challenge.challenge_id.encode())
    ).json()
    assert (body["status"], body["reason"]) == ("WRONG_LIVENESS_DATA", "package has no frames")


def test_frames_that_do_not_decode_are_refused(api: Api) -> None:
    challenge = new_challenge(api)
    capture = build_capture(photo_frames(count=3), challenge)
    capture.frames[1].jpeg = b"\xff\xd8\xff\xe0" + b"\x00" * 100  # a JPEG start, then nothing
    body = upload_package(api, seal(capture, challenge.key, challenge.challenge_id)).json()
    assert (body["status"], body["reason"]) == ("WRONG_LIVENESS_DATA", "frame 1 does not decode")


def test_actions_other_than_the_challenges_are_refused(api: Api) -> None:
    challenge = new_challenge(api)
    capture = build_capture(photo_frames(count=3), challenge)
    del capture.actions[:]
    capture.actions.extend(["turn_right", "turn_left"])
    body = upload_package(api, seal(capture, challenge.key, challenge.challenge_id)).json()
    assert (body["status"], body["reason"]) == ("WRONG_LIVENESS_DATA", "actions do not match the challenge")


def test_an_oversize_package_is_refused(api: Api, settings: Any) -> None:
    from faceportal_capture.package import MAX_PACKAGE_BYTES

    settings.LINKFACE_MAX_BODY = MAX_PACKAGE_BYTES * 2
    body = upload_package(api, b"FPLV" + b"\x00" * MAX_PACKAGE_BYTES).json()
    assert body["status"] == "WRONG_LIVENESS_DATA" and "bytes" in body["reason"]


def test_a_missing_package_names_the_fields(api: Api) -> None:
    body = api.linkface(UPLOAD, {}).json()
    assert (body["status"], body["reason"]) == ("INVALID_ARGUMENT", "must specify 'file' or 'url' argument")


@pytest.mark.models
def test_verification_of_a_photo_held_up_flags_an_attack_of_the_right_person(
    api: Api, isolated: Path
) -> None:
    data, _ = package_for(api)
    liveness_id = upload_package(api, data).json()["liveness_data_id"]
    response = api.linkface(VERIFY, {"liveness_data_id": liveness_id, "selfie_file": upload("grace_hopper")})
    body = response.json()
    assert list(body) == [
        "request_id",
        "status",
        "hack_score",
        "verify_score",
        "liveness_data_id",
        "image_id",
    ]
    assert isinstance(body["hack_score"], float) and isinstance(body["verify_score"], float)
    assert body["hack_score"] >= 0.9  # one photo, never moving: an attack
    assert body["verify_score"] >= 0.7  # but the same person as the selfie
    assert body["liveness_data_id"] == liveness_id
    assert StoredImage.objects.filter(id=body["image_id"], account=api.account).exists()


@pytest.mark.models
def test_verification_against_another_person_scores_low(api: Api) -> None:
    data, _ = package_for(api)
    body = api.linkface(
        VERIFY, {"liveness_data_file": raw_upload(data), "selfie_file": upload("astronaut")}
    ).json()
    assert body["verify_score"] < 0.5
    assert LivenessData.objects.filter(id=body["liveness_data_id"]).exists()  # stored by this call


@pytest.mark.models
def test_verbose_verification_explains_every_cue(api: Api) -> None:
    data, _ = package_for(api)
    body = api.linkface(
        VERIFY,
        {"liveness_data_file": raw_upload(data), "selfie_file": upload("grace_hopper"), "verbose": "true"},
    ).json()
    details = body["details"]
    assert {"faces", "actions", "rigidity", "repetition", "identity", "timestamps"} <= set(details)
    json.dumps(details)


def test_an_unknown_liveness_id_is_reported(api: Api, isolated: Path) -> None:
    body = api.linkface(VERIFY, {"liveness_data_id": "f" * 32, "selfie_file": upload("grace_hopper")}).json()
    assert (body["status"], body["image"], body["reason"]) == (
        "WRONG_LIVENESS_DATA",
        "liveness",
        "no liveness id found",
    )
    assert StoredImage.objects.count() == 0


@pytest.mark.models
def test_a_selfie_without_a_face_is_reported(api: Api) -> None:
    data, _ = package_for(api)
    body = api.linkface(
        VERIFY, {"liveness_data_file": raw_upload(data), "selfie_file": upload("coffee")}
    ).json()
    assert (body["status"], body["image"]) == ("NO_FACE_DETECTED", "selfie")
    assert LivenessData.objects.count() == 0  # the failed call stored nothing, its challenge stays unused
    assert LivenessChallenge.objects.filter(used_at__isnull=False).count() == 0


def test_packages_past_retention_are_purged_with_their_files(
    api: Api, isolated: Path, django_capture_on_commit_callbacks: Any
) -> None:
    from django.core.management import call_command

    old, _ = package_for(api)
    old_id = upload_package(api, old).json()["liveness_data_id"]
    recent, _ = package_for(api)
    recent_id = upload_package(api, recent).json()["liveness_data_id"]
    LivenessData.objects.filter(id=old_id).update(created_at=timezone.now() - timedelta(days=40))
    with django_capture_on_commit_callbacks(execute=True):
        call_command("purge_images", stdout=io.StringIO())
    assert list(LivenessData.objects.values_list("id", flat=True)) == [recent_id]
    assert [path.stem for path in stored_files() if path.suffix == ".fplv"] == [recent_id]


def test_a_package_of_another_format_version_is_refused(api: Api) -> None:
    data, _ = package_for(api)
    other_version = data[:4] + bytes([2]) + data[5:]
    body = upload_package(api, other_version).json()
    assert (body["status"], body["reason"]) == ("WRONG_LIVENESS_DATA", "unsupported package version 2")


def test_a_package_by_url_is_fetched_under_the_same_rules(api: Api) -> None:
    body = api.linkface(UPLOAD, {"url": "http://10.0.0.9/capture.fplv"}).json()
    assert (body["status"], body["image"]) == ("DOWNLOAD_ERROR", "liveness")


def flat_jpeg(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (120, 110, 100)).save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


def upload_with_frames(api: Api, jpegs: dict[int, bytes], count: int = 3) -> dict[str, Any]:
    """A well-formed package whose frames at the given indices are replaced."""
    challenge = new_challenge(api)
    capture = build_capture(photo_frames(count=count), challenge)
    for index, jpeg in jpegs.items():
        capture.frames[index].jpeg = jpeg
    return dict(upload_package(api, seal(capture, challenge.key, challenge.challenge_id)).json())


@pytest.mark.parametrize(
    ("jpegs", "count", "reason"),
    [
        ({0: flat_jpeg(5000, 3000)}, 3, "frame 0 is too large (5000x3000, sides at most 4000 px)"),
        (
            {i: flat_jpeg(4096, 4096) for i in range(31)},
            31,
            "frame 0 is too large (4096x4096, sides at most 4000 px)",
        ),
        ({2: flat_jpeg(8, 100)}, 3, "frame 2 is too small (8x100, sides over 8 px)"),
        ({i: flat_jpeg(4000, 3000) for i in range(4)}, 5, "frames 0 to 3 hold more than 40,000,000 pixels"),
    ],
)
def test_frames_get_the_image_size_limits_and_the_package_a_pixel_budget(
    api: Api, isolated: Path, jpegs: dict[int, bytes], count: int, reason: str
) -> None:
    body = upload_with_frames(api, jpegs, count)
    assert (body["status"], body["reason"]) == ("WRONG_LIVENESS_DATA", reason)
    assert LivenessData.objects.count() == 0 and stored_files() == []


def test_the_frames_together_get_one_images_scan_budget(api: Api) -> None:
    from facelab.bombs import progressive_scan_bomb

    costly = progressive_scan_bomb(64, (2000, 2000))  # 4 M block visits: one is fine, two are not
    body = upload_with_frames(api, {0: costly, 1: costly})
    assert (body["status"], body["reason"]) == (
        "WRONG_LIVENESS_DATA",
        "frames 0 to 1 have JPEG scans visiting more than 6,000,000 blocks",
    )


def upload_started_at(api: Api, started_at_unix_ms: int, first_frame: float = 0.0) -> dict[str, Any]:
    challenge = new_challenge(api)
    frames = [(image, first_frame + t) for image, t in photo_frames(count=12)]
    capture = build_capture(frames, challenge, started_at_unix_ms=started_at_unix_ms)
    return dict(upload_package(api, seal(capture, challenge.key, challenge.challenge_id)).json())


def now_ms() -> int:
    return int(timezone.now().timestamp() * 1000)


@pytest.mark.parametrize(
    ("offset_ms", "first_frame", "reason"),
    [
        (-120_000, 0.0, r"capture started 12[01] s before its challenge was issued"),
        (None, 0.0, r"capture has no start time"),
        (90_000, 0.0, r"capture ended 9[12] s after it was uploaded"),
        # The attack run's capture: the first frame 31 years after the capture's start.
        (0, 31 * 365.25 * 86400, r"capture ended 97828560\d s after it was uploaded"),
    ],
)
def test_the_capture_clock_must_fit_the_challenges_times(
    api: Api, isolated: Path, offset_ms: int | None, first_frame: float, reason: str
) -> None:
    body = upload_started_at(api, 0 if offset_ms is None else now_ms() + offset_ms, first_frame)
    assert body["status"] == "WRONG_LIVENESS_DATA"
    assert re.fullmatch(reason, body["reason"]), body["reason"]
    assert LivenessData.objects.count() == 0 and stored_files() == []


def test_a_device_clock_a_little_off_is_accepted(api: Api) -> None:
    assert upload_started_at(api, now_ms() - 20_000)["status"] == "OK"  # 20 s behind
    assert upload_started_at(api, now_ms() + 15_000)["status"] == "OK"  # 15 s ahead


@pytest.mark.models
def test_a_first_frame_long_after_the_start_fails_the_timestamps_cue(api: Api) -> None:
    data = upload_started_at(api, now_ms() - 9_000, first_frame=8.0)
    body = api.linkface(
        VERIFY,
        {"liveness_data_id": data["liveness_data_id"], "selfie_file": upload("grace_hopper"), "verbose": "1"},
    ).json()
    timestamps = body["details"]["timestamps"]
    assert not timestamps["passed"]
    assert "first frame 8.0 s after the capture start (at most 5 s)" in timestamps["problems"]

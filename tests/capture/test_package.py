"""The sealed package format: round trips, the layout, and every way a package can be bad."""

from __future__ import annotations

import os
import random

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from faceportal_capture import liveness_pb2
from faceportal_capture.package import (
    BROKEN_MESSAGE,
    MAX_FRAMES,
    MAX_PACKAGE_BYTES,
    PackageError,
    open_package,
    read_key_id,
    seal,
)
from tests.capture.conftest import KEY, KEY_ID, make_capture, raw_package, tiny_jpeg


def reason(data: bytes, key: bytes = KEY) -> str:
    with pytest.raises(PackageError) as caught:
        open_package(data, key)
    return caught.value.reason


@pytest.fixture(scope="module")
def small() -> bytes:
    """A small valid package: every byte of it gets flipped below."""
    package = seal(make_capture(KEY_ID, frames=1, jpeg=tiny_jpeg((4, 4))), KEY, KEY_ID)
    assert len(package) < 1000
    return package


def test_round_trip() -> None:
    capture = make_capture(KEY_ID, frames=5)
    capture.marks.add(action="blink", prompted_at_us=120_000)
    capture.marks.add(action="turn_left", prompted_at_us=1_500_000)
    capture.device.CopyFrom(
        liveness_pb2.Device(
            sdk="test", sdk_version="9", platform="here", user_agent="ua", width=640, height=480
        )
    )
    package = seal(capture, KEY, KEY_ID)
    opened = open_package(package, KEY)
    assert opened == capture
    assert opened.SerializeToString() == capture.SerializeToString()
    assert read_key_id(package) == KEY_ID


def test_layout_matches_the_documented_format() -> None:
    capture = make_capture(KEY_ID)
    package = seal(capture, KEY, KEY_ID)
    assert package[:4] == b"FPLV"
    assert package[4] == 1
    assert package[5] == len(KEY_ID)
    assert package[6 : 6 + len(KEY_ID)] == KEY_ID.encode()
    header_end = 6 + len(KEY_ID) + 12
    nonce = package[6 + len(KEY_ID) : header_end]
    # Header (nonce included) is the associated data; ciphertext + 16-byte tag follows.
    plaintext = AESGCM(KEY).decrypt(nonce, package[header_end:], package[:header_end])
    assert liveness_pb2.Capture.FromString(plaintext) == capture
    assert len(package) == header_end + len(plaintext) + 16
    # The nonce is random per package.
    assert seal(capture, KEY, KEY_ID)[6 + len(KEY_ID) : header_end] != nonce


def test_opens_packages_written_by_other_producers() -> None:
    capture = make_capture(KEY_ID, frames=3)
    assert open_package(raw_package(capture.SerializeToString()), KEY) == capture


def test_key_id_limits() -> None:
    for key_id in ("a", "x" * 64):
        package = seal(make_capture(key_id), KEY, key_id)
        assert read_key_id(package) == key_id
        assert open_package(package, KEY).challenge_id == key_id
    for bad in ("", "x" * 65, "caf\u00e9", "with space", "tab\t"):
        with pytest.raises(ValueError):
            seal(make_capture(bad), KEY, bad)
        # Written by hand, the same ids are refused when read.
        raw = bad.encode()[:255]
        package = raw_package(make_capture(bad).SerializeToString(), key_id=raw)
        assert reason(package) == BROKEN_MESSAGE
        with pytest.raises(PackageError):
            read_key_id(package)


def test_key_id_differs_from_challenge_id() -> None:
    capture = make_capture("another-challenge")
    package = raw_package(capture.SerializeToString())
    assert read_key_id(package) == KEY_ID
    assert reason(package) == "challenge id does not match the package header"
    with pytest.raises(PackageError, match="challenge id does not match"):
        seal(capture, KEY, KEY_ID)


def test_wrong_key_is_a_broken_message(small: bytes) -> None:
    assert reason(small, bytes(32)) == BROKEN_MESSAGE
    assert reason(small, KEY[::-1]) == BROKEN_MESSAGE


def test_a_key_of_the_wrong_size_is_the_callers_bug(small: bytes) -> None:
    for key in (b"", KEY[:16], KEY + b"x"):
        with pytest.raises(ValueError) as caught:
            open_package(small, key)
        assert not isinstance(caught.value, PackageError)
        with pytest.raises(ValueError):
            seal(make_capture(KEY_ID), key, KEY_ID)


def test_every_single_byte_change_is_refused(small: bytes) -> None:
    assert open_package(small, KEY).challenge_id == KEY_ID
    for position in range(len(small)):
        for mask in (0x01, 0x80, 0xFF):
            altered = bytearray(small)
            altered[position] ^= mask
            got = reason(bytes(altered))
            if position == 4:  # the version byte is checked before anything is decrypted
                assert got == f"unsupported package version {1 ^ mask}", position
            else:
                assert got == BROKEN_MESSAGE, (position, mask, got)


def test_truncated_packages_are_refused(small: bytes) -> None:
    header_end = 6 + len(KEY_ID) + 12
    lengths = [*range(header_end + 17), len(small) - 1, len(small) - 16, (header_end + len(small)) // 2]
    for length in lengths:
        assert reason(small[:length]) == BROKEN_MESSAGE, length
    for length in range(6):
        with pytest.raises(PackageError):
            read_key_id(small[:length])
    # Extra bytes at the end are the tag's problem too.
    assert reason(small + b"\x00") == BROKEN_MESSAGE


def test_random_bytes_are_refused() -> None:
    generator = random.Random(20240504)
    for length in (0, 1, 5, 6, 20, 100, 1000, 100_000):
        for _ in range(5):
            data = generator.randbytes(length)
            assert reason(data) == BROKEN_MESSAGE
            # With a valid magic and version the key id or the tag fails instead.
            assert reason(b"FPLV\x01" + data) == BROKEN_MESSAGE


def test_wrong_magic(small: bytes) -> None:
    for magic in (b"FPLW", b"fplv", b"\x00\x00\x00\x00", b"PK\x03\x04"):
        assert reason(magic + small[4:]) == BROKEN_MESSAGE
    capture = make_capture(KEY_ID)
    assert reason(raw_package(capture.SerializeToString(), magic=b"XPLV")) == BROKEN_MESSAGE


@pytest.mark.parametrize("version", [0, 2, 7, 255])
def test_unsupported_version(version: int) -> None:
    package = raw_package(make_capture(KEY_ID).SerializeToString(), version=version)
    assert reason(package) == f"unsupported package version {version}"
    with pytest.raises(PackageError, match=f"unsupported package version {version}"):
        read_key_id(package)


def test_version_2_header_on_a_version_1_package(small: bytes) -> None:
    assert reason(small[:4] + b"\x02" + small[5:]) == "unsupported package version 2"


def test_oversize() -> None:
    over = b"FPLV\x01" + bytes(MAX_PACKAGE_BYTES - 4)
    assert len(over) == MAX_PACKAGE_BYTES + 1
    assert reason(over) == "package over 8388608 bytes"
    assert reason(bytes(MAX_PACKAGE_BYTES + 1)) == "package over 8388608 bytes"
    with pytest.raises(PackageError, match="package over 8388608 bytes"):
        read_key_id(over)
    # Exactly at the limit is judged on its content.
    assert reason(over[:-1]) == BROKEN_MESSAGE


def test_sealing_refuses_a_capture_over_the_limit() -> None:
    big = b"\xff\xd8" + os.urandom(3 * 1024 * 1024)
    capture = make_capture(KEY_ID, frames=3, jpeg=big)
    with pytest.raises(PackageError) as caught:
        seal(capture, KEY, KEY_ID)
    assert caught.value.reason == "package over 8388608 bytes"


def test_zero_frames() -> None:
    capture = make_capture(KEY_ID, frames=0)
    assert reason(raw_package(capture.SerializeToString())) == "package has no frames"
    with pytest.raises(PackageError, match="package has no frames"):
        seal(capture, KEY, KEY_ID)


def test_frame_count_limit() -> None:
    jpeg = tiny_jpeg((2, 2))
    at_limit = make_capture(KEY_ID, frames=MAX_FRAMES, jpeg=jpeg)
    assert len(open_package(seal(at_limit, KEY, KEY_ID), KEY).frames) == MAX_FRAMES
    over = make_capture(KEY_ID, frames=MAX_FRAMES + 1, jpeg=jpeg)
    assert reason(raw_package(over.SerializeToString())) == "package has more than 120 frames"
    with pytest.raises(PackageError, match="more than 120 frames"):
        seal(over, KEY, KEY_ID)


@pytest.mark.parametrize(
    ("content", "index"),
    [
        (b"\x89PNG\r\n\x1a\n0000", 3),
        (b"", 0),
        (b"\xff", 1),
        (b"\xd8\xff\xe0", 2),
    ],
)
def test_a_frame_that_is_not_a_jpeg(content: bytes, index: int) -> None:
    capture = make_capture(KEY_ID, frames=5)
    capture.frames[index].jpeg = content
    assert reason(raw_package(capture.SerializeToString())) == f"frame {index} is not a JPEG"
    with pytest.raises(PackageError, match=f"frame {index} is not a JPEG"):
        seal(capture, KEY, KEY_ID)


def test_unsupported_capture_format_version() -> None:
    capture = make_capture(KEY_ID)
    capture.format_version = 2
    assert reason(raw_package(capture.SerializeToString())) == "unsupported capture format version 2"


@pytest.mark.parametrize(
    "plaintext",
    [
        b"\xff\xff\xff\xff\xff",  # field number 0x1fffffff... with an invalid wire type
        b"\x0a",  # field 1 as length-delimited with no length
        b"\x22\x05abc",  # frames: length 5 but only 3 bytes
        b"\x12\x02\xff\xfe",  # challenge_id that is not UTF-8
        b"\x08" + b"\xff" * 11,  # an over-long varint
        b"\x22\x02\x0a\xff",  # a frame whose jpeg length runs past its end
        os.urandom(64) + b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff",
    ],
)
def test_protobuf_garbage_under_the_right_key(plaintext: bytes) -> None:
    assert reason(raw_package(plaintext)) == BROKEN_MESSAGE


def test_an_empty_plaintext_is_a_capture_without_version() -> None:
    assert reason(raw_package(b"")) == "unsupported capture format version 0"


def test_package_error_is_a_value_error_with_a_reason() -> None:
    error = PackageError("package has no frames")
    assert isinstance(error, ValueError)
    assert error.reason == str(error) == "package has no frames"


def test_bytearray_and_memoryview_are_accepted(small: bytes) -> None:
    assert open_package(bytearray(small), KEY).challenge_id == KEY_ID  # type: ignore[arg-type]
    assert read_key_id(memoryview(small)) == KEY_ID  # type: ignore[arg-type]

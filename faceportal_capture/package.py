"""The sealed liveness package: an ``FPLV`` header followed by an AES-256-GCM encrypted ``Capture``.

Layout (all of it, see README.md)::

    offset  size    field
    0       4       magic b"FPLV"
    4       1       format version (1)
    5       1       key-id length N (1..64)
    6       N       key id: the challenge id, printable ASCII
    6+N     12      AES-GCM nonce (random per package)
    18+N    rest    ciphertext of the serialized Capture, followed by the 16-byte GCM tag

The header (bytes ``0 .. 18+N``) is the AEAD associated data: changing any byte of it makes the
tag check fail. This module is shared by the capture SDK and the server and imports no Django.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from faceportal_capture import liveness_pb2

__all__ = [
    "BROKEN_MESSAGE",
    "CAPTURE_FORMAT_VERSION",
    "FORMAT_VERSION",
    "KEY_BYTES",
    "MAGIC",
    "MAX_FRAMES",
    "MAX_FRAME_SIDE",
    "MAX_KEY_ID_BYTES",
    "MAX_PACKAGE_BYTES",
    "MAX_PACKAGE_PIXELS",
    "MIN_FRAME_SIDE",
    "NONCE_BYTES",
    "TAG_BYTES",
    "PackageError",
    "open_package",
    "read_key_id",
    "seal",
]

MAGIC = b"FPLV"
FORMAT_VERSION = 1
"""Version byte of the binary layout (header + AEAD)."""
CAPTURE_FORMAT_VERSION = 1
"""Value of ``Capture.format_version`` for the ``faceportal.liveness.v1`` schema."""
KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
MAX_KEY_ID_BYTES = 64
MAX_PACKAGE_BYTES = 8 * 1024 * 1024
"""Largest package accepted, in bytes (header and tag included)."""
MAX_FRAMES = 120
"""Most frames one capture may carry."""
MIN_FRAME_SIDE, MAX_FRAME_SIDE = 8, 4000
"""A frame's sides must be larger than the first and at most the second (the service's image
rule); checked by the service and by ``build_capture``, not by ``seal``, which sees only JPEG bytes."""
MAX_PACKAGE_PIXELS = 40_000_000
"""Pixels of all the frames together, so that the service's decoding of one package stays
bounded (about 0.5 s): 120 frames of 640x480 are 36.9 M."""

BROKEN_MESSAGE = "broken message"
"""The reason for every package that cannot be decrypted or parsed (the vendor's wording)."""

_FIXED_HEADER = len(MAGIC) + 2  # magic, version byte, key-id length byte
_JPEG_SOI = b"\xff\xd8"


class PackageError(ValueError):
    """A package (or a capture to seal) that the format refuses.

    ``reason`` is short English text meant for the API's ``reason`` field; it never contains
    package contents other than numbers.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _check_key(key: bytes) -> None:
    if not isinstance(key, bytes | bytearray) or len(key) != KEY_BYTES:
        # A programming or configuration error on the caller's side, not bad input.
        raise ValueError(f"the package key must be {KEY_BYTES} bytes")


def _valid_key_id(raw: bytes) -> bool:
    return 1 <= len(raw) <= MAX_KEY_ID_BYTES and all(0x21 <= byte <= 0x7E for byte in raw)


def _header(key_id: str) -> bytes:
    try:
        raw = key_id.encode("ascii")
    except (UnicodeEncodeError, AttributeError):
        raw = b""
    if not _valid_key_id(raw):
        raise ValueError(f"the key id must be 1 to {MAX_KEY_ID_BYTES} printable ASCII characters")
    return MAGIC + bytes((FORMAT_VERSION, len(raw))) + raw


def _parse_header(data: bytes) -> tuple[int, str]:
    """Checks size, magic, version and key id; returns (header length before the nonce, key id)."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"a package is bytes, not {type(data).__name__}")
    data = bytes(data)
    if len(data) > MAX_PACKAGE_BYTES:
        raise PackageError(f"package over {MAX_PACKAGE_BYTES} bytes")
    if len(data) < _FIXED_HEADER or data[: len(MAGIC)] != MAGIC:
        raise PackageError(BROKEN_MESSAGE)
    version = data[len(MAGIC)]
    if version != FORMAT_VERSION:
        raise PackageError(f"unsupported package version {version}")
    end = _FIXED_HEADER + data[len(MAGIC) + 1]
    raw = data[_FIXED_HEADER:end]
    if len(raw) != end - _FIXED_HEADER or not _valid_key_id(raw):
        raise PackageError(BROKEN_MESSAGE)
    return end, raw.decode("ascii")


def read_key_id(data: bytes) -> str:
    """The key id (= challenge id) from a package's header, without decrypting anything.

    The server uses it to find the challenge and derive the key. Raises ``PackageError`` for an
    oversize package, a bad magic, an unsupported version or a malformed key id. The key id is
    not authenticated until ``open_package`` succeeds.
    """
    return _parse_header(data)[1]


def _validate(capture: liveness_pb2.Capture, key_id: str) -> None:
    if capture.format_version != CAPTURE_FORMAT_VERSION:
        raise PackageError(f"unsupported capture format version {capture.format_version}")
    if capture.challenge_id != key_id:
        raise PackageError("challenge id does not match the package header")
    count = len(capture.frames)
    if count == 0:
        raise PackageError("package has no frames")
    if count > MAX_FRAMES:
        raise PackageError(f"package has more than {MAX_FRAMES} frames")
    for index, frame in enumerate(capture.frames):
        if not frame.jpeg.startswith(_JPEG_SOI):
            raise PackageError(f"frame {index} is not a JPEG")


def seal(capture: liveness_pb2.Capture, key: bytes, key_id: str) -> bytes:
    """Serialize, validate and encrypt ``capture`` into a package for ``key_id``.

    ``key`` is the 32-byte AES-256 key from the service's challenge answer and ``key_id`` its
    challenge id. The capture must pass the same checks as ``open_package`` (raises
    ``PackageError`` with the same reasons otherwise), so the SDK never produces a package that
    the server is bound to refuse. A bad key or key id raises ``ValueError``.
    """
    _check_key(key)
    header = _header(key_id)
    _validate(capture, key_id)
    nonce = os.urandom(NONCE_BYTES)
    aad = header + nonce
    package = aad + AESGCM(bytes(key)).encrypt(nonce, capture.SerializeToString(), aad)
    if len(package) > MAX_PACKAGE_BYTES:
        raise PackageError(f"package over {MAX_PACKAGE_BYTES} bytes")
    return package


def open_package(data: bytes, key: bytes) -> liveness_pb2.Capture:
    """Decrypt, parse and validate a package; the inverse of ``seal``.

    Every problem with ``data`` raises ``PackageError``: ``reason`` is ``"broken message"``
    for anything that does not decrypt or parse (bad magic, truncated, altered bytes, wrong
    key, protobuf garbage) and a specific text otherwise (unsupported version, oversize, no or
    too many frames, a non-JPEG frame, a challenge id that differs from the header's key id,
    an unsupported capture format version). A key that is not 32 bytes raises ``ValueError``,
    a ``data`` that is not bytes-like ``TypeError``: both are the caller's bugs.

    Not checked here, and left to the server: that the actions are the ones the challenge
    issued, that the challenge is live, timestamps, marks and the device description.
    """
    _check_key(key)
    header_end, key_id = _parse_header(data)
    data = bytes(data)
    aad_end = header_end + NONCE_BYTES
    if len(data) < aad_end + TAG_BYTES:
        raise PackageError(BROKEN_MESSAGE)
    nonce = data[header_end:aad_end]
    try:
        plaintext = AESGCM(bytes(key)).decrypt(nonce, data[aad_end:], data[:aad_end])
    except InvalidTag:
        raise PackageError(BROKEN_MESSAGE) from None
    capture = liveness_pb2.Capture()
    try:
        capture.ParseFromString(plaintext)
    except Exception:  # DecodeError, and anything else a hostile message may provoke
        raise PackageError(BROKEN_MESSAGE) from None
    _validate(capture, key_id)
    return capture

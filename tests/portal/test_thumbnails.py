"""Thumbnails of stored images: real stored images, the three sizes, EXIF orientation, hostile
files, and only for the images' owner."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from PIL import Image

from accounts.models import ApiAccount
from accounts.services import account_create
from resources.models import StoredImage
from resources.services import image_store
from tests.api.conftest import Api
from tests.conftest import encode, pixels

COMPARE = "/identity/compare_faces_in_two_images"


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Path) -> Iterator[Path]:
    settings.MEDIA_ROOT = tmp_path / "media"
    cache.clear()
    yield tmp_path / "media"
    cache.clear()


@pytest.fixture
def alice(db: None) -> tuple[ApiAccount, str]:
    return account_create(username="alice", name="alice key", quota=100, rate=100)


def thumbnail(client: Client, image_id: str, size: str | None = None) -> Any:
    url = reverse("portal:image_thumbnail", args=[image_id])
    return client.get(url, {"size": size} if size is not None else {})


def decoded(response: Any) -> Image.Image:
    image = Image.open(io.BytesIO(response.content))
    image.load()
    return image


def stored(account: ApiAccount, data: bytes, width: int, height: int, fmt: str = "JPEG") -> StoredImage:
    return image_store(account=account, data=data, format=fmt, width=width, height=height, source="file")


@pytest.mark.django_db
def test_thumbnails_of_images_stored_by_a_real_compare_call_come_in_the_three_sizes(
    client: Client, alice: tuple[ApiAccount, str]
) -> None:
    account, secret = alice
    photo = pixels("grace_hopper")  # 512 wide, 600 high
    big = cv2.resize(photo, (1536, 1800), interpolation=cv2.INTER_CUBIC)
    files = {
        "image_one_file": SimpleUploadedFile("big.jpg", encode(big)),
        "image_two_file": SimpleUploadedFile("small.png", encode(photo, "PNG")),
    }
    body = Api(client, account, secret).linkface(COMPARE, files).json()
    assert body["status"] == "OK", body
    big_id, small_id = body["image_one"]["image_one_id"], body["image_two"]["image_two_id"]
    client.force_login(account.user)

    for size, expected in (
        (None, (137, 160)),
        ("160", (137, 160)),
        ("640", (546, 640)),
        ("1280", (1092, 1280)),
    ):
        response = thumbnail(client, big_id, size)
        assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
        image = decoded(response)
        assert image.format == "JPEG" and image.size == expected, (size, image.size)
        assert "private" in response["Cache-Control"]
    # A thumbnail looks like its image: the middle of the face, compared on a small grid.
    assert _looks_alike(decoded(thumbnail(client, big_id, "640")), photo)
    # Never enlarged: the 512x600 PNG stays 512x600 at 1280, and still comes as JPEG.
    small = decoded(thumbnail(client, small_id, "1280"))
    assert small.format == "JPEG" and small.size == (512, 600)


@pytest.mark.django_db
def test_exif_orientation_is_applied(client: Client, alice: tuple[ApiAccount, str]) -> None:
    account, _ = alice
    upright = pixels("grace_hopper")  # portrait, 512x600
    sideways = cv2.rotate(upright, cv2.ROTATE_90_CLOCKWISE)  # landscape as a camera would store it
    exif = Image.Exif()
    exif[0x0112] = 8  # "rotate 90 counter-clockwise to display"
    buffer = io.BytesIO()
    Image.fromarray(sideways).save(buffer, "JPEG", exif=exif.tobytes())
    image = stored(account, buffer.getvalue(), 512, 600)
    client.force_login(account.user)
    shown = decoded(thumbnail(client, image.id, "640"))
    assert shown.size == (512, 600), "portrait, as the EXIF tag says"
    assert _looks_alike(shown, upright)


@pytest.mark.parametrize("size", ["0", "161", "abc", "-160", "1e3", " 160"])
@pytest.mark.django_db
def test_a_size_that_is_not_offered_is_a_clear_400(
    client: Client, alice: tuple[ApiAccount, str], size: str
) -> None:
    account, _ = alice
    image = stored(account, encode(pixels("astronaut")), 512, 512)
    client.force_login(account.user)
    response = thumbnail(client, image.id, size)
    assert response.status_code == 400
    assert response.content.decode() == "size must be one of 160, 640, 1280"


@pytest.mark.django_db
def test_a_decompression_bomb_is_refused_without_decoding(
    client: Client, alice: tuple[ApiAccount, str]
) -> None:
    account, _ = alice
    image = stored(account, _png_declaring(60_000, 60_000), 60_000, 60_000, "PNG")
    client.force_login(account.user)
    assert thumbnail(client, image.id).status_code == 404


@pytest.mark.django_db
def test_a_damaged_file_or_one_gone_from_storage_is_a_404_not_a_500(
    client: Client, alice: tuple[ApiAccount, str]
) -> None:
    account, _ = alice
    damaged = stored(account, encode(pixels("astronaut"))[:500], 512, 512)
    gone = stored(account, encode(pixels("astronaut")), 512, 512)
    gone.file.storage.delete(str(gone.file.name))
    client.force_login(account.user)
    assert thumbnail(client, damaged.id).status_code == 404
    assert thumbnail(client, gone.id).status_code == 404


@pytest.mark.django_db
def test_another_users_image_and_an_unknown_id_are_404(client: Client, alice: tuple[ApiAccount, str]) -> None:
    account, _ = alice
    image = stored(account, encode(pixels("astronaut")), 512, 512)
    bob, _ = account_create(username="bob")
    client.force_login(bob.user)
    for image_id in (image.id, image.id.upper(), "0" * 32, "not-an-id"):
        response = thumbnail(client, image_id)
        assert response.status_code == 404 and not response.content.startswith(b"\xff\xd8"), image_id
    assert thumbnail(client, image.id, "abc").status_code == 404, "ownership is checked first"
    client.force_login(account.user)
    assert thumbnail(client, image.id.upper()).status_code == 200


@pytest.mark.django_db
def test_a_thumbnail_needs_sign_in(client: Client, alice: tuple[ApiAccount, str]) -> None:
    account, _ = alice
    image = stored(account, encode(pixels("astronaut")), 512, 512)
    response = thumbnail(client, image.id)
    assert response.status_code == 302 and response["Location"].startswith(reverse("portal:login"))


def _looks_alike(shown: Image.Image, original: Any) -> bool:
    """Mean absolute difference on an 8x8 grey grid: small for the same picture, large when
    rotated or different."""
    grid = (8, 8)
    a = cv2.resize(cv2.cvtColor(original, cv2.COLOR_RGB2GRAY), grid, interpolation=cv2.INTER_AREA)
    b = cv2.resize(cv2.cvtColor(_rgb(shown), cv2.COLOR_RGB2GRAY), grid, interpolation=cv2.INTER_AREA)
    return float(abs(a.astype(int) - b.astype(int)).mean()) < 12


def _rgb(image: Image.Image) -> Any:
    return np.asarray(image.convert("RGB"))


def _png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares `width` x `height`: a decompression bomb's signature."""
    buffer = io.BytesIO()
    Image.new("L", (1, 1)).save(buffer, "PNG")
    data = bytearray(buffer.getvalue())
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    data[16:29] = header
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + header))
    return bytes(data)

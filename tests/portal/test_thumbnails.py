"""Thumbnails of stored images: real stored images, the three sizes, EXIF orientation, hostile
files, and only for the images' owner."""

from __future__ import annotations

import io
import struct
import time
import zlib
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path, PurePosixPath
from typing import Any

import cv2
import numpy as np
import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from accounts.models import ApiAccount
from accounts.services import account_create
from faceengine import decode, read_header
from facelab.bombs import progressive_scan_bomb
from resources import thumbnails
from resources.models import StoredImage
from resources.purge import orphan_files
from resources.services import image_preview_store, image_store
from tests.api.conftest import Api
from tests.conftest import encode, pixels
from tests.storage import exists, stored_files

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


@pytest.mark.models
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


class DecodeSpy:
    """Records the stored size of every image the thumbnails decode, and what came out."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.decoded: list[tuple[tuple[int, int], tuple[int, int]]] = []
        monkeypatch.setattr(thumbnails, "decode", self)

    def __call__(self, data: bytes, **options: Any) -> Any:
        result = decode(data, **options)
        header = read_header(data)
        self.decoded.append(((header.width, header.height), result.pixels.shape[1::-1]))
        return result

    def sides(self) -> list[int]:
        return [max(stored) for stored, _ in self.decoded]


def big_photo(fmt: str) -> bytes:
    return encode(cv2.resize(pixels("grace_hopper"), (3000, 4000), interpolation=cv2.INTER_LINEAR), fmt)


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
@pytest.mark.django_db
def test_a_large_image_is_decoded_once_for_its_preview_then_never_again(
    client: Client, alice: tuple[ApiAccount, str], monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    account, _ = alice
    image = stored(account, big_photo(fmt), 3000, 4000, fmt)
    client.force_login(account.user)
    spy = DecodeSpy(monkeypatch)
    assert thumbnail(client, image.id, "160").status_code == 200
    # The first thumbnail decodes the original once (a JPEG at half scale, not 4000 px) to
    # make the preview, then the preview for the thumbnail.
    original, preview = spy.decoded
    assert original[0] == (3000, 4000) and max(preview[0]) == thumbnails.PREVIEW_SIDE
    if fmt == "JPEG":
        assert max(original[1]) == 2000
    image.refresh_from_db()
    assert image.preview_file.name == f"images/{image.id[:2]}/{image.id}.preview.jpg"
    assert exists(image.preview_file.name)

    spy.decoded.clear()
    for size in ("160", "640", "1280", "640"):
        response = thumbnail(client, image.id, size)
        assert response.status_code == 200 and max(decoded(response).size) == int(size)
    # The 160 px one is the kept list thumbnail, made by the first request: no decode at all.
    assert spy.sides() == [thumbnails.PREVIEW_SIDE] * 3, "only the preview was decoded"
    assert _looks_alike(decoded(response), pixels("grace_hopper"))


@pytest.mark.django_db
def test_a_small_image_is_its_own_preview(client: Client, alice: tuple[ApiAccount, str]) -> None:
    account, _ = alice
    image = stored(account, encode(pixels("grace_hopper")), 512, 600)
    client.force_login(account.user)
    assert thumbnail(client, image.id, "640").status_code == 200
    image.refresh_from_db()
    assert image.preview_file.name == "" and stored_files() == [PurePosixPath(str(image.file.name))]


@pytest.mark.django_db
def test_a_preview_gone_from_storage_is_made_again(client: Client, alice: tuple[ApiAccount, str]) -> None:
    account, _ = alice
    image = stored(account, big_photo("JPEG"), 3000, 4000)
    client.force_login(account.user)
    assert thumbnail(client, image.id).status_code == 200
    image.refresh_from_db()
    image.preview_file.storage.delete(str(image.preview_file.name))
    assert thumbnail(client, image.id, "640").status_code == 200  # 160 px is kept apart
    image.refresh_from_db()
    assert exists(image.preview_file.name) and len(stored_files()) == 3


@pytest.mark.django_db
def test_a_preview_stored_by_another_request_first_is_kept_and_ours_deleted(
    alice: tuple[ApiAccount, str],
) -> None:
    account, _ = alice
    image = stored(account, big_photo("JPEG"), 3000, 4000)
    image_preview_store(image=image, data=b"theirs")
    late = StoredImage.objects.get(pk=image.pk)
    late.preview_file.name = ""  # loaded before the other request stored its preview
    image_preview_store(image=late, data=b"ours")
    image.refresh_from_db()
    assert image.preview_file.read() == b"theirs"
    assert len(stored_files()) == 2, "the image and one preview, nothing unnamed"


def with_preview(client: Client, account: ApiAccount) -> StoredImage:
    image = stored(account, big_photo("JPEG"), 3000, 4000)
    client.force_login(account.user)
    assert thumbnail(client, image.id).status_code == 200
    image.refresh_from_db()
    # The image, its preview and its kept list thumbnail.
    assert image.preview_file.name and image.thumbnail_file.name and len(stored_files()) == 3
    return image


@pytest.mark.parametrize("how", ["row", "purge", "purge_images --account", "account"])
@pytest.mark.django_db
def test_a_preview_is_deleted_with_its_image_however_the_image_goes(
    client: Client,
    alice: tuple[ApiAccount, str],
    django_capture_on_commit_callbacks: Callable[..., Any],
    how: str,
) -> None:
    account, _ = alice
    image = with_preview(client, account)
    with django_capture_on_commit_callbacks(execute=True):
        if how == "row":
            image.delete()
        elif how == "purge":
            StoredImage.objects.filter(pk=image.pk).update(created_at=timezone.now() - timedelta(days=31))
            call_command("purge_images", stdout=io.StringIO())
        elif how == "purge_images --account":
            call_command("purge_images", "--account", account.api_id, stdout=io.StringIO())
        else:
            account.user.delete()
    assert not StoredImage.objects.filter(pk=image.pk).exists()
    assert stored_files() == []


@pytest.mark.django_db
def test_a_preview_whose_row_is_gone_is_swept_as_an_orphan(
    client: Client, alice: tuple[ApiAccount, str]
) -> None:
    account, _ = alice
    image = with_preview(client, account)
    StoredImage.objects.filter(pk=image.pk)._raw_delete(StoredImage.objects.db)  # no signal: as a crash
    later = timezone.now() + timedelta(minutes=11)
    assert set(orphan_files(now=later)) == {
        image.file.name,
        image.preview_file.name,
        image.thumbnail_file.name,
    }


@pytest.mark.django_db
def test_a_stored_scan_bomb_is_refused_at_once(client: Client, alice: tuple[ApiAccount, str]) -> None:
    """Stored before the decoder was bounded: its thumbnails took 19 to 40 s each."""
    account, _ = alice
    image = stored(account, progressive_scan_bomb(1_000), 4000, 4000)
    client.force_login(account.user)
    started = time.process_time()
    assert thumbnail(client, image.id).status_code == 404
    assert time.process_time() - started < 1.0

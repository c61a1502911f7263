"""Thumbnails of stored images (and of the images kept with the call history), for the portal
and the admin alike: read through the storage API (local disk or S3), decoded by the engine's
one loader (its work budget checked before any pixel, EXIF orientation applied, big JPEGs
decoded at reduced scale), then shrunk and sent as JPEG.

An image larger than PREVIEW_SIDE is never decoded again once it has been shown: the first
thumbnail stores a preview (a JPEG of PREVIEW_SIDE px, the largest size offered) beside it,
and every thumbnail after that is made from the preview. That first decode is bounded like
any other (a 4000x3000 JPEG decodes at half scale); making the preview then rather than when
the image is stored keeps its cost off the API calls, whose images are mostly never shown.
The list thumbnail (DEFAULT_SIZE, the one pages show by the dozen) is kept as well, once made:
a page of thumbnails is then a page of file reads, with no decode.

They live with storage, so that the portal and the admin show stored images through
thumbnail_response and neither needs the engine (only this module decodes).
"""

from __future__ import annotations

import io

from django.db.models.fields.files import FieldFile
from django.http import HttpResponse
from django.utils.cache import patch_cache_control
from PIL import Image

from faceengine import ImageTooLarge, UnreadableImage, decode
from resources.models import CallImage, StoredImage
from resources.services import image_preview_store, image_thumbnail_store

SIZES = (160, 640, 1280)  # longest side; 1280 is what the try-it pages draw face boxes on
DEFAULT_SIZE = 160
# What thumbnails are made of: a stored image, or an image kept with a call's history.
Shown = StoredImage | CallImage
PREVIEW_SIDE = max(SIZES)
JPEG_QUALITY = 85
PREVIEW_QUALITY = 90  # it is shrunk and encoded once more for every thumbnail


class ThumbnailUnavailable(Exception):
    """The image cannot be shown: `missing` when its file is gone from storage, else it is
    unreadable or too large to decode. Neutral, so that callers need not know the engine."""

    def __init__(self, *, missing: bool) -> None:
        super().__init__("missing from storage" if missing else "unreadable")
        self.missing = missing


class ThumbnailSizeError(ValueError):
    def __init__(self) -> None:
        super().__init__(f"size must be one of {', '.join(map(str, SIZES))}")


def thumbnail_size(raw: str | None) -> int:
    """The size asked for in `?size=`, the default when absent."""
    if raw is None or raw == "":
        return DEFAULT_SIZE
    if not raw.isdigit() or int(raw) not in SIZES:
        raise ThumbnailSizeError
    return int(raw)


def thumbnail_of(image: Shown, size: int) -> bytes:
    """JPEG whose longest side is `size` (never enlarged). Raises OSError when the file is
    gone from storage and the engine's UnreadableImage / ImageTooLarge when it cannot be shown."""
    if size == DEFAULT_SIZE and isinstance(image, StoredImage):  # a call's copy keeps none
        return _list_thumbnail(image)
    return jpeg_thumbnail(_source(image), size)


def _list_thumbnail(image: StoredImage) -> bytes:
    """The kept list thumbnail, made now if it has none yet (or its file is gone)."""
    if image.thumbnail_file.name:
        try:
            return _read(image.thumbnail_file)
        except OSError:
            pass  # deleted behind the row's back: made again below
    data = jpeg_thumbnail(_source(image), DEFAULT_SIZE)
    image_thumbnail_store(image=image, data=data, replacing=image.thumbnail_file.name or "")
    return data


def thumbnail_response(image: Shown, size: int, *, max_age: int) -> HttpResponse:
    """The JPEG thumbnail as a response the browser may keep for itself only (an image id
    never gets other pixels, but it is a customer's image). Raises ThumbnailUnavailable."""
    try:
        data = thumbnail_of(image, size)
    except OSError as exc:  # the row is there but the file is gone from storage
        raise ThumbnailUnavailable(missing=True) from exc
    except (UnreadableImage, ImageTooLarge) as exc:
        raise ThumbnailUnavailable(missing=False) from exc
    response = HttpResponse(data, content_type="image/jpeg")
    patch_cache_control(response, private=True, max_age=max_age)
    return response


def source_bytes(image: StoredImage) -> bytes:
    """What every picture of `image` is made from, face crops included (resources/crops.py):
    the image itself when small, else its preview. Raises OSError when a file is gone."""
    return _source(image)


def _source(image: Shown) -> bytes:
    """What thumbnails of `image` are made from: the image itself when it is small, else its
    preview, made now if it has none yet (or its file is gone)."""
    if max(image.width, image.height) <= PREVIEW_SIDE:
        return _read(image.file)
    if image.preview_file.name:
        try:
            return _read(image.preview_file)
        except OSError:
            pass  # deleted behind the row's back: made again below
    preview = jpeg_thumbnail(_read(image.file), PREVIEW_SIDE, quality=PREVIEW_QUALITY)
    image_preview_store(image=image, data=preview, replacing=image.preview_file.name or "")
    return preview


def _read(file: FieldFile) -> bytes:
    with file.open("rb") as handle:
        return bytes(handle.read())


def jpeg_thumbnail(data: bytes, size: int, *, quality: int = JPEG_QUALITY) -> bytes:
    # decode() may hand back a JPEG reduced only to the nearest DCT scale above `size`.
    picture = Image.fromarray(decode(data, max_side=size).pixels)
    picture.thumbnail((size, size), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=quality, optimize=True)
    return buffer.getvalue()

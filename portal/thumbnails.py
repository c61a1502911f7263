"""Thumbnails of stored images: read through the storage API (local disk or S3), decoded by
the engine's one loader (header checked before any pixel, decompression bombs refused, EXIF
orientation applied, big JPEGs decoded at reduced scale), then shrunk and sent as JPEG."""

from __future__ import annotations

import io

from PIL import Image

from identity.engine import decode
from resources.models import StoredImage

SIZES = (160, 640, 1280)  # longest side; 1280 is what the try-it pages draw face boxes on
DEFAULT_SIZE = 160
JPEG_QUALITY = 85


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


def thumbnail_of(image: StoredImage, size: int) -> bytes:
    """JPEG whose longest side is `size` (never enlarged). Raises OSError when the file is
    gone from storage and the engine's UnreadableImage / ImageTooLarge when it cannot be shown."""
    with image.file.open("rb") as handle:
        data = handle.read()
    return jpeg_thumbnail(data, size)


def jpeg_thumbnail(data: bytes, size: int) -> bytes:
    # decode() may hand back a JPEG reduced only to the nearest DCT scale above `size`.
    picture = Image.fromarray(decode(data, max_side=size).pixels)
    picture.thumbnail((size, size), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return buffer.getvalue()

"""Face crops of stored images, for the portal's and the admin's face-set pages: the square
around a face's box, made from the same source as thumbnails (resources/thumbnails.py: the
image itself when small, else its stored preview), so that a crop never decodes a big image
again once it has been shown. The box is in the original's pixels (after EXIF orientation,
as the engine saw it); the preview is the same picture scaled, so the box scales with it.
"""

from __future__ import annotations

import io
import math

from django.http import HttpResponse
from django.utils.cache import patch_cache_control
from PIL import Image

from faceengine import ImageTooLarge, UnreadableImage, decode
from resources import thumbnails
from resources.models import StoredImage

CROP_SIDE = 160  # the crop's side in px (never enlarged beyond what the source holds)
# Room kept around the box on each side, as a share of its longer side: the whole head shows.
MARGIN = 0.25


def valid_box(box: object) -> tuple[float, float, float, float] | None:
    """[x, y, width, height] with a positive, finite size; anything else is no box."""
    if not isinstance(box, list | tuple) or len(box) != 4:
        return None
    if not all(isinstance(value, int | float) and not isinstance(value, bool) for value in box):
        return None
    x, y, w, h = (float(value) for value in box)
    if not all(math.isfinite(value) for value in (x, y, w, h)) or w <= 0 or h <= 0:
        return None
    return x, y, w, h


def crop_square(
    box: tuple[float, float, float, float], scale: float, width: int, height: int
) -> tuple[int, int, int, int] | None:
    """(left, top, right, bottom) in the source's pixels: the box's centred square with its
    margin, scaled and clipped to the source; None when nothing of it is inside."""
    x, y, w, h = box
    side = max(w, h) * (1 + 2 * MARGIN)
    cx, cy = x + w / 2, y + h / 2
    left = max(0, math.floor((cx - side / 2) * scale))
    top = max(0, math.floor((cy - side / 2) * scale))
    right = min(width, math.ceil((cx + side / 2) * scale))
    bottom = min(height, math.ceil((cy + side / 2) * scale))
    if right - left < 1 or bottom - top < 1:
        return None
    return left, top, right, bottom


def face_crop(image: StoredImage, box: object) -> bytes:
    """The JPEG crop of the face at `box`. Raises ThumbnailUnavailable: missing when the file
    is gone from storage, else for an unreadable image or a box outside it."""
    shape = valid_box(box)
    if shape is None:
        raise thumbnails.ThumbnailUnavailable(missing=False)
    try:
        source = thumbnails.source_bytes(image)
        pixels = decode(source).pixels
    except OSError as exc:
        raise thumbnails.ThumbnailUnavailable(missing=True) from exc
    except (UnreadableImage, ImageTooLarge) as exc:
        raise thumbnails.ThumbnailUnavailable(missing=False) from exc
    height, width = pixels.shape[:2]
    # The source keeps the original's proportions: one scale for both axes.
    scale = width / max(image.width, 1)
    square = crop_square(shape, scale, width, height)
    if square is None:
        raise thumbnails.ThumbnailUnavailable(missing=False)
    left, top, right, bottom = square
    picture = Image.fromarray(pixels[top:bottom, left:right])
    picture.thumbnail((CROP_SIDE, CROP_SIDE), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=thumbnails.JPEG_QUALITY, optimize=True)
    return buffer.getvalue()


def crop_response(image: StoredImage, box: object, *, max_age: int) -> HttpResponse:
    """The crop as a response the browser keeps for itself only, like a thumbnail: a face id
    never gets another box or photo, but it is a customer's face."""
    response = HttpResponse(face_crop(image, box), content_type="image/jpeg")
    patch_cache_control(response, private=True, max_age=max_age)
    return response

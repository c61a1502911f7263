"""Decoding image bytes into RGB pixels, safely and cheaply.

Every image of every endpoint goes through `decode`. Before Pillow reads a byte, the file's
structure is walked (`decodework`): what the decode will cost (pixels, samples, JPEG scans,
PNG chunks, ...) is bounded there, so that decompression bombs, scan bombs and absurd headers
cost almost nothing. Then the header is read and refused when it is not a supported format
or declares too many pixels. EXIF orientation is applied; GIF and TIFF give their first
frame, MPO (a multi-picture JPEG, as phone cameras write) its first picture, as a JPEG.
JPEGs can be decoded directly at a reduced scale (libjpeg's DCT scaling), which is what
makes a 4000x3000 photo cheap to analyse; other formats are reduced by whole factors
before they are converted, which costs a tenth of converting them at full size.
"""

from __future__ import annotations

import io
import struct
import warnings
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageFile

from faceengine.decodework import MAX_PIXELS, Work, image_work
from faceengine.errors import ImageTooLarge, UnreadableImage
from faceengine.stages import timed

SUPPORTED_FORMATS = frozenset({"JPEG", "MPO", "PNG", "BMP", "GIF", "TIFF"})
# What each format Pillow names is reported as: an MPO is a JPEG with more pictures after it.
_FAMILY = {"MPO": "JPEG"}
DEFAULT_MAX_PIXELS = MAX_PIXELS  # the engine's own guard (decodework)
# Longest side of the copy the engine analyses. 1000 lets libjpeg decode a 4000x3000
# photo at 1/4 scale (13 ms instead of 95 ms at full size); faces stay large enough for
# the 150 px embedding chip unless they are under 1/7 of the photo's longer side.
ANALYSIS_SIDE = 1000

# Truncated files must fail, not decode into half-grey images.
ImageFile.LOAD_TRUNCATED_IMAGES = False

_EXIF_ORIENTATION_TAG = 0x0112
MAX_EXIF_BYTES = 65_535
_TRANSPOSE_FOR_ORIENTATION = {
    2: (Image.Transpose.FLIP_LEFT_RIGHT,),
    3: (Image.Transpose.ROTATE_180,),
    4: (Image.Transpose.FLIP_TOP_BOTTOM,),
    5: (Image.Transpose.TRANSPOSE,),
    6: (Image.Transpose.ROTATE_270,),
    7: (Image.Transpose.TRANSVERSE,),
    8: (Image.Transpose.ROTATE_90,),
}

RGBImage = NDArray[np.uint8]


@dataclass(frozen=True)
class ImageHeader:
    format: str  # JPEG for MPO
    width: int  # as stored, before EXIF orientation
    height: int
    scan_blocks: int = 0  # JPEG: 8x8 blocks its scans visit (decodework), for budgets over many images


@dataclass(frozen=True)
class DecodedImage:
    """RGB pixels (H x W x 3, uint8), possibly a reduced copy of the full image.

    `width` and `height` are the full image's size after EXIF orientation; `scale` is
    how much smaller `pixels` is, so coordinates found on `pixels` divide by it.
    """

    pixels: RGBImage
    format: str
    width: int
    height: int

    @property
    def scale(self) -> float:
        return self.pixels.shape[1] / self.width


def _work(data: bytes) -> Work | None:
    try:
        return image_work(data)
    except (struct.error, IndexError, ValueError) as exc:  # a header shorter than it says
        raise UnreadableImage("image header is damaged") from exc


def _open(data: bytes) -> tuple[Image.Image, str, Work]:
    """The opened image (nothing decoded yet), its format as reported (MPO is JPEG) and
    what decoding it will cost."""
    work = _work(data)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # Pillow's own guard (over ~89 Mpx declared) fires before the size is exposed.
        raise ImageTooLarge(None, None, DEFAULT_MAX_PIXELS) from exc
    except Exception as exc:  # Pillow raises many types for garbage input
        raise UnreadableImage("not a decodable image") from exc
    if image.format not in SUPPORTED_FORMATS:
        raise UnreadableImage(f"unsupported image format {image.format or 'unknown'}")
    family = _FAMILY.get(image.format, image.format)
    if work is None or work.format != family:
        # Pillow recognised a file that the structure walk did not: never decode unchecked.
        raise UnreadableImage(f"unexpected {image.format} structure")
    return image, family, work


def read_header(data: bytes) -> ImageHeader:
    """Format and stored size, from the header only (after the structure walk)."""
    image, family, work = _open(data)
    return ImageHeader(format=family, width=image.width, height=image.height, scan_blocks=work.scan_blocks)


def _orientation(image: Image.Image) -> int:
    # Pillow parses EXIF tags in Python: a block larger than a JPEG can carry (64 KB; a PNG's
    # eXIf chunk or text profile can be megabytes of tags) is ignored rather than parsed.
    raw = image.info.get("exif") or image.info.get("Raw profile type exif") or b""
    if len(raw) > MAX_EXIF_BYTES * (2 if "exif" not in image.info else 1):  # the profile is hex
        return 1
    try:
        value = image.getexif().get(_EXIF_ORIENTATION_TAG, 1)
    except Exception:  # a damaged EXIF block must not make the image unreadable
        return 1
    return value if isinstance(value, int) else 1


def _to_rgb_array(image: Image.Image) -> RGBImage:
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        # High-bit-depth greyscale (TIFF): stretch to 8 bits rather than clip.
        values = np.asarray(image, dtype=np.float32)
        top = float(values.max()) or 1.0
        grey = np.clip(values * (255.0 / top), 0, 255).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(grey[:, :, None], 3, axis=2))
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        # Transparent areas become white, as a viewer would show them (pasting through the
        # alpha gives alpha compositing's pixels at half its cost).
        rgba = image if image.mode == "RGBA" else image.convert("RGBA")
        image = Image.new("RGB", rgba.size, (255, 255, 255))
        image.paste(rgba, mask=rgba.getchannel("A"))
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    return np.ascontiguousarray(np.asarray(rgb, dtype=np.uint8))


@timed("decode")
def decode(data: bytes, *, max_side: int | None = None, max_pixels: int = DEFAULT_MAX_PIXELS) -> DecodedImage:
    """Decode to RGB, EXIF orientation applied.

    With `max_side`, the result may be a reduced copy whose longer side is at least
    `max_side` (JPEG, decoded at reduced scale) or exactly `max_side` (other formats,
    resized after decoding); smaller images are never enlarged.
    """
    image, family, _ = _open(data)  # at the first frame / page / picture
    width, height = image.size
    if width * height > max_pixels:
        raise ImageTooLarge(width, height, max_pixels)
    jpeg = family == "JPEG"
    if max_side and jpeg and max(width, height) > max_side:
        ratio = max_side / max(width, height)
        image.draft("RGB", (max(1, int(width * ratio + 0.5)), max(1, int(height * ratio + 0.5))))
    try:
        image.load()
        # After loading: a PNG may keep its EXIF after the pixels, and Pillow would load
        # them inside getexif(), where a failure would be hidden.
        orientation = _orientation(image)
        pixels = _to_rgb_array(image if jpeg else _reduced(image, max_side))
    except (ImageTooLarge, UnreadableImage):
        raise
    except Exception as exc:  # truncated data, broken compression streams, ...
        raise UnreadableImage("image data is damaged or truncated") from exc

    if orientation in _TRANSPOSE_FOR_ORIENTATION:
        rotated = Image.fromarray(pixels)
        for step in _TRANSPOSE_FOR_ORIENTATION[orientation]:
            rotated = rotated.transpose(step)
        pixels = np.ascontiguousarray(np.asarray(rotated))
        if orientation >= 5:
            width, height = height, width

    if max_side and max(pixels.shape[:2]) > max_side and not jpeg:
        pixels = _shrink(pixels, max_side)
    return DecodedImage(pixels=pixels, format=family, width=width, height=height)


def _reduced(image: Image.Image, max_side: int | None) -> Image.Image:
    """`image` reduced by the largest whole factor that keeps its longer side at least
    `max_side` (a box filter, like the INTER_AREA resize that follows). Converting a
    4000x4000 PNG to an RGB array costs 140 ms at full size and 10 ms at 1000 px."""
    factor = max(image.size) // max_side if max_side else 1
    if factor < 2:
        return image
    if image.mode in ("RGBA", "LA"):
        # Premultiplied, so that transparent pixels do not bleed their colour.
        rgba = image.convert("RGBA") if image.mode == "LA" else image
        return rgba.convert("RGBa").reduce(factor).convert("RGBA")
    if image.mode in ("RGB", "L", "I", "F", "CMYK"):
        return image.reduce(factor)
    return image  # palette and bilevel images are converted first (_to_rgb_array)


def _shrink(pixels: RGBImage, max_side: int) -> RGBImage:
    h, w = pixels.shape[:2]
    ratio = max_side / max(h, w)
    size = (max(1, round(w * ratio)), max(1, round(h * ratio)))
    return np.ascontiguousarray(cv2.resize(pixels, size, interpolation=cv2.INTER_AREA))


def from_array(pixels: RGBImage) -> DecodedImage:
    """Wrap pixels that are already decoded (tests, benchmarks, video frames)."""
    if pixels.ndim != 3 or pixels.shape[2] != 3 or pixels.dtype != np.uint8:
        raise UnreadableImage("expected an H x W x 3 uint8 RGB array")
    h, w = pixels.shape[:2]
    return DecodedImage(pixels=np.ascontiguousarray(pixels), format="RAW", width=w, height=h)

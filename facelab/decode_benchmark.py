"""What decoding costs, normal photos against the bomb family (figures, never asserts).

Each case is decoded as every endpoint decodes an image: `read_header`, then `decode` at
ANALYSIS_SIDE. Times are CPU milliseconds of this process (one thread: Pillow decodes on the
calling thread), so that other work on the machine does not inflate them.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from faceengine.errors import EngineError
from faceengine.imageio import ANALYSIS_SIDE, decode, read_header
from facelab import bombs, testdata
from facelab.benchmark import jpeg_at


@dataclass(frozen=True)
class DecodeTiming:
    group: str  # "photo", "at the limits" or "bomb"
    name: str
    kilobytes: float
    median_ms: float
    outcome: str  # the decoded size, or the refusal and its reason


def _photo(size: tuple[int, int], fmt: str = "JPEG", **options: object) -> bytes:
    """The astronaut photo at `size`, with a little sensor noise so that it compresses like a
    photo rather than like a smooth upscale."""
    pixels = np.asarray(Image.open(io.BytesIO(testdata.photo_bytes("astronaut"))).convert("RGB"))
    pixels = cv2.resize(pixels, size, interpolation=cv2.INTER_LINEAR)
    noise = np.random.default_rng(0).normal(0, 4, pixels.shape)
    noisy = np.clip(pixels + noise, 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(noisy).save(buffer, fmt, **options)
    return buffer.getvalue()


PHOTOS: dict[str, Callable[[], bytes]] = {
    "JPEG 640x480": lambda: jpeg_at("grace_hopper", (640, 480)),
    "JPEG 4000x3000": lambda: _photo((4000, 3000), quality=90),
    "JPEG 4000x3000 progressive": lambda: _photo((4000, 3000), quality=90, progressive=True),
    "JPEG 4000x3000 progressive 4:4:4": lambda: _photo(
        (4000, 3000), quality=90, progressive=True, subsampling=0
    ),
    "PNG 1500x1000": lambda: _photo((1500, 1000), "PNG"),
}
# The costliest files each limit still lets through.
AT_THE_LIMITS: dict[str, Callable[[], bytes]] = {
    "JPEG 4000x4000, 26 empty scans (6 M block visits)": lambda: bombs.progressive_scan_bomb(26),
    "JPEG 1000x1000, 64 empty scans": lambda: bombs.progressive_scan_bomb(64, (1000, 1000)),
    "PNG 4000x4000 RGB, flat": lambda: bombs.png_flat(4000, 4000),
    "PNG 4000x4000 RGBA, flat (64 MB of samples)": lambda: bombs.png_flat(4000, 4000, colour=6),
    "PNG 16x16, 9,990 chunks": lambda: bombs.png_chunk_bomb(9_990),
    "PNG 16x16, 16 ICC profiles inflating to 1 MB": lambda: bombs.png_metadata_bomb(16),
    "PNG 16x16, EXIF of 65,535 tags (ignored)": lambda: bombs.png_exif_bomb(65_535),
    "BMP RLE8 640x480 of end-of-lines": lambda: bombs.bmp_rle(640, 480),
    "TIFF 4000x4000 deflate, flat": lambda: _flat_tiff(4000, 4000),
}


def _flat_tiff(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (90, 120, 150)).save(buffer, "TIFF", compression="tiff_adobe_deflate")
    return buffer.getvalue()


def _analyse(data: bytes) -> str:
    try:
        read_header(data)
        image = decode(data, max_side=ANALYSIS_SIDE)
    except EngineError as error:
        return f"{type(error).__name__}: {error}"
    return f"decoded, {image.pixels.shape[1]}x{image.pixels.shape[0]} for analysis"


def _median_cpu_ms(data: bytes, repeat: int) -> tuple[float, str]:
    outcome = _analyse(data)  # warm-up
    samples = []
    for _ in range(repeat):
        started = time.process_time()
        _analyse(data)
        samples.append((time.process_time() - started) * 1000)
    return float(np.median(samples)), outcome


def run(repeat: int = 5) -> Iterator[DecodeTiming]:
    groups = (("photo", PHOTOS), ("at the limits", AT_THE_LIMITS), ("bomb", bombs.BOMBS))
    for group, cases in groups:
        for name, make in cases.items():
            data = make()
            median, outcome = _median_cpu_ms(data, repeat)
            yield DecodeTiming(group, name, len(data) / 1024, median, outcome)

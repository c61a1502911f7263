"""The decoder's work budget: every bomb of the family is refused from its structure, with a
reason that says what was over, in far less time than a normal photo takes; the costliest
files that are accepted still decode in well under a second; real files pass the walk."""

from __future__ import annotations

import contextlib
import io
import re
import struct
import time
from collections.abc import Callable

import cv2
import numpy as np
import pytest
from PIL import Image

from faceengine import ImageTooCostly, ImageTooLarge, UnreadableImage, decode, read_header
from faceengine.decodework import image_work
from faceengine.imageio import ANALYSIS_SIDE
from faceengine.jpegwork import MAX_SCAN_BLOCKS, jpeg_work
from facelab import bombs
from tests.conftest import pixels

# A generous bound: the bombs took 6 s to 60 s before; refusing one takes about a millisecond.
BOUND_SECONDS = 1.0

REFUSALS: dict[str, tuple[type[Exception], str]] = {
    "jpeg: 1,000 empty scans, 4000x4000": (ImageTooCostly, "JPEG has more than 64 scans"),
    "jpeg: 15,000 empty scans, 4000x4000": (ImageTooCostly, "JPEG has more than 64 scans"),
    "jpeg: 100,000 COM segments": (ImageTooCostly, "more than 1024 marker segments"),
    "jpeg: declares 60000x60000": (ImageTooLarge, "60000x60000 pixels exceeds"),
    "mpo: declares 60000x60000": (ImageTooLarge, "60000x60000 pixels exceeds"),
    "png: declares 60000x60000": (ImageTooLarge, "60000x60000 pixels exceeds"),
    "png: 4000x4000 RGBA 16-bit in 120 KB": (ImageTooLarge, "122 MB of decoded samples, at most 64 MB"),
    "png: 300,000 text chunks": (ImageTooCostly, "PNG has more than 10,000 chunks"),
    "png: 1,000 compressed ICC profiles": (ImageTooCostly, "PNG has more than 16 compressed metadata chunks"),
    "gif: 2,000,000 extension blocks": (
        ImageTooCostly,
        "GIF has more than 4,096 extension blocks before its frame",
    ),
    "gif: frame declares 60000x60000": (ImageTooLarge, "60000x60000 pixels exceeds"),
    "bmp: RLE8 4000x4000 of end-of-lines": (ImageTooLarge, "RLE-compressed BMP over 307,200 pixels"),
    "bmp: RLE4 4000x4000 of end-of-lines": (ImageTooLarge, "RLE-compressed BMP over 307,200 pixels"),
    "bmp: declares 60000x60000": (ImageTooLarge, "60000x60000 pixels exceeds"),
    "tiff: 65,000 tags": (ImageTooCostly, "TIFF directory has 65,000 tags, at most 1,024"),
    "tiff: declares 200000x200000": (ImageTooLarge, "200000x200000 pixels exceeds"),
}


def cpu_seconds(work: Callable[[], object]) -> float:
    started = time.process_time()
    with contextlib.suppress(UnreadableImage, ImageTooLarge):
        work()
    return time.process_time() - started


def analysed(data: bytes) -> object:
    """What the service does with an image: the header first, then a reduced decode."""
    read_header(data)
    return decode(data, max_side=ANALYSIS_SIDE)


def test_every_bomb_of_the_family_has_its_refusal_reason() -> None:
    assert set(REFUSALS) == set(bombs.BOMBS)


@pytest.mark.parametrize("name", sorted(bombs.BOMBS))
def test_a_bomb_is_refused_from_its_structure_at_once(name: str) -> None:
    data = bombs.BOMBS[name]()
    error, reason = REFUSALS[name]
    for read in (read_header, decode):
        with pytest.raises(error, match=re.escape(reason)):
            read(data)
    assert cpu_seconds(lambda: analysed(data)) < BOUND_SECONDS


@pytest.mark.parametrize(
    ("name", "make"),
    [
        ("26 empty scans, 6 M block visits", lambda: bombs.progressive_scan_bomb(26)),
        ("64 empty scans at 1000x1000", lambda: bombs.progressive_scan_bomb(64, (1000, 1000))),
        ("1,000 COM segments", lambda: bombs.jpeg_segment_bomb(1_000)),
        ("JPEG data of 16x16 declaring 4000x4000", lambda: bombs.jpeg_declaring(4000, 4000)),
        ("MPO declaring 4000x4000", lambda: bombs.mpo_declaring(4000, 4000)),
        ("flat 4000x4000 RGB PNG", lambda: bombs.png_flat(4000, 4000)),
        ("flat 4000x4000 RGBA PNG", lambda: bombs.png_flat(4000, 4000, colour=6)),
        ("flat 4000x2000 16-bit RGBA PNG", lambda: bombs.png_flat(4000, 2000, colour=6, depth=16)),
        ("9,990 PNG chunks", lambda: bombs.png_chunk_bomb(9_990)),
        ("16 compressed ICC profiles", lambda: bombs.png_metadata_bomb(16)),
        ("EXIF of 65,535 tags", lambda: bombs.png_exif_bomb(65_535)),
        ("GIF frame declaring 4000x4000", lambda: bombs.gif_declaring(4000, 4000)),
        ("4,000 GIF extension blocks", lambda: bombs.gif_extension_bomb(4_000)),
        ("RLE8 BMP of 640x480", lambda: bombs.bmp_rle(640, 480)),
        ("BMP declaring 4000x4000", lambda: bombs.bmp_declaring(4000, 4000)),
        ("TIFF declaring 4000x4000", lambda: bombs.tiff_declaring(4000, 4000)),
        ("TIFF of 1,000 tags", lambda: bombs.tiff_tag_bomb(1_000)),
    ],
)
def test_the_costliest_files_within_the_limits_decode_in_well_under_a_second(
    name: str, make: Callable[[], bytes]
) -> None:
    data = make()
    assert cpu_seconds(lambda: analysed(data)) < BOUND_SECONDS, name


def test_the_scan_budget_is_counted_in_blocks_visited() -> None:
    at_budget = jpeg_work(bombs.progressive_scan_bomb(26))
    assert (at_budget.scans, at_budget.scan_blocks) == (26, MAX_SCAN_BLOCKS)
    with pytest.raises(ImageTooCostly, match="27 scans would visit 6,250,000 blocks, at most 6,000,000"):
        decode(bombs.progressive_scan_bomb(27))


def jpeg(array: np.ndarray, **options: object) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, "JPEG", **options)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("options", "scans"),
    [
        ({}, 1),
        ({"progressive": True}, 10),
        ({"progressive": True, "subsampling": 0}, 10),
        ({"progressive": True, "optimize": True}, 10),
    ],
)
def test_real_jpegs_are_walked_as_libjpeg_reads_them(options: dict[str, object], scans: int) -> None:
    photo = cv2.resize(pixels("astronaut"), (4000, 3000), interpolation=cv2.INTER_LINEAR)
    work = jpeg_work(jpeg(photo, quality=90, **options))
    assert (work.width, work.height, work.components, work.scans) == (4000, 3000, 3, scans)
    assert work.scan_blocks < MAX_SCAN_BLOCKS


def test_a_greyscale_progressive_jpeg_has_six_scans() -> None:
    grey = np.ascontiguousarray(pixels("astronaut")[:, :, 0])
    assert jpeg_work(jpeg(grey, progressive=True)).scans == 6


def test_restart_markers_and_an_embedded_thumbnail_are_not_segments_or_scans() -> None:
    data = jpeg(cv2.resize(pixels("astronaut"), (640, 640)), restart_marker_blocks=1)
    # A restart marker after every MCU: 1,599, more of them than the segment limit.
    assert sum(data.count(bytes([0xFF, 0xD0 + n])) for n in range(8)) > 1024
    # An EXIF block carrying a progressive thumbnail: its scans are inside a segment.
    thumbnail = jpeg(np.zeros((64, 64, 3), np.uint8), progressive=True)
    exif = b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\x00\x00\x00\x00\x00\x00" + thumbnail
    data = data[:2] + b"\xff\xe1" + struct.pack(">H", len(exif) + 2) + exif + data[2:]
    assert jpeg_work(data).scans == 1
    assert decode(data).pixels.shape == (640, 640, 3)


def test_garbage_between_segments_is_skipped_as_libjpeg_skips_it() -> None:
    data = jpeg(pixels("astronaut"))
    padded = data[:2] + b"\x00\x00garbage" + data[2:]
    assert jpeg_work(padded).scans == 1


def test_only_the_first_picture_of_an_mpo_is_counted() -> None:
    data = bombs.mpo([np.zeros((64, 64, 3), np.uint8)] * 3, progressive=True)
    assert data.count(b"\xff\xda") > 10
    assert jpeg_work(data).scans == 10


def test_lossless_and_hierarchical_jpegs_are_refused() -> None:
    data = bytearray(jpeg(pixels("astronaut")))
    data[data.index(b"\xff\xc0") + 1] = 0xC3
    with pytest.raises(UnreadableImage, match="unsupported JPEG process"):
        read_header(bytes(data))


def test_a_tiff_compressed_as_jpeg_is_refused() -> None:
    buffer = io.BytesIO()
    Image.fromarray(pixels("astronaut")).save(buffer, "TIFF", compression="jpeg")
    with pytest.raises(UnreadableImage, match="TIFF compression 7 is not supported"):
        read_header(buffer.getvalue())


@pytest.mark.parametrize("compression", ["raw", "tiff_lzw", "tiff_adobe_deflate", "packbits"])
def test_tiffs_of_the_usual_compressions_are_accepted(compression: str) -> None:
    buffer = io.BytesIO()
    Image.fromarray(pixels("astronaut")).save(buffer, "TIFF", compression=compression)
    assert decode(buffer.getvalue()).pixels.shape == (512, 512, 3)


def test_an_animated_png_is_counted_up_to_its_second_frame() -> None:
    frames = [Image.new("RGB", (8, 8), (i % 256, 0, 0)) for i in range(6_000)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "PNG", save_all=True, append_images=frames[1:])
    assert buffer.getvalue().count(b"fdAT") > 5_000  # 12,000 chunks in all
    assert tuple(decode(buffer.getvalue()).pixels[4, 4]) == (0, 0, 0)


def test_an_exif_block_larger_than_a_jpeg_can_carry_is_not_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    parsed: list[int] = []

    def getexif(self: Image.Image) -> Image.Exif:
        parsed.append(1)
        return Image.Exif()

    monkeypatch.setattr(Image.Image, "getexif", getexif)
    decode(bombs.png_exif_bomb(65_535))
    assert parsed == []
    decode(bombs.png_exif_bomb(100))
    assert parsed == [1]


def test_samples_are_counted_from_the_header() -> None:
    work = image_work(bombs.png_flat(100, 50, colour=6, depth=16))
    assert work is not None and (work.format, work.sample_bytes) == ("PNG", 100 * 50 * 8)
    assert image_work(b"RIFF....WEBP") is None  # not ours: Pillow names it, imageio refuses it

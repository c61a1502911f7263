"""Hostile images made in code, for the tests and `benchmark_decode`: nothing is committed.

Each builder returns the bytes of one file that costs a naive decoder far more than its size
suggests: a progressive JPEG whose scans code nothing, headers declaring huge sizes over a
few bytes, structures repeated until Pillow's Python parsers drown. `BOMBS` names a family
of them; `decodework` must refuse or bound every one.
"""

from __future__ import annotations

import io
import re
import struct
import zlib
from collections.abc import Callable

import numpy as np
from PIL import Image

__all__ = [
    "BOMBS",
    "bmp_declaring",
    "bmp_rle",
    "gif_declaring",
    "gif_extension_bomb",
    "jpeg_declaring",
    "jpeg_segment_bomb",
    "mpo",
    "mpo_declaring",
    "png_chunk_bomb",
    "png_declaring",
    "png_exif_bomb",
    "png_flat",
    "png_metadata_bomb",
    "progressive_scan_bomb",
    "tiff_declaring",
    "tiff_tag_bomb",
]


def _saved(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


_SCAN = re.compile(rb"\xff\xda")


def progressive_scan_bomb(scans: int, size: tuple[int, int] = (4000, 4000)) -> bytes:
    """A flat progressive JPEG whose last scan (a refinement of the luma's AC coefficients,
    the costliest kind) is repeated until the file has `scans` scans. Each repeat is a few
    dozen bytes; libjpeg visits every luma block again for each (12 ms at 4000x4000)."""
    data = _saved(Image.new("RGB", size, (128, 128, 128)), "JPEG", progressive=True, quality=90)
    last = [m.start() for m in _SCAN.finditer(data)][-1]
    end = len(data) - 2  # the scan runs up to EOI
    repeats = scans - len(_SCAN.findall(data))
    return data[:end] + data[last:end] * max(0, repeats) + data[end:]


def jpeg_segment_bomb(segments: int) -> bytes:
    """A 16x16 JPEG with `segments` empty COM segments before its frame header: 4 bytes each,
    each a Python call in Pillow's header parser."""
    data = _saved(Image.new("RGB", (16, 16), "white"), "JPEG")
    return data[:2] + b"\xff\xfe\x00\x02" * segments + data[2:]


def jpeg_declaring(width: int, height: int) -> bytes:
    """A 16x16 baseline JPEG whose frame header declares `width` x `height`: the scan data
    of 16x16 pixels for a frame of millions."""
    data = bytearray(_saved(Image.new("RGB", (16, 16), "white"), "JPEG"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def mpo(pictures: list[np.ndarray], **options: object) -> bytes:
    """A multi-picture JPEG (MPO, as phone cameras write): the first picture, then the others."""
    images = [Image.fromarray(picture) for picture in pictures]
    return _saved(images[0], "MPO", save_all=True, append_images=images[1:], **options)


def mpo_declaring(width: int, height: int) -> bytes:
    """An MPO of two 16x16 pictures whose first frame header declares `width` x `height`."""
    data = bytearray(mpo([np.full((16, 16, 3), 255, np.uint8)] * 2))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_flat(width: int, height: int, *, colour: int = 2, depth: int = 8) -> bytes:
    """A valid, flat PNG of `width` x `height` that compresses to a few KB (zlib's 1,000:1);
    colour 2 is RGB, 6 RGBA; depth 8 or 16."""
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[colour]
    row = bytes(1 + (width * channels * depth + 7) // 8)
    compressor = zlib.compressobj(9)
    idat = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    return _png(width, height, colour, depth, idat)


def png_declaring(width: int, height: int) -> bytes:
    """An RGB PNG whose header declares `width` x `height` over 64 bytes of pixels."""
    return _png(width, height, 2, 8, zlib.compress(bytes(64)))


def _png(width: int, height: int, colour: int, depth: int, idat: bytes) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def png_chunk_bomb(chunks: int) -> bytes:
    """A 16x16 PNG with `chunks` tiny text chunks before its data (12 bytes each)."""
    data = _saved(Image.new("RGB", (16, 16), "white"), "PNG")
    ihdr_end = 8 + 25
    return data[:ihdr_end] + _chunk(b"tEXt", b"k\x00v") * chunks + data[ihdr_end:]


def png_metadata_bomb(chunks: int) -> bytes:
    """A 16x16 PNG with `chunks` ICC profiles of 1 KB, each inflating to the 1 MB Pillow
    allows per chunk: 1,000 of them are 1 MB of file and 1 GB of inflating."""
    data = _saved(Image.new("RGB", (16, 16), "white"), "PNG")
    profile = _chunk(b"iCCP", b"p\x00\x00" + zlib.compress(bytes(1024 * 1024 - 1), 9))
    return data[:33] + profile * chunks + data[33:]


def png_exif_bomb(tags: int) -> bytes:
    """A 16x16 PNG whose eXIf chunk holds `tags` tags (Pillow parses each in Python)."""
    ifd = struct.pack("<H", tags) + struct.pack("<HHII", 0x0131, 3, 1, 0) * tags + struct.pack("<I", 0)
    data = _saved(Image.new("RGB", (16, 16), "white"), "PNG")
    return data[:33] + _chunk(b"eXIf", b"II*\x00" + struct.pack("<I", 8) + ifd) + data[33:]


def gif_extension_bomb(blocks: int) -> bytes:
    """A 16x16 GIF whose comment before the first frame has `blocks` one-byte sub-blocks."""
    data = _saved(Image.new("P", (16, 16)), "GIF")
    flags = data[10]
    start = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    return data[:start] + b"\x21\xfe" + b"\x01x" * blocks + b"\x00" + data[start:]


def gif_declaring(width: int, height: int) -> bytes:
    """A GIF with a 16x16 screen whose first frame declares `width` x `height` (Pillow
    enlarges the canvas to the frame) over the LZW data of 16x16 pixels."""
    data = bytearray(_saved(Image.new("P", (16, 16)), "GIF"))
    frame = data.index(b"\x2c", 13)
    data[frame + 5 : frame + 9] = struct.pack("<HH", width, height)
    return bytes(data)


def _bmp(width: int, height: int, bits: int, compression: int, body: bytes, colours: int) -> bytes:
    palette = b"\x00\x00\x00\x00" * colours
    offset = 14 + 40 + len(palette)
    info = struct.pack(
        "<IiiHHIIiiII", 40, width, height, 1, bits, compression, len(body), 2835, 2835, colours, 0
    )
    return b"BM" + struct.pack("<IHHI", offset + len(body), 0, 0, offset) + info + palette + body


def bmp_rle(width: int, height: int, *, rle4: bool = False) -> bytes:
    """An RLE BMP of `width` x `height` where every row is one pixel and an end-of-line:
    Pillow pads each row in a Python loop, a byte at a time (3 s at 4000x4000)."""
    body = b"\x01\x05\x00\x00" * height + b"\x00\x01"
    return _bmp(width, height, 4 if rle4 else 8, 2 if rle4 else 1, body, 16 if rle4 else 256)


def bmp_declaring(width: int, height: int) -> bytes:
    """A 24-bit BMP declaring `width` x `height` over 64 bytes of pixels."""
    return _bmp(width, height, 24, 0, bytes(64), 0)


def _tiff(entries: list[tuple[int, int, int, int]], payload: bytes) -> bytes:
    entries = sorted(entries)
    directory_end = 8 + 2 + 12 * len(entries) + 4
    ifd = struct.pack("<H", len(entries))
    for tag, kind, count, value in entries:
        ifd += struct.pack("<HHII", tag, kind, count, directory_end if tag == 273 else value)
    return b"II*\x00" + struct.pack("<I", 8) + ifd + struct.pack("<I", 0) + payload


def _tiff_entries(width: int, height: int, data_bytes: int) -> list[tuple[int, int, int, int]]:
    return [
        (256, 4, 1, width),  # ImageWidth
        (257, 4, 1, height),  # ImageLength
        (258, 3, 1, 8),  # BitsPerSample
        (259, 3, 1, 1),  # no compression
        (262, 3, 1, 1),  # black is zero
        (273, 4, 1, 0),  # StripOffsets: right after the directory
        (277, 3, 1, 1),  # SamplesPerPixel
        (278, 4, 1, height),  # RowsPerStrip
        (279, 4, 1, data_bytes),  # StripByteCounts
    ]


def tiff_declaring(width: int, height: int) -> bytes:
    """A greyscale TIFF declaring `width` x `height` over 64 bytes of pixels."""
    return _tiff(_tiff_entries(width, height, 64), bytes(64))


def tiff_tag_bomb(tags: int) -> bytes:
    """A 16x16 TIFF whose one directory holds `tags` entries (Pillow reads each in Python)."""
    entries = _tiff_entries(16, 16, 256)
    used = {tag for tag, *_ in entries}
    # Private tags first (Pillow ignores them), then any other number not taken.
    numbers = [*range(40000, 65535), *range(300, 40000)]
    filler = [(tag, 3, 1, 0) for tag in numbers if tag not in used][: tags - len(entries)]
    return _tiff(entries + filler, bytes(256))


# The family, by name. What each cost before decodework bounded it is in docs/engine.md.
BOMBS: dict[str, Callable[[], bytes]] = {
    "jpeg: 1,000 empty scans, 4000x4000": lambda: progressive_scan_bomb(1_000),
    "jpeg: 15,000 empty scans, 4000x4000": lambda: progressive_scan_bomb(15_000),
    "jpeg: 100,000 COM segments": lambda: jpeg_segment_bomb(100_000),
    "jpeg: declares 60000x60000": lambda: jpeg_declaring(60_000, 60_000),
    "mpo: declares 60000x60000": lambda: mpo_declaring(60_000, 60_000),
    "png: declares 60000x60000": lambda: png_declaring(60_000, 60_000),
    "png: 4000x4000 RGBA 16-bit in 120 KB": lambda: png_flat(4000, 4000, colour=6, depth=16),
    "png: 300,000 text chunks": lambda: png_chunk_bomb(300_000),
    "png: 1,000 compressed ICC profiles": lambda: png_metadata_bomb(1_000),
    "gif: 2,000,000 extension blocks": lambda: gif_extension_bomb(2_000_000),
    "gif: frame declares 60000x60000": lambda: gif_declaring(60_000, 60_000),
    "bmp: RLE8 4000x4000 of end-of-lines": lambda: bmp_rle(4000, 4000),
    "bmp: RLE4 4000x4000 of end-of-lines": lambda: bmp_rle(4000, 4000, rle4=True),
    "bmp: declares 60000x60000": lambda: bmp_declaring(60_000, 60_000),
    "tiff: 65,000 tags": lambda: tiff_tag_bomb(65_000),
    "tiff: declares 200000x200000": lambda: tiff_declaring(200_000, 200_000),
}

"""The work budget of one decode, checked from the file's structure before Pillow reads it.

What a decode costs is not only its pixels. Each accepted format has its own multiplier,
and each is bounded here (figures from `manage.py benchmark_decode`):

- JPEG and MPO: scans (each visits every block again) and marker segments (parsed in
  Python): 64 scans, 6 M block visits, 1,024 segments (`jpegwork`); the first picture only.
- PNG: chunks, each a Python call in Pillow: 10,000 chunks (of an animated PNG, those up to
  its second frame, where Pillow stops reading); compressed metadata (ICC profiles, zTXt and
  iTXt), each of which Pillow inflates up to 1 MB: 16 such chunks (100 took 0.46 s).
- GIF: extension blocks before the first frame, parsed in Python: 4,096 sub-blocks; the
  first frame only.
- BMP: RLE, which Pillow decodes in Python pixel by pixel: RLE only up to 640x480 pixels.
- TIFF: tags (parsed in Python), strips or tiles, JPEG compression (libtiff allows 100
  scans per tile: the scan bomb again): 1,024 tags, 16,384 strips or tiles, none of the
  JPEG compressions; the first page only.

and, for all of them, the decoded samples (width x height x channels x bytes per sample)
may not exceed MAX_SAMPLE_BYTES: 16.7 Mpx of 8-bit RGBA, so a 16-bit PNG counts double.
A file's compressed size is not bounded against its declared size: the work is bounded by
what is declared, so a 40 KB PNG declaring 4000x3000 costs what any 4000x3000 PNG costs,
and one that does not hold the data it declares fails as truncated.

Structure limits raise ImageTooCostly (an UnreadableImage: the format is abused), broken
structures UnreadableImage, size limits ImageTooLarge. Django-free, like the rest of the engine.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from faceengine.errors import ImageTooCostly, ImageTooLarge, UnreadableImage
from faceengine.jpegwork import MAX_SCAN_BLOCKS, jpeg_work

# The engine's own pixel guard; the service enforces the documented, stricter side limits.
MAX_PIXELS = 4096 * 4096
# 4096 x 4096 x 4 bytes: the engine's pixel guard, in 8-bit RGBA.
MAX_SAMPLE_BYTES = 64 * 1024 * 1024
MAX_PNG_CHUNKS = 10_000  # libpng writes 8 KB IDAT chunks: 640 in a 5 MB file
MAX_PNG_INFLATED_CHUNKS = 16  # one ICC profile and a few text chunks in a real file
_PNG_INFLATED = {b"iCCP", b"zTXt", b"iTXt"}
MAX_GIF_BLOCKS = 4_096  # sub-blocks of the extensions before the first frame (XMP, ICC, comments)
MAX_RLE_PIXELS = 640 * 480  # Pillow decodes RLE in Python: 0.15 s per Mpx
MAX_TIFF_TAGS = 1_024  # a camera or scanner TIFF has 15 to 60
MAX_TIFF_STRIPS = 16_384  # one row per strip of a 4000-row RGBA image with planes apart
# TIFF compressions decoded by libtiff at a cost set by the pixels: none, CCITT (bilevel),
# LZW, deflate (two codes), PackBits, LZMA, Zstandard. JPEG (6, 7) and the rest are refused.
TIFF_COMPRESSIONS = {1: "none", 2: "CCITT", 3: "CCITT T.4", 4: "CCITT T.6", 5: "LZW", 8: "deflate"}
TIFF_COMPRESSIONS |= {32946: "deflate", 32773: "PackBits", 34925: "LZMA", 50000: "Zstandard"}


@dataclass(frozen=True)
class Work:
    format: str  # the format family as the structure says: JPEG, PNG, GIF, BMP, TIFF
    width: int
    height: int
    sample_bytes: int  # decoded samples, before conversion to RGB
    scans: int = 1
    scan_blocks: int = 0  # JPEG only
    rle: bool = False  # BMP only

    @property
    def pixels(self) -> int:
        return self.width * self.height


def image_work(data: bytes) -> Work | None:
    """The work of decoding `data`, or None when it is not one of the accepted formats (the
    caller then refuses it as Pillow names it). Raises past the limits."""
    head = data[:8]
    if head.startswith(b"\xff\xd8\xff"):
        jpeg = jpeg_work(data)
        samples = jpeg.width * jpeg.height * jpeg.components * (2 if jpeg.precision > 8 else 1)
        work = Work("JPEG", jpeg.width, jpeg.height, samples, jpeg.scans, jpeg.scan_blocks)
    elif head == b"\x89PNG\r\n\x1a\n":
        work = _png(data)
    elif head[:6] in (b"GIF87a", b"GIF89a"):
        work = _gif(data)
    elif head[:2] == b"BM":
        work = _bmp(data)
    elif head[:4] in (b"II*\x00", b"MM\x00*"):
        work = _tiff(data)
    elif head[:4] in (b"II+\x00", b"MM\x00+"):
        raise UnreadableImage("BigTIFF is not supported")
    else:
        return None
    _check(work)
    return work


def _check(work: Work) -> None:
    """Size first, then cost: an oversized image is refused as such, whatever else it does."""
    w, h = work.width, work.height
    if work.pixels > MAX_PIXELS:
        raise ImageTooLarge(w, h, MAX_PIXELS)
    if work.sample_bytes > MAX_SAMPLE_BYTES:
        megabytes = f"{work.sample_bytes / 2**20:.0f} MB"
        reason = f"{megabytes} of decoded samples, at most {MAX_SAMPLE_BYTES >> 20} MB"
        raise ImageTooLarge(w, h, MAX_PIXELS, reason=reason)
    if work.rle and work.pixels > MAX_RLE_PIXELS:
        raise ImageTooLarge(w, h, MAX_RLE_PIXELS, reason=f"RLE-compressed BMP over {MAX_RLE_PIXELS:,} pixels")
    if work.scan_blocks > MAX_SCAN_BLOCKS:
        raise ImageTooCostly(
            f"JPEG's {work.scans} scans would visit {work.scan_blocks:,} blocks, at most {MAX_SCAN_BLOCKS:,}"
        )


def _truncated(what: str) -> UnreadableImage:
    return UnreadableImage(f"{what} is truncated")


_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


def _png(data: bytes) -> Work:
    if len(data) < 33 or data[12:16] != b"IHDR":
        raise _truncated("PNG header")
    width, height, depth, colour = struct.unpack(">IIBB", data[16:26])
    if colour not in _PNG_CHANNELS:
        raise UnreadableImage(f"PNG colour type {colour} is invalid")
    position, chunks, inflated, pixels_seen = 8, 0, 0, False
    while position + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[position : position + 8])
        if kind == b"IEND" or (kind == b"fcTL" and pixels_seen):
            break  # Pillow reads an animated PNG's first frame only, up to the next fcTL
        chunks += 1
        if chunks > MAX_PNG_CHUNKS:
            raise ImageTooCostly(f"PNG has more than {MAX_PNG_CHUNKS:,} chunks")
        inflated += kind in _PNG_INFLATED
        if inflated > MAX_PNG_INFLATED_CHUNKS:
            raise ImageTooCostly(f"PNG has more than {MAX_PNG_INFLATED_CHUNKS} compressed metadata chunks")
        pixels_seen = pixels_seen or kind == b"IDAT"
        position += 12 + length
    # Pillow holds samples under 8 bits in a byte each (modes 1, L and P).
    samples = width * height * _PNG_CHANNELS[colour] * max(1, depth // 8)
    return Work("PNG", width, height, samples)


def _gif(data: bytes) -> Work:
    if len(data) < 13:
        raise _truncated("GIF header")
    width, height, flags = struct.unpack("<HHB", data[6:11])
    position = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    blocks = 0
    while position < len(data) and data[position] == 0x21:  # an extension before the frame
        position += 2  # introducer and label, then sub-blocks up to an empty one
        while position < len(data) and data[position]:
            blocks += 1
            if blocks > MAX_GIF_BLOCKS:
                raise ImageTooCostly(
                    f"GIF has more than {MAX_GIF_BLOCKS:,} extension blocks before its frame"
                )
            position += 1 + data[position]
        position += 1
    if position + 10 > len(data) or data[position] != 0x2C:
        raise UnreadableImage("GIF has no image")
    # The first frame's extent may enlarge the canvas (Pillow enlarges it).
    left, top, w, h = struct.unpack("<HHHH", data[position + 1 : position + 9])
    width, height = max(width, left + w), max(height, top + h)
    return Work("GIF", width, height, width * height)


_BMP_HEADERS = (40, 52, 56, 64, 108, 124)  # Windows 3 to 5, and OS/2 2.x


def _bmp(data: bytes) -> Work:
    if len(data) < 26:
        raise _truncated("BMP header")
    (header_size,) = struct.unpack("<I", data[14:18])
    if header_size == 12:  # OS/2 1.x: 16-bit sizes, no compression
        width, height, planes, bits = struct.unpack("<HHHH", data[18:26])
        compression = 0
    elif header_size in _BMP_HEADERS and len(data) >= 34:
        width, height, planes, bits, compression = struct.unpack("<iiHHI", data[18:34])
    else:
        raise UnreadableImage("BMP header is damaged")
    if planes != 1 or bits not in (1, 2, 4, 8, 16, 24, 32):
        raise UnreadableImage("BMP header is damaged")
    width, height = abs(width), abs(height)  # negative height: rows stored top-down
    channels = 1 if bits <= 8 else 3 if bits <= 24 else 4
    return Work("BMP", width, height, width * height * channels, rle=compression in (1, 2))


_TIFF_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4}


def _tiff(data: bytes) -> Work:
    order = "<" if data[:2] == b"II" else ">"
    if len(data) < 10:
        raise _truncated("TIFF header")
    (offset,) = struct.unpack(order + "I", data[4:8])
    if offset + 2 > len(data):
        raise _truncated("TIFF directory")
    (count,) = struct.unpack(order + "H", data[offset : offset + 2])
    if count > MAX_TIFF_TAGS:
        raise ImageTooCostly(f"TIFF directory has {count:,} tags, at most {MAX_TIFF_TAGS:,}")
    end = offset + 2 + 12 * count
    if end > len(data):
        raise _truncated("TIFF directory")
    counts: dict[int, int] = {}
    firsts: dict[int, int] = {}
    for tag, kind, values, field in struct.iter_unpack(order + "HHI4s", data[offset + 2 : end]):
        counts[tag] = values
        if values * _TIFF_TYPE_SIZES.get(kind, 1) > 4:  # the field holds the values' offset
            (where,) = struct.unpack(order + "I", field)
            field = data[where : where + 4]
        if kind == 3 and len(field) >= 2:
            firsts[tag] = struct.unpack(order + "H", field[:2])[0]
        elif kind == 4 and len(field) == 4:
            firsts[tag] = struct.unpack(order + "I", field)[0]
    width, height = firsts.get(256, 0), firsts.get(257, 0)
    compression = firsts.get(259, 1)
    if compression not in TIFF_COMPRESSIONS:
        raise UnreadableImage(f"TIFF compression {compression} is not supported")
    strips = max(counts.get(273, 0), counts.get(324, 0))
    if strips > MAX_TIFF_STRIPS:
        raise ImageTooCostly(f"TIFF has {strips:,} strips or tiles, at most {MAX_TIFF_STRIPS:,}")
    channels, bits = max(1, firsts.get(277, 1)), max(1, firsts.get(258, 1))
    return Work("TIFF", width, height, width * height * channels * -(-bits // 8))

"""What decoding a JPEG will cost, read from its markers before libjpeg sees a byte.

libjpeg's work grows with the pixels AND with the number of scans: a progressive decoder
visits every 8x8 block of the components a scan covers, even when the scan codes nothing. A
4000x4000 progressive JPEG of 62 KB with 1,000 empty scans took 6.7 s; 15,000 scans in
496 KB took a minute. Real encoders write 1 scan (baseline), 6 (greyscale progressive) to 10
(colour progressive, libjpeg and mozjpeg) or 18 (CMYK progressive), so the scans are counted
here, and the blocks they will visit, and a file past the limits is refused unread.

The walk follows libjpeg's own parsing: marker segments by their length, entropy-coded data
up to the next marker that is not a restart (RSTn) or a stuffed 0xFF00, garbage between
segments skipped as libjpeg skips it. It ends at the first EOI, where libjpeg stops: the
other pictures of an MPO file and any trailer are never decoded, so never counted. Its own
cost is bounded too: it stops at MAX_SEGMENTS markers, and entropy data is searched by a
regular expression (C), not byte by byte.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass

from faceengine.errors import ImageTooCostly, UnreadableImage

# A progressive JPEG has at most 18 scans from any common encoder; 64 leaves room for
# unusual scan scripts and bounds libjpeg's fixed cost per scan on small images.
MAX_SCANS = 64
# 8x8 blocks all the scans together may visit. A 4000x4000 4:4:4 progressive photo with the
# usual 10 scans visits 3.5 M; 6 M of the costliest (empty refinement) scans take about as
# long as decoding that photo (benchmark_decode).
MAX_SCAN_BLOCKS = 6_000_000
# Marker segments (APPn, COM, DQT, DHT, SOS, ...). A camera JPEG has 10 to 40; ICC profiles
# and extended XMP split into at most a few hundred. Pillow parses the segments before the
# first scan in Python, so a file of 1 M empty COM segments would cost seconds.
MAX_SEGMENTS = 1024

# Frame types libjpeg and Pillow decode with DCT scaling: baseline, extended, progressive,
# and their arithmetic-coded twins. Lossless and hierarchical JPEGs are refused.
_DCT_FRAMES = {
    0xC0: "baseline",
    0xC1: "extended",
    0xC2: "progressive",
    0xC9: "arithmetic",
    0xCA: "arithmetic",
}
_OTHER_FRAMES = {0xC3, 0xC5, 0xC6, 0xC7, 0xCB, 0xCD, 0xCE, 0xCF}
_SOS, _EOI, _SOI = 0xDA, 0xD9, 0xD8
# Markers without a length: TEM and RST0..7 (libjpeg ignores them between segments).
_STANDALONE = {0x01, *range(0xD0, 0xD8)}
# The next marker in entropy-coded data: 0xFF followed by anything but a stuffed 0x00, a
# restart marker or more 0xFF fill bytes.
_NEXT_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")


@dataclass(frozen=True)
class Component:
    id: int
    h: int  # horizontal sampling factor
    v: int


@dataclass(frozen=True)
class JpegWork:
    width: int
    height: int
    components: int
    precision: int  # bits per sample
    scans: int
    scan_blocks: int  # 8x8 blocks visited by all the scans together


def _ceil(a: int, b: int) -> int:
    return -(-a // b)


class _Frame:
    """The SOF segment, and the blocks each scan of it visits."""

    def __init__(self, segment: bytes) -> None:
        if len(segment) < 6:
            raise UnreadableImage("JPEG frame header is truncated")
        self.precision, self.height, self.width, count = struct.unpack(">BHHB", segment[:6])
        if len(segment) < 6 + 3 * count:
            raise UnreadableImage("JPEG frame header is truncated")
        self.components = [
            Component(segment[6 + 3 * i], segment[7 + 3 * i] >> 4, segment[7 + 3 * i] & 15)
            for i in range(count)
        ]
        if count not in (1, 3, 4) or any(not (1 <= c.h <= 4 and 1 <= c.v <= 4) for c in self.components):
            raise UnreadableImage("JPEG frame header has unsupported components")
        if self.width == 0 or self.height == 0:
            # Height 0 means "given by a DNL marker later", which libjpeg does not support.
            raise UnreadableImage("JPEG frame declares no size")
        self.h_max = max(c.h for c in self.components)
        self.v_max = max(c.v for c in self.components)

    def scan_blocks(self, segment: bytes) -> int:
        if not segment or len(segment) < 1 + 2 * segment[0]:
            raise UnreadableImage("JPEG scan header is truncated")
        ids = {segment[1 + 2 * i] for i in range(segment[0])}
        chosen = [c for c in self.components if c.id in ids]
        if len(chosen) == 1:  # a non-interleaved scan visits that component's blocks
            c = chosen[0]
            columns = _ceil(_ceil(self.width * c.h, self.h_max), 8)
            rows = _ceil(_ceil(self.height * c.v, self.v_max), 8)
            return columns * rows
        # An interleaved scan visits whole MCUs of every component it holds.
        mcus = _ceil(self.width, 8 * self.h_max) * _ceil(self.height, 8 * self.v_max)
        return mcus * sum(c.h * c.v for c in chosen)


def jpeg_work(data: bytes) -> JpegWork:
    """Counts the scans and blocks of the first picture; raises UnreadableImage past the
    scan and segment limits or for a structure libjpeg would not decode as a DCT JPEG.
    The block budget is checked by the caller, after the size (a 60000x60000 JPEG is too
    large before it is too costly)."""
    if not data.startswith(b"\xff\xd8"):
        raise UnreadableImage("not a JPEG")
    frame: _Frame | None = None
    scans = blocks = segments = 0
    position = 2
    while True:
        found = _NEXT_MARKER.search(data, position)
        if found is None:
            break  # no EOI: truncated, which the decoder refuses by itself
        marker, position = data[found.start() + 1], found.end()
        segments += 1
        if segments > MAX_SEGMENTS:
            raise ImageTooCostly(f"JPEG has more than {MAX_SEGMENTS} marker segments")
        if marker == _EOI:
            break
        if marker in _STANDALONE or marker == _SOI:
            continue
        if position + 2 > len(data):
            break
        (length,) = struct.unpack(">H", data[position : position + 2])
        if length < 2:
            raise UnreadableImage("JPEG marker segment has a bad length")
        segment = data[position + 2 : position + length]
        position += length
        if marker in _DCT_FRAMES or marker in _OTHER_FRAMES:
            if marker in _OTHER_FRAMES:
                raise UnreadableImage(
                    f"unsupported JPEG process (SOF{marker - 0xC0}: lossless or hierarchical)"
                )
            if frame is not None:
                raise UnreadableImage("JPEG has more than one frame header")
            frame = _Frame(segment)
        elif marker == _SOS:
            if frame is None:
                raise UnreadableImage("JPEG scan before its frame header")
            scans += 1
            if scans > MAX_SCANS:
                raise ImageTooCostly(f"JPEG has more than {MAX_SCANS} scans")
            blocks += frame.scan_blocks(segment)
    if frame is None:
        raise UnreadableImage("JPEG has no frame header")
    return JpegWork(
        width=frame.width,
        height=frame.height,
        components=len(frame.components),
        precision=frame.precision,
        scans=scans,
        scan_blocks=blocks,
    )

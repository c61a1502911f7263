"""Stage-by-stage timing of the engine on package-shipped photos (figures, not asserts)."""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image

from faceengine import quality
from faceengine.engine import FaceEngine, analysis_copy
from faceengine.imageio import ANALYSIS_SIDE, decode
from faceengine.landmarks import FaceRegion
from facelab import testdata

SIZES = ((640, 480), (4000, 3000))


@dataclass(frozen=True)
class Timing:
    threads: int
    size: str
    stage: str
    median_ms: float
    p95_ms: float


def jpeg_at(name: str, size: tuple[int, int]) -> bytes:
    """A package photo centre-cropped to the aspect ratio and resized, as JPEG quality 90."""
    image = Image.open(io.BytesIO(testdata.photo_bytes(name))).convert("RGB")
    target_ratio = size[0] / size[1]
    w, h = image.size
    if w / h > target_ratio:
        crop_w = round(h * target_ratio)
        image = image.crop(((w - crop_w) // 2, 0, (w - crop_w) // 2 + crop_w, h))
    else:
        crop_h = round(w / target_ratio)
        image = image.crop((0, (h - crop_h) // 2, w, (h - crop_h) // 2 + crop_h))
    buffer = io.BytesIO()
    image.resize(size, Image.Resampling.LANCZOS).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def time_runs(action: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Median and p95 milliseconds over `repeat` runs, after one warm-up run."""
    action()  # warm-up: first runs allocate
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        samples.append((time.perf_counter() - start) * 1000)
    return float(np.median(samples)), float(np.percentile(samples, 95))


def resident_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _stages(engine: FaceEngine, data: bytes) -> dict[str, Callable[[], object]]:
    """One timed action per stage, each on the output of the stages before it."""
    image = decode(data, max_side=ANALYSIS_SIDE)
    pixels, _scale = analysis_copy(image)
    found = engine.detect_oriented(pixels, auto_rotate=False)
    if not found:
        raise RuntimeError("no face in the benchmark photo")
    detection = found[0][0]
    region = FaceRegion.around(pixels, detection)
    marks = engine.landmarks(region, detection)
    chip = engine.identity_chip(region, marks)
    return {
        "decode": lambda: decode(data, max_side=ANALYSIS_SIDE),
        "detect": lambda: engine.detect_oriented(pixels, auto_rotate=False),
        "landmarks": lambda: engine.landmarks(FaceRegion.around(pixels, detection), detection),
        "align+quality": lambda: (
            engine.identity_chip(region, marks),
            quality.factors(engine.chip(region, marks), 40, marks.pose(), 0.9, 0.9),
        ),
        "embed": lambda: engine.embed([chip]),
        "pipeline": lambda: engine.analyze(decode(data, max_side=ANALYSIS_SIDE), embed=True),
    }


def run(engine: FaceEngine, photo: str, repeat: int) -> list[Timing]:
    rows = []
    for size in SIZES:
        label = f"{size[0]}x{size[1]}"
        for stage, action in _stages(engine, jpeg_at(photo, size)).items():
            median, p95 = time_runs(action, repeat)
            rows.append(Timing(engine.threads, label, stage, median, p95))
    return rows

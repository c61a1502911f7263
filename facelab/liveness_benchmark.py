"""Where the server's time goes in one liveness verification (figures, never asserts).

A 60-frame 640x480 package is built with faceportal_capture's Python builder from a package
photo (grace_hopper, drifting and zooming a little, as a hand-held photo or a person sitting
still would), sealed with a random key, then taken through what the service does with it on
`POST /identity/liveness_selfie_verification`: decrypt and parse, check the frame headers,
decode the frames, analyse every frame (detection, FaceMesh, alignment, quality, split by the
engine's stage timings), embed the identity sample, score the cues, analyse and embed the
selfie, hash and write the package (storage, on a temporary folder). The engine runs with
the threads it was given (the command passes 1: one core).

Each stage is given in wall-clock milliseconds and in CPU milliseconds of this process (ONNX
Runtime on one thread runs on the calling thread), medians over the runs: on a shared machine
other work inflates the first and not the second. The engine's own stages inside the frame
analysis (detect, landmarks, quality, embed: its stage timings) are wall-clock only, summed
per run. Django-free: the storage stage writes a file, as the service's storage does, without
the database row (a single INSERT).
"""

from __future__ import annotations

import hashlib
import math
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np

from faceengine.engine import FaceEngine
from faceengine.imageio import ANALYSIS_SIDE, decode, read_header
from faceengine.liveness import CaptureFrame, score_capture
from faceengine.stages import forget_stages, observe_stages
from facelab import testdata
from faceportal_capture.build import Challenge, build_package
from faceportal_capture.package import open_package

WIDTH, HEIGHT, FRAMES, FPS = 640, 480, 60, 15.0
ACTIONS = ["blink", "turn_left"]


def sample_frames(name: str = "grace_hopper", count: int = FRAMES) -> list[tuple[np.ndarray, float]]:
    """`count` 640x480 frames of a package photo drifting a few pixels, at FPS."""
    photo = decode(testdata.photo_bytes(name)).pixels
    side = 420
    scale = side / photo.shape[0]
    face = cv2.resize(photo, (round(photo.shape[1] * scale), side), interpolation=cv2.INTER_AREA)
    base = np.full((HEIGHT, WIDTH, 3), 96, np.uint8)
    top, left = (HEIGHT - face.shape[0]) // 2, max(0, (WIDTH - face.shape[1]) // 2)
    shown = face[:, : WIDTH - left]
    base[top : top + shown.shape[0], left : left + shown.shape[1]] = shown
    frames = []
    for i in range(count):
        phase = 2 * math.pi * i / count
        matrix = cv2.getRotationMatrix2D(
            (WIDTH / 2, HEIGHT / 2), 2 * math.sin(phase), 1 + 0.03 * math.sin(phase)
        )
        matrix[:, 2] += np.array([10 * math.sin(phase), 5 * math.cos(phase)])
        frames.append(
            (cv2.warpAffine(base, matrix, (WIDTH, HEIGHT), borderMode=cv2.BORDER_REPLICATE), i / FPS)
        )
    return frames


def sample_package(count: int = FRAMES) -> tuple[bytes, bytes, bytes]:
    """(package, its key, a selfie JPEG): the package sealed as the Python SDK seals one."""
    key = np.random.default_rng().bytes(32)
    expires = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
    challenge = Challenge(challenge_id="b" * 32, actions=list(ACTIONS), key=key, expires_at=expires)
    frames = sample_frames(count=count)
    marks = [(action, 1.0 + 1.5 * i) for i, action in enumerate(ACTIONS)]
    ok, selfie = cv2.imencode(".jpg", cv2.cvtColor(frames[0][0], cv2.COLOR_RGB2BGR))
    assert ok
    return build_package(frames, challenge, marks=marks), key, selfie.tobytes()


@dataclass(frozen=True)
class StageTiming:
    stage: str
    median_ms: float  # wall clock
    cpu_ms: float | None  # CPU of this process; None for the engine's own stage timings


class _Clock:
    def __init__(self) -> None:
        self.runs: dict[str, list[float]] = defaultdict(list)
        self.current: dict[str, float] = defaultdict(float)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            self.current[name] += time.perf_counter() - wall
            self.current[f"{name} (cpu)"] += time.process_time() - cpu

    def engine_stage(self, prefix: str) -> Callable[[str, float], None]:
        def observe(stage: str, seconds: float) -> None:
            if stage != "decode":  # the decode stage is timed by the caller
                self.current[f"{prefix} {stage}"] += seconds

        return observe

    def end_run(self) -> None:
        for name, seconds in self.current.items():
            self.runs[name].append(seconds * 1000)
        self.current = defaultdict(float)


def run(engine: FaceEngine, repeat: int = 5, frames: int = FRAMES) -> list[StageTiming]:
    """Per-stage medians of `repeat` verifications of one fresh package (after one warm-up)."""
    package, key, selfie = sample_package(frames)
    clock = _Clock()
    order: list[str] = []
    with tempfile.TemporaryDirectory(prefix="faceportal-liveness-bench-") as folder:
        for index in range(repeat + 1):
            _verify_once(engine, clock, package, key, selfie, Path(folder))
            if index == 0:
                order = list(clock.current)
                clock.current = defaultdict(float)  # the warm-up is not counted
            else:
                clock.end_run()
    names = [name for name in order if not name.endswith(" (cpu)")]
    return [
        StageTiming(
            name,
            statistics.median(clock.runs[name]),
            statistics.median(clock.runs[f"{name} (cpu)"]) if f"{name} (cpu)" in clock.runs else None,
        )
        for name in names
    ]


def _verify_once(
    engine: FaceEngine, clock: _Clock, package: bytes, key: bytes, selfie: bytes, folder: Path
) -> None:
    with clock.stage("total"):
        with clock.stage("decrypt and parse"):
            capture = open_package(package, key)
        with clock.stage("frame headers"):
            for frame in capture.frames:
                read_header(frame.jpeg)
        with clock.stage("decode frames"):
            # As resources.livenesschecks.decoded_frames decodes them.
            frames = [
                CaptureFrame(decode(frame.jpeg, max_side=ANALYSIS_SIDE).pixels, frame.timestamp_us / 1e6)
                for frame in capture.frames
            ]
        observer = clock.engine_stage("frames")
        observe_stages(observer)
        try:
            with clock.stage("score capture (all)"):
                result = score_capture(engine, frames, list(capture.actions))
        finally:
            forget_stages(observer)
        with clock.stage("selfie (decode, analyse, embed, compare)"):
            image = decode(selfie, max_side=1000)
            face = engine.analyze(image, embed=True)[0]
            if result.best_face is not None:
                engine.compare([result.best_face], [face])
        with clock.stage("storage (sha256, write)"):
            hashlib.sha256(package).hexdigest()
            (folder / "package.fplv").write_bytes(package)

"""A sample capture to try liveness verification without a camera.

Built fresh for a real challenge, by the Python builder, from a photo that ships inside an
installed package (matplotlib's sample data: Grace Hopper's portrait; the project's
requirements install it): the photo drifts and zooms a little over a grey background, as a
print held before a camera would, with prompts at the times the browser SDK shows them. It
is a photo, so the service scores it as an attack (no blink, no turn, no depth): what it
shows is how a verification answers and which cues fail, and why.
"""

from __future__ import annotations

import importlib.metadata
import io
import math
from functools import lru_cache

import numpy as np
from PIL import Image

from faceportal_capture.build import Challenge, build_package

WIDTH, HEIGHT = 640, 480
FPS = 8.0
LEAD_IN_SECONDS = 1.0  # as the browser SDK: a lead-in, then each prompt for 2.5 s
SECONDS_PER_ACTION = 2.5
_PHOTO = ("matplotlib", "matplotlib/mpl-data/sample_data/grace_hopper.jpg")


class SampleUnavailable(RuntimeError):
    """The sample's photo is not installed (matplotlib missing)."""


@lru_cache(maxsize=1)
def _photo() -> Image.Image:
    distribution, inside = _PHOTO
    try:
        files = importlib.metadata.files(distribution) or []
    except importlib.metadata.PackageNotFoundError:
        files = []
    for entry in files:
        if str(entry) == inside:
            with Image.open(str(entry.locate())) as image:
                return image.convert("RGB")
    raise SampleUnavailable(f"the sample photo ({inside}) is not installed")


def sample_frames(actions: list[str]) -> list[tuple[np.ndarray, float]]:
    """The frames of a sample answer to `actions`: 640x480 RGB arrays and their times."""
    photo = _photo()
    side = round(HEIGHT * 0.85)
    face = photo.resize((round(photo.width * side / photo.height), side), Image.Resampling.LANCZOS)
    duration = LEAD_IN_SECONDS + SECONDS_PER_ACTION * len(actions)
    count = int(duration * FPS)
    frames = []
    for i in range(count):
        phase = 2 * math.pi * i / count
        zoom = 1 + 0.03 * math.sin(phase)
        shown = face.resize((round(face.width * zoom), round(face.height * zoom)), Image.Resampling.BILINEAR)
        canvas = Image.new("RGB", (WIDTH, HEIGHT), (96, 96, 96))
        left = (WIDTH - shown.width) // 2 + round(10 * math.sin(phase))
        top = (HEIGHT - shown.height) // 2 + round(5 * math.cos(phase))
        canvas.paste(shown, (left, top))
        frames.append((np.asarray(canvas), i / FPS))
    return frames


def sample_package(challenge: Challenge) -> tuple[bytes, bytes]:
    """(a package answering `challenge`, a selfie JPEG of the same photo)."""
    frames = sample_frames(challenge.actions)
    marks = [(action, LEAD_IN_SECONDS + SECONDS_PER_ACTION * i) for i, action in enumerate(challenge.actions)]
    package = build_package(frames, challenge, marks=marks, device={"sdk": "faceportal-capture-sample"})
    selfie = io.BytesIO()
    Image.fromarray(frames[0][0]).save(selfie, "JPEG", quality=90)
    return package, selfie.getvalue()

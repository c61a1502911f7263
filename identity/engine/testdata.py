"""Face photos that ship inside installed packages, for tests, benchmarks and demos.

Located through package metadata without importing the packages (see MODELS.md): they
are there on every machine where the project's requirements are installed.
"""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

PHOTOS = {
    "astronaut": ("scikit-image", "skimage/data/astronaut.png"),
    "camera": ("scikit-image", "skimage/data/camera.png"),
    "coffee": ("scikit-image", "skimage/data/coffee.png"),
    "chelsea": ("scikit-image", "skimage/data/chelsea.png"),
    "rocket": ("scikit-image", "skimage/data/rocket.jpg"),
    "grace_hopper": ("matplotlib", "matplotlib/mpl-data/sample_data/grace_hopper.jpg"),
    "group": ("insightface", "insightface/data/images/t1.jpg"),
    "tom_hanks": ("insightface", "insightface/data/images/Tom_Hanks_54745.png"),
}


def photo_path(name: str) -> Path:
    distribution, inside = PHOTOS[name]
    for entry in importlib.metadata.files(distribution) or []:
        if str(entry) == inside:
            return Path(str(entry.locate()))
    raise FileNotFoundError(f"{inside} is not in the installed {distribution} package")


def photo_bytes(name: str) -> bytes:
    return photo_path(name).read_bytes()

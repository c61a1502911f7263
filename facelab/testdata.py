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


# The five alignment points (right eye, left eye, nose tip, right and left mouth corners) of
# the one face in each photo, in its pixels, as the engine's FaceMesh found them (0.1 px):
# aligned chips of real faces without running the detector, e.g. to verify a converted
# embedding network before the other models exist.
FIVE_POINTS = {
    "astronaut": ((202.9, 101.2), (245.9, 103.4), (222.1, 128.8), (198.9, 139.3), (246.7, 141.8)),
    "grace_hopper": ((220.4, 192.8), (309.0, 187.5), (270.3, 242.5), (230.8, 277.3), (307.1, 272.8)),
    "tom_hanks": ((36.0, 52.1), (71.9, 50.1), (62.8, 80.8), (37.7, 90.1), (66.3, 88.2)),
}

"""Sample photos for the try-it pages, served from the installed packages that carry them.

The photos are the package photos the tests use (facelab/testdata.py, MODELS.md): nothing is
committed, and nothing is copied at install time. The portal may not import the lab, so the
few it offers are listed here again, and tests/portal/test_samples.py keeps every entry one of
facelab.testdata.PHOTOS. Only the names below are served: the URL's name is looked up in
this whitelist, never joined onto a path.
"""

from __future__ import annotations

import functools
import importlib.metadata
from dataclasses import dataclass
from pathlib import Path

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_safe

from resources import thumbnails

# The packages never change under a running server; a day is short enough for an upgrade.
MAX_AGE = 24 * 3600
THUMBNAIL_SIZE = 160


@dataclass(frozen=True)
class Sample:
    filename: str  # its name in the URL, with the extension its content has
    distribution: str
    inside: str  # its path inside the distribution, as importlib.metadata lists it
    label: str
    content_type: str


SAMPLES: tuple[Sample, ...] = (
    Sample(
        "grace_hopper.jpg",
        "matplotlib",
        "matplotlib/mpl-data/sample_data/grace_hopper.jpg",
        "Grace Hopper: one face",
        "image/jpeg",
    ),
    Sample(
        "astronaut.png",
        "scikit-image",
        "skimage/data/astronaut.png",
        "Eileen Collins: one face",
        "image/png",
    ),
    Sample(
        "tom_hanks.png",
        "insightface",
        "insightface/data/images/Tom_Hanks_54745.png",
        "Tom Hanks: one small face",
        "image/png",
    ),
    Sample("group.jpg", "insightface", "insightface/data/images/t1.jpg", "A group of six", "image/jpeg"),
    Sample("coffee.png", "scikit-image", "skimage/data/coffee.png", "A cup of coffee: no face", "image/png"),
)
BY_FILENAME = {sample.filename: sample for sample in SAMPLES}


def sample_path(sample: Sample) -> Path | None:
    """Where the installed package has the photo, None when the package is not installed."""
    try:
        entries = importlib.metadata.files(sample.distribution) or []
    except importlib.metadata.PackageNotFoundError:
        return None
    for entry in entries:
        if str(entry) == sample.inside:
            path = Path(str(entry.locate()))
            return path if path.is_file() else None
    return None


@functools.cache
def available() -> tuple[Sample, ...]:
    """The samples this installation can serve (a missing package leaves its photos out)."""
    return tuple(sample for sample in SAMPLES if sample_path(sample) is not None)


def sample_choices() -> list[dict[str, str]]:
    """What the pages' sample pickers offer (templates/portal/try_samples.html)."""
    return [
        {
            "filename": sample.filename,
            "label": sample.label,
            "url": reverse("portal:sample_photo", args=[sample.filename]),
            "thumbnail": reverse("portal:sample_thumbnail", args=[sample.filename]),
        }
        for sample in available()
    ]


def _sample_or_404(filename: str) -> tuple[Sample, Path]:
    sample = BY_FILENAME.get(filename)
    path = sample_path(sample) if sample else None
    if sample is None or path is None:
        raise Http404("No such sample photo.")
    return sample, path


def _cached(response: HttpResponse) -> HttpResponse:
    patch_cache_control(response, private=True, max_age=MAX_AGE)
    return response


@login_required
@require_safe
def sample_photo(request: HttpRequest, filename: str) -> HttpResponse:
    sample, path = _sample_or_404(filename)
    return _cached(HttpResponse(path.read_bytes(), content_type=sample.content_type))


@functools.lru_cache(maxsize=len(SAMPLES))
def _thumbnail(filename: str) -> bytes:
    _, path = _sample_or_404(filename)
    return thumbnails.jpeg_thumbnail(path.read_bytes(), THUMBNAIL_SIZE)


@login_required
@require_safe
def sample_thumbnail(request: HttpRequest, filename: str) -> HttpResponse:
    if filename not in BY_FILENAME:  # checked first: only whitelisted names reach the cache
        raise Http404("No such sample photo.")
    return _cached(HttpResponse(_thumbnail(filename), content_type="image/jpeg"))

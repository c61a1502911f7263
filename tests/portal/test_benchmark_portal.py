"""benchmark_portal at a tiny size: it seeds calls and images with real thumbnails, times every
portal page and every admin list and change page, ends with one JSON line, and leaves nothing."""

from __future__ import annotations

import io
import json
from io import StringIO

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from PIL import Image

from accounts.models import ApiAccount, ApiCall
from portal import urls as portal_urls
from portal.management import benchmark_seed
from portal.management.benchmark_pages import NOT_PAGES, label
from resources.models import StoredImage
from tests.storage import stored_files


@pytest.mark.django_db
def test_the_benchmark_times_every_page_and_ends_with_its_json() -> None:
    users_before = get_user_model().objects.count()
    out = StringIO()
    call_command("benchmark_portal", calls=50, images=10, users=3, packages=2, repeat=2, stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("50 calls and 10 stored images")
    figures = json.loads(lines[-1])
    assert (figures["calls"], figures["images"], figures["repeat"]) == (50, 10, 2)
    pages = figures["pages"]
    portal = {
        "dashboard",
        "dashboard, after sign-in",
        "calls, page 1",
        "call detail",
        "try detect",
        "try liveness",
    }
    admins = {f"admin {model._meta.verbose_name_plural}" for model in admin.site._registry} | {
        "admin stored image, change page",
        "admin api call, change page",
        "admin image thumbnails, each once",
    }
    assert portal | admins <= set(pages)
    # A real sign-in is timed too: it answers with the redirect to the dashboard.
    assert pages.pop("sign-in (password checked)")["http_status"] == 302
    for name, page in pages.items():
        assert page["http_status"] == 200, name
        assert page["median_ms"] > 0 and page["p95_ms"] >= page["median_ms"] and page["queries"] > 0, name
    # One printed line a page, before the JSON.
    assert sum(1 for line in lines if " ms median " in line) == len(pages) + 1
    # Every portal route is timed, or named as not timed (POST-only actions), never left out unsaid.
    routes = {label(str(p.name)) for p in portal_urls.urlpatterns if p.name not in NOT_PAGES}
    assert routes <= set(pages) | set(figures["untimed"])
    assert not set(pages) & set(figures["untimed"])
    assert "key rotate" in figures["untimed"]  # a POST-only action
    assert any(line.startswith("not timed (no page to GET): ") for line in lines)
    assert ApiCall.objects.count() == 0 and StoredImage.objects.count() == 0
    assert ApiAccount.objects.count() == 0 and get_user_model().objects.count() == users_before
    assert stored_files() == []


def test_the_seeded_thumbnails_are_real_thumbnails_of_their_images() -> None:
    for picture in benchmark_seed._encoded_images():
        with (
            Image.open(io.BytesIO(picture.data)) as image,
            Image.open(io.BytesIO(picture.thumbnail)) as thumb,
        ):
            assert image.size == (picture.width, picture.height) and image.format == "JPEG"
            assert thumb.format == "JPEG" and max(thumb.size) == 160
            assert abs(thumb.size[0] / thumb.size[1] - image.size[0] / image.size[1]) < 0.02
            # The same picture: the small one is the big one shrunk.
            shrunk = image.convert("RGB").resize(thumb.size)
            difference = sum(
                abs(a - b) for a, b in zip(shrunk.tobytes(), thumb.convert("RGB").tobytes(), strict=True)
            )
            assert difference / len(shrunk.tobytes()) < 12
        assert (picture.preview is not None) == (max(picture.width, picture.height) > 1280)


def test_bad_sizes_are_refused_with_a_clear_error() -> None:
    for options in ({"calls": 0}, {"repeat": 0}, {"images": -1}):
        with pytest.raises(CommandError, match=r"must be at least 1|cannot be negative"):
            call_command("benchmark_portal", stdout=StringIO(), **options)

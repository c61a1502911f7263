"""The stored images and liveness data lists of the admin at size: their queries do not grow
with the rows shown, their thumbnails are sized <img>s loaded lazily, and a page of list
thumbnails, once made, is served from the kept files without decoding anything."""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import path, reverse
from django.utils import timezone
from PIL import Image

from accounts import services
from accounts.models import ApiAccount
from resources import thumbnails
from resources.models import LivenessData, StoredImage
from resources.purge import orphan_files
from resources.services import image_store
from tests.resources.test_admin import package
from tests.storage import exists

urlpatterns = [path("admin/", admin.site.urls)]

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]

IMAGES = "/admin/resources/storedimage/"
PACKAGES = "/admin/resources/livenessdata/"


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Path) -> Iterator[Path]:
    settings.MEDIA_ROOT = tmp_path / "media"
    yield settings.MEDIA_ROOT


@pytest.fixture
def staff(client: Client) -> Client:
    client.force_login(User.objects.create_superuser("operator", "operator@example.com", "pw"))
    return client


def accounts(count: int, start: int = 0) -> list[ApiAccount]:
    return [services.account_create(username=f"user{n}")[0] for n in range(start, start + count)]


def jpeg(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.radial_gradient("L").convert("RGB").resize((width, height)).save(buffer, "JPEG")
    return buffer.getvalue()


def stored_images(
    owners: list[ApiAccount], count: int, width: int = 64, height: int = 48
) -> list[StoredImage]:
    data = jpeg(width, height)
    return [
        image_store(
            account=owners[n % len(owners)],
            data=data,
            format="JPEG",
            width=width,
            height=height,
            source="file",
        )
        for n in range(count)
    ]


def test_the_images_list_queries_do_not_grow_with_images_or_accounts(
    staff: Client, django_assert_max_num_queries: Callable[..., Any]
) -> None:
    stored_images(accounts(1), 2)
    with CaptureQueriesContext(connection) as few:
        assert staff.get(IMAGES).status_code == 200
    stored_images(accounts(30, start=1), 120)
    with django_assert_max_num_queries(len(few)):
        response = staff.get(IMAGES)
    assert len(response.context["cl"].result_list) == 100
    # Every row's account is shown, with no query of its own.
    assert response.content.decode().count("/admin/accounts/apiaccount/") >= 100


def test_the_packages_list_queries_do_not_grow_with_packages_or_accounts(
    staff: Client, django_assert_max_num_queries: Callable[..., Any]
) -> None:
    package(accounts(1)[0])
    with CaptureQueriesContext(connection) as few:
        assert staff.get(PACKAGES).status_code == 200
    for owner in accounts(30, start=1):
        package(owner)
        package(owner)
    with django_assert_max_num_queries(len(few)):
        response = staff.get(PACKAGES)
    assert len(response.context["cl"].result_list) == 61


def test_list_thumbnails_are_lazy_and_sized_to_their_box(staff: Client) -> None:
    owner = accounts(1)[0]
    (wide,) = stored_images([owner], 1, width=1000, height=500)
    (small,) = stored_images([owner], 1, width=64, height=48)
    listing = staff.get(IMAGES).content.decode()
    tags = dict(
        re.findall(
            r"<img class='thumb small' src='[^']*/([0-9a-f]{32})/thumbnail/\?size=160'([^>]*)>", listing
        )
    )
    # The list's box is 120 px (templates/admin/base_site.html): never enlarged, ratio kept.
    assert tags[wide.id] == f" alt='Stored image {wide.id}' loading='lazy' width='120' height='60'"
    assert tags[small.id] == f" alt='Stored image {small.id}' loading='lazy' width='64' height='48'"
    change = staff.get(reverse("admin:resources_storedimage_change", args=[wide.id])).content.decode()
    assert "loading='lazy' width='480' height='240'" in change


class DecodeSpy:
    """Counts the engine's decodes made for thumbnails."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        original = thumbnails.decode

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            return original(*args, **kwargs)

        monkeypatch.setattr(thumbnails, "decode", counted)


def test_a_page_of_list_thumbnails_decodes_nothing_once_made(
    staff: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = accounts(1)[0]
    images = stored_images([owner], 3, width=640, height=480) + stored_images(
        [owner], 2, width=2000, height=1500
    )
    spy = DecodeSpy(monkeypatch)
    first = [staff.get(thumbnail(image)) for image in images]
    assert [response.status_code for response in first] == [200] * 5
    # Small images: one decode each; large ones: the original (for the preview), then the preview.
    assert spy.calls == 3 + 2 * 2
    for image in images:
        image.refresh_from_db()
        assert image.thumbnail_file.name == f"images/{image.id[:2]}/{image.id}.thumbnail.jpg"
        assert exists(image.thumbnail_file.name)

    spy.calls = 0
    again = [staff.get(thumbnail(image)) for image in images]
    assert spy.calls == 0
    assert [response.content for response in again] == [response.content for response in first]
    with Image.open(io.BytesIO(again[-1].content)) as shown:
        assert (shown.format, shown.size) == ("JPEG", (160, 120))
    assert "private" in again[0]["Cache-Control"] and "max-age=86400" in again[0]["Cache-Control"]


def test_a_kept_thumbnail_gone_from_storage_is_made_again(staff: Client) -> None:
    (image,) = stored_images(accounts(1), 1)
    assert staff.get(thumbnail(image)).status_code == 200
    image.refresh_from_db()
    image.thumbnail_file.storage.delete(str(image.thumbnail_file.name))
    assert staff.get(thumbnail(image)).status_code == 200
    image.refresh_from_db()
    assert exists(image.thumbnail_file.name)


def test_a_kept_thumbnail_goes_with_its_image_or_is_swept_as_an_orphan(
    staff: Client, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    gone, crashed = stored_images(accounts(1), 2)
    for image in (gone, crashed):
        assert staff.get(thumbnail(image)).status_code == 200
        image.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        gone.delete()
    assert not exists(gone.thumbnail_file.name) and not exists(gone.file.name)
    StoredImage.objects.filter(pk=crashed.pk)._raw_delete(StoredImage.objects.db)  # no signal: as a crash
    later = timezone.now() + timedelta(minutes=11)
    assert set(orphan_files(now=later)) == {crashed.file.name, crashed.thumbnail_file.name}


def thumbnail(image: StoredImage | LivenessData) -> str:
    return f"{reverse('admin:resources_storedimage_thumbnail', args=[image.pk])}?size=160"

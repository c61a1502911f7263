"""Stored images and liveness data in the admin: thumbnails for staff only, and purges that
take rows and files together after a confirmation page."""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission, User
from django.core.files.storage import default_storage
from django.db.models import Model
from django.test import Client
from django.urls import path, reverse
from django.utils import timezone
from PIL import Image

from accounts import services
from accounts.models import ApiAccount
from resources import purge as purging
from resources.liveness import challenge_issue
from resources.models import LivenessChallenge, LivenessData, StoredImage
from resources.services import image_store, save_with_file

urlpatterns = [path("admin/", admin.site.urls)]

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]

OnCommit = Callable[..., Any]


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Path) -> Iterator[Path]:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.FACEPORTAL_IMAGE_RETENTION_DAYS = 30
    yield settings.MEDIA_ROOT


@pytest.fixture
def staff(client: Client) -> Client:
    client.force_login(User.objects.create_superuser("operator", "operator@example.com", "pw"))
    return client


@pytest.fixture
def account() -> ApiAccount:
    return services.account_create(username="alice")[0]


def url(model: type[Model], view: str, *args: Any) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def thumbnail_url(image: StoredImage, size: str | None = None) -> str:
    base = reverse("admin:resources_storedimage_thumbnail", args=[image.pk])
    return f"{base}?size={size}" if size else base


def messages_of(response: Any) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def photo(width: int, height: int, fmt: str = "PNG", **options: Any) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 120, 40)).save(buffer, fmt, **options)
    return buffer.getvalue()


def image(
    account: ApiAccount, age: timedelta = timedelta(0), data: bytes | None = None, fmt: str = "PNG"
) -> StoredImage:
    data = photo(64, 48) if data is None else data
    stored = image_store(account=account, data=data, format=fmt, width=64, height=48, source="file")
    if age:
        StoredImage.objects.filter(pk=stored.pk).update(created_at=timezone.now() - age)
    return stored


def package(account: ApiAccount, age: timedelta = timedelta(0), used: bool = True) -> LivenessData:
    """An accepted package (its bytes need not be a real package here) and its challenge."""
    challenge, _ = challenge_issue(account)
    if used:
        challenge.used_at = timezone.now()
        challenge.save()
    record = LivenessData(
        account=account, challenge=challenge, sha256="0" * 64, size=4, frames=1, source="file"
    )
    save_with_file(record, f"{record.id}.fplv", b"FPLV")
    if age:
        LivenessData.objects.filter(pk=record.pk).update(created_at=timezone.now() - age)
    return record


def challenge(account: ApiAccount, expired_days_ago: float, used: bool = False) -> LivenessChallenge:
    issued, _ = challenge_issue(account)
    expiry = timezone.now() - timedelta(days=expired_days_ago)
    LivenessChallenge.objects.filter(pk=issued.pk).update(
        expires_at=expiry, created_at=expiry - timedelta(minutes=5), used_at=expiry if used else None
    )
    return issued


def stored(record: StoredImage | LivenessData) -> bool:
    return default_storage.exists(file_name(record))


def file_name(record: StoredImage | LivenessData) -> str:
    assert record.file.name, "every stored record has its file"
    return record.file.name


def start_action(
    client: Client, model: type[Model], action: str, selected: list[Any], query: str = ""
) -> Any:
    data: dict[str, Any] = {"action": action, "index": "0", "_selected_action": [r.pk for r in selected]}
    return client.post(f"{url(model, 'changelist')}{query}", data)


def confirm(client: Client, page: Any, model: type[Model], query: str = "") -> Any:
    """Submits the confirmation page's own form, as the browser would, to the same URL."""
    html = page.content.decode()
    assert page.status_code == 200 and 'name="confirmed" value="yes"' in html, html[:500]
    data: dict[str, list[str]] = {}
    for name, value in re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', html):
        data.setdefault(name, []).append(value)
    return client.post(f"{url(model, 'changelist')}{query}", data, follow=True)


class TestThumbnails:
    def test_list_and_change_pages_show_thumbnails_through_the_admin(
        self, staff: Client, account: ApiAccount
    ) -> None:
        stored_image = image(account)
        listing = staff.get(url(StoredImage, "changelist")).content.decode()
        assert f"src='{thumbnail_url(stored_image, '160')}'" in listing
        change = staff.get(url(StoredImage, "change", stored_image.pk)).content.decode()
        assert f"src='{thumbnail_url(stored_image, '640')}'" in change
        assert "/media/" not in listing + change  # the storage's own URL is never offered

    @pytest.mark.parametrize(("size", "side"), [(None, 160), ("160", 160), ("640", 640)])
    def test_thumbnail_is_a_jpeg_within_its_size_keeping_proportions(
        self, staff: Client, account: ApiAccount, size: str | None, side: int
    ) -> None:
        stored_image = image(account, data=photo(1000, 500))
        response = staff.get(thumbnail_url(stored_image, size))
        assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
        assert "private" in response["Cache-Control"]
        with Image.open(io.BytesIO(response.content)) as thumb:
            assert (thumb.format, thumb.size) == ("JPEG", (side, side // 2))

    def test_follows_the_exif_orientation(self, staff: Client, account: ApiAccount) -> None:
        exif = Image.Exif()
        exif[0x0112] = 6  # rotate 90°: a portrait photo stored as landscape pixels
        stored_image = image(account, data=photo(200, 100, "JPEG", exif=exif), fmt="JPEG")
        with Image.open(io.BytesIO(staff.get(thumbnail_url(stored_image)).content)) as thumb:
            assert thumb.size == (80, 160)  # upright: portrait

    def test_reads_through_the_storage_not_the_disk(
        self, staff: Client, account: ApiAccount, settings: Any
    ) -> None:
        settings.STORAGES = {
            **settings.STORAGES,
            "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
        }
        stored_image = image(account, data=photo(300, 300))
        assert not Path(settings.MEDIA_ROOT).exists()
        with Image.open(io.BytesIO(staff.get(thumbnail_url(stored_image)).content)) as thumb:
            assert thumb.size == (160, 160)

    def test_bad_requests_get_a_clear_answer(self, staff: Client, account: ApiAccount) -> None:
        stored_image = image(account)
        for size in ("huge", "120", "-1"):
            bad_size = staff.get(thumbnail_url(stored_image, size))
            assert (bad_size.status_code, bad_size.content) == (400, b"size must be one of 160, 640, 1280")
        unknown = staff.get(reverse("admin:resources_storedimage_thumbnail", args=["f" * 32]))
        assert (unknown.status_code, unknown.content.decode()) == (404, f"No stored image {'f' * 32}.")
        unreadable = image(account, data=b"not an image")
        response = staff.get(thumbnail_url(unreadable))
        assert response.status_code == 404
        assert (
            response.content.decode() == f"The file of stored image {unreadable.pk} is missing or unreadable."
        )
        default_storage.delete(file_name(stored_image))
        assert staff.get(thumbnail_url(stored_image)).status_code == 404

    def test_only_staff_who_may_view_images_get_them(self, client: Client, account: ApiAccount) -> None:
        stored_image = image(account)
        assert client.get(thumbnail_url(stored_image)).status_code == 302  # anonymous: to login
        client.force_login(account.user)  # the image's own customer, not staff
        response = client.get(thumbnail_url(stored_image))
        assert response.status_code == 302 and "/admin/login/" in response["Location"]
        clerk = get_user_model().objects.create_user("clerk", is_staff=True)
        client.force_login(clerk)
        assert client.get(thumbnail_url(stored_image)).status_code == 403
        clerk.user_permissions.add(Permission.objects.get(codename="view_storedimage"))
        assert client.get(thumbnail_url(stored_image)).status_code == 200


class TestStoredImagePurges:
    def test_lists_dimensions_and_size(self, staff: Client, account: ApiAccount) -> None:
        stored_image = image(account)
        html = staff.get(url(StoredImage, "changelist")).content.decode()
        size = stored_image.size
        assert stored_image.id in html and "64 x 48" in html and f"{size}\xa0bytes" in html

    def test_purge_selected_confirms_then_deletes_rows_and_files(
        self, staff: Client, account: ApiAccount, django_capture_on_commit_callbacks: OnCommit
    ) -> None:
        chosen, spared = [image(account), image(account)], image(account)
        page = start_action(staff, StoredImage, "purge_selected", chosen)
        assert "2 stored images will be deleted, files included." in page.content.decode()
        assert StoredImage.objects.count() == 3 and all(stored(i) for i in chosen)
        with django_capture_on_commit_callbacks(execute=True):
            response = confirm(staff, page, StoredImage)
        assert "Purged 2 stored images." in messages_of(response)
        assert list(StoredImage.objects.all()) == [spared]
        assert not any(stored(i) for i in chosen) and stored(spared)

    def test_purge_all_matching_a_filter_spares_the_rest(
        self, staff: Client, account: ApiAccount, django_capture_on_commit_callbacks: OnCommit
    ) -> None:
        mine = [image(account) for _ in range(3)]
        theirs = image(services.account_create(username="bob")[0])
        query = f"?api_id={account.api_id}"
        data = {
            "action": "purge_selected",
            "index": "0",
            "select_across": "1",
            "_selected_action": [mine[0].pk],
        }
        page = staff.post(f"{url(StoredImage, 'changelist')}{query}", data)
        assert "3 stored images will be deleted" in page.content.decode()
        with django_capture_on_commit_callbacks(execute=True):
            confirm(staff, page, StoredImage, query)
        assert list(StoredImage.objects.all()) == [theirs]

    def test_the_confirmation_names_a_hundred_and_counts_the_rest(
        self, staff: Client, account: ApiAccount
    ) -> None:
        images = [image(account, data=b"x") for _ in range(103)]
        data = {
            "action": "purge_selected",
            "index": "0",
            "select_across": "1",
            "_selected_action": [images[0].pk],
        }
        html = staff.post(url(StoredImage, "changelist"), data).content.decode()
        assert "103 stored images will be deleted" in html
        assert html.count("<li>") - html.count("<li>… and") == 100 and "<li>… and 3 more</li>" in html

    def test_purge_expired_needs_no_selection_and_confirms(
        self, staff: Client, account: ApiAccount, django_capture_on_commit_callbacks: OnCommit
    ) -> None:
        old, recent = image(account, timedelta(days=40)), image(account, timedelta(days=2))
        page = start_action(staff, StoredImage, "purge_expired", [])
        assert "1 stored image (older than 30 days) will be deleted" in page.content.decode()
        assert StoredImage.objects.count() == 2
        with django_capture_on_commit_callbacks(execute=True):
            response = confirm(staff, page, StoredImage)
        assert "Purged 1 stored image (older than 30 days)." in messages_of(response)
        assert list(StoredImage.objects.all()) == [recent]
        assert not stored(old) and stored(recent)

    def test_a_rolled_back_purge_keeps_the_files(
        self, staff: Client, account: ApiAccount, django_capture_on_commit_callbacks: OnCommit
    ) -> None:
        old = image(account, timedelta(days=40))
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            purging.purge(StoredImage.objects.all())
        assert len(callbacks) == 1 and stored(old)  # deleted only once the deletion commits

    def test_django_delete_selected_is_replaced_and_deleters_only_get_purges(
        self, staff: Client, client: Client, account: ApiAccount
    ) -> None:
        image(account)
        html = staff.get(url(StoredImage, "changelist")).content.decode()
        assert 'value="purge_selected"' in html and 'value="purge_expired"' in html
        assert 'value="delete_selected"' not in html
        viewer = get_user_model().objects.create_user("viewer", is_staff=True)
        viewer.user_permissions.add(Permission.objects.get(codename="view_storedimage"))
        client.force_login(viewer)
        assert 'value="purge_expired"' not in client.get(url(StoredImage, "changelist")).content.decode()
        start_action(client, StoredImage, "purge_expired", [])
        assert StoredImage.objects.count() == 1


class TestLivenessPurges:
    def test_purge_selected_packages(
        self, staff: Client, account: ApiAccount, django_capture_on_commit_callbacks: OnCommit
    ) -> None:
        chosen, spared = package(account), package(account)
        page = start_action(staff, LivenessData, "purge_selected", [chosen])
        assert "1 liveness package will be deleted, files included." in page.content.decode()
        with django_capture_on_commit_callbacks(execute=True):
            response = confirm(staff, page, LivenessData)
        assert "Purged 1 liveness package." in messages_of(response)
        assert list(LivenessData.objects.all()) == [spared]
        assert not stored(chosen) and stored(spared)

    def test_purge_expired_packages(
        self, staff: Client, account: ApiAccount, django_capture_on_commit_callbacks: OnCommit
    ) -> None:
        old, recent = package(account, timedelta(days=31)), package(account, timedelta(days=29))
        page = start_action(staff, LivenessData, "purge_expired", [])
        assert "1 liveness package (older than 30 days) will be deleted" in page.content.decode()
        with django_capture_on_commit_callbacks(execute=True):
            confirm(staff, page, LivenessData)
        assert list(LivenessData.objects.all()) == [recent]
        assert not stored(old) and stored(recent)

    def test_purging_a_challenge_takes_its_package_and_file(
        self, staff: Client, account: ApiAccount, django_capture_on_commit_callbacks: OnCommit
    ) -> None:
        answered = package(account)
        page = start_action(staff, LivenessChallenge, "purge_selected", [answered.challenge])
        assert "Their 1 liveness package will go with them." in page.content.decode()
        with django_capture_on_commit_callbacks(execute=True):
            response = confirm(staff, page, LivenessChallenge)
        assert "Purged 1 liveness package and 1 liveness challenge." in messages_of(response)
        assert not LivenessData.objects.exists() and not stored(answered)

    def test_purge_stale_challenges_keeps_what_may_still_matter(
        self, staff: Client, account: ApiAccount, django_capture_on_commit_callbacks: OnCommit
    ) -> None:
        long_expired = challenge(account, expired_days_ago=31)
        orphaned = challenge(account, expired_days_ago=1, used=True)  # its package was deleted
        expired_package = package(account, timedelta(days=35))
        recently_expired = challenge(account, expired_days_ago=2)
        pending = challenge(account, expired_days_ago=-0.01)
        current = package(account, timedelta(days=3))
        page = start_action(staff, LivenessChallenge, "purge_expired", [])
        assert "3 liveness challenges (expired over 30 days ago" in page.content.decode()
        with django_capture_on_commit_callbacks(execute=True):
            response = confirm(staff, page, LivenessChallenge)
        assert "Purged 1 liveness package and 3 liveness challenges" in messages_of(response)[0]
        kept = set(LivenessChallenge.objects.values_list("pk", flat=True))
        assert kept == {recently_expired.pk, pending.pk, current.challenge.pk}
        assert not {long_expired.pk, orphaned.pk, expired_package.challenge.pk} & kept
        assert not stored(expired_package) and stored(current)


class TestPurgeRules:
    """resources/purge.py, which the command and the admin share."""

    def test_purge_expired_and_count_expired_agree(
        self, account: ApiAccount, django_capture_on_commit_callbacks: OnCommit
    ) -> None:
        image(account, timedelta(days=31))
        image(account, timedelta(days=29))
        package(account, timedelta(days=40))
        package(account)
        challenge(account, expired_days_ago=45)
        expected = purging.Purged(images=1, packages=1, challenges=2)
        assert purging.count_expired() == expected
        with django_capture_on_commit_callbacks(execute=True):
            assert purging.purge_expired() == expected
        assert purging.count_expired() == purging.Purged()
        assert (
            StoredImage.objects.count(),
            LivenessData.objects.count(),
            LivenessChallenge.objects.count(),
        ) == (
            1,
            1,
            1,
        )

    def test_retention_comes_from_settings(self, account: ApiAccount, settings: Any) -> None:
        image(account, timedelta(days=40))
        settings.FACEPORTAL_IMAGE_RETENTION_DAYS = 50
        assert purging.count_expired().images == 0
        settings.FACEPORTAL_IMAGE_RETENTION_DAYS = 39
        assert purging.count_expired().images == 1

    def test_deletes_in_chunks_every_row_and_file(
        self,
        account: ApiAccount,
        monkeypatch: pytest.MonkeyPatch,
        django_capture_on_commit_callbacks: OnCommit,
    ) -> None:
        monkeypatch.setattr(purging, "CHUNK", 2)
        images = [image(account, timedelta(days=60)) for _ in range(5)]
        with django_capture_on_commit_callbacks(execute=True):
            assert purging.purge(StoredImage.objects.all()) == purging.Purged(images=5)
        assert not StoredImage.objects.exists() and not any(stored(i) for i in images)

    def test_purging_nothing(self) -> None:
        assert purging.purge(StoredImage.objects.none()) == purging.Purged()


def test_account_images_are_linked_from_the_image_list(staff: Client, account: ApiAccount) -> None:
    image(account)
    html = staff.get(url(StoredImage, "changelist")).content.decode()
    assert f"<a href='{url(ApiAccount, 'change', account.pk)}'>{account.api_id}</a>" in html


def test_liveness_pages_offer_no_file_link(staff: Client, account: ApiAccount) -> None:
    record = package(account)
    html = staff.get(url(LivenessData, "change", record.pk)).content.decode()
    assert file_name(record) not in html and record.challenge.pk in html

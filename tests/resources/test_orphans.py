"""Files that no row names (a worker killed between writing a file and committing its row) are
swept by purge_images, once they are older than a call could take; files with rows never are.

Runs on the local file storage and, in the services pass, on the S3 bucket."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts import services
from resources import purge as purging
from resources.models import new_image_id
from resources.services import image_store
from tests.storage import exists

pytestmark = pytest.mark.django_db


def orphan(folder: str, extension: str) -> str:
    """A file where a call would have written one, with no row."""
    stem = new_image_id()
    return default_storage.save(f"{folder}/{stem[:2]}/{stem}.{extension}", ContentFile(b"left behind"))


def stored_image(account: Any) -> Any:
    return image_store(account=account, data=b"an image", format="JPEG", width=4, height=3, source="file")


def later(minutes: float) -> Any:
    return timezone.now() + timedelta(minutes=minutes)


def test_old_files_without_rows_are_found_and_recent_ones_and_rows_files_are_not() -> None:
    account = services.account_create(username="alice")[0]
    kept = image_store(
        account=account, data=b"a stored image", format="JPEG", width=4, height=3, source="file"
    )
    image, package = orphan("images", "jpg"), orphan("liveness", "fplv")
    # Just written: it may belong to a call whose transaction has not committed yet.
    assert not {image, package} & set(purging.orphan_files())
    found = purging.orphan_files(now=later(11))
    assert {image, package} <= set(found)
    assert kept.file.name not in found


def test_purge_images_deletes_orphans_and_says_how_many(
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    account = services.account_create(username="alice")[0]
    kept = image_store(
        account=account, data=b"a stored image", format="JPEG", width=4, height=3, source="file"
    )
    left = orphan("images", "png")
    out = StringIO()
    call_command("purge_images", "--dry-run", "--grace", "0", stdout=out)
    assert "Would delete" in out.getvalue() and "that no record names." in out.getvalue()
    assert default_storage.exists(left)
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("purge_images", "--grace", "0", stdout=out)
    assert not default_storage.exists(left)
    assert exists(kept.file.name)
    assert "Deleted 0 stored images older than 30 days." in out.getvalue()


def test_purge_images_keeps_orphans_younger_than_a_call_can_take() -> None:
    left = orphan("liveness", "fplv")
    out = StringIO()
    call_command("purge_images", stdout=out)
    assert default_storage.exists(left) and "Deleted 0 stored files that no record names." in out.getvalue()


def test_a_negative_grace_is_refused_before_anything_is_deleted() -> None:
    left = orphan("images", "jpg")
    with pytest.raises(CommandError, match="--grace"):
        call_command("purge_images", "--grace", "-5", stdout=StringIO())
    assert default_storage.exists(left)

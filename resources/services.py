"""Storing, finding and purging images. Files and rows never outlive each other: a row is
created with its file, and deleting rows deletes their files."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.utils import timezone

from accounts.models import ApiAccount
from resources.models import StoredImage


def image_store(
    *, account: ApiAccount, data: bytes, format: str, width: int, height: int, source: str
) -> StoredImage:
    image = StoredImage(
        account=account,
        sha256=hashlib.sha256(data).hexdigest(),
        format=format,
        width=width,
        height=height,
        size=len(data),
        source=source,
    )
    image.file.save(f"{image.id}.{image.extension}", ContentFile(data), save=False)
    try:
        image.save(force_insert=True)
    except BaseException:
        image.file.delete(save=False)
        raise
    return image


def image_find(*, account: ApiAccount, image_id: str) -> StoredImage | None:
    """The account's own image; another account's id is as good as unknown."""
    if len(image_id) != 32:
        return None
    return StoredImage.objects.filter(account=account, id=image_id.lower()).first()


def images_delete(images: Iterable[StoredImage]) -> int:
    """Deletes rows one by one so that each file goes too (see signals.py)."""
    count = 0
    for image in images:
        image.delete()
        count += 1
    return count


def images_purge_expired(*, now: datetime | None = None) -> int:
    """Deletes images older than the retention period (FACEPORTAL_IMAGE_RETENTION_DAYS)."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.FACEPORTAL_IMAGE_RETENTION_DAYS)
    return images_delete(StoredImage.objects.filter(created_at__lt=cutoff).iterator())

"""Storing, finding and purging images. Files and rows never outlive each other: a row is
created with its file, and deleting rows deletes their files."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TypeVar

from django.conf import settings
from django.core.files.base import ContentFile
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import ApiAccount
from resources.models import LivenessChallenge, LivenessData, StoredImage


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
    return save_with_file(image, f"{image.id}.{image.extension}", data)


Stored = TypeVar("Stored", StoredImage, LivenessData)


def save_with_file(record: Stored, filename: str, data: bytes) -> Stored:
    """Writes the file, then inserts the row; a row that cannot be saved takes its file with it."""
    record.file.save(filename, ContentFile(data), save=False)
    try:
        record.save(force_insert=True)
    except BaseException:
        record.file.delete(save=False)
        raise
    return record


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


def liveness_expired(
    *, now: datetime | None = None
) -> tuple[QuerySet[LivenessData], QuerySet[LivenessChallenge]]:
    """Packages past the retention period (as for images), and challenges that expired
    before it unanswered or whose package is gone."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.FACEPORTAL_IMAGE_RETENTION_DAYS)
    packages = LivenessData.objects.filter(created_at__lt=cutoff)
    challenges = LivenessChallenge.objects.filter(expires_at__lt=cutoff)
    return packages, challenges


def liveness_purge_expired(*, now: datetime | None = None) -> int:
    """Deletes expired packages (files too) and old challenges; returns the package count."""
    packages, challenges = liveness_expired(now=now)
    count = 0
    for package in packages.iterator():
        package.delete()  # one by one, so that the file goes too (signals.py)
        count += 1
    challenges.delete()  # their packages, if any were left, went just above
    return count

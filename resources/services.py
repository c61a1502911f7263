"""Storing, finding and purging images. Files and rows never outlive each other: a row is
created with its file, and deleting rows deletes their files."""

from __future__ import annotations

import hashlib
from typing import TypeVar

from django.core.files.base import ContentFile

from accounts.models import ApiAccount
from resources.models import CallImage, LivenessData, StoredImage


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


def call_image_keep(
    *, account: ApiAccount, request_id: str, role: str, data: bytes, format: str, width: int, height: int
) -> CallImage:
    """Keeps an image of a call that the API did not store, for the owner's call history."""
    image = CallImage(
        account=account,
        request_id=request_id,
        role=role,
        format=format,
        width=width,
        height=height,
        size=len(data),
    )
    return save_with_file(image, f"{image.id}.{image.extension}", data)


Stored = TypeVar("Stored", StoredImage, LivenessData, CallImage)


def save_with_file(record: Stored, filename: str, data: bytes) -> Stored:
    """Writes the file, then inserts the row; a row that cannot be saved takes its file with it."""
    record.file.save(filename, ContentFile(data), save=False)
    try:
        record.save(force_insert=True)
    except BaseException:
        record.file.delete(save=False)
        raise
    return record


def image_preview_store(*, image: StoredImage | CallImage, data: bytes, replacing: str = "") -> None:
    """Stores `data` as the image's preview unless another request stored one first (the row
    then names theirs: the row is updated only where it still names `replacing`) or the row
    is gone; in both cases the file written here is deleted again, so none is left unnamed."""
    name = image.preview_file.field.generate_filename(image, "preview.jpg")
    name = image.preview_file.storage.save(name, ContentFile(data))
    rows = type(image)._default_manager
    taken = rows.filter(pk=image.pk, preview_file=replacing).update(preview_file=name)
    if taken:
        image.preview_file.name = name
    elif not rows.filter(pk=image.pk, preview_file=name).exists():
        # (A storage that overwrites may have given both requests one name: then it is theirs.)
        image.preview_file.storage.delete(name)


def image_find(*, account: ApiAccount, image_id: str) -> StoredImage | None:
    """The account's own image; another account's id is as good as unknown."""
    if len(image_id) != 32:
        return None
    return StoredImage.objects.filter(account=account, id=image_id.lower()).first()

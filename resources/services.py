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
    """Stores `data` as the image's preview (see image_derived_store)."""
    image_derived_store(image=image, field="preview_file", data=data, replacing=replacing)


def image_thumbnail_store(*, image: StoredImage, data: bytes, replacing: str = "") -> None:
    """Stores `data` as the image's list thumbnail (see image_derived_store)."""
    image_derived_store(image=image, field="thumbnail_file", data=data, replacing=replacing)


def image_derived_store(
    *, image: StoredImage | CallImage, field: str, data: bytes, replacing: str = ""
) -> None:
    """Stores `data` as the file in `field` (a preview or a thumbnail made from the image)
    unless another request stored one first (the row then names theirs: the row is updated only
    where it still names `replacing`) or the row is gone; in both cases the file written here is
    deleted again, so none is left unnamed."""
    file = getattr(image, field)
    name = file.storage.save(file.field.generate_filename(image, f"{field}.jpg"), ContentFile(data))
    rows = type(image)._default_manager
    taken = rows.filter(pk=image.pk, **{field: replacing}).update(**{field: name})
    if taken:
        file.name = name
    elif not rows.filter(pk=image.pk, **{field: name}).exists():
        # (A storage that overwrites may have given both requests one name: then it is theirs.)
        file.storage.delete(name)


def image_find(*, account: ApiAccount, image_id: str) -> StoredImage | None:
    """The account's own image; another account's id is as good as unknown."""
    if len(image_id) != 32:
        return None
    return StoredImage.objects.filter(account=account, id=image_id.lower()).first()

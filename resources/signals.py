"""A stored file goes with its row, however the row is deleted (account deletion cascades,
admin bulk delete, purge): stored images with their previews and thumbnails, call images with
their previews, and liveness packages."""

from __future__ import annotations

from typing import Any

from django.core.files.storage import Storage
from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from resources.models import CallImage, LivenessData, StoredImage


@receiver(post_delete, sender=StoredImage)
@receiver(post_delete, sender=LivenessData)
@receiver(post_delete, sender=CallImage)
def delete_file_with_row(
    sender: type, instance: StoredImage | LivenessData | CallImage, **kwargs: Any
) -> None:
    files = [instance.file]
    if isinstance(instance, StoredImage):
        files += [instance.preview_file, instance.thumbnail_file]
    elif isinstance(instance, CallImage):
        files.append(instance.preview_file)
    for file in files:
        if file.name:
            _delete_after_commit(file.storage, file.name)


def _delete_after_commit(storage: Storage, name: str) -> None:
    # After commit: a rolled-back delete must not lose the file.
    transaction.on_commit(lambda: storage.delete(name))

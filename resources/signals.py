"""A stored file goes with its row, however the row is deleted (account deletion cascades,
admin bulk delete, purge): stored images and liveness packages alike."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from resources.models import LivenessData, StoredImage


@receiver(post_delete, sender=StoredImage)
@receiver(post_delete, sender=LivenessData)
def delete_file_with_row(sender: type, instance: StoredImage | LivenessData, **kwargs: Any) -> None:
    name, storage = instance.file.name, instance.file.storage
    if name:
        # After commit: a rolled-back delete must not lose the file.
        transaction.on_commit(lambda: storage.delete(name))

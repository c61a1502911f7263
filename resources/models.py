"""Images stored for an account, referable later by their unguessable id."""

from __future__ import annotations

import secrets

from django.db import models
from django.utils import timezone

from accounts.models import ApiAccount


def new_image_id() -> str:
    return secrets.token_hex(16)


def image_path(instance: StoredImage, filename: str) -> str:
    # Sharded by id so that no directory grows without bound.
    return f"images/{instance.id[:2]}/{instance.id}.{instance.extension}"


class StoredImage(models.Model):
    SOURCES = (("file", "file upload"), ("url", "URL download"))
    EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "BMP": "bmp", "GIF": "gif", "TIFF": "tif"}

    id = models.CharField(primary_key=True, max_length=32, default=new_image_id, editable=False)
    account = models.ForeignKey(ApiAccount, on_delete=models.CASCADE, related_name="images")
    file = models.FileField(upload_to=image_path, max_length=200)
    sha256 = models.CharField(max_length=64)
    format = models.CharField(max_length=8)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    size = models.PositiveIntegerField(help_text="bytes")
    source = models.CharField(max_length=8, choices=SOURCES)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.id

    @property
    def extension(self) -> str:
        return self.EXTENSIONS.get(self.format, "img")

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


def preview_path(instance: StoredImage, filename: str) -> str:
    # Beside its image, named by the same id: the orphan sweep ties it to the same row.
    return f"images/{instance.id[:2]}/{instance.id}.preview.jpg"


def thumbnail_path(instance: StoredImage, filename: str) -> str:
    return f"images/{instance.id[:2]}/{instance.id}.thumbnail.jpg"


class StoredImage(models.Model):
    SOURCES = (("file", "file upload"), ("url", "URL download"))
    EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "BMP": "bmp", "GIF": "gif", "TIFF": "tif"}

    id = models.CharField(primary_key=True, max_length=32, default=new_image_id, editable=False)
    account = models.ForeignKey(ApiAccount, on_delete=models.CASCADE, related_name="images")
    file = models.FileField(upload_to=image_path, max_length=200)
    # A JPEG of at most 1280 px that thumbnails are made from, so that showing a 4000 px image
    # never decodes it again (resources/thumbnails.py); made at the first thumbnail, deleted with
    # the row. Empty for images small enough to be their own preview, or not shown yet.
    preview_file = models.FileField(upload_to=preview_path, max_length=200, blank=True, editable=False)
    # The list thumbnail (resources.thumbnails.DEFAULT_SIZE), made once with the first one
    # shown and then served as it is: a page of thumbnails decodes nothing.
    thumbnail_file = models.FileField(upload_to=thumbnail_path, max_length=200, blank=True, editable=False)
    sha256 = models.CharField(max_length=64)
    format = models.CharField(max_length=8)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    size = models.PositiveIntegerField(help_text="bytes")
    source = models.CharField(max_length=8, choices=SOURCES)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        # An account's newest first: the admin's list by account, the try-it pages' pickers.
        indexes = [models.Index(fields=["account", "-created_at"])]

    def __str__(self) -> str:
        return self.id

    @property
    def extension(self) -> str:
        return self.EXTENSIONS.get(self.format, "img")


def new_liveness_id() -> str:
    return secrets.token_hex(16)


class LivenessChallenge(models.Model):
    """A server-issued challenge: its id is the nonce a capture must answer, once, in time."""

    id = models.CharField(primary_key=True, max_length=32, default=new_liveness_id, editable=False)
    account = models.ForeignKey(ApiAccount, on_delete=models.CASCADE, related_name="liveness_challenges")
    actions = models.JSONField(help_text="The prompted action sequence.")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(
        null=True, blank=True, help_text="When a package answering it was accepted."
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.id


def liveness_path(instance: LivenessData, filename: str) -> str:
    return f"liveness/{instance.id[:2]}/{instance.id}.fplv"


class LivenessData(models.Model):
    """An accepted liveness package, stored sealed as it was uploaded."""

    id = models.CharField(primary_key=True, max_length=32, default=new_liveness_id, editable=False)
    account = models.ForeignKey(ApiAccount, on_delete=models.CASCADE, related_name="liveness_data")
    challenge = models.OneToOneField(LivenessChallenge, on_delete=models.CASCADE, related_name="package")
    file = models.FileField(upload_to=liveness_path, max_length=200)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveIntegerField(help_text="bytes")
    frames = models.PositiveIntegerField()
    source = models.CharField(max_length=8, choices=StoredImage.SOURCES)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "liveness data"
        indexes = [models.Index(fields=["account", "-created_at"])]

    def __str__(self) -> str:
        return self.id


def call_image_path(instance: CallImage, filename: str) -> str:
    return f"calls/{instance.id[:2]}/{instance.id}.{instance.extension}"


def call_preview_path(instance: CallImage, filename: str) -> str:
    return f"calls/{instance.id[:2]}/{instance.id}.preview.jpg"


class CallImage(models.Model):
    """An image of one API call that the API did not store: an upload or download of a call
    that failed, detect's and mask's inputs (which the API never stores), and mask's answer.
    Kept for the owner's call history only, as long as stored images are
    (FACEPORTAL_IMAGE_RETENTION_DAYS, then purged with them); its id is not an image id of
    the API, so no call can use it."""

    ANSWER = "answer"  # the role of an image the API answered (mask's masked selfie)

    id = models.CharField(primary_key=True, max_length=32, default=new_image_id, editable=False)
    account = models.ForeignKey(ApiAccount, on_delete=models.CASCADE, related_name="call_images")
    request_id = models.CharField(max_length=64, db_index=True, help_text="The call's request id.")
    role = models.CharField(max_length=32, help_text="Its name in the call: image_one, selfie, answer.")
    file = models.FileField(upload_to=call_image_path, max_length=200)
    preview_file = models.FileField(upload_to=call_preview_path, max_length=200, blank=True, editable=False)
    format = models.CharField(max_length=8)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    size = models.PositiveIntegerField(help_text="bytes")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.request_id} {self.role}"

    @property
    def extension(self) -> str:
        return StoredImage.EXTENSIONS.get(self.format, "img")

"""API accounts (credentials, limits, quota) and the history of their calls."""

from __future__ import annotations

import secrets
from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone

from faceportal.endpoints import route_of


class Endpoint(models.TextChoices):
    """What an account may call. The values are stored in accounts' `endpoints` (keep them); the
    paths come from the endpoint registry (faceportal/endpoints.py), which names these values."""

    DETECT = "detect", route_of("detect")
    COMPARE = "compare", route_of("compare")
    MASK = "mask", route_of("mask")
    UPLOAD_LIVENESS = "upload_liveness", route_of("upload_liveness")
    LIVENESS_VERIFICATION = "liveness_verification", route_of("liveness_verification")
    FACESET_CREATE = "faceset_create", route_of("faceset_create")
    FACESET_ADD_FACE = "faceset_add_face", route_of("faceset_add_face")
    FACESET_SEARCH_FACE = "faceset_search_face", route_of("faceset_search_face")
    FACESET_DELETE_FACE = "faceset_delete_face", route_of("faceset_delete_face")
    FACESET_DELETE = "faceset_delete", route_of("faceset_delete")
    FACESET_LIST = "faceset_list", route_of("faceset_list")
    FACESET_INFO = "faceset_info", route_of("faceset_info")


def all_endpoints() -> list[str]:
    return [choice.value for choice in Endpoint]


# The face-set endpoints: accounts made before face sets existed do not have them (their
# permissions are kept as they were); the admin's "Allow face sets" action adds them.
FACESET_ENDPOINTS = [choice.value for choice in Endpoint if choice.value.startswith("faceset_")]


def new_api_id() -> str:
    return secrets.token_hex(16)


class ApiAccount(models.Model):
    """One set of API credentials with its limits. The secret is kept only as a hash."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_accounts")
    name = models.CharField(max_length=100, blank=True, help_text="A label for the owner's own use.")
    api_id = models.CharField(max_length=32, unique=True, default=new_api_id, editable=False)
    secret_hash = models.CharField(max_length=64, editable=False)
    # Counts the secrets this account has had: a browser tab that keeps a secret keeps its
    # version with it, and drops it once the account's version moves on (a rotation).
    secret_version = models.PositiveIntegerField(default=1, editable=False)
    # After a rotation with a grace period, the secret it replaced keeps working until
    # `previous_secret_until` (kept only as its hash, like the current one).
    previous_secret_hash = models.CharField(max_length=64, blank=True, default="", editable=False)
    previous_secret_until = models.DateTimeField(null=True, blank=True, editable=False)
    # Revoked by its owner: every call refused, for good (unlike is_active, which the operator
    # may switch back on).
    revoked_at = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="Revoked by its owner: every call refused, for good."
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Empty: never expires.")
    is_active = models.BooleanField(default=True)
    endpoints = models.JSONField(default=all_endpoints, help_text="Endpoints this account may call.")
    rate_limit = models.PositiveIntegerField(default=10, help_text="Calls per second; 0 for no limit.")
    concurrency_limit = models.PositiveIntegerField(
        default=4, help_text="Simultaneous FaceID calls; 0 for no limit."
    )
    quota_limit = models.PositiveBigIntegerField(default=1000, help_text="Successful calls allowed in all.")
    quota_used = models.PositiveBigIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name or self.api_id} ({self.user})"

    @property
    def quota_remaining(self) -> int:
        return max(0, self.quota_limit - self.quota_used)

    def is_expired(self, now: datetime | None = None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or timezone.now())

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def previous_secret_works_until(self, now: datetime | None = None) -> datetime | None:
        """When the secret replaced by the last rotation stops working; None if it already has."""
        until = self.previous_secret_until
        if not self.previous_secret_hash or until is None or until <= (now or timezone.now()):
            return None
        return until


class ApiCall(models.Model):
    """One API call as answered: never the images, only their ids."""

    # A recorded parameter's value is cut at this many characters (identity/api/history.py).
    PARAM_CHARS = 256

    account = models.ForeignKey(
        ApiAccount, null=True, blank=True, on_delete=models.SET_NULL, related_name="calls"
    )
    endpoint = models.CharField(max_length=64)
    request_id = models.CharField(max_length=64, unique=True)
    status = models.CharField(max_length=64, help_text="OK or the error code answered.")
    http_status = models.PositiveSmallIntegerField()
    latency_ms = models.FloatField()
    image_ids = models.JSONField(default=list, blank=True)
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    request_bytes = models.PositiveBigIntegerField(default=0)
    response_bytes = models.PositiveBigIntegerField(default=0)
    # What the portal's call detail shows: the parameters as received (secrets masked,
    # files by name and size) and the body answered (JSON as text; other bodies described).
    request_params = models.JSONField(default=dict, blank=True)
    response_body = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # An account's calls newest first (the portal's list, in the order it shows them),
            # carrying what the usage figures count and measure (status, latency): the
            # dashboard, the account page and the call log's summary read this index alone,
            # never the rows with their recorded bodies.
            models.Index(
                fields=["account", "-created_at", "id", "status", "latency_ms"], name="apicall_account_usage"
            ),
            models.Index(fields=["endpoint", "-created_at"]),
            models.Index(fields=["status", "-created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.request_id} {self.endpoint} {self.status}"

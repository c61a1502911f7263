"""Fixtures for calling the API through the whole Django stack."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from accounts.models import ApiAccount
from accounts.services import account_create
from resources.models import StoredImage
from tests.conftest import encode, pixels
from tests.storage import stored_files


@pytest.fixture(autouse=True)
def isolated(isolated_storage: Path, settings: Any) -> Iterator[Path]:
    """Stored files go to a place of this test's own (tests/storage.py); counters start from zero.
    The tests here count the API's own writes (stored images, packages) file by file, so the
    history's copies of the images a call did not store are off: tests/api/test_call_images.py
    checks those, with the setting on as it is by default."""
    settings.FACEPORTAL_KEEP_CALL_IMAGES = False
    cache.clear()
    yield isolated_storage
    cache.clear()


class Api:
    """An account and a client; `post` sends credentials the way integrators do."""

    def __init__(self, client: Client, account: ApiAccount, secret: str) -> None:
        self.client = client
        self.account = account
        self.secret = secret

    def linkface(
        self, path: str, data: dict[str, Any] | None = None, *, query: bool = True, **extra: Any
    ) -> Any:
        fields = dict(data or {})
        if query:
            path = f"{path}?api_id={self.account.api_id}&api_secret={self.secret}"
        else:
            fields.update(api_id=self.account.api_id, api_secret=self.secret)
        return self.client.post(path, fields, **extra)

    def faceid(self, data: dict[str, Any] | None = None, **extra: Any) -> Any:
        fields = {"api_key": self.account.api_id, "api_secret": self.secret, **(data or {})}
        return self.client.post("/faceid/v1/detect", fields, **extra)


@pytest.fixture
def api(db: None, client: Client) -> Api:
    account, secret = account_create(username="integrator", quota=1000, rate=1000, concurrency=10)
    return Api(client, account, secret)


def upload(name: str, fmt: str = "JPEG", filename: str | None = None, **options: Any) -> SimpleUploadedFile:
    """A package photo as an uploaded file."""
    data = encode(pixels(name), fmt, **options)
    return SimpleUploadedFile(filename or f"{name}.{fmt.lower()}", data)


def raw_upload(data: bytes, filename: str = "image.jpg") -> SimpleUploadedFile:
    return SimpleUploadedFile(filename, data)


def nothing_left_behind(account: ApiAccount, quota_used: int = 0) -> None:
    account.refresh_from_db()
    assert account.quota_used == quota_used
    assert StoredImage.objects.count() == 0
    assert stored_files() == []


def to_bytes(image: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()

"""Stored files as the tests see them, on whichever storage is configured: the local folder
of the embedded defaults, or the S3 bucket of the services pass (scripts/test-services)."""

from __future__ import annotations

import copy
import secrets
from pathlib import Path, PurePosixPath
from typing import Any

from django.core.files.storage import default_storage


def uses_s3(settings: Any) -> bool:
    return str(settings.STORAGES["default"]["BACKEND"]).endswith("S3Storage")


def isolate(settings: Any, tmp_path: Path) -> Path:
    """This test's files go to a place of their own: a temporary folder, or in the bucket a
    key prefix of their own (Django resets default_storage when STORAGES changes)."""
    settings.MEDIA_ROOT = tmp_path / "media"
    if uses_s3(settings):
        storages = copy.deepcopy(settings.STORAGES)
        storages["default"]["OPTIONS"]["location"] = f"tests/{secrets.token_hex(8)}"
        settings.STORAGES = storages
    return settings.MEDIA_ROOT


def stored_files(folder: str = "") -> list[PurePosixPath]:
    """Every file under `folder` of the default storage, by name (images/ab/<id>.jpg)."""
    try:
        folders, files = default_storage.listdir(folder)
    except FileNotFoundError:  # a local folder nothing was written to (S3 lists it empty)
        return []
    names = [PurePosixPath(folder, name) for name in files]
    for sub in folders:
        names += stored_files(f"{folder}/{sub}" if folder else sub)
    return sorted(names)


def exists(name: str | None) -> bool:
    return name is not None and name != "" and default_storage.exists(name)

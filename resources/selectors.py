"""Read queries on stored images, for the admin and the portal."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import QuerySet

from resources.models import StoredImage


def retained_image_ids(ids: Iterable[str]) -> set[str]:
    """Those of the image ids whose image is still stored (the others were purged)."""
    return {str(pk) for pk in StoredImage.objects.filter(pk__in=list(ids)).values_list("pk", flat=True)}


def images_of_accounts(accounts: QuerySet[Any]) -> QuerySet[StoredImage]:
    """The images stored for these accounts, as one lazy query (counted, then purged)."""
    return StoredImage.objects.filter(account__in=accounts)

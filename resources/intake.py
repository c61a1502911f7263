"""A new image's way into storage, once its call has succeeded (the API's charge step).

The request side (reading, checking, decoding an image) belongs to the API layer, which
storage never imports.
"""

from __future__ import annotations

from accounts.models import ApiAccount
from resources.models import StoredImage
from resources.services import image_store


def store_new(
    *, account: ApiAccount, data: bytes, format: str, width: int, height: int, source: str
) -> StoredImage:
    """Stores an image that came by file or URL (`source`)."""
    return image_store(account=account, data=data, format=format, width=width, height=height, source=source)

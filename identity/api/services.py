"""The face API's writes: charge a call, store its new images, start its history row.

A successful call takes one call from the quota, stores the images that came by file or
URL, makes the endpoint's own writes and starts its history row in one transaction:
everything or nothing. The row commits with the charge so that a worker killed before the
answer leaves is still on record as charged (the middleware completes the row once the
answer is written: identity/api/history.py).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.db import transaction
from django.http import HttpRequest

from accounts import services as accounts
from accounts.models import ApiAccount
from identity.api import history
from identity.api.context import CallContext
from identity.api.errors import Refusal
from identity.api.images import LoadedImage
from resources import intake
from resources.models import StoredImage


@dataclass
class Charge:
    """What a charged call stored, by the vendor's image names (`image_one`, `selfie`, ...)."""

    stored: dict[str, StoredImage] = field(default_factory=dict)


def call_charge(
    *,
    request: HttpRequest,
    context: CallContext,
    account: ApiAccount,
    images: Sequence[LoadedImage] = (),
) -> Charge:
    """Charges the call and stores `images`, for an endpoint with no writes of its own."""
    with call_charging(request=request, context=context, account=account, images=images) as charge:
        pass
    return charge


@contextmanager
def call_charging(
    *,
    request: HttpRequest,
    context: CallContext,
    account: ApiAccount,
    images: Sequence[LoadedImage] = (),
) -> Iterator[Charge]:
    """Charges the call and stores `images`; the `with` body makes the endpoint's own writes
    in the same transaction, and the history row is started last, once every id is known.
    Raises Refusal("OUT_OF_QUOTA") when the quota ran out since the call was let in."""
    created: list[StoredImage] = []
    charge = Charge()
    try:
        with transaction.atomic():
            if not accounts.quota_consume(account):
                raise Refusal("OUT_OF_QUOTA")
            for image in images:
                charge.stored[image.slot.name] = image.stored or _store(account, image, created)
            yield charge
            image_ids = [saved.id for saved in charge.stored.values()]
            call_id = history.record_charge(request, context, account, image_ids)
    except BaseException:
        # The rows were rolled back; the files this call wrote go too (never the files of
        # images that came by id).
        for saved in created:
            if saved.file.name:
                saved.file.storage.delete(saved.file.name)
        raise
    context.image_ids = image_ids
    context.call_id = call_id
    # A stored image is in the history by its id: it need not be kept a second time.
    context.inputs = [kept for kept in context.inputs if kept.role not in charge.stored]


def _store(account: ApiAccount, image: LoadedImage, created: list[StoredImage]) -> StoredImage:
    """Stores an image that came by file or URL, noting it for the clean-up on failure."""
    saved = intake.store_new(
        account=account,
        data=image.data,
        format=image.format,
        width=image.image.width,
        height=image.image.height,
        source=image.source,
    )
    created.append(saved)
    return saved

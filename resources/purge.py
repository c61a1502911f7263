"""What is past retention, and deleting stored records with their files.

One rule for the admin's purge actions and the purge_images command: images, liveness
packages and the images kept with the call history are kept FACEPORTAL_IMAGE_RETENTION_DAYS;
a challenge is kept as long (so that an operator can still see recent unanswered ones when a
customer asks why a capture failed),
unless it was answered and its package is gone (or goes in this purge), when nothing can
use it again.

Rows are deleted in chunks through the ORM, so that Django's post_delete signal fires for
each one (even for packages that go with their challenge) and signals.py deletes its file
once the deletion commits; memory stays bounded however many rows go.

Files without a row are swept too (`orphans_purge`): a call writes its file before the row
it inserts in the call's transaction, so a worker killed between the two (or a machine losing
power) leaves a file that no row names and that no retention rule would ever reach. A file is
named by the row whose id its name starts with, so an image's thumbnail preview
(images/ab/<id>.preview.jpg) and its list thumbnail (<id>.thumbnail.jpg) are kept while its
image is, and swept once it is gone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.files.storage import Storage, default_storage
from django.db.models import Model, Q, QuerySet
from django.utils import timezone

from accounts.services import IN_FLIGHT_LIMIT
from resources.models import CallImage, LivenessChallenge, LivenessData, StoredImage

CHUNK = 500


@dataclass(frozen=True)
class Purged:
    """How many records of each kind (went, or would go)."""

    images: int = 0
    packages: int = 0
    challenges: int = 0
    call_images: int = 0  # kept with the call history (resources.models.CallImage)

    def __add__(self, other: Purged) -> Purged:
        return Purged(
            images=self.images + other.images,
            packages=self.packages + other.packages,
            challenges=self.challenges + other.challenges,
            call_images=self.call_images + other.call_images,
        )


_FIELD_OF_MODEL = {
    StoredImage._meta.label: "images",
    LivenessData._meta.label: "packages",
    LivenessChallenge._meta.label: "challenges",
    CallImage._meta.label: "call_images",
}


def retention_cutoff(now: datetime | None = None) -> datetime:
    return (now or timezone.now()) - timedelta(days=settings.FACEPORTAL_IMAGE_RETENTION_DAYS)


def expired_images(*, now: datetime | None = None) -> QuerySet[StoredImage]:
    return StoredImage.objects.filter(created_at__lt=retention_cutoff(now))


def expired_call_images(*, now: datetime | None = None) -> QuerySet[CallImage]:
    """The images kept with the call history go after as long as stored images do."""
    return CallImage.objects.filter(created_at__lt=retention_cutoff(now))


def expired_packages(*, now: datetime | None = None) -> QuerySet[LivenessData]:
    return LivenessData.objects.filter(created_at__lt=retention_cutoff(now))


def stale_challenges(*, now: datetime | None = None) -> QuerySet[LivenessChallenge]:
    """Challenges that expired before the cutoff (their package, if any, is older still),
    and answered challenges whose package was deleted or is past retention."""
    cutoff = retention_cutoff(now)
    answered = Q(used_at__isnull=False) & (Q(package__isnull=True) | Q(package__created_at__lt=cutoff))
    return LivenessChallenge.objects.filter(Q(expires_at__lt=cutoff) | answered)


def purge(records: QuerySet[Any]) -> Purged:
    """Deletes the records (and what cascades from them: a challenge's package), files
    after commit; returns how many images, packages and challenges went."""
    model = records.model
    ids = records.order_by().values_list("pk", flat=True)
    purged = Purged()
    # Deleted rows no longer match, so each round takes the next chunk.
    while chunk := list(ids[:CHUNK]):
        _, per_model = model._default_manager.filter(pk__in=chunk).delete()
        purged += Purged(
            **{_FIELD_OF_MODEL[label]: n for label, n in per_model.items() if label in _FIELD_OF_MODEL}
        )
    return purged


def count_expired(*, now: datetime | None = None) -> Purged:
    """What purge_expired would delete now (for a dry run or a confirmation page)."""
    now = now or timezone.now()
    return Purged(
        images=expired_images(now=now).count(),
        packages=expired_packages(now=now).count(),
        challenges=stale_challenges(now=now).count(),
        call_images=expired_call_images(now=now).count(),
    )


def purge_expired(*, now: datetime | None = None) -> Purged:
    now = now or timezone.now()
    # Packages before challenges, so that each is counted as what it is, not as a cascade.
    return (
        purge(expired_images(now=now))
        + purge(expired_packages(now=now))
        + purge(stale_challenges(now=now))
        + purge(expired_call_images(now=now))
    )


# The folders image_path and liveness_path write to (images/ab/<id>.jpg), and their rows.
STORED_FOLDERS: tuple[tuple[str, type[Model]], ...] = (
    ("images", StoredImage),
    ("liveness", LivenessData),
    ("calls", CallImage),
)


def _listdir(storage: Storage, folder: str) -> tuple[list[str], list[str]]:
    try:
        return storage.listdir(folder)
    except FileNotFoundError:  # a local folder nothing was stored in yet (S3 lists it empty)
        return [], []


def orphan_files(
    *, now: datetime | None = None, grace: timedelta = IN_FLIGHT_LIMIT, storage: Storage | None = None
) -> list[str]:
    """Names of stored files that no row names, older than `grace` (a younger file may belong
    to a call whose transaction has not committed yet). One listing per shard folder and one
    query per shard; only orphans are asked their age."""
    storage = storage or default_storage
    cutoff = (now or timezone.now()) - grace
    orphans = []
    for top, model in STORED_FOLDERS:
        for shard in sorted(_listdir(storage, top)[0]):
            stems = {
                f"{top}/{shard}/{name}": name.split(".", 1)[0]
                for name in _listdir(storage, f"{top}/{shard}")[1]
            }
            known = set(
                model._default_manager.filter(pk__in=set(stems.values())).values_list("pk", flat=True)
            )
            orphans += [
                name
                for name, stem in sorted(stems.items())
                if stem not in known and storage.get_modified_time(name) < cutoff
            ]
    return orphans


def orphans_purge(
    *, now: datetime | None = None, grace: timedelta = IN_FLIGHT_LIMIT, dry_run: bool = False
) -> int:
    """Deletes the files orphan_files finds; returns how many (would) go."""
    orphans = orphan_files(now=now, grace=grace)
    if not dry_run:
        for name in orphans:
            default_storage.delete(name)
    return len(orphans)

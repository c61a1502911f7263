"""The daily maintenance job: deletes stored images and liveness packages (rows and files) past
the retention period, or all images of one account; sweeps what a killed worker can leave (files
that no row names, charges for answers never sent). The purge rules are resources/purge.py's,
the same the admin's purge actions use."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import ApiAccount
from accounts.services import IN_FLIGHT_LIMIT, unanswered_refund
from resources import purge as purging
from resources.models import CallImage, StoredImage


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


class Command(BaseCommand):
    help = (
        "Delete stored images and liveness packages older than FACEPORTAL_IMAGE_RETENTION_DAYS "
        "or with --account all images of one account; also deletes stored files that no row names "
        "and gives back the quota of calls whose answer was never sent (both left by a killed "
        "worker). Run it daily from cron or a systemd timer."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="only count what would be deleted")
        parser.add_argument("--account", metavar="API_ID", help="delete every image of this account instead")
        parser.add_argument(
            "--grace",
            type=float,
            metavar="MINUTES",
            default=IN_FLIGHT_LIMIT.total_seconds() / 60,
            help="how old a file without row or an unanswered charge must be to go (default "
            f"{IN_FLIGHT_LIMIT.total_seconds() / 60:.0f}, past any call in flight; 0 only when none is)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["grace"] >= 0:  # a negative grace would reach files of calls in flight
            raise CommandError(f"--grace: minutes must be 0 or more, not {options['grace']}")
        dry_run: bool = options["dry_run"]
        verb = "Would delete" if dry_run else "Deleted"
        if options["account"] is not None:
            account = ApiAccount.objects.filter(api_id=options["account"]).first()
            if account is None:
                raise CommandError(f"--account: no API account with api_id {options['account']!r}")
            images = StoredImage.objects.filter(account=account)
            kept = CallImage.objects.filter(account=account)
            count = images.count() if dry_run else purging.purge(images).images
            kept_count = kept.count() if dry_run else purging.purge(kept).call_images
            self.stdout.write(f"{verb} {plural(count, 'stored image')} of account {account.api_id}.")
            self.stdout.write(f"{verb} {plural(kept_count, 'call image')} of account {account.api_id}.")
            return
        scope = f"older than {settings.FACEPORTAL_IMAGE_RETENTION_DAYS} days"
        purged = purging.count_expired() if dry_run else purging.purge_expired()
        grace = timedelta(minutes=options["grace"])
        orphans = purging.orphans_purge(dry_run=dry_run, grace=grace)
        refunded = 0 if dry_run else unanswered_refund(grace=grace)
        self.stdout.write(f"{verb} {plural(purged.packages, 'liveness package')} {scope}.")
        self.stdout.write(f"{verb} {plural(purged.challenges, 'liveness challenge')} no longer needed.")
        self.stdout.write(f"{verb} {plural(purged.images, 'stored image')} {scope}.")
        self.stdout.write(f"{verb} {plural(purged.call_images, 'call image')} kept with the history {scope}.")
        self.stdout.write(f"{verb} {plural(orphans, 'stored file')} that no record names.")
        if not dry_run:
            self.stdout.write(
                f"Gave back {plural(refunded, 'call')} of quota charged for answers never sent."
            )

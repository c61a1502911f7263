"""Deletes stored images (rows and files): those past the retention period, or all of one account."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from accounts.models import ApiAccount
from resources.models import StoredImage
from resources.services import images_delete, images_purge_expired, liveness_expired, liveness_purge_expired


class Command(BaseCommand):
    help = (
        "Delete stored images and liveness packages older than FACEPORTAL_IMAGE_RETENTION_DAYS, "
        "or with --account all images of one account."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="only count what would be deleted")
        parser.add_argument("--account", metavar="API_ID", help="delete every image of this account instead")

    def handle(self, *args: Any, **options: Any) -> None:
        dry_run: bool = options["dry_run"]
        if options["account"] is not None:
            account = ApiAccount.objects.filter(api_id=options["account"]).first()
            if account is None:
                raise CommandError(f"--account: no API account with api_id {options['account']!r}")
            images = StoredImage.objects.filter(account=account)
            scope = f"of account {account.api_id}"
            # A list, not a lazy iterator: rows are deleted while we go through them.
            count = images.count() if dry_run else images_delete(list(images))
        else:
            days = settings.FACEPORTAL_IMAGE_RETENTION_DAYS
            scope = f"older than {days} days"
            if dry_run:
                cutoff = timezone.now() - timedelta(days=days)
                count = StoredImage.objects.filter(created_at__lt=cutoff).count()
                packages = liveness_expired()[0].count()
            else:
                count = images_purge_expired()
                packages = liveness_purge_expired()
            verb = "Would delete" if dry_run else "Deleted"
            self.stdout.write(f"{verb} {packages} liveness package{'' if packages == 1 else 's'} {scope}.")
        verb = "Would delete" if dry_run else "Deleted"
        self.stdout.write(f"{verb} {count} stored image{'' if count == 1 else 's'} {scope}.")

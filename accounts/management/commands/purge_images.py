"""Deletes stored images and liveness packages (rows and files) past the retention period, or
all images of one account, and files that no row names. The rules are resources/purge.py's,
the same the admin's purge actions use."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import ApiAccount
from resources.models import StoredImage
from resources.purge import count_expired, orphans_purge, purge, purge_expired


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


class Command(BaseCommand):
    help = (
        "Delete stored images and liveness packages older than FACEPORTAL_IMAGE_RETENTION_DAYS "
        "(and stored files that no row names, left by a crashed worker), or with --account all "
        "images of one account. Run it daily from cron or a systemd timer."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="only count what would be deleted")
        parser.add_argument("--account", metavar="API_ID", help="delete every image of this account instead")

    def handle(self, *args: Any, **options: Any) -> None:
        dry_run: bool = options["dry_run"]
        verb = "Would delete" if dry_run else "Deleted"
        if options["account"] is not None:
            account = ApiAccount.objects.filter(api_id=options["account"]).first()
            if account is None:
                raise CommandError(f"--account: no API account with api_id {options['account']!r}")
            images = StoredImage.objects.filter(account=account)
            count = images.count() if dry_run else purge(images).images
            self.stdout.write(f"{verb} {plural(count, 'stored image')} of account {account.api_id}.")
            return
        scope = f"older than {settings.FACEPORTAL_IMAGE_RETENTION_DAYS} days"
        purged = count_expired() if dry_run else purge_expired()
        orphans = orphans_purge(dry_run=dry_run)
        self.stdout.write(f"{verb} {plural(purged.packages, 'liveness package')} {scope}.")
        self.stdout.write(f"{verb} {plural(purged.challenges, 'liveness challenge')} no longer needed.")
        self.stdout.write(f"{verb} {plural(purged.images, 'stored image')} {scope}.")
        self.stdout.write(f"{verb} {plural(orphans, 'stored file')} that no record names.")

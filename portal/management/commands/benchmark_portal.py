"""Measures the portal's pages and the admin's on a big account, server side, with the Django
test client: N calls and M stored images in one key (portal/management/benchmark_seed.py), every
portal page and every admin changelist and change page (portal/management/benchmark_pages.py).

By default everything it creates is rolled back, and the image files go to a temporary folder
deleted at the end; note that on SQLite the transaction holds the database's write lock while
it runs, so API calls to a live server wait until it ends. With --keep, rows and files are
committed to the configured database and storage.
"""

from __future__ import annotations

import json
import secrets
import tempfile
import time
from contextlib import ExitStack
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.test import override_settings

from portal.management.benchmark_pages import Measured, as_json, measure_all
from portal.management.benchmark_seed import DAYS, seed


class Command(BaseCommand):
    help = (
        "Create a user whose key has N API calls over 30 days and M stored images (with "
        "thumbnails), other users with a key each, liveness packages and an operator; render every "
        "portal page and every admin changelist and change page R times each with the test client; "
        "print median and p95 milliseconds and the query count of each, then all of it as one JSON "
        "line. Rolled back unless --keep."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--calls", type=int, default=10_000, help="calls in the history (default 10000)")
        parser.add_argument("--images", type=int, default=1_000, help="stored images (default 1000)")
        parser.add_argument("--users", type=int, default=200, help="other users, a key each (default 200)")
        parser.add_argument("--packages", type=int, default=200, help="liveness packages (default 200)")
        parser.add_argument("--repeat", type=int, default=20, help="renders of each page (default 20)")
        parser.add_argument("--keep", action="store_true", help="commit the rows and files instead")
        parser.add_argument("--username", help="user to create or add calls to (default: a new random one)")

    def handle(self, *args: Any, **options: Any) -> None:
        calls, images, repeat = options["calls"], options["images"], options["repeat"]
        if calls < 1 or repeat < 1:
            raise CommandError("--calls and --repeat must be at least 1")
        if images < 0 or options["users"] < 0 or options["packages"] < 0:
            raise CommandError("--images, --users and --packages cannot be negative")
        username = options["username"] or f"benchmark-{secrets.token_hex(4)}"
        with ExitStack() as stack:
            if not options["keep"]:
                stack.enter_context(_throwaway_storage(stack.enter_context(tempfile.TemporaryDirectory())))
            stack.enter_context(override_settings(ALLOWED_HOSTS=[*settings.ALLOWED_HOSTS, "testserver"]))
            stack.enter_context(transaction.atomic())
            started = time.perf_counter()
            seeded = seed(
                username=username,
                calls=calls,
                images=images,
                users=options["users"],
                packages=options["packages"],
            )
            self.stdout.write(
                f"{calls} calls and {images} stored images for user {username!r} over {DAYS} days, "
                f"created in {time.perf_counter() - started:.1f} s ({connection.vendor})"
            )
            measured: list[Measured] = []
            untimed: list[str] = []
            for page in measure_all(seeded, repeat, untimed):
                measured.append(page)
                self.stdout.write(
                    f"{page.name:<36} {page.median_ms:7.1f} ms median {page.p95_ms:7.1f} ms p95 "
                    f"{page.cpu_median_ms:7.1f} ms cpu {page.queries:3d} queries  HTTP {page.http_status}"
                )
            if untimed:
                self.stdout.write(f"not timed (no page to GET): {', '.join(untimed)}")
            if options["keep"]:
                self.stdout.write(f"kept: user {username!r} (set a password in the admin to sign in)")
            else:
                transaction.set_rollback(True)
                self.stdout.write("rolled back: nothing was kept")
            summary = {
                "calls": calls,
                "images": images,
                "repeat": repeat,
                "database": connection.vendor,
                "pages": as_json(measured),
                "untimed": untimed,
            }
            self.stdout.write(json.dumps(summary, sort_keys=True))


def _throwaway_storage(folder: str) -> override_settings:
    """Local files in `folder` for the default storage (Django resets it when STORAGES changes)."""
    storages = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": folder},
        },
    }
    return override_settings(STORAGES=storages, MEDIA_ROOT=folder)

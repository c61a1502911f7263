from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from facelab import decode_benchmark


class Command(BaseCommand):
    help = (
        "Decode normal photos (640x480, 4000x3000), the costliest files the decoder's limits let "
        "through, and the bomb family, as every endpoint decodes an image; prints the median CPU "
        "time of each on one thread and what came out."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--repeat", type=int, default=5, help="timed runs per file (default 5)")

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(f"{options['repeat']} runs per file, median CPU ms of read_header + decode")
        self.stdout.write(f"{'group':<13} {'file':<52} {'KB':>7} {'ms':>8}  outcome")
        for row in decode_benchmark.run(options["repeat"]):
            self.stdout.write(
                f"{row.group:<13} {row.name:<52} {row.kilobytes:7.0f} {row.median_ms:8.1f}  {row.outcome}"
            )

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from faceengine.engine import FaceEngine
from facelab import benchmark


class Command(BaseCommand):
    help = (
        "Time each engine stage and the whole pipeline on a package-shipped photo at 640x480 "
        "and 4000x3000, with 1 and 2 threads; prints median and p95 per stage."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--repeat", type=int, default=50, help="timed runs per stage (default 50)")
        parser.add_argument("--photo", default="grace_hopper", choices=sorted(benchmark.testdata.PHOTOS))
        parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(f"photo: {options['photo']}, {options['repeat']} runs per stage")
        self.stdout.write(f"{'threads':>7}  {'size':>9}  {'stage':<14} {'median ms':>9}  {'p95 ms':>8}")
        memory: list[str] = []
        for threads in options["threads"]:
            engine = FaceEngine(threads=threads)
            if not memory:
                loaded = benchmark.resident_mb()
                memory.append(f"resident memory, engine loaded: {loaded:.0f} MB")
            for row in benchmark.run(engine, options["photo"], options["repeat"]):
                timing = f"{row.median_ms:9.2f}  {row.p95_ms:8.2f}"
                self.stdout.write(f"{row.threads:>7}  {row.size:>9}  {row.stage:<14} {timing}")
            del engine
        memory.append(f"resident memory after all runs: {benchmark.resident_mb():.0f} MB")
        self.stdout.write("\n".join(memory))

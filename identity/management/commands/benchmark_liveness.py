from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from faceengine.engine import FaceEngine
from facelab import liveness_benchmark


class Command(BaseCommand):
    help = (
        "Time one liveness verification of a 60-frame 640x480 package built with "
        "faceportal_capture's Python builder from a package photo, stage by stage (decrypt, "
        "frame headers, decode, the engine's stages over the frames, the cues, the selfie, "
        "storage), with ONNX Runtime on one thread; prints the median wall and CPU ms of each."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--repeat", type=int, default=5, help="timed runs after one warm-up (default 5)")
        parser.add_argument("--frames", type=int, default=60, help="frames in the package (default 60)")
        parser.add_argument("--threads", type=int, default=1, help="engine threads (default 1: one core)")

    def handle(self, *args: Any, **options: Any) -> None:
        engine = FaceEngine(threads=options["threads"])
        repeat, frames = max(1, options["repeat"]), max(2, min(120, options["frames"]))
        self.stdout.write(
            f"liveness verification of a {frames}-frame "
            f"{liveness_benchmark.WIDTH}x{liveness_benchmark.HEIGHT} package, "
            f"{options['threads']} engine thread(s), median of {repeat} runs"
        )
        self.stdout.write(f"{'stage':<44} {'wall ms':>9} {'cpu ms':>9}")
        for row in liveness_benchmark.run(engine, repeat=repeat, frames=frames):
            cpu = f"{row.cpu_ms:9.1f}" if row.cpu_ms is not None else f"{'':>9}"
            self.stdout.write(f"{row.stage:<44} {row.median_ms:9.1f} {cpu}")

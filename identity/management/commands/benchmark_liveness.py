from __future__ import annotations

import json
import statistics
import time
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand, CommandParser

from faceengine import get_engine
from faceengine.engine import FaceEngine
from facelab import liveness_benchmark
from faceportal_capture.build import Challenge, build_package
from identity.management.commands._throwaway import throwaway_service


class Command(BaseCommand):
    help = (
        "Time one liveness verification of a 60-frame 640x480 package built with "
        "faceportal_capture's Python builder from a package photo, stage by stage (decrypt, "
        "frame headers, decode, the engine's stages over the frames, the cues, the selfie, "
        "storage), with ONNX Runtime on one thread; prints the median wall and CPU ms of each. "
        "With --api, also the calls the capture page makes (challenge, upload, verification by "
        "the stored id) through the whole Django stack, on a throw-away database."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--repeat", type=int, default=5, help="timed runs after one warm-up (default 5)")
        parser.add_argument("--frames", type=int, default=60, help="frames in the package (default 60)")
        parser.add_argument("--threads", type=int, default=1, help="engine threads (default 1: one core)")
        parser.add_argument("--api", action="store_true", help="also time the API calls through Django")

    def handle(self, *args: Any, **options: Any) -> None:
        engine = FaceEngine(threads=options["threads"])
        repeat, frames = max(1, options["repeat"]), max(2, min(120, options["frames"]))
        size = f"{liveness_benchmark.WIDTH}x{liveness_benchmark.HEIGHT}"
        self.stdout.write(
            f"liveness verification of a {frames}-frame {size} package, "
            f"{options['threads']} engine thread(s), median of {repeat} runs"
        )
        self.stdout.write(f"{'stage':<44} {'wall ms':>9} {'cpu ms':>9}")
        for row in liveness_benchmark.run(engine, repeat=repeat, frames=frames):
            cpu = f"{row.cpu_ms:9.1f}" if row.cpu_ms is not None else f"{'':>9}"
            self.stdout.write(f"{row.stage:<44} {row.median_ms:9.1f} {cpu}")
        if options["api"]:
            self._api(repeat, frames)

    def _api(self, repeat: int, frames: int) -> None:
        """The capture page's calls, in-process; the service's engine (FACEPORTAL_ENGINE_THREADS)."""
        sample = liveness_benchmark.sample_frames(count=frames)
        _, _, selfie = liveness_benchmark.sample_package(2)
        get_engine()  # loaded before the timing
        timings: dict[str, list[tuple[float, float]]] = {"upload": [], "verification": []}
        with throwaway_service() as service:

            def call(name: str, fields: dict[str, Any]) -> dict[str, Any]:
                response = service.client.post(service.url(name), fields)
                assert response.status_code == 200, response.content
                return dict(response.json())

            for index in range(repeat + 1):
                answer = call("liveness_challenge", {})
                challenge = Challenge.from_json(json.dumps(answer))
                marks = [(action, 1.0 + 1.5 * i) for i, action in enumerate(challenge.actions)]
                package = build_package(sample, challenge, marks=marks)
                started = time.perf_counter(), time.process_time()
                stored = call("upload_liveness", {"file": SimpleUploadedFile("c.fplv", package)})
                uploaded = time.perf_counter(), time.process_time()
                fields = {
                    "liveness_data_id": stored["liveness_data_id"],
                    "selfie_file": SimpleUploadedFile("selfie.jpg", selfie),
                }
                call("liveness_verification", fields)
                verified = time.perf_counter(), time.process_time()
                if index:  # the first is a warm-up
                    timings["upload"].append(_ms(started, uploaded))
                    timings["verification"].append(_ms(uploaded, verified))
        threads = get_engine().threads
        self.stdout.write(f"through the Django stack ({repeat} runs, {threads} engine thread(s))")
        for name, samples in timings.items():
            wall = statistics.median(sample[0] for sample in samples)
            cpu = statistics.median(sample[1] for sample in samples)
            self.stdout.write(f"{name + ' call':<44} {wall:9.1f} {cpu:9.1f}")


def _ms(start: tuple[float, float], end: tuple[float, float]) -> tuple[float, float]:
    return (end[0] - start[0]) * 1000, (end[1] - start[1]) * 1000

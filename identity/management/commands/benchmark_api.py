from __future__ import annotations

from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand, CommandParser

from faceengine import decode, get_engine
from faceengine.imageio import ANALYSIS_SIDE
from facelab.benchmark import jpeg_at, time_runs
from identity.management.commands._throwaway import throwaway_service


class Command(BaseCommand):
    help = (
        "Time compare_faces_in_two_images with two 640x480 single-face JPEG uploads through the "
        "whole Django stack (in-process, on a throw-away database and media folder), next to "
        "the engine's own time for the same two images."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--repeat", type=int, default=50)

    def handle(self, *args: Any, **options: Any) -> None:
        repeat: int = options["repeat"]
        one, two = jpeg_at("grace_hopper", (640, 480)), jpeg_at("astronaut", (640, 480))
        engine = get_engine()

        def engine_only() -> object:
            faces = [
                engine.analyze(decode(data, max_side=ANALYSIS_SIDE), max_faces=4, require_face=True)
                for data in (one, two)
            ]
            return engine.compare(faces[0], faces[1])

        with throwaway_service() as service:
            path = service.url("compare")

            def through_django() -> object:
                files = {
                    "image_one_file": SimpleUploadedFile("one.jpg", one),
                    "image_two_file": SimpleUploadedFile("two.jpg", two),
                }
                response = service.client.post(path, files)
                assert response.status_code == 200, response.content
                return response

            stack = time_runs(through_django, repeat)
            alone = time_runs(engine_only, repeat)

        threads = f"{engine.threads} engine thread(s)"
        self.stdout.write(f"{repeat} runs each, two 640x480 single-face JPEGs, {threads}")
        self.stdout.write(f"engine alone:       median {alone[0]:7.2f} ms   p95 {alone[1]:7.2f} ms")
        self.stdout.write(f"full Django stack:  median {stack[0]:7.2f} ms   p95 {stack[1]:7.2f} ms")
        self.stdout.write(f"ratio of medians:   {stack[0] / alone[0]:.2f}")

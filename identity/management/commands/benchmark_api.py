from __future__ import annotations

import tempfile
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection
from django.test import Client
from django.test.utils import override_settings, setup_test_environment, teardown_test_environment

from accounts.services import account_create
from faceengine import decode, get_engine
from faceengine.imageio import ANALYSIS_SIDE
from facelab.benchmark import jpeg_at, time_runs
from faceportal.endpoints import endpoint


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

        setup_test_environment()
        old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
        try:
            with tempfile.TemporaryDirectory() as media, override_settings(MEDIA_ROOT=media):
                account, secret = account_create(username="benchmark", quota=10**9, rate=0, concurrency=0)
                client = Client()
                path = f"{endpoint('compare').url}?api_id={account.api_id}&api_secret={secret}"

                def through_django() -> object:
                    files = {
                        "image_one_file": SimpleUploadedFile("one.jpg", one),
                        "image_two_file": SimpleUploadedFile("two.jpg", two),
                    }
                    response = client.post(path, files)
                    assert response.status_code == 200, response.content
                    return response

                stack = time_runs(through_django, repeat)
                alone = time_runs(engine_only, repeat)
        finally:
            connection.creation.destroy_test_db(old_name, verbosity=0)
            teardown_test_environment()

        threads = f"{engine.threads} engine thread(s)"
        self.stdout.write(f"{repeat} runs each, two 640x480 single-face JPEGs, {threads}")
        self.stdout.write(f"engine alone:       median {alone[0]:7.2f} ms   p95 {alone[1]:7.2f} ms")
        self.stdout.write(f"full Django stack:  median {stack[0]:7.2f} ms   p95 {stack[1]:7.2f} ms")
        self.stdout.write(f"ratio of medians:   {stack[0] / alone[0]:.2f}")

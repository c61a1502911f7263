"""Moves face sets to the engine's model: each face's template is computed again from its
enrolled photo, the face found again by its stored box. A search refuses a set whose
templates another model made (facesets.services.check_model); this is the way out."""

from __future__ import annotations

from typing import Any

import numpy as np
from django.core.management.base import BaseCommand, CommandError, CommandParser

from faceengine import EngineError, decode, get_engine
from faceengine.detection import box_iou
from faceengine.imageio import ANALYSIS_SIDE
from facesets import services
from facesets.models import EnrolledFace, FaceSet
from facesets.templates import to_bytes


class Command(BaseCommand):
    help = (
        "Recompute the templates of face sets made by another model than the engine's, from their "
        "enrolled photos. A face whose photo is gone (retention) cannot be recomputed: the set is "
        "left as it is unless --drop-unrecoverable deletes those faces."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--account", help="only this account's sets (its api_id)")
        parser.add_argument("--name", help="only the set of this name")
        parser.add_argument("--force", action="store_true", help="also sets already of the engine's model")
        parser.add_argument(
            "--drop-unrecoverable", action="store_true", help="delete faces whose photo is gone"
        )
        parser.add_argument("--dry-run", action="store_true", help="say what would change, change nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        engine = get_engine()
        sets = FaceSet.objects.select_related("account").order_by("pk")
        if options["account"]:
            sets = sets.filter(account__api_id=options["account"])
        if options["name"]:
            sets = sets.filter(name=options["name"])
        if not options["force"]:
            sets = sets.exclude(template_model=engine.model_id)
        failures = 0
        for face_set in sets:
            templates, lost = {}, []
            for face in EnrolledFace.objects.filter(face_set=face_set).select_related("photo").order_by("pk"):
                vector = _template_of(face)
                if vector is None:
                    lost.append(face.pk)
                else:
                    templates[face.pk] = to_bytes(vector)
            label = f"{face_set.account.api_id}/{face_set.name}"
            summary = f"{label}: {len(templates)} recomputed, {len(lost)} without photo or face"
            if lost and not options["drop_unrecoverable"]:
                failures += 1
                self.stderr.write(f"{summary}; left on {face_set.template_model} (see --drop-unrecoverable)")
                continue
            if options["dry_run"]:
                self.stdout.write(f"{summary} (dry run)")
                continue
            try:
                services.faceset_retemplate(
                    face_set=face_set, templates=templates, model=engine.model_id, drop=lost
                )
            except services.FaceSetProblem as exc:
                failures += 1
                self.stderr.write(f"{label}: {exc.reason}; run again")
                continue
            self.stdout.write(f"{summary}; now {engine.model_id}")
        if failures:
            raise CommandError(f"{failures} set(s) not moved")


def _template_of(face: EnrolledFace) -> np.ndarray | None:
    """The face's template from its photo, decoded as the API decodes an upload; None when
    the photo is gone or no face is found there any more."""
    if face.photo is None:
        return None
    try:
        with face.photo.file.open("rb") as handle:
            image = decode(handle.read(), max_side=ANALYSIS_SIDE)
        engine = get_engine()
        faces = engine.analyze(image, embed=False)
    except (OSError, EngineError):
        return None
    if not faces:
        return None
    chosen = max(faces, key=lambda found: box_iou(found.box, face.box)) if face.box else faces[0]
    return engine.embed_faces([chosen])[0].embedding

"""The face-set endpoints (API.md, "Face sets and 1:N search"): LinkFace's family under
/faceset/v2/, the 1:N interface the vendor's compare document sends callers with more faces
to. Each view reads its parameters, asks facesets' services and shapes the vendor's body; the
pipeline (credentials, permission, rate, quota, history) is identity/api/base.py's."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
from django.http import HttpResponse
from rest_framework.request import Request

from accounts.models import Endpoint
from faceengine import get_engine
from faceengine.sface import MODEL_ID
from faceportal.endpoints import FACESET_DEFAULT_THRESHOLD, FACESET_MAX_TOP
from facesets import search, selectors
from facesets import services as facesets
from facesets.models import FaceSet
from identity.api.base import ApiView, analyze
from identity.api.errors import InvalidArgument
from identity.api.families import FACESET, json_response
from identity.api.images import ImageSlot, LoadedImage

NAME = re.compile(r"[A-Za-z0-9_-]{1,64}", re.ASCII)
MAX_DESC = 256
# Person and face ids stay exact in every JSON reader (JavaScript's numbers included).
MAX_ID = 2**53 - 1
IMAGE = ImageSlot(
    "image", file_field="file", id_field="image_id", url_field="url", base64_field="image_base64"
)


@contextmanager
def refused_as(name: str) -> Iterator[None]:
    """A face-set refusal (facesets.services) as the family's bad argument, its reason said
    as it is (`face db staff not exist`)."""
    try:
        yield
    except facesets.FaceSetProblem as exc:
        raise InvalidArgument(name, exc.reason, verbatim=True) from exc


class FaceSetView(ApiView):
    family = FACESET

    def ok(self, **extra: Any) -> HttpResponse:
        return json_response({"request_id": self.call.request_id, "status": "OK", **extra})

    def set_name(self) -> str:
        name = self.params.text("name")
        if not name:
            raise InvalidArgument("name", "must specify 'name' argument")
        if not NAME.fullmatch(name):
            raise InvalidArgument("name", "must be 1 to 64 of A-Z a-z 0-9 _ -")
        return name

    def face_set(self) -> FaceSet:
        name = self.set_name()
        with refused_as("name"):
            return facesets.faceset_find(account=self.account, name=name)

    def integer(self, name: str, *, required: bool) -> int | None:
        value = (self.params.text(name) or "").strip()
        if not value:
            if required:
                raise InvalidArgument(name, f"must specify '{name}' argument")
            return None
        if not value.isascii() or not value.isdigit() or int(value) > MAX_ID:
            raise InvalidArgument(name, f"must be an integer from 0 to {MAX_ID}")
        return int(value)

    def query_template(self, face_set: FaceSet) -> tuple[LoadedImage, Any, np.ndarray]:
        """The request's image, its largest face and that face's embedding; the set is checked
        against the engine's model first, so a refused set costs no analysis."""
        engine = get_engine()
        with refused_as("name"):
            facesets.check_model(face_set, engine.model_id)
        image = self.load_image(IMAGE)
        faces = analyze(image, auto_rotate=False, max_faces=None, embed=False)
        face = engine.embed_faces([faces[0]])[0]
        assert face.embedding is not None
        return image, face, face.embedding


class CreateView(FaceSetView):
    endpoint = Endpoint.FACESET_CREATE

    def post(self, request: Request) -> HttpResponse:
        name = self.set_name()
        desc = self.params.text("desc") or ""
        if len(desc) > MAX_DESC:
            raise InvalidArgument("desc", f"at most {MAX_DESC} characters")
        with self.charging(), refused_as("name"):
            facesets.faceset_create(account=self.account, name=name, desc=desc, model=MODEL_ID)
        return self.ok()


class AddFaceView(FaceSetView):
    endpoint = Endpoint.FACESET_ADD_FACE

    def post(self, request: Request) -> HttpResponse:
        face_set = self.face_set()
        person_id = self.integer("person_id", required=False)
        image, face, template = self.query_template(face_set)
        box = [round(value) for value in face.box]
        with self.charging([image]) as charge:
            new = facesets.NewFace(
                template=template,
                model=get_engine().model_id,
                person_id=person_id,
                photo=charge.stored[IMAGE.name],
                box=box,
            )
            with refused_as("name"):
                added = facesets.face_add(face_set=face_set, face=new)
        result = {
            "face_id": added.pk,
            "person_id": added.person_id,
            "create_time": int(added.created_at.timestamp()),
        }
        return self.ok(result=result)


class SearchFaceView(FaceSetView):
    endpoint = Endpoint.FACESET_SEARCH_FACE

    def threshold(self) -> float:
        value = (self.params.text("threshold") or "").strip()
        if not value:
            return FACESET_DEFAULT_THRESHOLD
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if not 0.0 <= number <= 1.0:  # NaN fails too
            raise InvalidArgument("threshold", "must be a number from 0 to 1")
        return number

    def top(self) -> int:
        value = self.integer("topN", required=False)
        if value is None:
            return 1
        if not 1 <= value <= FACESET_MAX_TOP:
            raise InvalidArgument("topN", f"must be an integer from 1 to {FACESET_MAX_TOP}")
        return value

    def post(self, request: Request) -> HttpResponse:
        face_set = self.face_set()
        threshold, top = self.threshold(), self.top()
        _, _, template = self.query_template(face_set)
        candidates = search.search(face_set, template, top)
        scores = get_engine().calibration.confidence(np.array([c.cosine for c in candidates]))
        result = [
            {
                "person_id": candidate.person_id,
                "face_id": candidate.face_id,
                "score": round(float(score), 6),
                "create_time": candidate.created,
            }
            for candidate, score in zip(candidates, scores, strict=True)
            if float(score) >= threshold
        ]
        self.charge()
        return self.ok(result=result)


class DeleteFaceView(FaceSetView):
    endpoint = Endpoint.FACESET_DELETE_FACE

    def post(self, request: Request) -> HttpResponse:
        face_set = self.face_set()
        face_id = self.integer("face_id", required=True)
        assert face_id is not None
        with self.charging(), refused_as("face_id"):
            facesets.face_delete(face_set=face_set, face_id=face_id)
        return self.ok()


class DeleteView(FaceSetView):
    endpoint = Endpoint.FACESET_DELETE

    def post(self, request: Request) -> HttpResponse:
        face_set = self.face_set()
        with self.charging():
            facesets.faceset_delete(face_set=face_set)
        return self.ok()


class ListView(FaceSetView):
    endpoint = Endpoint.FACESET_LIST

    def post(self, request: Request) -> HttpResponse:
        listed = [
            {"name": s.name, "desc": s.desc, "face_count": s.face_count, "create_time": _unix(s)}
            for s in selectors.faceset_list(account=self.account)
        ]
        self.charge()
        return self.ok(result=listed)


class InfoView(FaceSetView):
    endpoint = Endpoint.FACESET_INFO

    def post(self, request: Request) -> HttpResponse:
        face_set = self.face_set()
        result = {
            "name": face_set.name,
            "desc": face_set.desc,
            "face_count": face_set.face_count,
            "person_count": selectors.person_count(face_set),
            "create_time": _unix(face_set),
        }
        self.charge()
        return self.ok(result=result)


def _unix(face_set: FaceSet) -> int:
    return int(face_set.created_at.timestamp())

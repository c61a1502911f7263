"""Face sets as the portal and admin tests make them: sets and a first face through the real
API (/faceset/v2/*, the models run: tests using `enrol` are marked `models`), more faces
through facesets.services with that face's real template and photo."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.test import Client

from accounts.models import ApiAccount
from accounts.services import account_create
from facesets import services
from facesets.models import EnrolledFace, FaceSet
from facesets.templates import from_bytes
from tests.api.conftest import upload

V2 = "/faceset/v2"


class Key:
    """An API key of a portal user, calling the face-set API as an integrator would."""

    def __init__(self, username: str, name: str = "") -> None:
        self.account, self.secret = account_create(
            username=username, name=name or f"{username} key", quota=10_000, rate=1000, concurrency=10
        )
        self.user = self.account.user
        self.client = Client()  # its own: no portal session, no CSRF, as an integrator's server

    def call(self, verb: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
        fields = {"api_id": self.account.api_id, "api_secret": self.secret, **(data or {})}
        response = self.client.post(f"{V2}/{verb}", fields)
        body = dict(response.json())
        assert response.status_code == 200 and body["status"] == "OK", body
        return body

    def create(self, name: str, desc: str = "") -> FaceSet:
        self.call("create", {"name": name, "desc": desc})
        return FaceSet.objects.get(account=self.account, name=name)

    def enrol(self, set_name: str, photo: str = "grace_hopper", **fields: Any) -> EnrolledFace:
        """A face added through the API from a package photo (runs the models)."""
        result = self.call("add_face", {"name": set_name, "file": upload(photo), **fields})["result"]
        return EnrolledFace.objects.get(pk=result["face_id"])


def more_faces(like: EnrolledFace, count: int, *, first_person: int = 1000) -> list[EnrolledFace]:
    """`count` faces more in `like`'s set, each its own person, with its real template and photo
    (so none of them is the last face enrolled from that photo)."""
    added = []
    for n in range(count):
        face = services.NewFace(
            template=from_bytes(like.template),
            model=like.model,
            person_id=first_person + n,
            photo=like.photo,
            box=list(like.box),
        )
        with transaction.atomic():
            added.append(services.face_add(face_set=like.face_set, face=face))
    return added


def account_of(face_set: FaceSet) -> ApiAccount:
    return face_set.account

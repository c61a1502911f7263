"""Every write to face sets, and the refusals in the vendor's words (API.md).

Adds and deletes of one set are serialised on the set's row: each starts by updating it
(its counters), which takes the row's write lock until the transaction ends (PostgreSQL's row
lock; SQLite's one writer, its transactions being IMMEDIATE). So `face_count` is exact under
concurrent calls, face ids grow in commit order within a set (what facesets/exact.py relies
on to extend a cached matrix), and a generated person id is never handed out twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.functions import Greatest

from accounts.models import ApiAccount
from facesets.models import EnrolledFace, FaceSet
from facesets.templates import to_bytes
from resources.models import StoredImage
from resources.purge import purge


class FaceSetProblem(Exception):
    """A face-set request that cannot be done, with the vendor's reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def not_found(name: str) -> FaceSetProblem:
    return FaceSetProblem(f"face db {name} not exist")


def faceset_create(*, account: ApiAccount, name: str, desc: str, model: str) -> FaceSet:
    """Creates of one account are serialised on its row (locked first; the API's charge has
    usually locked it already), so that the count of its sets is exact under concurrent calls."""
    try:
        with transaction.atomic():
            list(ApiAccount.objects.select_for_update().filter(pk=account.pk).values_list("pk"))
            if FaceSet.objects.filter(account=account).count() >= settings.FACEPORTAL_FACESET_MAX_SETS:
                raise FaceSetProblem(f"too many face dbs (at most {settings.FACEPORTAL_FACESET_MAX_SETS})")
            return FaceSet.objects.create(account=account, name=name, desc=desc, template_model=model)
    except IntegrityError as exc:  # the same name created by a concurrent call
        raise FaceSetProblem(f"face db {name} already exist") from exc


def faceset_find(*, account: ApiAccount, name: str) -> FaceSet:
    """The account's own set; another account's name is as unknown as a name never used."""
    found = FaceSet.objects.filter(account=account, name=name).first()
    if found is None:
        raise not_found(name)
    return found


def check_model(face_set: FaceSet, model: str) -> None:
    """Refuses a set whose templates another model made: their scores are not this model's."""
    if face_set.template_model != model:
        raise FaceSetProblem(
            f"face db {face_set.name} holds templates of model {face_set.template_model}, the service "
            f"uses {model}: recompute them (manage.py recompute_faceset_templates)"
        )


@dataclass(frozen=True)
class NewFace:
    template: object  # the embedding (numpy float vector)
    model: str
    person_id: int | None
    photo: StoredImage | None
    box: list[int]


def face_add(*, face_set: FaceSet, face: NewFace) -> EnrolledFace:
    """Adds one face; call inside the call's transaction (identity's charge)."""
    template = to_bytes(face.template)  # type: ignore[arg-type]
    chosen = face.person_id
    updated = FaceSet.objects.filter(pk=face_set.pk, face_count__lt=settings.FACEPORTAL_FACESET_MAX_FACES)
    changes: dict[str, Any] = {"adds": F("adds") + 1, "face_count": F("face_count") + 1}
    if chosen is None:
        changes["next_person_id"] = F("next_person_id") + 1
    else:
        changes["next_person_id"] = Greatest(F("next_person_id"), chosen + 1)
    if not updated.update(**changes):
        if not FaceSet.objects.filter(pk=face_set.pk).exists():
            raise not_found(face_set.name)  # deleted by a concurrent call
        raise FaceSetProblem(
            f"face db {face_set.name} is full ({settings.FACEPORTAL_FACESET_MAX_FACES} faces)"
        )
    current = FaceSet.objects.get(pk=face_set.pk)  # under the lock just taken
    check_model(current, face.model)
    person_id = current.next_person_id - 1 if chosen is None else chosen
    return EnrolledFace.objects.create(
        face_set=current,
        person_id=person_id,
        template=template,
        model=face.model,
        photo=face.photo,
        box=face.box,
    )


def face_delete(*, face_set: FaceSet, face_id: int) -> None:
    with transaction.atomic():
        face = EnrolledFace.objects.filter(face_set=face_set, pk=face_id).first()
        if face is None:
            raise FaceSetProblem(f"face {face_id} not exist")
        FaceSet.objects.filter(pk=face_set.pk).update(
            deletes=F("deletes") + 1, face_count=F("face_count") - 1
        )
        photo_id = face.photo_id
        face.delete()
        _delete_unused_photos([photo_id] if photo_id else [])


def faceset_delete(*, face_set: FaceSet) -> None:
    """The set, its faces and their templates, and the photos no other face was enrolled from."""
    with transaction.atomic():
        photo_ids = list(
            EnrolledFace.objects.filter(face_set=face_set, photo__isnull=False)
            .values_list("photo_id", flat=True)
            .distinct()
        )
        FaceSet.objects.filter(pk=face_set.pk).delete()
        _delete_unused_photos(photo_ids)


def _delete_unused_photos(photo_ids: list[str]) -> None:
    """Enrolled photos go with their face (biometric data is not kept beyond its use), unless
    another face was enrolled from the same stored image. Files go once the deletion commits
    (resources/signals.py)."""
    for start in range(0, len(photo_ids), 500):
        chunk = photo_ids[start : start + 500]
        purge(StoredImage.objects.filter(pk__in=chunk, enrolled_faces__isnull=True))


def faceset_retemplate(
    *, face_set: FaceSet, templates: dict[int, bytes], model: str, drop: list[int]
) -> None:
    """A set moved to another model at once: every face in `templates` gets its new template,
    the faces in `drop` (whose photo was gone) are deleted, and the set is marked as `model`'s.
    `deletes` moves too, so that every worker reads the set's matrix again."""
    with transaction.atomic():
        locked = FaceSet.objects.filter(pk=face_set.pk)
        locked.update(deletes=F("deletes") + 1, face_count=F("face_count") - len(drop), template_model=model)
        remaining = set(EnrolledFace.objects.filter(face_set=face_set).values_list("pk", flat=True))
        if remaining - set(templates) - set(drop):
            raise FaceSetProblem(f"face db {face_set.name} changed while its templates were recomputed")
        photo_ids = list(
            EnrolledFace.objects.filter(pk__in=drop, photo__isnull=False).values_list("photo_id", flat=True)
        )
        EnrolledFace.objects.filter(face_set=face_set, pk__in=drop).delete()
        _delete_unused_photos(photo_ids)
        for face_id, template in templates.items():
            EnrolledFace.objects.filter(face_set=face_set, pk=face_id).update(template=template, model=model)

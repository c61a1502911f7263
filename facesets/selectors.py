"""Reads of face sets (the API's list and info, the portal, the admin)."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import ApiAccount
from facesets.models import EnrolledFace, FaceSet


def faceset_list(*, account: ApiAccount) -> QuerySet[FaceSet]:
    return FaceSet.objects.filter(account=account).order_by("created_at", "id")


def person_count(face_set: FaceSet) -> int:
    """Distinct person ids of the set (the (set, person) index answers it)."""
    return EnrolledFace.objects.filter(face_set=face_set).values("person_id").distinct().count()

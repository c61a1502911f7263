"""Face sets: named sets of enrolled faces of one account, searched 1:N (API.md, "Face sets").

A face is kept as its template (the embedding of the model named beside it) and, while
stored images are kept, the photo it was enrolled from (a StoredImage: the same retention,
purge, orphan sweep and thumbnails as every other stored image). Templates are biometric
data: kept until deleted by the API, the admin or the account's deletion, never shown.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from accounts.models import ApiAccount
from resources.models import StoredImage


class FaceSet(models.Model):
    account = models.ForeignKey(ApiAccount, on_delete=models.CASCADE, related_name="face_sets")
    name = models.CharField(max_length=64)
    desc = models.CharField(max_length=256, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # The model every template of the set was made with (faceengine.sface.MODEL_ID); a search
    # refuses a set made by another model than the engine's, and so does an add, so that one
    # search never mixes the scores of two models (recompute_faceset_templates moves a set).
    template_model = models.CharField(max_length=64)
    # Bumped in the transaction of every add / every delete of a face: a worker's cached
    # matrix (facesets/exact.py) is current while both match, extended by the new faces when
    # only `adds` moved, and read again when a face went.
    adds = models.PositiveBigIntegerField(default=0, editable=False)
    deletes = models.PositiveBigIntegerField(default=0, editable=False)
    # Exact: changed only in the transactions that add or delete a face (facesets/services.py).
    face_count = models.PositiveBigIntegerField(default=0, editable=False)
    # The person id a face added without one gets: above every person id the set has seen.
    next_person_id = models.PositiveBigIntegerField(default=1, editable=False)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["account", "name"], name="faceset_unique_name")]

    def __str__(self) -> str:
        return self.name


class EnrolledFace(models.Model):
    """One face of a set. Its id is the API's `face_id`: ids grow in commit order within a set,
    because adds to one set are serialised on the set's row (facesets/services.py)."""

    face_set = models.ForeignKey(FaceSet, on_delete=models.CASCADE, related_name="faces")
    person_id = models.PositiveBigIntegerField()
    # float32 little-endian unit vector of `model`'s dimension; never shown, never logged.
    template = models.BinaryField(editable=False)
    model = models.CharField(max_length=64, editable=False)
    # The enrolled photo while stored images are kept; the face outlives it (API.md).
    photo = models.ForeignKey(
        StoredImage, null=True, blank=True, on_delete=models.SET_NULL, related_name="enrolled_faces"
    )
    # The face's box in the photo's pixels [x, y, width, height]: the portal's crop.
    box = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["face_set", "person_id"], name="enrolledface_person")]

    def __str__(self) -> str:
        return f"face {self.pk}"

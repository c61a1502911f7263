"""Face sets and enrolled faces in the admin (facesets/admin.py): listed, looked at, deleted
through facesets.services (face_count exact, photos and files with their faces), never added
or changed, and no template ever on a page. Faces are enrolled through the real API."""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db.models import Model
from django.test import Client
from django.urls import reverse

from facesets.models import EnrolledFace, FaceSet
from resources.models import StoredImage
from tests.facesets.helpers import Key, more_faces
from tests.storage import stored_files

pytestmark = pytest.mark.models


def url(model: type[Model], view: str, *args: Any) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.fixture
def staff(db: None) -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("operator", "operator@example.com", "pw"))
    return client


@pytest.fixture
def alice(db: None) -> Key:
    return Key("alice")


@pytest.fixture
def staff_set(alice: Key) -> FaceSet:
    face_set = alice.create("staff", "gate A")
    alice.enrol("staff", "grace_hopper", person_id="7")
    alice.enrol("staff", "astronaut", person_id="8")
    face_set.refresh_from_db()
    return face_set


def page(client: Client, address: str, **params: str) -> str:
    response = client.get(address, params)
    assert response.status_code == 200, response.status_code
    return str(response.content.decode())


def no_template_in(html: str, face: EnrolledFace) -> None:
    template = bytes(face.template)
    for shown in (template.hex(), base64.b64encode(template).decode(), repr(template)[2:40], "<memory at"):
        assert shown not in html
    assert not re.search(r"field-template(?!_model)", html) and 'name="template"' not in html


def test_the_set_list_shows_account_name_and_face_count(
    staff: Client, alice: Key, staff_set: FaceSet
) -> None:
    Key("bob").create("bobs_set")
    html = page(staff, url(FaceSet, "changelist"))
    assert "staff" in html and "bobs_set" in html and alice.account.api_id in html
    assert re.search(r'<td class="field-face_count">2</td>', html)
    found = page(staff, url(FaceSet, "changelist"), q="bobs")
    assert "bobs_set" in found and ">staff<" not in found
    filtered = page(staff, url(FaceSet, "changelist"), api_id=alice.account.api_id)
    assert ">staff<" in filtered and "bobs_set" not in filtered


def test_the_face_list_shows_set_person_model_photo_and_crop(staff: Client, staff_set: FaceSet) -> None:
    faces = list(EnrolledFace.objects.filter(face_set=staff_set).select_related("photo"))
    html = page(staff, url(EnrolledFace, "changelist"))
    for face in faces:
        assert url(EnrolledFace, "crop", face.pk) in html
        assert url(StoredImage, "change", face.photo_id) in html
        assert f'<td class="field-person_id">{face.person_id}</td>' in html
        assert f'<td class="field-model">{face.model}</td>' in html
        no_template_in(html, face)
    by_person = page(staff, url(EnrolledFace, "changelist"), q="8")
    assert url(EnrolledFace, "crop", faces[1].pk) in by_person
    assert url(EnrolledFace, "crop", faces[0].pk) not in by_person
    other = Key("bob").create("bobs_set")
    assert url(EnrolledFace, "crop", faces[0].pk) not in page(
        staff, url(EnrolledFace, "changelist"), face_set=str(other.pk)
    )


def test_a_faces_page_shows_no_template_and_cannot_be_changed(staff: Client, staff_set: FaceSet) -> None:
    face = EnrolledFace.objects.filter(face_set=staff_set).first()
    assert face is not None
    html = page(staff, url(EnrolledFace, "change", face.pk))
    no_template_in(html, face)
    assert url(EnrolledFace, "crop", face.pk) in html
    assert 'name="_save"' not in html  # view only
    assert staff.get(url(EnrolledFace, "add")).status_code == 403
    assert staff.get(url(FaceSet, "add")).status_code == 403
    set_page = page(staff, url(FaceSet, "change", staff_set.pk))
    assert 'name="_save"' not in set_page and "2 faces" in set_page
    no_template_in(set_page, face)


def test_the_crop_is_for_staff_only(staff: Client, alice: Key, staff_set: FaceSet) -> None:
    face = EnrolledFace.objects.filter(face_set=staff_set).first()
    assert face is not None
    response = staff.get(url(EnrolledFace, "crop", face.pk))
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert staff.get(url(EnrolledFace, "crop", face.pk + 1000)).status_code == 404
    customer = Client()
    customer.force_login(alice.user)
    assert customer.get(url(EnrolledFace, "crop", face.pk)).status_code == 302  # to the admin's sign-in


def test_deleting_a_face_goes_through_the_services(
    staff: Client, staff_set: FaceSet, django_capture_on_commit_callbacks: Any
) -> None:
    first, second = EnrolledFace.objects.filter(face_set=staff_set).order_by("id")
    assert len(stored_files()) == 2
    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(url(EnrolledFace, "delete", second.pk), {"post": "yes"})
    assert response.status_code == 302
    staff_set.refresh_from_db()
    assert staff_set.face_count == 1 and staff_set.deletes == 1
    assert list(EnrolledFace.objects.values_list("pk", flat=True)) == [first.pk]
    assert list(StoredImage.objects.values_list("pk", flat=True)) == [first.photo_id]
    assert len(stored_files()) == 1


def test_deleting_selected_faces_keeps_every_count_exact(
    staff: Client, alice: Key, staff_set: FaceSet, django_capture_on_commit_callbacks: Any
) -> None:
    grace = EnrolledFace.objects.get(face_set=staff_set, person_id=7)
    copies = more_faces(grace, 3)  # four faces from one photo
    other = alice.create("other")
    theirs = alice.enrol("other", "tom_hanks")
    chosen = [copies[0].pk, copies[1].pk, grace.pk, theirs.pk]
    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(
            url(EnrolledFace, "changelist"),
            {"action": "delete_selected", "_selected_action": chosen, "post": "yes"},
        )
    assert response.status_code == 302
    staff_set.refresh_from_db()
    other.refresh_from_db()
    left = set(EnrolledFace.objects.values_list("pk", flat=True))
    assert left == {copies[2].pk, EnrolledFace.objects.get(face_set=staff_set, person_id=8).pk}
    assert (staff_set.face_count, other.face_count) == (2, 0)
    assert staff_set.face_count == EnrolledFace.objects.filter(face_set=staff_set).count()
    # grace_hopper's photo stays for the copy still enrolled from it; tom_hanks's went.
    assert StoredImage.objects.filter(pk=grace.photo_id).exists()
    assert not StoredImage.objects.filter(pk=theirs.photo_id).exists()
    assert len(stored_files()) == 2


def test_deleting_a_set_summarises_then_leaves_nothing(
    staff: Client, alice: Key, staff_set: FaceSet, django_capture_on_commit_callbacks: Any
) -> None:
    more_faces(EnrolledFace.objects.get(face_set=staff_set, person_id=7), 30)
    kept = alice.create("kept")
    alice.enrol("kept", "tom_hanks")
    confirm = page(staff, url(FaceSet, "delete", staff_set.pk))
    assert "32 faces" in confirm
    # A summary, not one line per face (a set may hold a million).
    assert confirm.count("Enrolled face") + confirm.count("face 1") < 5
    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(url(FaceSet, "delete", staff_set.pk), {"post": "yes"})
    assert response.status_code == 302
    assert list(FaceSet.objects.values_list("pk", flat=True)) == [kept.pk]
    assert EnrolledFace.objects.filter(face_set_id=staff_set.pk).count() == 0
    assert StoredImage.objects.count() == 1 and len(stored_files()) == 1


def test_deleting_selected_sets_goes_through_the_services(
    staff: Client, alice: Key, staff_set: FaceSet, django_capture_on_commit_callbacks: Any
) -> None:
    empty = alice.create("empty")
    kept = alice.create("kept")
    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(
            url(FaceSet, "changelist"),
            {"action": "delete_selected", "_selected_action": [staff_set.pk, empty.pk], "post": "yes"},
        )
    assert response.status_code == 302
    assert list(FaceSet.objects.values_list("pk", flat=True)) == [kept.pk]
    assert EnrolledFace.objects.count() == 0 and StoredImage.objects.count() == 0
    assert stored_files() == []

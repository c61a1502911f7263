"""The portal's face-set pages (portal/facesets.py): the user's sets across their keys, a
set's faces with their crops, deleting a face or a set (rows and files), and other users'
ids answering 404. Faces are enrolled through the real API (the models run)."""

from __future__ import annotations

import base64
import io
import json
import re
from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from facesets import services
from facesets.models import EnrolledFace, FaceSet
from portal import facesets as pages
from resources import crops
from resources.models import StoredImage
from resources.purge import purge_expired
from tests.conftest import encode, pixels
from tests.facesets.helpers import Key, more_faces
from tests.storage import stored_files

LIST = reverse("portal:faceset_list")


def detail(face_set: FaceSet) -> str:
    return reverse("portal:faceset_detail", args=[face_set.pk])


def crop_url(face: EnrolledFace) -> str:
    return reverse("portal:face_crop", args=[face.pk])


def signed_in(user: Any, *, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user)
    return client


def html(response: Any) -> str:
    assert response.status_code == 200, response.status_code
    return str(response.content.decode())


def shown_face_ids(page: str) -> list[int]:
    return [int(found) for found in re.findall(r'<dd class="mono face-id">(\d+)</dd>', page)]


def csrf_post(client: Client, url: str) -> Any:
    """A POST from the confirmation page, with the CSRF token that page carries."""
    page = client.get(url)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())
    assert token, "the confirmation page has no CSRF token"
    return client.post(url, {"csrfmiddlewaretoken": token.group(1)})


@pytest.fixture
def alice(db: None) -> Key:
    return Key("alice", "alice main")


@pytest.fixture
def staff_set(alice: Key) -> FaceSet:
    """Alice's set "staff" with one face enrolled from grace_hopper through the API."""
    face_set = alice.create("staff", "gate A")
    alice.enrol("staff", "grace_hopper", person_id="7")
    face_set.refresh_from_db()
    return face_set


@pytest.mark.models
def test_the_list_shows_the_users_sets_across_their_keys_and_no_one_elses(
    alice: Key, staff_set: FaceSet
) -> None:
    second = Key("alice", "alice second")
    visitors = second.create("visitors", "lobby")
    first = EnrolledFace.objects.get(face_set=staff_set)
    more_faces(first, 2, first_person=7)  # person 7 again, and person 8: three faces, two people
    bob = Key("bob")
    bob.create("bobs_set")
    page = html(signed_in(alice.user).get(LIST))
    assert "bobs_set" not in page
    rows = re.findall(
        r'<th scope="row" class="set-name"><a href="([^"]+)">([^<]+)</a></th>(.*?)</tr>', page, re.S
    )
    assert [(href, name) for href, name, _ in rows] == [
        (detail(staff_set), "staff"),
        (detail(visitors), "visitors"),
    ]
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", rest, re.S) for _, _, rest in rows]
    assert cells[0][:4] == ["gate A", "alice main", "3", "2"]
    assert cells[1][:4] == ["lobby", "alice second", "0", "0"]
    assert 'aria-current="page">Face sets</a>' in page


def test_a_user_without_sets_is_told_how_to_make_one(db: None) -> None:
    key = Key("carol")
    page = html(signed_in(key.user).get(LIST))
    assert "No face sets yet" in page and "/faceset/v2/create" in page


def test_the_pages_need_sign_in(db: None) -> None:
    response = Client().get(LIST)
    assert response.status_code == 302 and response["Location"].startswith(reverse("portal:login"))


@pytest.mark.models
def test_a_sets_page_shows_its_faces_with_crops_and_never_a_template(alice: Key, staff_set: FaceSet) -> None:
    face = EnrolledFace.objects.get(face_set=staff_set)
    page = html(signed_in(alice.user).get(detail(staff_set)))
    assert shown_face_ids(page) == [face.pk]
    assert '<dd class="mono person-id">7</dd>' in page
    assert f'src="{crop_url(face)}"' in page
    assert '<dd id="set-face-count">1</dd>' in page and '<dd id="set-person-count">1</dd>' in page
    template = bytes(face.template)
    for shown in (template.hex(), base64.b64encode(template).decode(), repr(template)[2:40]):
        assert shown not in page


@pytest.mark.models
def test_the_crop_is_the_face_square_made_from_the_stored_image(alice: Key, staff_set: FaceSet) -> None:
    face = EnrolledFace.objects.select_related("photo").get(face_set=staff_set)
    client = signed_in(alice.user)
    response = client.get(crop_url(face))
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert (
        "private" in response["Cache-Control"]
        and f"max-age={pages.CROP_MAX_AGE}" in response["Cache-Control"]
    )
    crop = Image.open(io.BytesIO(response.content)).convert("RGB")
    # The photo is small enough to be its own preview: the square is in its own pixels.
    assert face.photo is not None and max(face.photo.width, face.photo.height) <= 1280
    with face.photo.file.open("rb") as handle:
        original = Image.open(io.BytesIO(handle.read())).convert("RGB")
    shape = crops.valid_box(face.box)
    assert shape is not None
    square = crops.crop_square(shape, 1.0, original.width, original.height)
    assert square is not None
    expected = original.crop(square)
    expected.thumbnail((crops.CROP_SIDE, crops.CROP_SIDE), Image.Resampling.LANCZOS)
    assert crop.size == expected.size and max(crop.size) == crops.CROP_SIDE
    # The same pixels, but for JPEG's loss: the face's square and not some other part of the photo.
    difference = np.abs(np.asarray(crop, np.int16) - np.asarray(expected, np.int16)).mean()
    assert difference < 6, difference
    shifted = original.crop((0, 0, square[2] - square[0], square[3] - square[1]))
    shifted.thumbnail((crops.CROP_SIDE, crops.CROP_SIDE), Image.Resampling.LANCZOS)
    assert np.abs(np.asarray(crop, np.int16) - np.asarray(shifted, np.int16)).mean() > 3 * difference
    # A second crop of the same face is the same picture (a face's crop never changes).
    assert client.get(crop_url(face)).content == response.content


@pytest.mark.models
def test_a_large_photo_is_cropped_from_its_preview_made_once(alice: Key, staff_set: FaceSet) -> None:
    big = Image.fromarray(pixels("grace_hopper")).resize((1800, 2400))
    data = encode(np.asarray(big), "JPEG", quality=90)
    alice.call("add_face", {"name": "staff", "file": SimpleUploadedFile("big.jpg", data)})
    face = EnrolledFace.objects.select_related("photo").filter(face_set=staff_set).latest("id")
    assert face.photo is not None and (face.photo.width, face.photo.height) == (1800, 2400)
    assert not face.photo.preview_file.name
    response = signed_in(alice.user).get(crop_url(face))
    assert response.status_code == 200
    face.photo.refresh_from_db()
    assert face.photo.preview_file.name  # stored beside the image, for every later picture of it
    assert max(Image.open(io.BytesIO(response.content)).size) == crops.CROP_SIDE


@pytest.mark.models
def test_a_face_whose_photo_went_by_retention_is_listed_without_a_crop(
    alice: Key, staff_set: FaceSet, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    face = EnrolledFace.objects.get(face_set=staff_set)
    later = timezone.now() + timedelta(days=settings.FACEPORTAL_IMAGE_RETENTION_DAYS + 1)
    with django_capture_on_commit_callbacks(execute=True):
        assert purge_expired(now=later).images == 1
    client = signed_in(alice.user)
    page = html(client.get(detail(staff_set)))
    assert shown_face_ids(page) == [face.pk] and "photo removed by retention" in page
    assert crop_url(face) not in page
    assert client.get(crop_url(face)).status_code == 404


@pytest.mark.models
def test_a_face_with_a_box_outside_its_photo_answers_404(alice: Key, staff_set: FaceSet) -> None:
    face = EnrolledFace.objects.get(face_set=staff_set)
    client = signed_in(alice.user)
    for box in ([100_000, 100_000, 50, 50], [0, 0, 0, 0], [], ["a", 1, 2, 3], [1, 2, 3]):
        EnrolledFace.objects.filter(pk=face.pk).update(box=box)
        assert client.get(crop_url(face)).status_code == 404, box


@pytest.mark.parametrize(
    ("box", "expected"),
    [
        ([100, 100, 40, 40], (90, 90, 150, 150)),  # the box's centred square, a quarter more each side
        ([0, 0, 40, 40], (0, 0, 50, 50)),  # clipped at the top left corner
        ([380, 280, 40, 40], (370, 270, 400, 300)),  # clipped at the bottom right corner
        ([100, 100, 40, 20], (90, 80, 150, 140)),  # the longer side decides
        ([500, 500, 40, 40], None),  # wholly outside
    ],
)
def test_crop_square_scales_centres_and_clips(box: list[int], expected: tuple[int, ...] | None) -> None:
    shape = crops.valid_box(box)
    assert shape is not None
    assert crops.crop_square(shape, 1.0, 400, 300) == expected
    if expected is not None:  # a preview at half the size: the same square, halved
        halved = crops.crop_square(shape, 0.5, 200, 150)
        assert halved == tuple(value // 2 for value in expected)


@pytest.mark.models
def test_another_users_set_and_face_answer_404_and_are_kept(alice: Key, staff_set: FaceSet) -> None:
    face = EnrolledFace.objects.get(face_set=staff_set)
    bob = signed_in(Key("bob").user)
    urls = [
        detail(staff_set),
        reverse("portal:faceset_delete", args=[staff_set.pk]),
        reverse("portal:face_delete", args=[staff_set.pk, face.pk]),
        crop_url(face),
    ]
    for url in urls:
        assert bob.get(url).status_code == 404, url
        assert bob.post(url).status_code in (404, 405), url
    # Unknown ids answer the same.
    assert bob.get(reverse("portal:faceset_detail", args=[staff_set.pk + 1000])).status_code == 404
    assert bob.get(reverse("portal:face_crop", args=[face.pk + 1000])).status_code == 404
    staff_set.refresh_from_db()
    assert staff_set.face_count == 1 and EnrolledFace.objects.filter(pk=face.pk).exists()


@pytest.mark.models
def test_a_face_of_another_set_of_the_same_user_is_not_deleted_through_this_one(
    alice: Key, staff_set: FaceSet
) -> None:
    other = alice.create("other")
    face = EnrolledFace.objects.get(face_set=staff_set)
    client = signed_in(alice.user)
    assert client.post(reverse("portal:face_delete", args=[other.pk, face.pk])).status_code == 404
    assert EnrolledFace.objects.filter(pk=face.pk).exists()


@pytest.mark.models
def test_deleting_a_face_asks_first_then_leaves_nothing(
    alice: Key, staff_set: FaceSet, django_capture_on_commit_callbacks: Any
) -> None:
    first = EnrolledFace.objects.get(face_set=staff_set)
    second = alice.enrol("staff", "astronaut")
    assert len(stored_files()) == 2
    client = signed_in(alice.user, csrf=True)
    url = reverse("portal:face_delete", args=[staff_set.pk, second.pk])
    confirm = html(client.get(url))
    assert f"Face {second.pk} will be deleted" in confirm and "Yes, delete the face" in confirm
    assert client.post(url).status_code == 403  # no CSRF token: refused, nothing deleted
    assert EnrolledFace.objects.filter(pk=second.pk).exists()
    with django_capture_on_commit_callbacks(execute=True):  # files go once the deletion commits
        response = csrf_post(client, url)
    assert response.status_code == 302 and response["Location"] == detail(staff_set)
    assert list(EnrolledFace.objects.filter(face_set=staff_set).values_list("pk", flat=True)) == [first.pk]
    staff_set.refresh_from_db()
    assert staff_set.face_count == 1
    assert list(StoredImage.objects.values_list("pk", flat=True)) == [first.photo_id]
    assert len(stored_files()) == 1
    page = html(client.get(detail(staff_set)))
    assert f"Face {second.pk} deleted" in page and shown_face_ids(page) == [first.pk]


@pytest.mark.models
def test_deleting_a_set_asks_first_then_leaves_nothing(
    alice: Key, staff_set: FaceSet, django_capture_on_commit_callbacks: Any
) -> None:
    face = EnrolledFace.objects.get(face_set=staff_set)
    more_faces(face, 3)  # the same photo under four faces: it goes with the last of them
    alice.enrol("staff", "astronaut")
    kept = alice.create("kept")
    alice.enrol("kept", "tom_hanks")
    assert len(stored_files()) == 3
    client = signed_in(alice.user, csrf=True)
    url = reverse("portal:faceset_delete", args=[staff_set.pk])
    confirm = html(client.get(url))
    assert "with its 5 faces" in confirm and "Yes, delete the set" in confirm
    assert FaceSet.objects.filter(pk=staff_set.pk).exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = csrf_post(client, url)
    assert response.status_code == 302 and response["Location"] == LIST
    assert not FaceSet.objects.filter(pk=staff_set.pk).exists()
    assert EnrolledFace.objects.filter(face_set_id=staff_set.pk).count() == 0
    assert list(EnrolledFace.objects.values_list("face_set_id", flat=True)) == [kept.pk]
    assert StoredImage.objects.count() == 1 and len(stored_files()) == 1
    page = html(client.get(LIST))
    assert "Face set “staff” deleted." in page and detail(kept) in page


@pytest.mark.models
def test_faces_are_paginated_in_enrolment_order(alice: Key, staff_set: FaceSet) -> None:
    first = EnrolledFace.objects.get(face_set=staff_set)
    added = more_faces(first, pages.FACES_PAGE_SIZE + 2)
    everything = [first.pk, *(face.pk for face in added)]
    client = signed_in(alice.user)
    one = html(client.get(detail(staff_set)))
    two = html(client.get(detail(staff_set), {"page": "2"}))
    assert shown_face_ids(one) == everything[: pages.FACES_PAGE_SIZE]
    assert shown_face_ids(two) == everything[pages.FACES_PAGE_SIZE :]
    assert "Page 2 of 2" in two
    # A face deleted from page 2 brings its page back.
    url = reverse("portal:face_delete", args=[staff_set.pk, everything[-1]])
    response = client.post(f"{url}?page=2")
    assert response.status_code == 302 and response["Location"] == f"{detail(staff_set)}?page=2"
    staff_set.refresh_from_db()
    assert staff_set.face_count == len(everything) - 1


@pytest.mark.models
def test_a_deleted_face_cannot_be_deleted_twice(alice: Key, staff_set: FaceSet) -> None:
    face = EnrolledFace.objects.get(face_set=staff_set)
    services.face_delete(face_set=staff_set, face_id=face.pk)
    client = signed_in(alice.user)
    assert client.post(reverse("portal:face_delete", args=[staff_set.pk, face.pk])).status_code == 404
    staff_set.refresh_from_db()
    assert staff_set.face_count == 0


@pytest.mark.models
def test_the_search_page_offers_each_keys_own_sets(alice: Key, staff_set: FaceSet) -> None:
    second = Key("alice", "alice second")
    second.create("visitors")
    Key("bob").create("bobs_set")
    page = html(signed_in(alice.user).get(reverse("portal:try_search"), {"set": "staff"}))
    sets = re.search(r'<script id="search-sets" type="application/json">(.*?)</script>', page, re.S)
    assert sets is not None
    offered = json.loads(sets.group(1))
    assert sorted((item["api_id"], item["name"], item["faces"]) for item in offered) == sorted(
        [(alice.account.api_id, "staff", 1), (second.account.api_id, "visitors", 0)]
    )
    assert 'data-selected="staff"' in page and 'name="name"' in page
    assert 'aria-current="page">Search</a>' in page

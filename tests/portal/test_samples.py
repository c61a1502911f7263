"""The try-it pages' sample photos (portal/samples.py): served from the installed packages the
tests already use, only by the whitelisted names, only to signed-in users."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from PIL import Image

from facelab import testdata
from portal.samples import SAMPLES, Sample, available, sample_path


def signed_in(client: Client) -> Client:
    client.force_login(get_user_model().objects.create_user(username="sampler"))
    return client


def test_every_sample_is_one_of_the_package_photos_the_tests_use() -> None:
    photos = set(testdata.PHOTOS.values())
    for sample in SAMPLES:
        assert (sample.distribution, sample.inside) in photos, sample.filename


def test_every_sample_is_installed_here() -> None:
    assert available() == SAMPLES


@pytest.mark.django_db
@pytest.mark.parametrize("sample", SAMPLES, ids=lambda sample: sample.filename)
def test_each_sample_is_served_as_the_package_has_it(client: Client, sample: Sample) -> None:
    response = signed_in(client).get(reverse("portal:sample_photo", args=[sample.filename]))
    assert response.status_code == 200
    assert response["Content-Type"] == sample.content_type
    path = sample_path(sample)
    assert path is not None and response.content == path.read_bytes()
    assert "private" in response["Cache-Control"]


@pytest.mark.django_db
def test_a_samples_thumbnail_is_a_small_jpeg(client: Client) -> None:
    response = signed_in(client).get(reverse("portal:sample_thumbnail", args=["group.jpg"]))
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    with Image.open(io.BytesIO(response.content)) as picture:
        assert picture.format == "JPEG" and max(picture.size) == 160


@pytest.mark.django_db
@pytest.mark.parametrize(
    "name",
    [
        "t1.jpg",  # the file's own name: only the whitelist's names are served
        "group.png",
        "GROUP.JPG",
        "..%2F..%2Fsettings.py",
        "%2Fetc%2Fpasswd",
        "grace_hopper.jpg.bak",
        "chelsea.png",  # a package photo the tests use, but not offered as a sample
    ],
)
def test_any_other_name_is_not_found(client: Client, name: str) -> None:
    signed_in(client)
    assert client.get(f"/portal/samples/{name}").status_code == 404
    assert client.get(f"/portal/samples/{name}/thumbnail.jpg").status_code == 404


@pytest.mark.django_db
def test_a_path_outside_the_whitelist_never_reaches_a_file(client: Client) -> None:
    signed_in(client)
    assert client.get("/portal/samples/../../manage.py").status_code == 404


@pytest.mark.django_db
def test_an_anonymous_visitor_is_sent_to_sign_in(client: Client) -> None:
    url = reverse("portal:sample_photo", args=["group.jpg"])
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith(reverse("portal:login"))


@pytest.mark.django_db
def test_the_samples_answer_only_get(client: Client) -> None:
    assert signed_in(client).post(reverse("portal:sample_photo", args=["group.jpg"])).status_code == 405

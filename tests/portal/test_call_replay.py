"""One call's detail, drawn again and made again: detect's boxes on its photo, compare's matrix
with crops, mask's answer beside its selfie (from the record and the images kept with it),
"copy as curl" (never the secret) and "replay in try-it" (same parameters, stored ids)."""

from __future__ import annotations

import html as htmllib
import json
import re
import shlex
from typing import Any
from urllib.parse import parse_qs

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import ApiAccount, ApiCall
from portal import replay, results
from resources.models import CallImage, StoredImage
from resources.services import call_image_keep, image_store
from tests.conftest import encode, pixels
from tests.portal.helpers import portal_user, signed_in

pytestmark = pytest.mark.usefixtures("media")

DETECT_BODY = json.dumps(
    {
        "time_used": 40,
        "request_id": "1700000000,abc",
        "faces": [
            {
                "quality": 91.5,
                "quality_threshold": 70.1,
                "rect": {"left": 0.25, "top": 0.1, "width": 0.5, "height": 0.4},
                "token": "t1",
            },
            {
                "quality": 20.0,
                "quality_threshold": 70.1,
                "rect": {"left": 0.05, "top": 0.6, "width": 0.1, "height": 0.1},
                "token": "t2",
            },
        ],
    }
)


def record(account: ApiAccount, endpoint: str, request_id: str, **fields: Any) -> ApiCall:
    return ApiCall.objects.create(
        account=account,
        endpoint=endpoint,
        request_id=request_id,
        status=fields.pop("status", "OK"),
        http_status=fields.pop("http_status", 200),
        latency_ms=30.0,
        **fields,
    )


def keep(account: ApiAccount, request_id: str, role: str, name: str = "grace_hopper") -> CallImage:
    data = encode(pixels(name))
    height, width = pixels(name).shape[:2]
    return call_image_keep(
        account=account,
        request_id=request_id,
        role=role,
        data=data,
        format="JPEG",
        width=width,
        height=height,
    )


def store(account: ApiAccount, name: str = "grace_hopper") -> StoredImage:
    height, width = pixels(name).shape[:2]
    return image_store(
        account=account, data=encode(pixels(name)), format="JPEG", width=width, height=height, source="file"
    )


def found(pattern: str, text: str) -> str:
    """The first group of `pattern` in `text`, unescaped; fails the test when absent."""
    match = re.search(pattern, text, re.S)
    assert match is not None, pattern
    return htmllib.unescape(match.group(1))


def detail(client: Client, request_id: str) -> str:
    response = client.get(reverse("portal:call_detail", args=[request_id]))
    assert response.status_code == 200
    return response.content.decode()


# -- drawn again -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_detect_draws_each_box_over_the_photo_kept_with_the_call(client: Client) -> None:
    user, account, _ = portal_user("alice")
    call = record(
        account,
        "detect",
        "1700000000,abc",
        request_params={
            "api_key": account.api_id,
            "api_secret": "********",
            "image": {"file": "me.jpg", "bytes": 9},
        },
        response_body=DETECT_BODY,
    )
    photo = keep(account, call.request_id, "image")
    page = detail(signed_in(client, user), call.request_id)

    thumbnail = reverse("portal:call_image_thumbnail", args=[call.request_id, photo.id])
    assert f'src="{thumbnail}?size=1280"' in page
    boxes = re.findall(r'<span class="result-box (fit|low)" style="([^"]+)"', page)
    assert boxes == [
        ("fit", "left:25.000%;top:10.000%;width:50.000%;height:40.000%"),
        ("low", "left:5.000%;top:60.000%;width:10.000%;height:10.000%"),
    ]
    assert "2 faces found" in page and 'id="kept-images"' in page
    assert client.get(thumbnail).status_code == 200


@pytest.mark.django_db
def test_the_kept_photo_is_its_owners_alone(client: Client) -> None:
    user, account, _ = portal_user("alice")
    other, _, _ = portal_user("mallory")
    call = record(account, "detect", "1700000000,abc", response_body=DETECT_BODY)
    photo = keep(account, call.request_id, "image")
    thumbnail = reverse("portal:call_image_thumbnail", args=[call.request_id, photo.id])

    assert signed_in(Client(), other).get(thumbnail).status_code == 404
    owner = signed_in(client, user)
    assert (
        owner.get(reverse("portal:call_image_thumbnail", args=["1700000001,xyz", photo.id])).status_code
        == 404
    )
    assert owner.get(thumbnail).status_code == 200
    assert "Sign in" in Client().get(thumbnail, follow=True).content.decode()


@pytest.mark.django_db
def test_compare_draws_the_matrix_with_a_crop_of_each_face_from_the_stored_images(client: Client) -> None:
    user, account, _ = portal_user("alice")
    one, two = store(account), store(account, "astronaut")
    body = json.dumps(
        {
            "request_id": "TIDc1",
            "status": "OK",
            "confidences": [[0.93, 0.41], [0.12, 0.55]],
            "max_confidence": 0.93,
            "image_one": {"image_one_id": one.id},
            "image_two": {"image_two_id": two.id},
            "faces_one": [
                {"rect": {"left": 100, "top": 50, "width": 112, "height": 140}},
                {"rect": {"left": 10, "top": 10, "width": 28, "height": 28}},
            ],
            "faces_two": [
                {"rect": {"left": 0, "top": 0, "width": 56, "height": 56}},
                {"rect": {"left": 200, "top": 100, "width": 50, "height": 50}},
            ],
        }
    )
    record(account, "compare", "TIDc1", image_ids=[one.id, two.id], response_body=body)
    page = detail(signed_in(client, user), "TIDc1")

    cells = re.findall(r'<td class="num cell level-(\d)" title="([^"]+)">([\d.]+)', page)
    assert [(level, value) for level, _, value in cells] == [
        ("6", "0.9300"),
        ("1", "0.4100"),
        ("0", "0.1200"),
        ("2", "0.5500"),
    ]
    assert cells[1][1] == "Reaches 0.4: accepts another person 1/10 of the time"
    crops = [
        htmllib.unescape(style)
        for style in re.findall(r'<span class="crop" role="img" aria-label="[^"]+" style="([^"]+)"', page)
    ]
    assert len(crops) == 4
    # Image two's first face is 56 px square at the corner: the thumbnail at its own size, unmoved.
    width, height = two.width, two.height
    url_two = reverse("portal:image_thumbnail", args=[two.id]) + "?size=1280"
    assert (
        crops[0] == f"background-image:url('{url_two}');background-size:{width:.1f}px {height:.1f}px;"
        "background-position:-0.0px -0.0px"
    )
    # Image one's first face: 140 px tall, so shown at 56/140; its square starts 14 px left of the box.
    zoom = 56 / 140
    assert f"background-position:{-(100 - 14) * zoom:.1f}px {-50 * zoom:.1f}px" in crops[2]


def test_a_compare_without_verbose_shows_the_matrix_and_says_why_there_are_no_crops() -> None:
    drawn = results.redraw("compare", "OK", {"confidences": [[0.7]], "max_confidence": 0.7}, {})
    assert drawn.kind == "compare" and [cell.level for cell in drawn.rows[0][1]] == [4]
    assert drawn.rows[0][0].style == "" and drawn.columns[0].style == ""
    assert any("verbose=true" in note for note in drawn.notes)


def test_a_failed_call_or_a_body_cut_short_draws_nothing() -> None:
    assert results.redraw("detect", "NO_FACE", {"faces": []}, {}).kind == ""
    assert results.redraw("compare", "OK", None, {}).kind == ""
    assert results.redraw("compare", "OK", {"confidences": "x"}, {}).kind == ""
    broken = results.redraw("detect", "OK", {"faces": [{"rect": {"left": "a"}}, "x"]}, {})
    assert broken.kind == "detect" and broken.boxes == []


@pytest.mark.django_db
def test_mask_shows_the_selfie_sent_beside_the_image_answered(client: Client) -> None:
    user, account, _ = portal_user("alice")
    record(
        account,
        "mask",
        "TIDm1",
        response_body="[image/jpeg, 1234 bytes]",
        request_params={"mask_eye": "true"},
    )
    selfie, answer = keep(account, "TIDm1", "selfie"), keep(account, "TIDm1", "answer")
    page = detail(signed_in(client, user), "TIDm1")

    for copy in (selfie, answer):
        assert reverse("portal:call_image_thumbnail", args=["TIDm1", copy.id]) + "?size=1280" in page
    assert 'id="result-answer"' in page and "The selfie sent" in page


# -- made again ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_copy_as_curl_has_every_parameter_and_a_placeholder_for_the_secret(client: Client) -> None:
    user, account, secret = portal_user("alice")
    params = {
        "api_id": account.api_id,
        "api_secret": "********",
        "image_one_file": {"file": "my photo;1.jpg", "bytes": 10, "content_type": "image/jpeg"},
        "image_two_url": "https://example.com/a b.jpg",
        "image_one_auto_rotate": "true",
    }
    record(account, "compare", "TIDr1", request_params=params, status="NO_FACE_DETECTED", http_status=400)
    page = detail(signed_in(client, user), "TIDr1")

    curl = found(r'<pre class="code" id="replay-curl"[^>]*>(.*?)</pre>', page)
    assert secret not in page and "********" not in curl
    words = shlex.split(curl.replace("\\\n", " "), posix=True)
    assert words[:4] == [
        "curl",
        "-sS",
        "http://testserver/identity/compare_faces_in_two_images",
        "--form-string",
    ]
    assert words[4] == f"api_id={account.api_id}"
    assert words[5:7] == ["--form-string", "api_secret=$API_SECRET"]  # expanded by the shell, not here
    assert words[7:9] == ["-F", 'image_one_file=@"my photo;1.jpg"']
    assert words[9:] == [
        "--form-string",
        "image_two_url=https://example.com/a b.jpg",
        "--form-string",
        "image_one_auto_rotate=true",
    ]
    assert 'data-copy="replay-curl"' in page


@pytest.mark.django_db
def test_replay_opens_the_try_it_page_with_the_same_parameters_and_the_stored_ids(client: Client) -> None:
    user, account, _ = portal_user("alice")
    one, two = store(account), store(account)
    params = {
        "api_id": account.api_id,
        "api_secret": "********",
        "image_one_file": {"file": "a.jpg", "bytes": 10},
        "image_two_id": two.id,
        "image_two_auto_rotate": "true",
        "verbose": "true",
    }
    body = json.dumps(
        {"status": "OK", "confidences": [[0.5]], "max_confidence": 0.5, "image_one": {"image_one_id": one.id}}
    )
    record(account, "compare", "TIDr2", image_ids=[one.id, two.id], request_params=params, response_body=body)
    page = detail(signed_in(client, user), "TIDr2")

    link = found(r'<a class="btn" href="([^"]+)" id="replay-tryit">', page)
    path, _, query = link.partition("?")
    assert path == reverse("portal:try_compare")
    assert parse_qs(query) == {
        "api_id": [account.api_id],
        "image_two_id": [two.id],
        "image_two_auto_rotate": ["true"],
        "verbose": ["true"],
        "image_one_id": [one.id],  # the file, stored by the call: replayed by its id
    }
    replayed = re.search(r'<section class="panel replay".*?</section>', page, re.S)
    assert replayed is not None and "Files are not kept by name" not in replayed.group(0)


@pytest.mark.django_db
def test_a_file_that_was_not_stored_must_be_chosen_again(client: Client) -> None:
    user, account, _ = portal_user("alice")
    record(
        account,
        "detect",
        "1700000000,d",
        request_params={"api_key": account.api_id, "image": {"file": "x.jpg"}},
    )
    page = detail(signed_in(client, user), "1700000000,d")
    assert "choose <code>image</code> again" in page
    link = found(r'href="([^"]+)" id="replay-tryit"', page)
    assert link == f"{reverse('portal:try_detect')}?api_id={account.api_id}"


def test_curl_file_names_are_quoted_as_curl_reads_them() -> None:
    assert replay.curl_file_name("plain.jpg") == "plain.jpg"
    assert replay.curl_file_name("-") == "./-"
    assert replay.curl_file_name('a,b"c\\.jpg') == '"a,b\\"c\\\\.jpg"'


@pytest.mark.django_db
def test_a_call_to_no_endpoint_has_no_replay(client: Client) -> None:
    user, account, _ = portal_user("alice")
    record(account, "not_found", "TIDnf", status="NOT_FOUND", http_status=404)
    page = detail(signed_in(client, user), "TIDnf")
    assert 'id="replay-curl"' not in page and "Make this call again" not in page

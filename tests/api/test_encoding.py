"""ENCODING_ERROR exactly when some parameter name or value is not valid UTF-8: in the query
string, a form-urlencoded body, or a multipart body (field names, values and file names, a
file name being the value a client gives for its file). Valid UTF-8 of any character, U+FFFD
included, is accepted. Bodies are built byte by byte so that the raw bytes are what is sent."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from tests.api.conftest import Api, nothing_left_behind
from tests.conftest import encode, pixels

COMPARE = "/identity/compare_faces_in_two_images"
DETECT = "/faceid/v1/detect"
BOUNDARY = b"encoding-boundary"
PHOTO = encode(pixels("grace_hopper"))
REPLACEMENT = "\ufffd".encode()  # U+FFFD, valid UTF-8 of the replacement character itself


def part(disposition: bytes, content: bytes, *headers: bytes) -> bytes:
    head = (
        b"Content-Disposition: form-data; " + disposition + b"\r\n" + b"".join(h + b"\r\n" for h in headers)
    )
    return b"--" + BOUNDARY + b"\r\n" + head + b"\r\n" + content + b"\r\n"


def photo_parts(one: bytes = b'filename="one.jpg"') -> list[bytes]:
    return [
        part(b'name="image_one_file"; ' + one, PHOTO, b"Content-Type: image/jpeg"),
        part(b'name="image_two_file"; filename="two.jpg"', PHOTO, b"Content-Type: image/jpeg"),
    ]


def post_multipart(api: Api, path: str, parts: list[bytes], *, credentials: bool = True) -> Any:
    body = b"".join(parts) + b"--" + BOUNDARY + b"--\r\n"
    if credentials and path != DETECT:
        path = f"{path}?api_id={api.account.api_id}&api_secret={api.secret}"
    return api.client.post(path, body, content_type=f"multipart/form-data; boundary={BOUNDARY.decode()}")


def post_urlencoded(api: Api, body: bytes) -> Any:
    path = f"{COMPARE}?api_id={api.account.api_id}&api_secret={api.secret}"
    return api.client.post(path, body, content_type="application/x-www-form-urlencoded")


def faceid_parts(api: Api) -> list[bytes]:
    return [
        part(b'name="api_key"', api.account.api_id.encode()),
        part(b'name="api_secret"', api.secret.encode()),
    ]


def refused(response: Any, reason: str) -> None:
    body = response.json()
    assert (response.status_code, body["status"], body["reason"]) == (400, "ENCODING_ERROR", reason)


# -- valid UTF-8 is accepted, U+FFFD included ---------------------------------------------------


@pytest.mark.models
@pytest.mark.parametrize(
    "extra",
    [
        part(b'name="note"', REPLACEMENT),
        part(b'name="' + REPLACEMENT + b'"', b"1"),
        part(b'name="note"', "caf\u00e9 \u4e2d\u6587".encode()),
    ],
)
def test_valid_utf8_in_a_multipart_field_is_accepted(api: Api, extra: bytes) -> None:
    response = post_multipart(api, COMPARE, [*photo_parts(), extra])
    assert response.status_code == 200, response.content


@pytest.mark.models
def test_a_replacement_character_in_a_file_name_is_accepted(api: Api) -> None:
    response = post_multipart(api, COMPARE, photo_parts(b'filename="' + REPLACEMENT + b'.jpg"'))
    assert response.status_code == 200, response.content


@pytest.fixture
def stored_ids(api: Api) -> tuple[str, str]:
    body = post_multipart(api, COMPARE, photo_parts()).json()
    return body["image_one"]["image_one_id"], body["image_two"]["image_two_id"]


@pytest.mark.models
@pytest.mark.parametrize("extra", [b"note=%EF%BF%BD", b"%EF%BF%BD=1", "note=caf\u00e9".encode()])
def test_valid_utf8_in_a_urlencoded_body_is_accepted(
    api: Api, stored_ids: tuple[str, str], extra: bytes
) -> None:
    one, two = stored_ids
    response = post_urlencoded(api, f"image_one_id={one}&image_two_id={two}&".encode() + extra)
    assert response.status_code == 200, response.content


@pytest.mark.models
def test_a_replacement_character_in_the_query_string_is_accepted(api: Api) -> None:
    path = f"{COMPARE}?api_id={api.account.api_id}&api_secret={api.secret}&note=%EF%BF%BD"
    body = b"".join(photo_parts()) + b"--" + BOUNDARY + b"--\r\n"
    response = api.client.post(path, body, content_type=f"multipart/form-data; boundary={BOUNDARY.decode()}")
    assert response.status_code == 200, response.content


# -- anything else is an ENCODING_ERROR naming the parameter -------------------------------------


def test_a_non_utf8_multipart_field_name_is_an_encoding_error(api: Api) -> None:
    response = post_multipart(api, COMPARE, [*photo_parts(), part(b'name="no\xfftes"', b"1")])
    refused(response, "argument 'no\ufffdtes': not valid UTF-8")
    nothing_left_behind(api.account)


def test_a_non_utf8_file_name_is_an_encoding_error(api: Api) -> None:
    response = post_multipart(api, COMPARE, photo_parts(b'filename="\xff.jpg"'))
    refused(response, "argument 'image_one_file': file name not valid UTF-8")
    nothing_left_behind(api.account)


def test_a_non_utf8_rfc_2231_file_name_is_an_encoding_error(api: Api) -> None:
    response = post_multipart(api, COMPARE, photo_parts(b"filename*=UTF-8''%FF.jpg"))
    refused(response, "argument 'image_one_file': file name not valid UTF-8")


@pytest.mark.parametrize(
    "extra",
    [
        part(b'name="note"', b"\xc3("),
        part(b'name="note"', base64.b64encode(b"\xff\xfe"), b"Content-Transfer-Encoding: base64"),
    ],
)
def test_a_non_utf8_multipart_value_is_an_encoding_error(api: Api, extra: bytes) -> None:
    refused(post_multipart(api, COMPARE, [*photo_parts(), extra]), "argument 'note': not valid UTF-8")
    nothing_left_behind(api.account)


@pytest.mark.parametrize(
    ("body", "name"),
    [(b"note=%FF", "note"), (b"no%FFte=1", "no\ufffdte"), (b"note=\xff", "note"), (b"note=%C3%28", "note")],
)
def test_non_utf8_in_a_urlencoded_body_is_an_encoding_error(api: Api, body: bytes, name: str) -> None:
    refused(post_urlencoded(api, b"image_one_id=x&" + body), f"argument '{name}': not valid UTF-8")


def test_raw_non_utf8_bytes_in_the_query_string_are_an_encoding_error(api: Api) -> None:
    path = f"{COMPARE}?api_id={api.account.api_id}&api_secret={api.secret}"
    # A WSGI server hands the query string over as Latin-1 text of its raw bytes.
    response = api.client.post(path, QUERY_STRING=path.split("?")[1] + "&note=\xff")
    refused(response, "argument 'note': not valid UTF-8")


def test_the_encoding_is_checked_before_the_credentials(api: Api) -> None:
    response = post_multipart(api, COMPARE, [part(b'name="\xff"', b"1")], credentials=False)
    refused(response, "argument '\ufffd': not valid UTF-8")


# -- FaceID: BAD_ARGUMENTS:<name>, as for its other malformed parameters -----------------------


def faceid_error(response: Any) -> str:
    assert response.status_code == 400, response.content
    return str(response.json()["error"])


def test_faceid_names_the_field_of_a_non_utf8_file_name(api: Api) -> None:
    image = part(b'name="image"; filename="\xff.jpg"', PHOTO, b"Content-Type: image/jpeg")
    assert faceid_error(post_multipart(api, DETECT, [*faceid_parts(api), image])) == "BAD_ARGUMENTS:image"
    nothing_left_behind(api.account)


def test_faceid_names_a_non_utf8_field_name_as_it_reads(api: Api) -> None:
    image = part(b'name="image"; filename="a.jpg"', PHOTO)
    response = post_multipart(api, DETECT, [*faceid_parts(api), image, part(b'name="x\xff"', b"1")])
    assert faceid_error(response) == "BAD_ARGUMENTS:x\ufffd"


@pytest.mark.models
def test_faceid_accepts_a_replacement_character(api: Api) -> None:
    image = part(b'name="image"; filename="' + REPLACEMENT + b'.jpg"', PHOTO)
    response = post_multipart(api, DETECT, [*faceid_parts(api), image, part(b'name="note"', REPLACEMENT)])
    assert response.status_code == 200, response.content


@pytest.mark.models
@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "multipart/form-data"])
def test_parameters_are_read_as_utf8_whatever_charset_the_request_names(api: Api, content_type: str) -> None:
    from accounts.models import ApiCall

    path = f"{COMPARE}?api_id={api.account.api_id}&api_secret={api.secret}&note=caf%C3%A9"
    if content_type.startswith("multipart"):
        body = (
            b"".join([*photo_parts(), part(b'name="form_note"', "caf\u00e9".encode())])
            + b"--"
            + BOUNDARY
            + b"--\r\n"
        )
        content_type += f"; boundary={BOUNDARY.decode()}"
    else:
        body = b"image_one_id=x&form_note=caf%C3%A9"
    # Given as CONTENT_TYPE: the test client would transcode the body to the charset named.
    response = api.client.post(
        path, body, "application/octet-stream", CONTENT_TYPE=f"{content_type}; charset=ISO-8859-1"
    )
    params = ApiCall.objects.get(request_id=response["X-Request-Id"]).request_params
    assert (params["note"], params["form_note"]) == ("caf\u00e9", "caf\u00e9")

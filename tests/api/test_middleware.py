"""What the API middleware guarantees around every call under the API prefixes: the family's
JSON envelope for whatever Django itself would have answered (unknown paths in any spelling,
a bad Host, failures outside the view), and bodies sent without a length read within the caps."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from accounts.models import ApiCall
from tests.api.conftest import Api, nothing_left_behind
from tests.conftest import encode, pixels

COMPARE = "/identity/compare_faces_in_two_images"
DETECT = "/faceid/v1/detect"


def assert_json_refusal(response: Any, status: int, field: str, code: str) -> dict[str, Any]:
    assert (response.status_code, response["Content-Type"]) == (status, "application/json"), response.content
    body: dict[str, Any] = response.json()
    assert body[field] == code and body["request_id"] == response["X-Request-Id"]
    # On record like every answered call.
    assert ApiCall.objects.get(request_id=body["request_id"]).http_status == status
    return body


@pytest.mark.parametrize(
    "path",
    [
        "//identity/mask_selfie_image",
        "/identity//mask_selfie_image",
        "//identity/compare_faces_in_two_images/",
        "/identity/mask_selfie_image/",
        "/identity",
        "/resources",
        "//resources/upload_liveness_data",
    ],
)
def test_every_linkface_path_spelling_answers_json_not_found(api: Api, path: str) -> None:
    # PATH_INFO given as is: the test client would read "//identity" as a host name.
    response = api.client.post(COMPARE, PATH_INFO=path)
    assert_json_refusal(response, 404, "status", "NOT_FOUND")


@pytest.mark.parametrize(
    "path", ["//faceid/v1/detect", "/faceid/v1/detect/", "/faceid", "/faceid//v1/detect"]
)
def test_every_faceid_path_spelling_answers_json_api_not_found(api: Api, path: str) -> None:
    response = api.client.post(DETECT, PATH_INFO=path)
    assert_json_refusal(response, 404, "error", "API_NOT_FOUND")


def test_a_bad_host_header_answers_the_linkface_envelope(api: Api) -> None:
    response = api.linkface(COMPARE, {}, HTTP_HOST="evil.example")
    body = assert_json_refusal(response, 400, "status", "INVALID_ARGUMENT")
    assert body["reason"] == "invalid Host header"


def test_a_bad_host_header_answers_the_faceid_envelope(api: Api) -> None:
    response = api.faceid({}, HTTP_HOST="evil.example")
    assert_json_refusal(response, 400, "error", "BAD_ARGUMENTS:host")


def test_a_failure_outside_the_view_is_a_json_internal_error(
    api: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A middleware inside the API's (here the session's) fails: Django would answer its HTML
    500 page; the API answers its own, with the request id logged next to the traceback."""
    from django.contrib.sessions.middleware import SessionMiddleware

    def explode(*args: object) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(SessionMiddleware, "process_request", explode)
    client = Client(raise_request_exception=False)
    for response, field in ((client.post(COMPARE), "status"), (client.post(DETECT), "error")):
        body = assert_json_refusal(response, 500, field, "INTERNAL_ERROR")
        assert "secret internals" not in response.content.decode()
        assert f"internal error in request {body['request_id']}" in caplog.text
    assert "RuntimeError: secret internals" in caplog.text


def chunked_environ(body: bytes, content_type: str) -> dict[str, Any]:
    """What gunicorn hands Django for a chunked upload: the body, de-chunked, and no length."""
    return {
        "wsgi.input": io.BytesIO(body),
        "CONTENT_LENGTH": "",
        "CONTENT_TYPE": content_type,
        "HTTP_TRANSFER_ENCODING": "chunked",
    }


def multipart(fields: dict[str, str], files: dict[str, bytes]) -> tuple[bytes, str]:
    boundary = "chunked-boundary"
    body = b""
    for name, value in fields.items():
        body += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
    for name, data in files.items():
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{name}.jpg"\r\n'
        body += head.encode() + b"Content-Type: image/jpeg\r\n\r\n" + data + b"\r\n"
    return body + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


@pytest.mark.models
def test_a_chunked_linkface_body_is_read(api: Api) -> None:
    photo = encode(pixels("grace_hopper"))
    body, content_type = multipart({}, {"image_one_file": photo, "image_two_file": photo})
    path = f"{COMPARE}?api_id={api.account.api_id}&api_secret={api.secret}"
    response = api.client.post(path, **chunked_environ(body, content_type))
    assert response.status_code == 200, response.content
    assert response.json()["max_confidence"] == pytest.approx(1.0)
    assert ApiCall.objects.get(request_id=response["X-Request-Id"]).request_bytes == len(body)


@pytest.mark.models
def test_a_chunked_faceid_body_is_read(api: Api) -> None:
    fields = {"api_key": api.account.api_id, "api_secret": api.secret}
    body, content_type = multipart(fields, {"image": encode(pixels("grace_hopper"))})
    response = api.client.post(DETECT, **chunked_environ(body, content_type))
    assert response.status_code == 200, response.content
    assert len(response.json()["faces"]) == 1


class Counting(io.BytesIO):
    """A body that says how much of it was read."""

    def __init__(self, size: int) -> None:
        super().__init__(b"x" * size)
        self.taken = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.taken += len(data)
        return data


def test_a_chunked_linkface_body_over_the_cap_is_refused_once_past_it(api: Api, isolated: Path) -> None:
    stream = Counting(20 * 1024 * 1024)
    environ = {**chunked_environ(b"", "multipart/form-data; boundary=b"), "wsgi.input": stream}
    response = api.client.post(f"{COMPARE}?api_id={api.account.api_id}&api_secret={api.secret}", **environ)
    body = assert_json_refusal(response, 400, "status", "IMAGE_FILE_SIZE_TOO_BIG")
    assert body["reason"] == "request body over 11534336 bytes"
    assert stream.taken <= 11 * 1024 * 1024 + 64 * 1024  # up to the cap, never the rest
    nothing_left_behind(api.account)


def test_a_chunked_faceid_body_over_the_cap_is_the_plain_413(api: Api) -> None:
    stream = Counting(3 * 1024 * 1024)
    environ = {**chunked_environ(b"", "multipart/form-data; boundary=b"), "wsgi.input": stream}
    response = api.client.post(DETECT, **environ)
    assert (response.status_code, response.content) == (413, b"Request Entity Too Large")
    assert stream.taken <= 2 * 1024 * 1024 + 64 * 1024
    assert ApiCall.objects.get(request_id=response["X-Request-Id"]).http_status == 413


class ParseException(Exception):
    """gunicorn's for a malformed trailer (gunicorn.http.errors.InvalidHeader is one)."""


class Broken(io.BytesIO):
    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error

    def read(self, size: int | None = -1) -> bytes:
        raise self.error


@pytest.mark.parametrize(
    ("path", "field", "code"),
    [(COMPARE, "status", "INVALID_ARGUMENT"), (DETECT, "error", "BAD_ARGUMENTS:body")],
)
@pytest.mark.parametrize("error", [OSError("Invalid chunk size"), ParseException("Invalid header")])
def test_a_malformed_chunked_body_is_a_json_refusal(
    api: Api, path: str, field: str, code: str, error: Exception
) -> None:
    environ = {**chunked_environ(b"", "multipart/form-data; boundary=b"), "wsgi.input": Broken(error)}
    body = assert_json_refusal(api.client.post(path, **environ), 400, field, code)
    assert body.get("reason", "malformed chunked body") == "malformed chunked body"


def test_a_refused_body_within_the_cap_is_read_to_its_end_before_the_answer(api: Api) -> None:
    # A proxy (nginx) that is still sending the body when gunicorn closes the connection gets
    # a reset and answers 502 instead of the refusal: the body must be taken in first.
    size = 1_500_000
    stream = Counting(size)
    path = f"{COMPARE}?api_id={api.account.api_id}&api_secret={api.secret}"
    environ: dict[str, Any] = {"CONTENT_TYPE": "text/plain", "CONTENT_LENGTH": str(size)}
    environ["wsgi.input"] = stream
    response = api.client.post(path, **environ)
    assert response.status_code == 400
    assert stream.taken == size


def test_a_body_over_the_cap_is_refused_unread(api: Api) -> None:
    size = 11 * 1024 * 1024 + 10
    stream = Counting(size)
    path = f"{COMPARE}?api_id={api.account.api_id}&api_secret={api.secret}"
    environ: dict[str, Any] = {"CONTENT_TYPE": "multipart/form-data; boundary=x", "CONTENT_LENGTH": str(size)}
    environ["wsgi.input"] = stream
    response = api.client.post(path, **environ)
    assert response.json()["status"] == "IMAGE_FILE_SIZE_TOO_BIG"
    assert stream.taken == 0

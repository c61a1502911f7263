"""The WSGI application's request class (faceportal/wsgi.py)."""

from __future__ import annotations

import io

import pytest
from django.core.exceptions import TooManyFieldsSent

from faceportal.wsgi import Request


def environ(query: str, content_type: str) -> dict[str, object]:
    """What a WSGI server hands over for a POST with no body."""
    return {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/identity/mask_selfie_image",
        "QUERY_STRING": query,
        "CONTENT_TYPE": content_type,
        "CONTENT_LENGTH": "0",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(),
    }


def test_a_request_naming_a_charset_with_many_query_parameters_can_be_built() -> None:
    query = "&".join(f"p{index}=x" for index in range(150))
    request = Request(environ(query, "application/x-www-form-urlencoded; charset=utf-8"))
    assert request.encoding == "utf-8"
    with pytest.raises(TooManyFieldsSent):  # refused when read, by the API, with its answer
        request.GET  # noqa: B018


def test_changing_the_encoding_reads_the_query_string_again() -> None:
    request = Request(environ("note=caf%E9", "application/x-www-form-urlencoded; charset=latin-1"))
    assert request.GET["note"] == "caf\u00e9"
    request.encoding = "utf-8"
    assert request.GET["note"] == "caf\ufffd"

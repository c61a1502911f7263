"""Which parameter, if any, is not valid UTF-8: judged on the raw bytes of the request.

Django decodes parameters leniently: invalid bytes become U+FFFD (so a valid U+FFFD could
not be told from them), a multipart header line that is not UTF-8 is dropped with its field
(a non-UTF-8 field name disappeared, a non-UTF-8 file name left its file out), and the raw
bytes of a urlencoded body that is not UTF-8 are read as Latin-1. So the bytes are looked at
before Django decodes them: the query string (Params.check_encoding), the form bodies (the
parsers in identity/api/parsers.py).

A file name is the value a client gives for its file, so it is held to the same rule; file
contents are bytes and are not.
"""

from __future__ import annotations

import base64
import binascii
from contextlib import suppress
from email.message import Message
from urllib.parse import unquote_to_bytes

from django.core.exceptions import TooManyFieldsSent
from django.http import QueryDict
from django.utils.http import parse_header_parameters

from identity.api.urlencoded import split_pairs


class NotUtf8(Exception):
    """Parameter `name` (as Django would read it) is not valid UTF-8, in its name or value, or
    in the file name it gives."""

    def __init__(self, name: str, *, file_name: bool = False) -> None:
        super().__init__(f"{name}: {'file name ' if file_name else ''}not valid UTF-8")
        self.name = name
        self.file_name = file_name


def _strict(data: bytes, charset: str = "utf-8") -> str | None:
    try:
        return data.decode(charset)
    except (UnicodeError, LookupError):  # LookupError: an RFC 2231 charset no codec knows
        return None


def _lenient(data: bytes) -> str:
    return data.decode("utf-8", "replace")


def first_non_utf8(raw: bytes) -> str | None:
    """The name (as Django would show it) of the first pair of a query string or urlencoded
    body, given as raw bytes, whose name or value percent-decoded is not UTF-8."""
    for name, value in split_pairs(raw):
        if _strict(name) is None or _strict(value) is None:
            return _lenient(name)
    return None


def parse_urlencoded(raw: bytes, max_fields: int | None) -> QueryDict:
    """A urlencoded body read as Django's QueryDict reads it, but strictly and in linear time:
    NotUtf8 (naming the parameter) where Django would have put U+FFFD or read Latin-1."""
    if max_fields is not None and raw.count(b"&") + 1 > max_fields:  # counted as Django does
        raise TooManyFieldsSent("The number of GET/POST parameters exceeded the limit.")
    form = QueryDict(mutable=True)
    for name, value in split_pairs(raw):
        text_name, text_value = _strict(name), _strict(value)
        if text_name is None or text_value is None:
            raise NotUtf8(_lenient(name))
        form.appendlist(text_name, text_value)
    form._mutable = False
    return form


def check_multipart(body: bytes, content_type: str) -> None:
    """Raises NotUtf8 for the first part whose field name, file name or (for a field) value
    is not UTF-8. Parts Django would ignore (no header end, no Content-Disposition, no name)
    and a missing boundary are left for Django's parser to judge."""
    _, options = parse_header_parameters(content_type)
    boundary = options.get("boundary", "").encode("latin-1", "replace")
    if not boundary:
        return
    delimiter = b"--" + boundary
    start = body.find(delimiter)
    while start != -1:
        start += len(delimiter)
        end = body.find(delimiter, start)
        if end == -1:  # after the closing delimiter, or an unterminated part Django drops
            return
        _check_part(body, start, end)
        start = end


def _check_part(body: bytes, start: int, end: int) -> None:
    header_end = body.find(b"\r\n\r\n", start, end)
    if header_end == -1:
        return
    disposition, transfer = None, b""
    for line in body[start:header_end].split(b"\r\n"):
        key, _, value = line.partition(b":")
        if key.strip().lower() == b"content-disposition":
            disposition = value
        elif key.strip().lower() == b"content-transfer-encoding":
            transfer = value.strip().lower()
    params = _disposition_params(disposition) if disposition is not None else {}
    if "name" not in params:
        return
    name = _strict(*params["name"])
    if name is None:
        raise NotUtf8(_lenient(params["name"][0]).strip())
    name = name.strip()  # as Django reads it
    if "filename" in params:
        file_name = _strict(*params["filename"])
        if file_name is None:
            raise NotUtf8(name, file_name=True)
        if file_name:  # a file (Django's test): its contents are bytes
            return
    content = body[header_end + 4 : end]
    content = content[:-2] if content.endswith(b"\r\n") else content
    if transfer == b"base64":  # Django decodes these, and keeps the raw data when it cannot
        with suppress(binascii.Error):
            content = base64.b64decode(content)
    if _strict(content) is None:
        raise NotUtf8(name)


def _disposition_params(disposition: bytes) -> dict[str, tuple[bytes, str]]:
    """The Content-Disposition parameters as raw bytes and the charset they are written in:
    UTF-8, or the one an RFC 2231 parameter (`filename*=UTF-8''...`) names."""
    message = Message()
    message["content-disposition"] = disposition.decode("latin-1")  # one character per byte
    params: dict[str, tuple[bytes, str]] = {}
    for key, value in (message.get_params(header="content-disposition") or [])[1:]:
        if isinstance(value, tuple):  # (charset, language, text): decoded as Django's
            # email.utils.collapse_rfc2231_value does, which percent-decodes once more
            params[key.lower()] = (unquote_to_bytes(value[2].encode("latin-1")), value[0] or "us-ascii")
        else:
            params[key.lower()] = (value.encode("latin-1", "replace"), "utf-8")
    return params

"""The API's body parsers: DRF's, with the UTF-8 rule checked on the raw bytes first.

Django decodes leniently and loses what is needed to apply the rule (identity/api/encoding.py
says how), so each parser reads the body whole (the API middleware has capped it: 11 MB
LinkFace, 2 MB FaceID) and judges it before handing it on.
"""

from __future__ import annotations

import io
from typing import IO, Any

from django.conf import settings
from rest_framework import parsers

from identity.api import encoding


def _read(stream: IO[bytes] | None) -> bytes:
    return stream.read() if stream is not None else b""


class MultiPartParser(parsers.MultiPartParser):
    def parse(
        self,
        stream: IO[Any] | None,
        media_type: str | None = None,
        parser_context: dict[str, Any] | None = None,
    ) -> parsers.DataAndFiles:
        body = _read(stream)
        encoding.check_multipart(body, media_type or "")
        return super().parse(io.BytesIO(body), media_type, parser_context)


class FormParser(parsers.FormParser):
    def parse(
        self,
        stream: IO[Any] | None,
        media_type: str | None = None,
        parser_context: dict[str, Any] | None = None,
    ) -> Any:
        return encoding.parse_urlencoded(_read(stream), settings.DATA_UPLOAD_MAX_NUMBER_FIELDS)

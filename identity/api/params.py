"""Reading request parameters the way the vendors do, with their error codes.

Parameters come from the form, and for the families that read it (LinkFace) from the query
string too; credentials also from the headers a family names. A parameter given twice is
refused rather than guessed at, and a value that is not valid UTF-8 is refused before
anything else is looked at. Errors are neutral (InvalidArgument); the family names them.
"""

from __future__ import annotations

from django.core.files.uploadedfile import UploadedFile
from django.http import QueryDict
from rest_framework.request import Request

from identity.api.encoding import NotUtf8, first_non_utf8
from identity.api.errors import InvalidArgument
from identity.api.families import Family

TRUE_WORDS = {"true", "1", "yes"}
FALSE_WORDS = {"false", "0", "no"}


class Params:
    def __init__(self, request: Request, family: Family) -> None:
        self.request = request
        self.family = family
        data = request.data  # parses the body: multipart or urlencoded only
        # With no body DRF gives a plain dict; treat it as an empty form.
        self.form = data if isinstance(data, QueryDict) else QueryDict()

    def check_encoding(self) -> None:
        """NotUtf8 (the family names it: ENCODING_ERROR, ...) for a query-string parameter that is
        not UTF-8, judged on the raw bytes (the WSGI server hands them over as Latin-1). The
        body was judged the same way while it was parsed (identity/api/parsers.py)."""
        raw = self.request._request.META.get("QUERY_STRING", "").encode("latin-1", "replace")
        name = first_non_utf8(raw)
        if name is not None:
            raise NotUtf8(name)

    def _values(self, name: str) -> list[object]:
        values: list[object] = []
        header = self.family.credential_headers.get(name)
        if header is not None and header in self.request._request.META:
            values.append(self.request._request.META[header])
        if self.family.reads_query:
            values += self.request.query_params.getlist(name)
        values += self.form.getlist(name)
        if len(values) > 1:
            raise InvalidArgument(name, "given more than once")
        return values

    def text(self, name: str) -> str | None:
        values = self._values(name)
        if not values:
            return None
        value = values[0]
        if not isinstance(value, str):
            raise InvalidArgument(name, "must be text, not a file")
        return value

    def file(self, name: str) -> UploadedFile | None:
        values = self._values(name)
        if not values:
            return None
        value = values[0]
        if not isinstance(value, UploadedFile):
            raise InvalidArgument(name, "must be a file upload")
        return value

    def boolean(self, name: str, default: bool = False) -> bool:
        value = self.text(name)
        if value is None or value == "":
            return default
        word = value.strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise InvalidArgument(name, "must be true or false")

    def present(self, name: str) -> bool:
        return bool(self._values(name))

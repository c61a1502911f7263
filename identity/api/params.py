"""Reading request parameters the way the vendors do, with their error codes.

Credentials may come in the query string or the form (LinkFace); everything else comes
from the form. A parameter given twice is refused rather than guessed at, and a value that
is not valid UTF-8 is refused before anything else is looked at.
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from django.core.files.uploadedfile import UploadedFile
from django.http import QueryDict
from rest_framework.request import Request

from identity.api.errors import ApiError
from identity.api.families import FACEID, Family

TRUE_WORDS = {"true", "1", "yes"}
FALSE_WORDS = {"false", "0", "no"}


class Params:
    def __init__(self, request: Request, family: Family) -> None:
        self.request = request
        self.family = family
        data = request.data  # parses the body: multipart or urlencoded only
        # With no body DRF gives a plain dict; treat it as an empty form.
        self.form = data if isinstance(data, QueryDict) else QueryDict()

    def _invalid(self, name: str, reason: str) -> ApiError:
        if self.family is FACEID:
            return ApiError(f"BAD_ARGUMENTS:{name}")
        return ApiError("INVALID_ARGUMENT", reason=f"argument '{name}': {reason}")

    def check_encoding(self) -> None:
        """ENCODING_ERROR (FaceID: BAD_ARGUMENTS:<key>) for any value that is not UTF-8.

        The query string is checked on its raw bytes. Form values have already been
        decoded by Django with replacement characters, so a U+FFFD in one marks bytes
        that were not UTF-8.
        """
        raw = self.request._request.META.get("QUERY_STRING", "").encode("latin-1", "replace")
        for part in raw.split(b"&"):
            name, _, value = part.partition(b"=")
            for piece in (name, value):
                try:
                    unquote_to_bytes(piece.replace(b"+", b" ")).decode("utf-8")
                except UnicodeDecodeError:
                    self._encoding_error(unquote_to_bytes(name).decode("utf-8", "replace"))
        for name, values in self.form.lists():
            if any(isinstance(value, str) and "\ufffd" in value for value in values) or "\ufffd" in name:
                self._encoding_error(name)

    def _encoding_error(self, name: str) -> None:
        if self.family is FACEID:
            raise ApiError(f"BAD_ARGUMENTS:{name}")
        raise ApiError("ENCODING_ERROR", reason=f"argument '{name}': not valid UTF-8")

    def _values(self, name: str) -> list[object]:
        values: list[object] = []
        if self.family is not FACEID:
            values += self.request.query_params.getlist(name)
        values += self.form.getlist(name)
        if len(values) > 1:
            raise self._invalid(name, "given more than once")
        return values

    def text(self, name: str) -> str | None:
        values = self._values(name)
        if not values:
            return None
        value = values[0]
        if not isinstance(value, str):
            raise self._invalid(name, "must be text, not a file")
        return value

    def file(self, name: str) -> UploadedFile | None:
        values = self._values(name)
        if not values:
            return None
        value = values[0]
        if not isinstance(value, UploadedFile):
            raise self._invalid(name, "must be a file upload")
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
        raise self._invalid(name, "must be true or false")

    def present(self, name: str) -> bool:
        return bool(self._values(name))

"""The WSGI application gunicorn serves: Django's, with one fix to how it builds requests."""

import os

import django
from django.core.handlers.wsgi import WSGIHandler, WSGIRequest

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "faceportal.settings")


class Request(WSGIRequest):
    """Django's request, whose `encoding` setter does not parse the query string.

    Django's setter asks `hasattr(self, "GET")`, and on WSGIRequest GET is a cached property:
    the question parses the query string. It is asked while the request is built whenever the
    Content-Type names a charset (`...; charset=utf-8`, which many HTTP clients send), so such
    a request with over DATA_UPLOAD_MAX_NUMBER_FIELDS query parameters failed before any
    middleware ran, with gunicorn's HTML 500 and no call history.
    """

    @property
    def encoding(self) -> str | None:
        return self._encoding

    @encoding.setter
    def encoding(self, value: str | None) -> None:
        self._encoding = value
        self.__dict__.pop("GET", None)  # only a GET already read is read again
        if hasattr(self, "_post"):
            del self._post


class Handler(WSGIHandler):
    request_class = Request


django.setup(set_prefix=False)  # as django.core.wsgi.get_wsgi_application does
application = Handler()

"""Secrets out of log lines: the values of secret-looking parameters in any `name=value` text
(request lines, query strings, referers, error messages) and secret-looking headers.

LinkFace clients may put `api_secret` in the query string (the vendor's documents do), so the
request line of an access log carries it unless it is masked. This module knows no Django: the
gunicorn configuration imports it before the application is loaded.
"""

from __future__ import annotations

import logging
import re
import traceback
from urllib.parse import unquote_plus

MASK = "***"

# Parameter and header names whose values are secrets: `api_secret` and anything else with
# "secret", passwords, tokens, signatures, and keys (`key`, `private_key`, `X-Api-Key`).
# FaceID's `api_key` is the exception: it is the key's public id (the same value as api_id),
# and without it a logged call could not be traced to its account.
_SECRET_WORDS = re.compile(r"secret|passw|pwd|token|signature|credential|auth|cookie|(?:^|[-_.])key$")
_PUBLIC = {"api_key"}

# `name=value` where the value runs to the next `&`, blank or closing quote (one followed by a
# blank or the end: a quote inside the value is masked with it); the name starts after any
# character that cannot be in a parameter name (`?`, `&`, a blank, a quote, `;`, `,`, ...).
_PAIR = re.compile(r"(?P<name>[^\s&?=\"'<>;,()\[\]{}]+)=(?P<value>(?:[^&\s\"']|[\"'](?!\s|$))*)")
# `'name': 'value'` and `"name": "value"`: a dict's repr or JSON in an error message.
_QUOTED = re.compile(
    r"(?P<q>[\"'])(?P<name>[^\"'\s]+)(?P=q)(?P<colon>\s*:\s*)(?P<v>[\"'])(?P<value>[^\"']*)(?P=v)"
)


def is_secret(name: str) -> bool:
    """Whether a parameter or header of this name carries a secret. Names are compared as a
    server reads them: `api%5Fsecret` is `api_secret` to Django."""
    decoded = unquote_plus(name).strip().lower()
    return decoded not in _PUBLIC and bool(_SECRET_WORDS.search(decoded))


def redact(text: str) -> str:
    """`text` with the value of every secret-looking `name=value` (or quoted `'name': 'value'`)
    replaced by MASK."""
    if "=" in text:
        text = _PAIR.sub(
            lambda m: f"{m['name']}={MASK}" if m["value"] and is_secret(m["name"]) else m[0], text
        )
    if ":" in text:
        text = _QUOTED.sub(
            lambda m: (
                f"{m['q']}{m['name']}{m['q']}{m['colon']}{m['v']}{MASK}{m['v']}"
                if m["value"] and is_secret(m["name"])
                else m[0]
            ),
            text,
        )
    return text


class RedactFilter(logging.Filter):
    """Masks secrets in a record's final message and in its traceback text, whatever the
    format: applied to a logger or a handler, before any formatter sees the record."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = redact(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True

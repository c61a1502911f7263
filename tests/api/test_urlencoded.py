"""Percent-decoding of query strings and urlencoded bodies (identity/api/urlencoded.py)."""

from __future__ import annotations

import random
import time
from urllib.parse import parse_qsl, unquote_to_bytes

import pytest

from identity.api.urlencoded import split_pairs, unquote

TRICKY = [
    b"",
    b"plain",
    b"%41",
    b"%4",
    b"%",
    b"%%41",
    b"%4%41",
    b"%g1%41",
    b"a%2Bb+c",
    b"%ff%FE%eF%bF%Bd",
    b"%41%",
    b"%41%4",
    "caf\u00e9%C3%A9".encode(),
    b"\xff%ff\xfe",
]


@pytest.mark.parametrize("data", TRICKY)
def test_it_decodes_as_urllib_does(data: bytes) -> None:
    assert unquote(data) == unquote_to_bytes(data)


def test_it_decodes_random_strings_as_urllib_does() -> None:
    chosen = random.Random(10)
    alphabet = b"%%%%0123456789abcdefABCDEFgG+ =&\xff\xc3"
    for _ in range(2000):
        data = bytes(chosen.choice(alphabet) for _ in range(chosen.randrange(12)))
        assert unquote(data) == unquote_to_bytes(data), data


def test_it_splits_pairs_as_parse_qsl_does() -> None:
    raw = b"a=1&&b&c=&=d&e=%41+b&f=x=y&a=2"
    expected = parse_qsl(raw.decode(), keep_blank_values=True)
    assert [(name.decode(), value.decode()) for name, value in split_pairs(raw)] == expected


def test_eleven_megabytes_of_escapes_take_a_fraction_of_a_second() -> None:
    raw = b"selfie_url=" + b"%41" * (11 * 1000 * 1000 // 3)
    started = time.process_time()
    ((_, value),) = split_pairs(raw)
    assert value == b"A" * (11 * 1000 * 1000 // 3)
    assert time.process_time() - started < 1  # a sanity guard: urllib took 2.4 s here

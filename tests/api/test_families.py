"""Families are data (identity/api/families.py): a new one is an entry, not new branches."""

from __future__ import annotations

import dataclasses

from django.test import RequestFactory
from rest_framework.request import Request

from identity.api.errors import ImageProblem
from identity.api.families import FACEID, LINKFACE, Family
from identity.api.params import Params
from identity.api.parsers import MultiPartParser

# The face sets of API.md: LinkFace's rules, credentials also in the vendor's headers.
FACESET = dataclasses.replace(
    LINKFACE,
    name="faceset",
    segments=("faceset",),
    credential_headers={"api_id": "HTTP_X_DF_API_ID", "api_secret": "HTTP_X_DF_API_SECRET"},
)


def params_of(family: Family, headers: dict[str, str] | None = None) -> Params:
    request = RequestFactory().post("/faceset/v2/list?api_id=from-query", {"name": "x"}, headers=headers)
    return Params(Request(request, parsers=[MultiPartParser()]), family)


def test_a_family_with_credential_headers_reads_them() -> None:
    params = params_of(FACESET, {"X-DF-API-SECRET": "from-header"})
    assert params.text("api_secret") == "from-header"
    assert params.text("name") == "x"


def test_a_family_that_reads_no_query_string_ignores_it() -> None:
    assert params_of(FACEID).text("api_id") is None
    assert params_of(LINKFACE).text("api_id") == "from-query"


def test_each_family_names_a_neutral_refusal_its_own_way() -> None:
    assert (LINKFACE.refused("RATE_LIMIT_EXCEEDED").code, FACEID.refused("RATE_LIMIT_EXCEEDED").code) == (
        "RATE_LIMIT_EXCEEDED",
        "CONCURRENCY_LIMIT_EXCEEDED",
    )
    assert FACEID.refused("OUT_OF_QUOTA").code == "AUTHORIZATION_ERROR:OUT_OF_QUOTA"
    expired = LINKFACE.refused("KEY_EXPIRED", "key expired at 2018-07-02T23:59:59+08:00")
    assert (expired.http_status, expired.reason) == (401, "key expired at 2018-07-02T23:59:59+08:00")
    assert FACESET.image_error(ImageProblem(ImageProblem.BAD_SIZE, "image")).code == (
        "INVALID_IMAGE_FORMAT_OR_SIZE"
    )

"""The OpenAPI 3.0.3 document of the API, built as a plain dict, and the two views that
serve it: `GET /openapi.json` and the Swagger UI page `GET /docs/`.

The endpoints, their parameters and summaries come from the registry (faceportal/endpoints.py),
their bodies and error codes from faceportal/openapi_schemas.py, and every number the text
quotes (timeouts, sides, sizes) from the settings and limits the code itself enforces
(`numbers`), so that the document cannot drift from what the service does. Descriptions
follow ../shared/API.md, the contract.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from faceengine.decodework import MAX_PNG_CHUNKS, MAX_RLE_PIXELS, MAX_SAMPLE_BYTES
from faceengine.jpegwork import MAX_SCANS, MAX_SEGMENTS
from faceportal.endpoints import ENDPOINTS, FACEID, ApiEndpoint, Param
from faceportal.openapi_schemas import (
    CODE_DESCRIPTIONS,
    FACEID_ERRORS,
    REQUEST_ID,
    SUCCESS,
    Errors,
    _json,
    _obj,
    linkface_errors,
)
from faceportal_capture.package import MAX_FRAME_SIDE, MAX_PACKAGE_PIXELS
from identity.api import families
from identity.api.families import ImageLimits
from resources import fetch

Schema = dict[str, Any]
MB = 1024 * 1024


def _figure(value: float) -> str:
    """5.0 -> "5", 2.5 -> "2.5": the way the contract writes its numbers."""
    return f"{value:g}"


def _image_limits() -> tuple[ImageLimits, ImageLimits]:
    """LinkFace's and FaceID's image limits, as the image loader applies them."""
    return families.LINKFACE.limits, families.FACEID.limits


def numbers() -> dict[str, str]:
    """The figures the document quotes, read from where the code keeps them (at build time, so
    that a setting changed through the environment shows too)."""
    linkface, faceid = _image_limits()
    assert linkface.max_bytes is not None  # LinkFace caps each file; FaceID caps the body
    return {
        "url_timeout": _figure(settings.FACEPORTAL_URL_TIMEOUT),
        "url_chars": str(fetch.MAX_URL_CHARS),
        "linkface_min_side": str(linkface.min_side),
        "linkface_max_side": str(linkface.max_side),
        "faceid_max_side": str(faceid.max_side),
        "linkface_file_mb": _figure(linkface.max_bytes / MB),
        "linkface_body_mb": _figure(settings.LINKFACE_MAX_BODY / MB),
        "faceid_body_mb": _figure(settings.FACEID_MAX_BODY / MB),
        "sample_mb": _figure(MAX_SAMPLE_BYTES / MB),
        "jpeg_scans": str(MAX_SCANS),
        "jpeg_segments": f"{MAX_SEGMENTS:,}",
        "png_chunks": f"{MAX_PNG_CHUNKS:,}",
        "rle_pixels": f"{MAX_RLE_PIXELS:,}",
        "package_mpx": _figure(MAX_PACKAGE_PIXELS / 1_000_000),
        "frame_max_side": str(MAX_FRAME_SIDE),
        "faceset_max_sets": f"{settings.FACEPORTAL_FACESET_MAX_SETS:,}",
        "faceset_max_faces": f"{settings.FACEPORTAL_FACESET_MAX_FACES:,}",
        "retention_days": str(settings.FACEPORTAL_IMAGE_RETENTION_DAYS),
    }


# -- Parameters ------------------------------------------------------------------------------


def _param_schema(param: Param, family: str, n: dict[str, str]) -> Schema:
    description = param.description
    schema: Schema = {"type": "string"}
    if param.kind in ("file", "image"):
        schema["format"] = "binary"
        if param.kind == "image":
            sides = n["faceid_max_side"] if family == FACEID else n["linkface_max_side"]
            description += f"; sides <= {sides} px"
            if family != FACEID:
                description += f", file <= {n['linkface_file_mb']} MB"
    elif param.kind == "url":
        description += f" (<= {n['url_chars']} characters) within {n['url_timeout']} s"
    elif param.kind == "boolean":
        schema.update(enum=["true", "false", "1", "0", "yes", "no"], default="false", example="false")
        description += " (`true`/`false`, `1`/`0`, `yes`/`no`, any case)"
    elif param.kind == "flag01":
        schema.update(enum=["0", "1"], default="0", example="0")
    if param.example is not None:
        schema["example"] = param.example
    schema["description"] = description
    return schema


# -- Building the document -------------------------------------------------------------------


def _error_schema(family: str, codes: tuple[str, ...]) -> Schema:
    code = {"type": "string", "enum": list(codes)}
    if family == FACEID:
        return _obj(
            {
                "time_used": {"type": "integer", "enum": [0]},
                "request_id": {"type": "string", "description": "`<unix seconds>,<uuid4>`"},
                "error": code,
            },
            ["time_used", "request_id", "error"],
        )
    return _obj(
        {
            "status": code,
            "request_id": REQUEST_ID,
            "image": {
                "type": "string",
                "enum": ["selfie", "image_one", "image_two", "liveness"],
                "description": "which image failed",
            },
            "reason": {"type": "string", "description": "in the vendor's words"},
        },
        ["status", "request_id"],
    )


def _error_response(family: str, codes: tuple[str, ...], n: dict[str, str]) -> Schema:
    lines = "\n".join(f"- `{code}`: {CODE_DESCRIPTIONS[code].format(**n)}" for code in codes)
    return _json(_error_schema(family, codes), lines)


def _errors(endpoint: ApiEndpoint) -> Errors:
    return FACEID_ERRORS if endpoint.family == FACEID else linkface_errors(endpoint.extra_400)


def _request_body(endpoint: ApiEndpoint, n: dict[str, str]) -> Schema:
    def form(params: list[Param]) -> Schema:
        properties = {p.name: _param_schema(p, endpoint.family, n) for p in params}
        schema: Schema = {"type": "object", "properties": properties}
        required = [p.name for p in params if p.required]
        if required:
            schema["required"] = required
        return schema

    files = ("file", "image")
    content: Schema = {"multipart/form-data": {"schema": form(list(endpoint.params))}}
    if not any(p.kind in files and p.required for p in endpoint.params):
        # No files: a form-urlencoded body carries the rest just as well.
        plain = [p for p in endpoint.params if p.kind not in files]
        content["application/x-www-form-urlencoded"] = {"schema": form(plain)}
    return {"required": endpoint.family == FACEID, "content": content}


def _operation(endpoint: ApiEndpoint, n: dict[str, str]) -> Schema:
    responses: Schema = {"200": SUCCESS[endpoint.name]}
    for status, codes in sorted(_errors(endpoint).items()):
        responses[str(status)] = _error_response(endpoint.family, codes, n)
        if status == 400 and endpoint.family == FACEID:
            responses["413"] = {
                "description": f"the request body is over {n['faceid_body_mb']} MB (the vendor's plain-text "
                "answer, not JSON)",
                "content": {
                    "text/plain": {"schema": {"type": "string", "enum": ["Request Entity Too Large"]}}
                },
            }
    operation: Schema = {
        "tags": ["FaceID" if endpoint.family == FACEID else "LinkFace"],
        "summary": endpoint.summary,
        "description": endpoint.description.format(**n) + _credentials_note(endpoint),
        "operationId": endpoint.path.replace("/", "_"),
        "responses": responses,
    }
    if endpoint.params or endpoint.family == FACEID:
        operation["requestBody"] = _request_body(endpoint, n)
    operation["security"] = _security(endpoint)
    return operation


# -- Credentials -----------------------------------------------------------------------------


def _family(endpoint: ApiEndpoint) -> families.Family:
    return next(family for family in families.FAMILIES if family.name == endpoint.family)


def _header_name(meta_key: str) -> str:
    """HTTP_X_DF_API_ID -> X-DF-API-ID: the header as a client sends it."""
    return meta_key.removeprefix("HTTP_").replace("_", "-")


def _security(endpoint: ApiEndpoint) -> list[dict[str, list[str]]]:
    """How an endpoint's credentials may come, from its family's own rules: the query string (a
    family that reads it), the headers the family names, or neither. OpenAPI 3 has no scheme for
    form fields, so a family that reads only the form (FaceID: `api_key`, `api_secret`) declares
    no scheme, says so, and lists the credentials as required fields of the body instead."""
    family = _family(endpoint)
    options: list[dict[str, list[str]]] = []
    if family.reads_query:
        options.append({"api_id": [], "api_secret": []})
    if family.credential_headers:
        options.append({_header_name(key): [] for key in family.credential_headers.values()})
    return options


def _credentials_note(endpoint: ApiEndpoint) -> str:
    family = _family(endpoint)
    if family.reads_query or family.credential_headers:
        return ""
    return (
        f"\n\n**Credentials**: the form fields `{family.id_field}` and `api_secret`, required fields of "
        "the body below (OpenAPI 3 has no security scheme for form fields, so none is declared: "
        "fill them in the form to try the call)."
    )


def _security_schemes() -> Schema:
    """One apiKey scheme per place a credential may come from, for every family that has it."""
    schemes: Schema = {}
    for family in families.FAMILIES:
        if family.reads_query:
            schemes["api_id"] = {
                "type": "apiKey",
                "in": "query",
                "name": "api_id",
                "description": "LinkFace: the key's api_id, in the query string or a form field",
            }
            schemes["api_secret"] = {
                "type": "apiKey",
                "in": "query",
                "name": "api_secret",
                "description": "LinkFace: the key's api_secret, in the query string or a form field",
            }
        for parameter, key in family.credential_headers.items():
            schemes[_header_name(key)] = {
                "type": "apiKey",
                "in": "header",
                "name": _header_name(key),
                "description": f"the key's {parameter}, as a header",
            }
    return schemes


def build_schema() -> Schema:
    """The OpenAPI 3.0.3 document, as a dict."""
    n = numbers()
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "FacePortal API",
            "version": "1.0",
            "description": (
                "The LinkFace-style and FaceID-style face APIs, self-hosted. All endpoints are POST "
                "with multipart/form-data (files) or application/x-www-form-urlencoded (no files). "
                "Every answer carries its request id in the body and in the `X-Request-Id` header. "
                "LinkFace credentials (`api_id`, `api_secret`) go in the query string or the form; "
                "FaceID credentials (`api_key`, `api_secret`) are form fields. Unknown extra "
                "parameters are ignored; a parameter given twice is refused."
            ),
        },
        "tags": [
            {"name": "LinkFace", "description": "error body `{status, request_id, image?, reason?}`"},
            {"name": "FaceID", "description": "error body `{time_used: 0, request_id, error}`"},
        ],
        "paths": {endpoint.url: {"post": _operation(endpoint, n)} for endpoint in ENDPOINTS},
        "components": {"securitySchemes": _security_schemes()},
    }


# -- Views -----------------------------------------------------------------------------------


@require_GET
def openapi_json(request: HttpRequest) -> HttpResponse:
    return JsonResponse(build_schema(), json_dumps_params={"ensure_ascii": False})


@require_GET
def docs_page(request: HttpRequest) -> HttpResponse:
    return render(request, "docs/openapi.html")

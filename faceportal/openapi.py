"""The OpenAPI 3.0.3 document of the API, built as a plain dict, and the two views that
serve it: `GET /openapi.json` and the Swagger UI page `GET /docs/`.

One place lists every endpoint: its parameters, its success body and, per HTTP status, the
error codes it can answer (each listed as an `enum` on the error body's `status` (LinkFace)
or `error` (FaceID) property). Descriptions follow ../shared/API.md, the contract.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from identity.views import LANDMARK_NAMES

Schema = dict[str, Any]

# -- What each error code means (API.md's words) ---------------------------------------------

CODE_DESCRIPTIONS: dict[str, str] = {
    # LinkFace request checks
    "ENCODING_ERROR": (
        "a parameter's name or value (a file name included) is not valid UTF-8; `reason` names it, "
        "e.g. `argument 'note': not valid UTF-8`, `argument 'selfie_file': file name not valid UTF-8`"
    ),
    "INVALID_ARGUMENT": (
        "missing or malformed parameters; `reason` in the vendor's words, e.g. "
        "`argument 'mask_eye': not found`, `too many parameters (at most 100)`. No image given: "
        "`reason` is `must specify '<id field>', '<file field>' or '<url field>' argument` and "
        "`image` names that image. Also a `Host` header "
        "the service does not serve (`invalid Host header`) and a malformed chunked body "
        "(`malformed chunked body`)"
    ),
    "UNAUTHORIZED": "unknown, empty or missing `api_id`, or wrong `api_secret` (no `reason`)",
    "KEY_EXPIRED": "the key's expiry has passed; `reason` is `key expired at <ISO 8601 with offset>`",
    "NO_PERMISSION": "the account may not call this endpoint",
    "RATE_LIMIT_EXCEEDED": (
        "more calls than the account's limit within one second (any one-second window, not a calendar second)"
    ),
    "OUT_OF_QUOTA": "the account's call quota is used up (only successful calls consume quota)",
    "NOT_FOUND": (
        "unknown path (in any spelling: `//identity/...`, a trailing slash) or wrong HTTP method "
        "(anything but POST, `OPTIONS` and `HEAD` included) under the API prefixes"
    ),
    "INTERNAL_ERROR": "anything unexpected; logged with the request id, no stack trace in the body",
    # LinkFace images
    "DOWNLOAD_TIMEOUT": "the `*_url` download did not complete within 5 s",
    "DOWNLOAD_ERROR": (
        "any other failure to fetch a `*_url` (including addresses refused as private, loopback, "
        "link-local or metadata, and URLs over 8192 characters); `reason` says why"
    ),
    "IMAGE_FILE_SIZE_TOO_BIG": (
        "a file over 5 MB, or a request body over 11 MB (refused before it is read; a chunked body "
        "is read up to the cap)"
    ),
    "IMAGE_ID_NOT_EXIST": "no stored image with that id for this account",
    "CORRUPT_IMAGE": (
        "not JPEG (MPO: its first picture), BMP, PNG, GIF or TIFF, the file does not decode, or its "
        "structure is over the decoder's limits (a JPEG with more than 64 scans or 1,024 segments, a "
        "PNG with more than 10,000 chunks, ...: see the README)"
    ),
    "INVALID_IMAGE_FORMAT_OR_SIZE": (
        "a side is <= 8 px or > 4000 px, or the image would decode to more than 64 MB of samples "
        "(or is an RLE BMP over 640x480)"
    ),
    "NO_FACE_DETECTED": "no face found in the image named by `image`",
    "TOO_MANY_FACES": "more faces than the endpoint allows in the image named by `image`",
    "WRONG_LIVENESS_DATA": (
        "the liveness package does not decrypt, parse or validate, or its challenge is unknown, "
        "expired or used, a frame is outside the image limits or the package over 40 M pixels, or "
        "the capture's clock does not fit the challenge's times; `image` is `liveness`, `reason` "
        "e.g. `broken message`, `no liveness id found`, `challenge already used`, "
        "`frame 3 is too large (5000x3000, sides at most 4000 px)`, "
        "`capture started 45 s before its challenge was issued`"
    ),
    # FaceID
    "MISSING_ARGUMENTS:api_key": "`api_key` is missing or empty",
    "MISSING_ARGUMENTS:api_secret": "`api_secret` is missing or empty",
    "MISSING_ARGUMENTS:image": "no `image` file",
    "BAD_ARGUMENTS:api_key": "`api_key` given more than once or not valid UTF-8",
    "BAD_ARGUMENTS:api_secret": "`api_secret` given more than once or not valid UTF-8",
    "BAD_ARGUMENTS:image": "`image` given more than once, or its file name is not valid UTF-8",
    "BAD_ARGUMENTS:multi_oriented_detection": "`multi_oriented_detection` is not `0` or `1`",
    "BAD_ARGUMENTS:verbose": "`verbose` is not `0` or `1`",
    "BAD_ARGUMENTS:body": (
        "the body is not multipart/form-data or form-urlencoded, or is malformed (a malformed chunk included)"
    ),
    "BAD_ARGUMENTS:host": "the `Host` header names a host the service does not serve",
    "IMAGE_ERROR_UNSUPPORTED_FORMAT": (
        "not JPEG (MPO: its first picture), BMP, PNG, GIF or TIFF, the file does not decode, or its "
        "structure is over the decoder's limits (as CORRUPT_IMAGE)"
    ),
    "INVALID_IMAGE_SIZE:image": "a side is > 4096 px, or the image would decode to over 64 MB of samples",
    "AUTHORIZATION_ERROR": "unknown key or wrong `api_secret`",
    "AUTHORIZATION_ERROR:KEY_EXPIRED": "the key's expiry has passed",
    "AUTHORIZATION_ERROR:NO_PERMISSION": "the account may not call this endpoint",
    "AUTHORIZATION_ERROR:OUT_OF_QUOTA": "the account's call quota is used up",
    "CONCURRENCY_LIMIT_EXCEEDED": (
        "more simultaneous requests, or more calls within one second, than the key's limits"
    ),
    "API_NOT_FOUND": (
        "unknown path (in any spelling) or wrong HTTP method (anything but POST) under /faceid/"
    ),
}

# -- Error codes per HTTP status ---------------------------------------------------------------

Errors = dict[int, tuple[str, ...]]

LINKFACE_COMMON: Errors = {
    400: ("ENCODING_ERROR", "INVALID_ARGUMENT", "IMAGE_FILE_SIZE_TOO_BIG"),
    401: ("UNAUTHORIZED", "KEY_EXPIRED"),
    403: ("NO_PERMISSION", "RATE_LIMIT_EXCEEDED", "OUT_OF_QUOTA"),
    404: ("NOT_FOUND",),
    500: ("INTERNAL_ERROR",),
}
IMAGE_CODES = (
    "DOWNLOAD_TIMEOUT",
    "DOWNLOAD_ERROR",
    "IMAGE_FILE_SIZE_TOO_BIG",
    "IMAGE_ID_NOT_EXIST",
    "CORRUPT_IMAGE",
    "INVALID_IMAGE_FORMAT_OR_SIZE",
    "NO_FACE_DETECTED",
)

FACEID_ERRORS: Errors = {
    400: (
        "MISSING_ARGUMENTS:api_key",
        "MISSING_ARGUMENTS:api_secret",
        "MISSING_ARGUMENTS:image",
        "BAD_ARGUMENTS:api_key",
        "BAD_ARGUMENTS:api_secret",
        "BAD_ARGUMENTS:image",
        "BAD_ARGUMENTS:multi_oriented_detection",
        "BAD_ARGUMENTS:verbose",
        "BAD_ARGUMENTS:body",
        "BAD_ARGUMENTS:host",
        "IMAGE_ERROR_UNSUPPORTED_FORMAT",
        "INVALID_IMAGE_SIZE:image",
    ),
    403: (
        "AUTHORIZATION_ERROR",
        "AUTHORIZATION_ERROR:KEY_EXPIRED",
        "AUTHORIZATION_ERROR:NO_PERMISSION",
        "AUTHORIZATION_ERROR:OUT_OF_QUOTA",
        "CONCURRENCY_LIMIT_EXCEEDED",
    ),
    404: ("API_NOT_FOUND",),
    500: ("INTERNAL_ERROR",),
}


def linkface_errors(extra_400: tuple[str, ...] = ()) -> Errors:
    errors = dict(LINKFACE_COMMON)
    errors[400] = tuple(dict.fromkeys(errors[400] + extra_400))  # keeps order, no duplicates
    return errors


# -- Parameters ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Param:
    name: str
    kind: str  # "string", "file", "boolean" (true/false, 1/0, yes/no) or "flag01" ("0"/"1")
    description: str
    required: bool = False

    def schema(self) -> Schema:
        if self.kind == "file":
            return {"type": "string", "format": "binary", "description": self.description}
        if self.kind == "boolean":
            return {
                "type": "string",
                "enum": ["true", "false", "1", "0", "yes", "no"],
                "default": "false",
                "description": self.description + " (`true`/`false`, `1`/`0`, `yes`/`no`, any case)",
            }
        if self.kind == "flag01":
            return {"type": "string", "enum": ["0", "1"], "default": "0", "description": self.description}
        return {"type": "string", "description": self.description}


def image_params(name: str, id_field: str, label: str, rotate: str | None) -> list[Param]:
    params = [
        Param(f"{name}_file", "file", f"{label}, uploaded"),
        Param(
            f"{name}_url",
            "string",
            f"{label}, fetched from an http/https URL (<= 8192 characters) within 5 s",
        ),
        Param(id_field, "string", f"{label}, an image stored earlier by this account (32 hex)"),
    ]
    if rotate:
        params.append(Param(rotate, "boolean", f"also try 90/180/270 degree rotations of {label}"))
    return params


VERBOSE = Param("verbose", "boolean", "add the documented extensions to the body")
IMAGE_CHOICE = (
    " Give each image by exactly one of `*_id`, `*_file`, `*_url`; with several, the stored id "
    "wins, then the file, then the URL."
)


# -- Success bodies ---------------------------------------------------------------------------

REQUEST_ID = {"type": "string", "description": "`TID` and 32 hex; also in the `X-Request-Id` header"}
OK = {"type": "string", "enum": ["OK"]}
NUMBER_01 = {"type": "number", "minimum": 0, "maximum": 1}
BOX = {
    "type": "object",
    "properties": {
        "rect": {
            "type": "object",
            "description": "pixels",
            "properties": {k: {"type": "integer"} for k in ("left", "top", "width", "height")},
        },
        "quality": {"type": "number"},
        "orientation": {"type": "integer", "enum": [0, 90, 180, 270]},
    },
}


def _obj(properties: dict[str, Schema], required: list[str]) -> Schema:
    return {"type": "object", "properties": properties, "required": required}


POINT = _obj({"x": NUMBER_01, "y": NUMBER_01}, ["x", "y"])
DETECT_OK = _obj(
    {
        "time_used": {"type": "integer", "description": "milliseconds"},
        "request_id": {"type": "string", "description": "`<unix seconds>,<uuid4>`"},
        "faces": {
            "type": "array",
            "items": _obj(
                {
                    "quality": {"type": "number", "minimum": 0, "maximum": 100},
                    "quality_threshold": {
                        "type": "number",
                        "description": "one fixed value above which a face is fit for comparison",
                    },
                    "rect": _obj(
                        {k: NUMBER_01 for k in ("left", "top", "width", "height")},
                        ["left", "top", "width", "height"],
                    ),
                    "token": {"type": "string", "description": "an opaque, signed id of this face"},
                    "orientation": {
                        "type": "integer",
                        "enum": [0, 90, 180, 270],
                        "description": "only with `multi_oriented_detection=1`: clockwise degrees; "
                        "rotating the image counter-clockwise by it gives the upright face",
                    },
                    "landmarks": {
                        "type": "object",
                        "description": "only with `verbose=1`: named points as fractions of the image's "
                        "width/height (EXIF orientation applied), like `rect`; left and right are the "
                        "person's own (the left eye is on the image's right in an upright photo)",
                        "properties": {name: POINT for name in LANDMARK_NAMES},
                        "required": list(LANDMARK_NAMES),
                    },
                    "pose": {
                        "type": "object",
                        "description": "only with `verbose=1`: head pose in degrees, in the image as "
                        "uploaded (yaw > 0: turned towards the image's right; pitch > 0: looking up; "
                        "roll > 0: eye line tilted clockwise)",
                        "properties": {k: {"type": "number"} for k in ("yaw", "pitch", "roll")},
                        "required": ["yaw", "pitch", "roll"],
                    },
                },
                ["quality", "quality_threshold", "rect", "token"],
            ),
        },
    },
    ["time_used", "request_id", "faces"],
)
COMPARE_OK = _obj(
    {
        "request_id": REQUEST_ID,
        "status": OK,
        "confidences": {
            "type": "array",
            "description": "one row per face of image one, one column per face of image two, "
            "largest faces first; calibrated: threshold t accepts another person with "
            "probability 10^-(10t-3)",
            "items": {"type": "array", "items": NUMBER_01},
        },
        "max_confidence": NUMBER_01,
        "image_one": {
            **_obj({"image_one_id": {"type": "string"}}, ["image_one_id"]),
            "description": "when image one came by file or URL",
        },
        "image_two": {
            **_obj({"image_two_id": {"type": "string"}}, ["image_two_id"]),
            "description": "when image two came by file or URL",
        },
        "faces_one": {"type": "array", "items": BOX, "description": "only with `verbose=true`"},
        "faces_two": {"type": "array", "items": BOX, "description": "only with `verbose=true`"},
    },
    ["request_id", "status", "confidences", "max_confidence"],
)
CHALLENGE_OK = _obj(
    {
        "request_id": REQUEST_ID,
        "status": OK,
        "challenge_id": {"type": "string"},
        "actions": {"type": "array", "items": {"type": "string"}, "description": "actions to prompt"},
        "expires_at": {"type": "string", "format": "date-time"},
        "key": {"type": "string", "format": "byte", "description": "the sealing key for this challenge"},
    },
    ["request_id", "status", "challenge_id", "actions", "expires_at", "key"],
)
UPLOAD_OK = _obj(
    {"request_id": REQUEST_ID, "status": OK, "liveness_data_id": {"type": "string"}},
    ["request_id", "status", "liveness_data_id"],
)
VERIFY_OK = _obj(
    {
        "request_id": REQUEST_ID,
        "status": OK,
        "hack_score": {**NUMBER_01, "description": "higher = more likely an attack"},
        "verify_score": {**NUMBER_01, "description": "calibrated as compare; >= 0.7 means the same person"},
        "liveness_data_id": {"type": "string"},
        "image_id": {"type": "string", "description": "the stored selfie"},
        "details": {"type": "object", "description": "only with `verbose=true`: one entry per liveness cue"},
    },
    ["request_id", "status", "hack_score", "verify_score", "liveness_data_id", "image_id"],
)


def _json(schema: Schema, description: str) -> Schema:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


MASK_OK: Schema = {
    "description": "the image itself (PNG stays PNG, everything else becomes JPEG), the eyes covered "
    "when `mask_eye=true`",
    "content": {
        "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
        "image/png": {"schema": {"type": "string", "format": "binary"}},
    },
}

# -- The endpoints ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    path: str
    family: str  # "linkface" or "faceid"
    summary: str
    description: str
    params: list[Param]
    success: Schema
    errors: Errors = field(default_factory=dict)


ENDPOINTS: list[Endpoint] = [
    Endpoint(
        "/faceid/v1/detect",
        "faceid",
        "Detect faces (FaceID style)",
        "Faces with quality, a box and a token. Credentials are form fields. The whole request body "
        "(chunked or not) may be at most 2 MB, else HTTP 413 with a plain-text body. Any parameter "
        "whose name or value is not valid UTF-8 answers `BAD_ARGUMENTS:<its name>`.",
        [
            Param("api_key", "string", "the account's api_id", required=True),
            Param("api_secret", "string", "the account's api_secret", required=True),
            Param("image", "file", "JPEG, BMP, PNG, GIF or TIFF; sides <= 4096 px", required=True),
            Param(
                "multi_oriented_detection",
                "flag01",
                "`1`: also try 90/180/270 degree rotations and report each face's `orientation`",
            ),
            Param("verbose", "flag01", "`1`: add each face's `landmarks` and `pose`"),
        ],
        _json(DETECT_OK, "the faces found (possibly none)"),
        FACEID_ERRORS,
    ),
    Endpoint(
        "/identity/compare_faces_in_two_images",
        "linkface",
        "Compare the faces of two images",
        "Up to 4 faces per image; a calibrated confidence for every pair." + IMAGE_CHOICE,
        [
            *image_params("image_one", "image_one_id", "image one", "image_one_auto_rotate"),
            *image_params("image_two", "image_two_id", "image two", "image_two_auto_rotate"),
            VERBOSE,
        ],
        _json(COMPARE_OK, "the confidence matrix"),
        linkface_errors((*IMAGE_CODES, "TOO_MANY_FACES")),
    ),
    Endpoint(
        "/identity/mask_selfie_image",
        "linkface",
        "Cover the eyes of a selfie",
        "Exactly one face must be found. Answers the image itself." + IMAGE_CHOICE,
        [
            *image_params("selfie", "selfie_image_id", "the selfie", "auto_rotate"),
            Param("mask_eye", "boolean", "cover both eyes"),
        ],
        MASK_OK,
        linkface_errors((*IMAGE_CODES, "TOO_MANY_FACES")),
    ),
    Endpoint(
        "/resources/liveness_challenge",
        "linkface",
        "Get a liveness challenge",
        "Credentials only; needs the account's `upload_liveness` permission. The capture SDK seals "
        "its package with `key` for this challenge, before `expires_at`.",
        [],
        _json(CHALLENGE_OK, "a fresh challenge"),
        linkface_errors(),
    ),
    Endpoint(
        "/resources/upload_liveness_data",
        "linkface",
        "Upload a liveness package",
        "The encrypted package produced by the project's capture SDK, by `file` or `url`; accepted once.",
        [
            Param("file", "file", "the liveness package, uploaded"),
            Param(
                "url", "string", "the liveness package, fetched from an http/https URL (<= 8192 characters)"
            ),
        ],
        _json(UPLOAD_OK, "the package was accepted and stored"),
        linkface_errors(("WRONG_LIVENESS_DATA", "DOWNLOAD_TIMEOUT", "DOWNLOAD_ERROR")),
    ),
    Endpoint(
        "/identity/liveness_selfie_verification",
        "linkface",
        "Verify a liveness capture against a selfie",
        "Is the capture live, and is it the selfie's person? With several faces in the selfie, the "
        "largest is used." + IMAGE_CHOICE,
        [
            *image_params("selfie", "selfie_image_id", "the selfie", "selfie_auto_rotate"),
            Param("liveness_data_file", "file", "the liveness package, uploaded"),
            Param(
                "liveness_data_url",
                "string",
                "the liveness package, fetched from an http/https URL (<= 8192 characters)",
            ),
            Param("liveness_data_id", "string", "a package uploaded earlier by this account"),
            VERBOSE,
        ],
        _json(VERIFY_OK, "the scores"),
        linkface_errors(("WRONG_LIVENESS_DATA", *IMAGE_CODES)),
    ),
]

# -- Building the document -------------------------------------------------------------------


def _error_schema(family: str, codes: tuple[str, ...]) -> Schema:
    code = {"type": "string", "enum": list(codes)}
    if family == "faceid":
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


def _error_response(family: str, codes: tuple[str, ...]) -> Schema:
    lines = "\n".join(f"- `{code}`: {CODE_DESCRIPTIONS[code]}" for code in codes)
    return _json(_error_schema(family, codes), lines)


def _request_body(endpoint: Endpoint) -> Schema:
    def form(params: list[Param]) -> Schema:
        schema: Schema = {"type": "object", "properties": {p.name: p.schema() for p in params}}
        required = [p.name for p in params if p.required]
        if required:
            schema["required"] = required
        return schema

    content: Schema = {"multipart/form-data": {"schema": form(endpoint.params)}}
    if not any(p.kind == "file" and p.required for p in endpoint.params):
        # No files: a form-urlencoded body carries the rest just as well.
        plain = [p for p in endpoint.params if p.kind != "file"]
        content["application/x-www-form-urlencoded"] = {"schema": form(plain)}
    return {"required": endpoint.family == "faceid", "content": content}


def _operation(endpoint: Endpoint) -> Schema:
    responses: Schema = {"200": endpoint.success}
    for status, codes in sorted(endpoint.errors.items()):
        responses[str(status)] = _error_response(endpoint.family, codes)
        if status == 400 and endpoint.family == "faceid":
            responses["413"] = {
                "description": "the request body is over 2 MB (the vendor's plain-text answer, not JSON)",
                "content": {
                    "text/plain": {"schema": {"type": "string", "enum": ["Request Entity Too Large"]}}
                },
            }
    operation: Schema = {
        "tags": ["FaceID" if endpoint.family == "faceid" else "LinkFace"],
        "summary": endpoint.summary,
        "description": endpoint.description,
        "operationId": endpoint.path.strip("/").replace("/", "_"),
        "responses": responses,
    }
    if endpoint.params or endpoint.family == "faceid":
        operation["requestBody"] = _request_body(endpoint)
    if endpoint.family == "linkface":
        operation["security"] = [{"api_id": [], "api_secret": []}]
    return operation


def build_schema() -> Schema:
    """The OpenAPI 3.0.3 document, as a dict."""
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
        "paths": {endpoint.path: {"post": _operation(endpoint)} for endpoint in ENDPOINTS},
        "components": {
            "securitySchemes": {
                "api_id": {
                    "type": "apiKey",
                    "in": "query",
                    "name": "api_id",
                    "description": "or a form field",
                },
                "api_secret": {
                    "type": "apiKey",
                    "in": "query",
                    "name": "api_secret",
                    "description": "or a form field",
                },
            }
        },
    }


# -- Views -----------------------------------------------------------------------------------


@require_GET
def openapi_json(request: HttpRequest) -> HttpResponse:
    return JsonResponse(build_schema(), json_dumps_params={"ensure_ascii": False})


@require_GET
def docs_page(request: HttpRequest) -> HttpResponse:
    return render(request, "docs/openapi.html")

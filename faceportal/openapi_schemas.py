"""The data of the OpenAPI document: what each error code means, the error codes per HTTP
status, and the success body of each endpoint (by its registry name). faceportal/openapi.py
builds the document from these and faceportal/endpoints.py.

Every object carries `additionalProperties: false` where the contract says bodies carry exactly
the documented keys (integrators compare whole bodies), so that a schema check of a real
response fails on an undocumented key as well as on a missing one.
"""

from __future__ import annotations

from typing import Any

from faceengine.liveness import SAME_PERSON
from faceportal.endpoints import LANDMARK_NAMES

Schema = dict[str, Any]

# -- What each error code means (API.md's words); {names} are filled in by openapi.numbers() ---

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
    "DOWNLOAD_TIMEOUT": "the `*_url` download did not complete within {url_timeout} s",
    "DOWNLOAD_ERROR": (
        "any other failure to fetch a `*_url` (including addresses refused as private, loopback, "
        "link-local or metadata, and URLs over {url_chars} characters); `reason` says why"
    ),
    "IMAGE_FILE_SIZE_TOO_BIG": (
        "a file over {linkface_file_mb} MB, or a request body over {linkface_body_mb} MB (refused "
        "before it is read; a chunked body is read up to the cap)"
    ),
    "IMAGE_ID_NOT_EXIST": "no stored image with that id for this account",
    "CORRUPT_IMAGE": (
        "not JPEG (MPO: its first picture), BMP, PNG, GIF or TIFF, the file does not decode, or its "
        "structure is over the decoder's limits (a JPEG with more than {jpeg_scans} scans or {jpeg_segments} "
        "segments, a PNG with more than {png_chunks} chunks, ...: see the README)"
    ),
    "INVALID_IMAGE_FORMAT_OR_SIZE": (
        "a side is <= {linkface_min_side} px or > {linkface_max_side} px, or the image would decode to "
        "more than {sample_mb} MB of samples (or is an RLE BMP over {rle_pixels} pixels)"
    ),
    "NO_FACE_DETECTED": "no face found in the image named by `image`",
    "TOO_MANY_FACES": "more faces than the endpoint allows in the image named by `image`",
    "WRONG_LIVENESS_DATA": (
        "the liveness package does not decrypt, parse or validate, or its challenge is unknown, "
        "expired or used, a frame is outside the image limits or the package over {package_mpx} M pixels, or "
        "the capture's clock does not fit the challenge's times; `image` is `liveness`, `reason` "
        "e.g. `broken message`, `no liveness id found`, `challenge already used`, "
        "`frame 3 is too large (5000x3000, sides at most {frame_max_side} px)`, "
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
    "INVALID_IMAGE_SIZE:image": (
        "a side is > {faceid_max_side} px, or the image would decode to over {sample_mb} MB of samples"
    ),
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


# -- Success bodies ---------------------------------------------------------------------------

REQUEST_ID = {"type": "string", "description": "`TID` and 32 hex; also in the `X-Request-Id` header"}
OK = {"type": "string", "enum": ["OK"]}
NUMBER_01 = {"type": "number", "minimum": 0, "maximum": 1}
BOX = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "rect": {
            "type": "object",
            "description": "pixels",
            "properties": {k: {"type": "integer"} for k in ("left", "top", "width", "height")},
            "additionalProperties": False,
        },
        "quality": {"type": "number"},
        "orientation": {"type": "integer", "enum": [0, 90, 180, 270]},
    },
}


def _obj(properties: dict[str, Schema], required: list[str]) -> Schema:
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}


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
                        "additionalProperties": False,
                        "required": list(LANDMARK_NAMES),
                    },
                    "pose": {
                        "type": "object",
                        "description": "only with `verbose=1`: head pose in degrees, in the image as "
                        "uploaded (yaw > 0: turned towards the image's right; pitch > 0: looking up; "
                        "roll > 0: eye line tilted clockwise)",
                        "properties": {k: {"type": "number"} for k in ("yaw", "pitch", "roll")},
                        "additionalProperties": False,
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
        "verify_score": {
            **NUMBER_01,
            "description": f"calibrated as compare; >= {SAME_PERSON:g} means the same person",
        },
        "liveness_data_id": {"type": "string"},
        "image_id": {"type": "string", "description": "the stored selfie"},
        "details": {"type": "object", "description": "only with `verbose=true`: one entry per liveness cue"},
    },
    ["request_id", "status", "hack_score", "verify_score", "liveness_data_id", "image_id"],
)

# -- Face sets (API.md, "Face sets and 1:N search") -------------------------------------------

INTEGER = {"type": "integer", "minimum": 0}
UNIX = {"type": "integer", "description": "unix seconds"}
FACESET_DONE = _obj({"request_id": REQUEST_ID, "status": OK}, ["request_id", "status"])


def _faceset_ok(result: Schema) -> Schema:
    return _obj(
        {"request_id": REQUEST_ID, "status": OK, "result": result}, ["request_id", "status", "result"]
    )


FACE_ADDED_OK = _faceset_ok(
    _obj(
        {"face_id": INTEGER, "person_id": INTEGER, "create_time": UNIX},
        ["face_id", "person_id", "create_time"],
    )
)
FACE_FOUND_OK = _faceset_ok(
    {
        "type": "array",
        "description": "best first; only scores reaching `threshold`; empty when none does",
        "items": _obj(
            {
                "person_id": INTEGER,
                "face_id": INTEGER,
                "score": {**NUMBER_01, "description": "calibrated as compare's confidence"},
                "create_time": UNIX,
            },
            ["person_id", "face_id", "score", "create_time"],
        ),
    }
)
SET_FIELDS: dict[str, Schema] = {
    "name": {"type": "string"},
    "desc": {"type": "string"},
    "face_count": INTEGER,
    "create_time": UNIX,
}
FACESET_LIST_OK = _faceset_ok({"type": "array", "items": _obj(SET_FIELDS, list(SET_FIELDS))})
FACESET_INFO_OK = _faceset_ok(_obj({**SET_FIELDS, "person_count": INTEGER}, [*SET_FIELDS, "person_count"]))


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

# The 200 answer of each endpoint, by its name in faceportal/endpoints.py.
SUCCESS: dict[str, Schema] = {
    "detect": _json(DETECT_OK, "the faces found (possibly none)"),
    "compare": _json(COMPARE_OK, "the confidence matrix"),
    "mask": MASK_OK,
    "liveness_challenge": _json(CHALLENGE_OK, "a fresh challenge"),
    "upload_liveness": _json(UPLOAD_OK, "the package was accepted and stored"),
    "liveness_verification": _json(VERIFY_OK, "the scores"),
    "faceset_create": _json(FACESET_DONE, "the set was created"),
    "faceset_add_face": _json(FACE_ADDED_OK, "the face was enrolled"),
    "faceset_search_face": _json(FACE_FOUND_OK, "the best matches (possibly none)"),
    "faceset_delete_face": _json(FACESET_DONE, "the face was deleted"),
    "faceset_delete": _json(FACESET_DONE, "the set was deleted"),
    "faceset_list": _json(FACESET_LIST_OK, "the account's sets"),
    "faceset_info": _json(FACESET_INFO_OK, "the set's counts"),
}

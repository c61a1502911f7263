"""The one list of the API's endpoints: every place that needs to know them reads it.

`faceportal/urls.py` routes them, the views take their permission from it, the OpenAPI document
(faceportal/openapi.py) is built from it, the portal labels, filters and links its try-it pages
by it, and the benchmarks pick their endpoints from it. Adding an endpoint: an entry here, its
view, its service and a test (docs/architecture.md).

This module is a leaf that imports nothing, not even Django: views are named by dotted path,
permissions by their database value (accounts.models.Endpoint, whose labels are read from
here), and numbers (limits, timeouts) by placeholder. So the accounts app, the portal and the
Django-free load harness (ops/) can all read it without importing the views, and through them
the engine. The OpenAPI builder fills the placeholders from the settings and limits the code
itself uses (faceportal/openapi.py: `numbers`).
"""

from __future__ import annotations

from dataclasses import dataclass

LINKFACE = "linkface"
FACEID = "faceid"

# Detect's verbose landmarks, in Landmarks.five_points' order. Left and right are the person's
# own: in an upright, unmirrored photo the left eye appears on the image's right (the engine's
# convention, as for liveness turns). Here because the view and the OpenAPI document both need it.
LANDMARK_NAMES = ("right_eye", "left_eye", "nose_tip", "mouth_right", "mouth_left")


@dataclass(frozen=True)
class Param:
    """One request parameter as the OpenAPI document describes it.

    `kind`: "string", "file", "image" (an image file: the family's limits are added), "url"
    (the download limits are added), "boolean" (true/false, 1/0, yes/no) or "flag01" ("0"/"1").
    `example` is what Swagger's "Try it out" fills in; "" leaves an optional field empty, so
    that it is not sent as the word "string".
    """

    name: str
    kind: str
    description: str
    required: bool = False
    example: str | None = None


def image_params(name: str, id_field: str, label: str, rotate: str | None) -> tuple[Param, ...]:
    """The three ways to give one image (file, URL, stored id) and its rotation flag."""
    params = [
        Param(f"{name}_file", "image", f"{label}, uploaded"),
        Param(f"{name}_url", "url", f"{label}, fetched from an http/https URL", example=""),
        Param(id_field, "string", f"{label}, an image stored earlier by this account (32 hex)", example=""),
    ]
    if rotate:
        params.append(Param(rotate, "boolean", f"also try 90/180/270 degree rotations of {label}"))
    return tuple(params)


VERBOSE = Param("verbose", "boolean", "add the documented extensions to the body")
IMAGE_CHOICE = (
    " Give each image by exactly one of `*_id`, `*_file`, `*_url`; with several, the stored id "
    "wins, then the file, then the URL."
)
# The image codes every endpoint that loads an image can answer (LinkFace; FaceID's are fixed).
IMAGE_CODES = (
    "DOWNLOAD_TIMEOUT",
    "DOWNLOAD_ERROR",
    "IMAGE_FILE_SIZE_TOO_BIG",
    "IMAGE_ID_NOT_EXIST",
    "CORRUPT_IMAGE",
    "INVALID_IMAGE_FORMAT_OR_SIZE",
    "NO_FACE_DETECTED",
)


@dataclass(frozen=True)
class TryIt:
    """An endpoint's try-it page in the portal: its URL name there and its link's text."""

    page: str
    nav: str

    @property
    def view_name(self) -> str:
        return f"portal:{self.page}"


@dataclass(frozen=True)
class ApiEndpoint:
    name: str  # the URL name, also what the call history records as the endpoint
    path: str  # without the leading slash, as Django routes it
    view: str  # dotted path of the view class
    family: str  # LINKFACE or FACEID
    permission: str  # what an account's `endpoints` must list (an accounts.models.Endpoint value)
    label: str  # the portal's name for it
    summary: str
    description: str  # may name numbers as {placeholders} (faceportal/openapi.py: `numbers`)
    params: tuple[Param, ...] = ()
    extra_400: tuple[str, ...] = ()  # LinkFace codes beyond the request checks every endpoint has
    tryit: TryIt | None = None

    @property
    def url(self) -> str:
        return "/" + self.path


ENDPOINTS: tuple[ApiEndpoint, ...] = (
    ApiEndpoint(
        name="detect",
        path="faceid/v1/detect",
        view="identity.views.DetectView",
        family=FACEID,
        permission="detect",
        label="Detect faces",
        summary="Detect faces (FaceID style)",
        description="Faces with quality, a box and a token. Credentials are form fields. The whole "
        "request body (chunked or not) may be at most {faceid_body_mb} MB, else HTTP 413 with a "
        "plain-text body. Any parameter whose name or value is not valid UTF-8 answers "
        "`BAD_ARGUMENTS:<its name>`.",
        params=(
            Param("api_key", "string", "the account's api_id", required=True, example="YOUR_API_ID"),
            Param(
                "api_secret", "string", "the account's api_secret", required=True, example="YOUR_API_SECRET"
            ),
            Param("image", "image", "JPEG, BMP, PNG, GIF or TIFF", required=True),
            Param(
                "multi_oriented_detection",
                "flag01",
                "`1`: also try 90/180/270 degree rotations and report each face's `orientation`",
            ),
            Param("verbose", "flag01", "`1`: add each face's `landmarks` and `pose`"),
        ),
        tryit=TryIt("try_detect", "Detect"),
    ),
    ApiEndpoint(
        name="compare",
        path="identity/compare_faces_in_two_images",
        view="identity.views.CompareView",
        family=LINKFACE,
        permission="compare",
        label="Compare faces",
        summary="Compare the faces of two images",
        description="Up to 4 faces per image; a calibrated confidence for every pair." + IMAGE_CHOICE,
        params=(
            *image_params("image_one", "image_one_id", "image one", "image_one_auto_rotate"),
            *image_params("image_two", "image_two_id", "image two", "image_two_auto_rotate"),
            VERBOSE,
        ),
        extra_400=(*IMAGE_CODES, "TOO_MANY_FACES"),
        tryit=TryIt("try_compare", "Compare"),
    ),
    ApiEndpoint(
        name="mask",
        path="identity/mask_selfie_image",
        view="identity.views.MaskView",
        family=LINKFACE,
        permission="mask",
        label="Mask selfie",
        summary="Cover the eyes of a selfie",
        description="Exactly one face must be found. Answers the image itself." + IMAGE_CHOICE,
        params=(
            *image_params("selfie", "selfie_image_id", "the selfie", "auto_rotate"),
            Param("mask_eye", "boolean", "cover both eyes"),
        ),
        extra_400=(*IMAGE_CODES, "TOO_MANY_FACES"),
        tryit=TryIt("try_mask", "Mask"),
    ),
    ApiEndpoint(
        name="liveness_challenge",
        path="resources/liveness_challenge",
        view="identity.liveness_views.ChallengeView",
        family=LINKFACE,
        # Whoever may upload packages may ask for the challenges they are sealed against.
        permission="upload_liveness",
        label="Liveness challenge",
        summary="Get a liveness challenge",
        description="Credentials only; needs the account's `upload_liveness` permission. The capture "
        "SDK seals its package with `key` for this challenge, before `expires_at`.",
    ),
    ApiEndpoint(
        name="upload_liveness",
        path="resources/upload_liveness_data",
        view="identity.liveness_views.UploadLivenessView",
        family=LINKFACE,
        permission="upload_liveness",
        label="Upload liveness data",
        summary="Upload a liveness package",
        description="The encrypted package produced by the project's capture SDK, by `file` or `url`; "
        "accepted once.",
        params=(
            Param("file", "file", "the liveness package, uploaded"),
            Param("url", "url", "the liveness package, fetched from an http/https URL", example=""),
        ),
        extra_400=("WRONG_LIVENESS_DATA", "DOWNLOAD_TIMEOUT", "DOWNLOAD_ERROR"),
    ),
    ApiEndpoint(
        name="liveness_verification",
        path="identity/liveness_selfie_verification",
        view="identity.liveness_views.LivenessVerificationView",
        family=LINKFACE,
        permission="liveness_verification",
        label="Liveness verification",
        summary="Verify a liveness capture against a selfie",
        description="Is the capture live, and is it the selfie's person? With several faces in the "
        "selfie, the largest is used." + IMAGE_CHOICE,
        params=(
            *image_params("selfie", "selfie_image_id", "the selfie", "selfie_auto_rotate"),
            Param("liveness_data_file", "file", "the liveness package, uploaded"),
            Param(
                "liveness_data_url", "url", "the liveness package, fetched from an http/https URL", example=""
            ),
            Param("liveness_data_id", "string", "a package uploaded earlier by this account", example=""),
            VERBOSE,
        ),
        extra_400=("WRONG_LIVENESS_DATA", *IMAGE_CODES),
        tryit=TryIt("try_liveness", "Liveness"),
    ),
)


def _faceset(
    verb: str,
    label: str,
    summary: str,
    description: str,
    params: tuple[Param, ...] = (),
    extra_400: tuple[str, ...] = (),
    tryit: TryIt | None = None,
) -> ApiEndpoint:
    """A face-set endpoint (API.md, "Face sets and 1:N search"): LinkFace's family, credentials
    also in the X-DF-API-ID / X-DF-API-SECRET headers."""
    return ApiEndpoint(
        name=f"faceset_{verb}",
        path=f"faceset/v2/{verb}",
        view=f"identity.faceset_views.{''.join(part.title() for part in verb.split('_'))}View",
        family=LINKFACE,
        permission=f"faceset_{verb}",
        label=label,
        summary=summary,
        description=description + FACESET_NOTE,
        params=params,
        extra_400=extra_400,
        tryit=tryit,
    )


# Search's defaults and bound (API.md), here because the view, the OpenAPI document and the
# portal's try-it page all state them.
FACESET_DEFAULT_THRESHOLD = 0.8
FACESET_MAX_TOP = 10
FACESET_NOTE = (
    " Credentials may also come in the headers `X-DF-API-ID` and `X-DF-API-SECRET`. An unknown set "
    "(another account's included) answers `INVALID_ARGUMENT` with the reason `face db <name> not exist`."
)
SET_NAME = Param(
    "name", "string", "the face set's name: 1 to 64 of A-Z a-z 0-9 _ -", required=True, example="staff"
)
FACESET_IMAGE = (
    Param("file", "image", "the photo, uploaded"),
    Param("url", "url", "the photo, fetched from an http/https URL", example=""),
    Param("image_id", "string", "the photo, an image stored earlier by this account (32 hex)", example=""),
    Param("image_base64", "string", "the photo, as base64 text", example=""),
)
FACESET_IMAGE_CHOICE = (
    " Give the photo by one of `image_id`, `file`, `url`, `image_base64` (with several, in that "
    "order of precedence). With several faces the largest is used."
)
FACESET_ENDPOINTS = (
    _faceset(
        "create",
        "Face set: create",
        "Create a face set",
        "A new, empty set of this account; at most {faceset_max_sets} sets per account.",
        (SET_NAME, Param("desc", "string", "a description, at most 256 characters", example="")),
    ),
    _faceset(
        "add_face",
        "Face set: add face",
        "Enrol a face in a set",
        "Enrols the photo's largest face under `person_id` (generated when absent: above every person "
        "id the set has seen). At most {faceset_max_faces} faces per set. The photo is stored like "
        "every uploaded image (kept {retention_days} days); the template until the face is deleted."
        + FACESET_IMAGE_CHOICE,
        (
            SET_NAME,
            *FACESET_IMAGE,
            Param("person_id", "string", "the person's integer id (0 to 2^53-1)", example=""),
        ),
        IMAGE_CODES,
    ),
    _faceset(
        "search_face",
        "Face set: search",
        "Search a set with a face (1:N)",
        "The enrolled faces most like the photo's largest face, best first, those whose score reaches "
        "`threshold`. `score` is compare's calibrated confidence: one given other person reaches t "
        "with probability 10^-(10t-3); in a set of N people the chance that someone wrong passes is "
        "about N times that (docs/facesets.md)." + FACESET_IMAGE_CHOICE,
        (
            SET_NAME,
            *FACESET_IMAGE,
            Param(
                "threshold",
                "string",
                f"the lowest score returned, 0 to 1 (default {FACESET_DEFAULT_THRESHOLD})",
                example=str(FACESET_DEFAULT_THRESHOLD),
            ),
            Param(
                "topN", "string", f"how many faces at most, 1 to {FACESET_MAX_TOP} (default 1)", example="1"
            ),
        ),
        IMAGE_CODES,
        tryit=TryIt("try_search", "Search"),
    ),
    _faceset(
        "delete_face",
        "Face set: delete face",
        "Delete one face",
        "The face, its template and its enrolled photo (unless another face was enrolled from it).",
        (
            SET_NAME,
            Param("face_id", "string", "the face's id, as add_face answered it", required=True, example="1"),
        ),
    ),
    _faceset(
        "delete",
        "Face set: delete",
        "Delete a face set",
        "The set with all its faces, their templates and enrolled photos.",
        (SET_NAME,),
    ),
    _faceset("list", "Face set: list", "List the account's face sets", "Every set of this account."),
    _faceset(
        "info",
        "Face set: info",
        "One face set's counts",
        "The set's description, face and person counts and creation time.",
        (SET_NAME,),
    ),
)
ENDPOINTS = ENDPOINTS + FACESET_ENDPOINTS

BY_NAME: dict[str, ApiEndpoint] = {endpoint.name: endpoint for endpoint in ENDPOINTS}
TRYIT_PAGES: tuple[TryIt, ...] = tuple(entry.tryit for entry in ENDPOINTS if entry.tryit)


def endpoint(name: str) -> ApiEndpoint:
    return BY_NAME[name]


def route_of(permission: str) -> str:
    """What a permission opens, as the admin and the portal name it: the endpoint named after it."""
    return f"POST {BY_NAME[permission].url}"

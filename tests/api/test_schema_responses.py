"""Real answers of every endpoint, through the whole Django stack, validated against the OpenAPI
document's schema for that path, status and content type: a documented key missing, an
undocumented key present (bodies carry exactly the documented keys), a code not listed under
its status, or a content type the document does not give all fail here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jsonschema
import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, get_resolver, reverse

from accounts.models import ApiAccount, Endpoint
from faceportal.endpoints import BY_NAME, ENDPOINTS, FACEID, TRYIT_PAGES
from faceportal.openapi import build_schema
from faceportal_capture.build import Challenge, build_package
from tests.api.conftest import Api, raw_upload, upload
from tests.conftest import encode, pixels

Schema = dict[str, Any]


def resolve(node: Any, document: Schema) -> Any:
    """`node` with every `$ref` to the document's components replaced by what it names."""
    if isinstance(node, dict):
        if "$ref" in node:
            target: Any = document
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part]
            return resolve(target, document)
        return {key: resolve(value, document) for key, value in node.items()}
    if isinstance(node, list):
        return [resolve(value, document) for value in node]
    return node


def check(name: str, response: Any, status: int) -> Any:
    """Validates `response` against the document; returns its JSON body (None for others)."""
    assert response.status_code == status, response.content[:500]
    document = build_schema()
    responses = document["paths"][BY_NAME[name].url]["post"]["responses"]
    assert str(status) in responses, f"HTTP {status} is not documented for {name}"
    content = resolve(responses[str(status)], document)["content"]
    media = response["Content-Type"].split(";")[0].strip()
    assert media in content, f"{name} {status}: {media} not among {list(content)}"
    schema = content[media]["schema"]
    if media == "application/json":
        body = response.json()
        jsonschema.Draft7Validator(schema).validate(body)
        return body
    if schema.get("format") == "binary":
        assert response.content, f"{name} {status}: an empty {media} body"
        return None
    jsonschema.Draft7Validator(schema).validate(response.content.decode())
    return None


def challenge_of(api: Api) -> Challenge:
    response = api.linkface(BY_NAME["liveness_challenge"].url, {})
    check("liveness_challenge", response, 200)
    return Challenge.from_json(response.content.decode())


def package(api: Api) -> SimpleUploadedFile:
    """A well-formed sealed package: one photo held still, against a fresh challenge."""
    image = pixels("grace_hopper")
    data = build_package([(image, i / 10) for i in range(12)], challenge_of(api))
    return raw_upload(data, "capture.fplv")


def uploaded_package(api: Api) -> str:
    response = api.linkface(BY_NAME["upload_liveness"].url, {"file": package(api)})
    return str(check("upload_liveness", response, 200)["liveness_data_id"])


# -- Successes: each endpoint plainly and, where it has them, with its optional extensions ------


def detect_succeeds(api: Api) -> None:
    check("detect", api.faceid({"image": upload("astronaut")}), 200)
    extended = {"image": upload("astronaut"), "multi_oriented_detection": "1", "verbose": "1"}
    body = check("detect", api.faceid(extended), 200)
    assert {"orientation", "landmarks", "pose"} <= set(body["faces"][0])


def compare_succeeds(api: Api) -> None:
    url = BY_NAME["compare"].url
    check(
        "compare",
        api.linkface(url, {"image_one_file": upload("grace_hopper"), "image_two_file": upload("astronaut")}),
        200,
    )
    fields = {
        "image_one_file": upload("grace_hopper"),
        "image_two_file": upload("grace_hopper", "PNG"),
        "verbose": "true",
    }
    body = check("compare", api.linkface(url, fields), 200)
    assert {"image_one", "image_two", "faces_one", "faces_two"} <= set(body)


def mask_succeeds(api: Api) -> None:
    url = BY_NAME["mask"].url
    check("mask", api.linkface(url, {"selfie_file": upload("grace_hopper")}), 200)
    check("mask", api.linkface(url, {"selfie_file": upload("grace_hopper", "PNG"), "mask_eye": "1"}), 200)


def verification_succeeds(api: Api) -> None:
    url = BY_NAME["liveness_verification"].url
    by_id = {"selfie_file": upload("grace_hopper"), "liveness_data_id": uploaded_package(api)}
    check("liveness_verification", api.linkface(url, by_id), 200)
    verbose = {"selfie_file": upload("grace_hopper"), "liveness_data_file": package(api), "verbose": "yes"}
    assert "details" in check("liveness_verification", api.linkface(url, verbose), 200)


def faceset(api: Api, verb: str, fields: dict[str, Any] | None = None) -> Any:
    name = f"faceset_{verb}"
    return check(name, api.linkface(BY_NAME[name].url, fields or {}), 200)


def faceset_succeeds(api: Api) -> None:
    """Every face-set call in a set's life, each answer checked (listed under each of them)."""
    faceset(api, "create", {"name": "staff", "desc": "gate A"})
    added = faceset(api, "add_face", {"name": "staff", "file": upload("grace_hopper"), "person_id": "7"})
    faceset(api, "add_face", {"name": "staff", "file": upload("astronaut")})
    found = faceset(api, "search_face", {"name": "staff", "file": upload("grace_hopper"), "topN": "2"})
    assert found["result"][0]["face_id"] == added["result"]["face_id"]
    assert faceset(api, "search_face", {"name": "staff", "file": upload("tom_hanks")})["result"] == []
    assert faceset(api, "list")["result"][0]["face_count"] == 2
    assert faceset(api, "info", {"name": "staff"})["result"]["person_count"] == 2
    faceset(api, "delete_face", {"name": "staff", "face_id": str(added["result"]["face_id"])})
    faceset(api, "delete", {"name": "staff"})


SUCCESSES: dict[str, Callable[[Api], object]] = {
    "detect": detect_succeeds,
    "compare": compare_succeeds,
    "mask": mask_succeeds,
    "liveness_challenge": challenge_of,
    "upload_liveness": uploaded_package,
    "liveness_verification": verification_succeeds,
    **{entry.name: faceset_succeeds for entry in ENDPOINTS if entry.name.startswith("faceset_")},
}


def test_every_endpoint_of_the_registry_has_a_success_checked_here() -> None:
    assert set(SUCCESSES) == set(BY_NAME)


@pytest.mark.models
@pytest.mark.parametrize("name", list(SUCCESSES))
def test_a_success_matches_the_schema(api: Api, name: str) -> None:
    SUCCESSES[name](api)


# -- Errors: each family's envelope, at each documented status the test can provoke ------------

LINKFACE_NAMES = [entry.name for entry in ENDPOINTS if entry.family != FACEID]


@pytest.mark.parametrize("name", LINKFACE_NAMES)
def test_linkface_refusals_match_the_schema(api: Api, name: str) -> None:
    url = BY_NAME[name].url
    body = check(name, api.client.post(f"{url}?api_id={api.account.api_id}&api_secret=wrong"), 401)
    assert body["status"] == "UNAUTHORIZED"
    body = check(name, api.client.get(url), 404)  # any method but POST is an unknown API
    assert body["status"] == "NOT_FOUND"
    ApiAccount.objects.filter(pk=api.account.pk).update(endpoints=[])
    body = check(name, api.linkface(url, {}), 403)
    assert body["status"] == "NO_PERMISSION"


@pytest.mark.models  # the no-face cases run the detector
@pytest.mark.parametrize(
    ("name", "fields", "code", "image"),
    [
        ("compare", {"image_two_file": "x"}, "INVALID_ARGUMENT", "image_one"),
        ("compare", {"image_one_file": "raw", "image_two_file": "raw"}, "CORRUPT_IMAGE", "image_one"),
        ("mask", {"selfie_file": "blank"}, "NO_FACE_DETECTED", "selfie"),
        ("mask", {"selfie_image_id": "0" * 32}, "IMAGE_ID_NOT_EXIST", "selfie"),
        ("upload_liveness", {"file": "raw"}, "WRONG_LIVENESS_DATA", "liveness"),
        ("liveness_verification", {"selfie_file": "face"}, "INVALID_ARGUMENT", None),
    ],
)
def test_linkface_image_errors_match_the_schema(
    api: Api, name: str, fields: dict[str, str], code: str, image: str | None
) -> None:
    files = {
        "x": upload("grace_hopper"),
        "face": upload("grace_hopper"),
        "raw": raw_upload(b"not an image at all", "x.jpg"),
        "blank": raw_upload(encode(np.full((240, 320, 3), 200, dtype=np.uint8)), "blank.jpg"),
    }
    data = {key: files.get(value, value) for key, value in fields.items()}
    body = check(name, api.linkface(BY_NAME[name].url, data), 400)
    assert body["status"] == code
    if image is not None:
        assert body["image"] == image


def test_faceid_refusals_match_the_schema(api: Api) -> None:
    body = check("detect", api.faceid({}), 400)
    assert body["error"] == "MISSING_ARGUMENTS:image"
    body = check("detect", api.faceid({"image": upload("astronaut"), "multi_oriented_detection": "2"}), 400)
    assert body["error"] == "BAD_ARGUMENTS:multi_oriented_detection"
    body = check("detect", api.faceid({"image": raw_upload(b"not an image", "x.jpg")}), 400)
    assert body["error"] == "IMAGE_ERROR_UNSUPPORTED_FORMAT"
    wrong = {"api_key": api.account.api_id, "api_secret": "wrong", "image": upload("astronaut")}
    body = check("detect", api.client.post(BY_NAME["detect"].url, wrong), 403)
    assert body["error"] == "AUTHORIZATION_ERROR"
    assert check("detect", api.client.get(BY_NAME["detect"].url), 404)["error"] == "API_NOT_FOUND"


def test_faceids_plain_text_413_matches_the_schema(api: Api) -> None:
    big = raw_upload(b"\xff\xd8" + b"x" * (3 * 1024 * 1024), "big.jpg")
    check("detect", api.faceid({"image": big}), 413)


def test_the_routes_take_their_permission_from_the_registry() -> None:
    routed = {p.name: p for p in get_resolver().url_patterns if isinstance(p, URLPattern)}
    for entry in ENDPOINTS:
        view: Any = routed[entry.name].callback  # as_view() sets view_initkwargs and cls on it
        assert view.view_initkwargs["endpoint"] == entry.permission
        assert view.cls.family.name == entry.family


def test_every_permission_is_named_after_an_endpoint_of_the_registry() -> None:
    permissions = {entry.permission for entry in ENDPOINTS}
    assert permissions == {choice.value for choice in Endpoint}
    for choice in Endpoint:
        assert choice.label == f"POST {BY_NAME[choice.value].url}"


def test_the_portal_links_every_try_it_page_of_the_registry(api: Api) -> None:
    api.client.force_login(api.account.user)
    for entry in ENDPOINTS:
        if entry.tryit is None:
            continue
        html = api.client.get(reverse(entry.tryit.view_name)).content.decode()
        assert entry.url in html  # the page calls the endpoint the registry names
        for page in TRYIT_PAGES:
            link = f'<a href="{reverse(page.view_name)}"'
            current = ' aria-current="page"' if page == entry.tryit else ""
            assert f"{link}{current}>{page.nav}</a>" in html


@pytest.mark.models
@pytest.mark.parametrize("name", ["compare", "mask"])
def test_what_try_it_out_sends_from_the_examples_is_accepted(api: Api, name: str) -> None:
    """Swagger UI sends each field's example (empty ones too) beside the files the user picks."""
    form = build_schema()["paths"][BY_NAME[name].url]["post"]["requestBody"]["content"]["multipart/form-data"]
    fields: dict[str, Any] = {}
    for field, prop in form["schema"]["properties"].items():
        fields[field] = upload("grace_hopper") if prop.get("format") == "binary" else prop["example"]
    check(name, api.linkface(BY_NAME[name].url, fields), 200)

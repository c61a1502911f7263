"""The OpenAPI document covers every API route and every error code of the contract, and
/docs/ renders it with Swagger UI from drf-spectacular-sidecar."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from faceengine.config import PROJECT_ROOT
from faceportal.openapi import build_schema

API_MD = Path(PROJECT_ROOT).parent / "shared" / "API.md"
API_PREFIXES = ("identity/", "resources/", "faceid/")
BACKTICKED_CODE = re.compile(r"`([A-Z][A-Z0-9_]*[A-Z0-9](?::[^`\s]+)?)`")
TABLE_CODE = re.compile(r"^\|\s*\d{3}\s*\|\s*([A-Z][A-Z0-9_]*[A-Z0-9])\s*\|", re.MULTILINE)
# Backticked capitals in API.md that are not error codes: `TID` is the request ids' prefix.
NOT_ERROR_CODES = frozenset({"TID"})


def _routes(patterns: list[URLPattern | URLResolver], prefix: str = "") -> Iterator[tuple[str, str | None]]:
    """(route, name) of every URL pattern, nested includes (the admin) flattened."""
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _routes(entry.url_patterns, prefix + str(entry.pattern))
        else:
            yield prefix + str(entry.pattern), entry.name


def api_paths() -> set[str]:
    """The API routes of faceportal/urls.py, without the catch-all answering NOT_FOUND."""
    return {
        "/" + route
        for route, name in _routes(get_resolver().url_patterns)
        if route.startswith(API_PREFIXES) and name != "not_found"
    }


def schema_codes(schema: dict[str, Any]) -> set[str]:
    codes: set[str] = set()
    for item in schema["paths"].values():
        for status, response in item["post"]["responses"].items():
            if not status.startswith(("4", "5")):
                continue
            for media in response["content"].values():
                properties = media["schema"].get("properties", {})
                for name in ("status", "error"):
                    codes.update(properties.get(name, {}).get("enum", []))
    return codes


def error_enum_of(response: dict[str, Any]) -> list[str]:
    properties = response["content"]["application/json"]["schema"]["properties"]
    return list(properties.get("status", properties.get("error"))["enum"])


def error_enum(path: str, status: str) -> list[str]:
    return error_enum_of(build_schema()["paths"][path]["post"]["responses"][status])


def test_the_document_is_valid_openapi_3() -> None:
    validator = pytest.importorskip("openapi_spec_validator")
    schema = build_schema()
    assert schema["openapi"] == "3.0.3"
    validator.validate(schema)


def test_every_api_route_is_documented() -> None:
    routed = api_paths()
    assert "/faceid/v1/detect" in routed and len(routed) >= 6
    assert routed <= set(build_schema()["paths"])


def test_every_error_code_of_the_contract_is_in_the_schema() -> None:
    if not API_MD.is_file():
        pytest.skip(f"the contract {API_MD} is not present in this checkout")
    text = API_MD.read_text(encoding="utf-8")
    documented = (set(BACKTICKED_CODE.findall(text)) | set(TABLE_CODE.findall(text))) - NOT_ERROR_CODES
    assert {"ENCODING_ERROR", "IMAGE_ID_NOT_EXIST", "MISSING_ARGUMENTS:<key>"} <= documented
    listed = schema_codes(build_schema())
    missing = set()
    for code in documented:
        prefix, _, suffix = code.partition(":")
        if suffix.startswith("<"):  # a placeholder (`MISSING_ARGUMENTS:<key>`): any concrete key
            if not any(value.startswith(prefix + ":") for value in listed):
                missing.add(code)
        elif code not in listed:
            missing.add(code)
    assert not missing, f"error codes in API.md missing from the schema: {sorted(missing)}"


def test_every_error_code_has_a_description_in_its_response() -> None:
    for item in build_schema()["paths"].values():
        for status, response in item["post"]["responses"].items():
            if "application/json" in response["content"] and status != "200":
                for code in error_enum_of(response):
                    assert f"`{code}`" in response["description"]


def test_compare_lists_image_id_not_exist_under_400() -> None:
    path = "/identity/compare_faces_in_two_images"
    assert "IMAGE_ID_NOT_EXIST" in error_enum(path, "400")
    assert "UNAUTHORIZED" in error_enum(path, "401") and "UNAUTHORIZED" not in error_enum(path, "400")


def test_detect_documents_the_plain_text_413_and_faceid_codes() -> None:
    responses = build_schema()["paths"]["/faceid/v1/detect"]["post"]["responses"]
    assert "text/plain" in responses["413"]["content"]
    assert "AUTHORIZATION_ERROR:OUT_OF_QUOTA" in error_enum("/faceid/v1/detect", "403")
    assert "API_NOT_FOUND" in error_enum("/faceid/v1/detect", "404")


def test_openapi_json_is_served(client: Client) -> None:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == build_schema()


def test_the_docs_page_renders_swagger_ui_without_inline_scripts(client: Client) -> None:
    response = client.get("/docs/")
    assert response.status_code == 200
    page = response.content.decode()
    dist = "/static/drf_spectacular_sidecar/swagger-ui-dist/"
    assert f'href="{dist}swagger-ui.css"' in page and f'src="{dist}swagger-ui-bundle.js"' in page
    assert 'src="/static/docs/openapi-init.js"' in page and 'data-schema-url="/openapi.json"' in page
    assert "<script>" not in page


def test_the_swagger_ui_assets_are_served(client: Client) -> None:
    for asset in ("drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js", "docs/openapi-init.js"):
        response = client.get(f"/static/{asset}")
        assert response.status_code == 200, asset
        assert response.get("Content-Type", "").startswith(("text/javascript", "application/javascript"))


def test_the_home_page_links_the_docs(client: Client) -> None:
    assert b'href="/docs/"' in client.get("/").content


def test_the_figures_follow_the_settings_the_code_enforces(settings: Any) -> None:
    settings.FACEPORTAL_URL_TIMEOUT = 7.5
    settings.FACEID_MAX_BODY = 3 * 1024 * 1024
    schema = build_schema()
    detect = schema["paths"]["/faceid/v1/detect"]["post"]
    assert (
        "at most 3 MB" in detect["description"] and "over 3 MB" in detect["responses"]["413"]["description"]
    )
    compare = schema["paths"]["/identity/compare_faces_in_two_images"]["post"]
    assert "within 7.5 s" in compare["responses"]["400"]["description"]
    form = compare["requestBody"]["content"]["multipart/form-data"]["schema"]["properties"]
    assert "within 7.5 s" in form["image_one_url"]["description"]


def test_the_document_takes_nothing_from_the_views() -> None:
    for module in ("openapi", "openapi_schemas", "endpoints"):
        source = (Path(PROJECT_ROOT) / "faceportal" / f"{module}.py").read_text(encoding="utf-8")
        # Views are named by dotted path in the registry, never imported (the API's families are fine).
        imports = [line for line in source.splitlines() if line.startswith(("from ", "import "))]
        assert not [
            line for line in imports if re.search(r"identity(\.| import )(views|liveness_views)", line)
        ]
        assert not any(line.startswith("from identity import") for line in imports), module


def test_try_it_out_sends_no_placeholder_strings() -> None:
    """Swagger UI fills a text field without an example with the word "string"."""
    for path, item in build_schema()["paths"].items():
        for media in item["post"].get("requestBody", {}).get("content", {}).values():
            for name, prop in media["schema"]["properties"].items():
                if prop.get("format") != "binary":
                    assert "example" in prop, f"{path}: {name}"


def test_the_registry_imports_nothing_so_that_ops_and_accounts_can_read_it() -> None:
    code = "import sys, faceportal.endpoints; print(sorted(m for m in sys.modules if m.startswith('django')))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=PROJECT_ROOT
    )
    assert out.stdout.strip() == "[]"


def test_every_text_field_of_every_endpoint_has_an_example_that_is_not_a_placeholder_word() -> None:
    """Swagger's Try it out sends a field's example; without one it sends the word "string"
    (or "true" for a boolean with no example). Every registry parameter has one."""
    for path, item in build_schema()["paths"].items():
        for media in item["post"].get("requestBody", {}).get("content", {}).values():
            for name, prop in media["schema"]["properties"].items():
                if prop.get("format") == "binary":
                    continue
                assert isinstance(prop.get("example"), str), f"{path}: {name}"
                assert prop["example"] != "string", f"{path}: {name}"
                if "enum" in prop:
                    assert prop["example"] in prop["enum"], f"{path}: {name}"


def test_linkface_endpoints_take_their_credentials_from_the_query_schemes() -> None:
    schema = build_schema()
    schemes = schema["components"]["securitySchemes"]
    assert schemes["api_id"] == {**schemes["api_id"], "type": "apiKey", "in": "query", "name": "api_id"}
    assert schemes["api_secret"]["in"] == "query" and schemes["api_secret"]["name"] == "api_secret"
    for path, item in schema["paths"].items():
        if path.startswith(("/identity/", "/resources/")):
            assert item["post"]["security"] == [{"api_id": [], "api_secret": []}], path


def test_detect_declares_no_scheme_and_documents_its_form_credentials() -> None:
    """FaceID reads credentials from the form only; OpenAPI 3 has no form-field scheme, so a
    query or header scheme would send them where detect never reads them."""
    detect = build_schema()["paths"]["/faceid/v1/detect"]["post"]
    assert detect["security"] == []
    assert "`api_key` and `api_secret`" in detect["description"]
    form = detect["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert {"api_key", "api_secret", "image"} <= set(form["required"])
    assert form["properties"]["api_key"]["example"] == "YOUR_API_ID"


def test_a_family_with_credential_headers_gets_header_schemes(monkeypatch: pytest.MonkeyPatch) -> None:
    """The vendor's later documents send X-DF-API-ID / X-DF-API-SECRET: a family that names
    them (the face sets, API.md) gets them as apiKey header schemes, as an alternative."""
    import dataclasses

    from identity.api import families

    with_headers = dataclasses.replace(
        families.LINKFACE,
        credential_headers={"api_id": "HTTP_X_DF_API_ID", "api_secret": "HTTP_X_DF_API_SECRET"},
    )
    monkeypatch.setattr(families, "FAMILIES", (with_headers, families.FACEID))
    schema = build_schema()
    schemes = schema["components"]["securitySchemes"]
    assert schemes["X-DF-API-ID"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-DF-API-ID",
        "description": "the key's api_id, as a header",
    }
    assert schemes["X-DF-API-SECRET"]["in"] == "header"
    compare = schema["paths"]["/identity/compare_faces_in_two_images"]["post"]
    assert compare["security"] == [
        {"api_id": [], "api_secret": []},
        {"X-DF-API-ID": [], "X-DF-API-SECRET": []},
    ]


def test_the_docs_page_links_back_to_the_portal(client: Client) -> None:
    page = client.get("/docs/").content.decode()
    assert 'id="docs-portal-link"' in page and 'href="/portal/"' in page
    assert "<main>" in page and 'href="/static/docs/openapi.css"' in page
    assert client.get("/static/docs/openapi.css").status_code == 200

"""The request pipeline every endpoint shares: credentials, limits, quota, ids, errors."""

from __future__ import annotations

import io
import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.utils import timezone

from accounts.models import ApiAccount, ApiCall
from accounts.services import IN_FLIGHT_LIMIT, UNANSWERED, unanswered_refund
from tests.api.conftest import Api, nothing_left_behind, raw_upload, upload
from tests.conftest import encode, pixels

COMPARE = "/identity/compare_faces_in_two_images"


def compare_fields() -> dict[str, Any]:
    return {"image_one_file": upload("grace_hopper"), "image_two_file": upload("grace_hopper")}


@pytest.mark.models
def test_credentials_work_in_the_query_string_and_in_the_form(api: Api) -> None:
    for query in (True, False):
        response = api.linkface(COMPARE, compare_fields(), query=query)
        assert response.status_code == 200 and response.json()["status"] == "OK", query
        assert response.json()["max_confidence"] > 0.9  # the same photo twice: the call did its work
    api.account.refresh_from_db()
    assert api.account.quota_used == 2
    assert list(ApiCall.objects.values_list("account", "status")) == [(api.account.pk, "OK")] * 2


@pytest.mark.parametrize("secret", ["wrong", ""])
def test_a_wrong_or_empty_secret_is_unauthorized_without_a_reason(api: Api, secret: str) -> None:
    response = api.client.post(f"{COMPARE}?api_id={api.account.api_id}&api_secret={secret}", compare_fields())
    assert response.status_code == 401
    assert set(response.json()) == {"status", "request_id"} and response.json()["status"] == "UNAUTHORIZED"


def test_missing_credentials_are_unauthorized(api: Api) -> None:
    response = api.client.post(COMPARE, compare_fields())
    assert (response.status_code, response.json()["status"]) == (401, "UNAUTHORIZED")


def test_an_expired_key_says_when_it_expired(api: Api, isolated: Path) -> None:
    api.account.expires_at = timezone.now() - timedelta(days=1)
    api.account.save()
    body = api.linkface(COMPARE, compare_fields()).json()
    assert body["status"] == "KEY_EXPIRED"
    assert re.fullmatch(r"key expired at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?[+-]\d\d:\d\d", body["reason"])
    nothing_left_behind(api.account)


def test_an_endpoint_the_account_may_not_call_is_refused(api: Api) -> None:
    api.account.endpoints = ["detect"]
    api.account.save()
    response = api.linkface(COMPARE, compare_fields())
    assert (response.status_code, response.json()["status"]) == (403, "NO_PERMISSION")


def test_the_rate_limit_refuses_calls_over_the_limit(api: Api) -> None:
    api.account.rate_limit = 1
    api.account.save()
    statuses = [api.linkface(COMPARE, {}).json()["status"] for _ in range(3)]
    # The first gets past the limit (and fails for want of images); the rest within the same second do not.
    assert statuses[0] == "INVALID_ARGUMENT" and "RATE_LIMIT_EXCEEDED" in statuses[1:]


@pytest.mark.models
def test_quota_is_taken_only_by_successful_calls(api: Api, isolated: Path) -> None:
    api.account.quota_limit = 1
    api.account.save()
    assert api.linkface(COMPARE, {"image_one_file": upload("coffee")}).status_code == 400
    assert api.linkface(COMPARE, compare_fields()).status_code == 200
    refused = api.linkface(COMPARE, compare_fields())
    assert (refused.status_code, refused.json()["status"]) == (403, "OUT_OF_QUOTA")
    api.account.refresh_from_db()
    assert api.account.quota_used == 1


@pytest.mark.models
def test_request_ids_are_in_the_body_and_the_header(api: Api) -> None:
    response = api.linkface(COMPARE, compare_fields())
    assert re.fullmatch(r"TID[0-9a-f]{32}", response.json()["request_id"])
    assert response["X-Request-Id"] == response.json()["request_id"]
    failed = api.linkface(COMPARE, {})
    assert failed["X-Request-Id"] == failed.json()["request_id"] != response.json()["request_id"]


def test_unknown_api_paths_answer_json_not_found(api: Api) -> None:
    response = api.client.post("/identity/no_such_thing")
    assert response.status_code == 404 and response.json()["status"] == "NOT_FOUND"
    assert response["Content-Type"] == "application/json"
    response = api.client.get("/faceid/v2/anything")
    assert response.status_code == 404 and response.json()["error"] == "API_NOT_FOUND"


def test_a_get_on_an_endpoint_is_not_found(api: Api) -> None:
    response = api.client.get(COMPARE)
    assert (response.status_code, response.json()["status"]) == (404, "NOT_FOUND")


@pytest.mark.models
def test_an_internal_error_is_logged_and_shows_no_stack_trace(
    api: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, isolated: Path
) -> None:
    from faceengine.engine import FaceEngine

    def explode(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(FaceEngine, "compare", explode)
    response = api.linkface(COMPARE, compare_fields())
    assert response.status_code == 500
    body = response.json()
    assert set(body) == {"status", "request_id"} and body["status"] == "INTERNAL_ERROR"
    assert "secret internals" not in response.content.decode()
    assert body["request_id"] in caplog.text and "secret internals" in caplog.text
    nothing_left_behind(api.account)


def test_non_utf8_in_the_query_string_is_an_encoding_error(api: Api) -> None:
    path = f"{COMPARE}?api_id={api.account.api_id}&api_secret={api.secret}&image_one_url=%ff%fe"
    response = api.client.post(path, compare_fields())
    assert (response.status_code, response.json()["status"]) == (400, "ENCODING_ERROR")


def test_non_utf8_in_a_form_field_is_an_encoding_error(api: Api) -> None:
    body = (
        f"api_id={api.account.api_id}&api_secret={api.secret}&image_one_url=%ff%fe&image_two_url=x"
    ).encode()
    response = api.client.post(COMPARE, body, content_type="application/x-www-form-urlencoded")
    assert (response.status_code, response.json()["status"]) == (400, "ENCODING_ERROR")


def test_a_duplicated_field_is_an_invalid_argument(api: Api, isolated: Path) -> None:
    fields = compare_fields()
    fields["image_one_auto_rotate"] = ["true", "false"]
    response = api.linkface(COMPARE, fields)
    assert response.json()["status"] == "INVALID_ARGUMENT"
    assert response.json()["reason"] == "argument 'image_one_auto_rotate': given more than once"
    nothing_left_behind(api.account)


@pytest.mark.parametrize("value", ["maybe", "2", "tru"])
def test_a_bad_boolean_is_an_invalid_argument(api: Api, value: str) -> None:
    response = api.linkface(COMPARE, {**compare_fields(), "image_two_auto_rotate": value})
    assert response.json()["status"] == "INVALID_ARGUMENT"


@pytest.mark.models
@pytest.mark.parametrize(
    ("value", "meant"),
    [("TRUE", True), ("Yes", True), ("1", True), ("false", False), ("NO", False), ("0", False)],
)
def test_booleans_accept_the_vendor_words_in_any_case(api: Api, value: str, meant: bool) -> None:
    """The word is read as meant: verbose adds the faces, auto_rotate turns an upside-down one
    (BlazeFace alone also "finds" it, with keypoints placed as if upright)."""
    upside_down = np.ascontiguousarray(np.rot90(pixels("grace_hopper"), k=2))

    def compare(**flags: str) -> dict[str, Any]:
        fields = {
            "image_one_file": upload("grace_hopper"),
            "image_two_file": raw_upload(encode(upside_down, "JPEG", quality=92)),
            **flags,
        }
        response = api.linkface(COMPARE, fields)
        assert response.status_code == 200
        return dict(response.json())

    assert ("faces_one" in compare(verbose=value)) is meant
    turned = compare(image_two_auto_rotate=value, verbose="true")
    assert (turned["faces_two"][0]["orientation"] == 180) is meant
    assert (turned["max_confidence"] > 0.9) is meant


def test_a_json_body_is_an_invalid_argument(api: Api) -> None:
    response = api.linkface(COMPARE, {"image_one_url": "x"}, content_type="application/json")
    assert response.json()["status"] == "INVALID_ARGUMENT"


@pytest.mark.models
def test_every_call_is_recorded_without_images(api: Api) -> None:
    ok = api.linkface(COMPARE, compare_fields()).json()
    bad = api.client.post(COMPARE, {})
    calls = {call.request_id: call for call in ApiCall.objects.all()}
    recorded = calls[ok["request_id"]]
    assert (recorded.endpoint, recorded.status, recorded.http_status) == ("compare", "OK", 200)
    assert recorded.account == api.account and len(recorded.image_ids) == 2 and recorded.latency_ms > 0
    assert recorded.client_ip == "127.0.0.1"
    unauthorized = calls[bad.json()["request_id"]]
    assert (unauthorized.status, unauthorized.http_status, unauthorized.account) == (
        "UNAUTHORIZED",
        401,
        None,
    )


@pytest.mark.models
def test_a_charge_is_on_record_even_when_the_answer_never_gets_recorded(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The history row commits with the quota charge: a worker that dies after the charge but
    before the middleware runs (here: the middleware's write fails) leaves the charge auditable."""
    from identity.api import history

    def dies(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("worker killed")

    monkeypatch.setattr(history, "record_answer", dies)
    body = api.linkface(COMPARE, compare_fields()).json()
    (call,) = ApiCall.objects.all()
    assert (call.request_id, call.status, call.endpoint, call.account) == (
        body["request_id"],
        "OK",
        "compare",
        api.account,
    )
    assert call.image_ids == [body["image_one"]["image_one_id"], body["image_two"]["image_two_id"]]
    assert call.request_params["api_secret"] == "********"
    api.account.refresh_from_db()
    assert api.account.quota_used == 1
    # The daily job gives such a charge back once no worker can still be answering it.
    assert unanswered_refund() == 0
    assert unanswered_refund(now=timezone.now() + IN_FLIGHT_LIMIT + timedelta(seconds=1)) == 1
    call.refresh_from_db()
    api.account.refresh_from_db()
    assert (call.status, api.account.quota_used) == (UNANSWERED, 0)
    assert unanswered_refund(now=timezone.now() + 2 * IN_FLIGHT_LIMIT) == 0  # once only


@pytest.mark.models
def test_a_charged_call_has_one_history_row_completed_with_its_answer(api: Api) -> None:
    body = api.linkface(COMPARE, compare_fields()).json()
    (call,) = ApiCall.objects.filter(request_id=body["request_id"])
    assert call.latency_ms > 0 and call.response_bytes > 0 and json.loads(call.response_body) == body
    assert unanswered_refund(now=timezone.now() + 2 * IN_FLIGHT_LIMIT) == 0
    api.account.refresh_from_db()
    assert api.account.quota_used == 1


@pytest.mark.models
def test_the_history_keeps_parameters_with_secrets_masked_and_the_answer(api: Api) -> None:
    # Credentials in the form this time, so that both places a secret can come from are seen.
    photo = upload("grace_hopper")
    photo.content_type = "image/jpeg"  # as declared by the client, kept as declared
    fields = {"image_one_file": photo, "image_two_file": upload("grace_hopper"), "verbose": "true"}
    in_form = api.linkface(COMPARE, fields, query=False).json()
    in_query = api.linkface(COMPARE, {"image_one_id": in_form["image_one"]["image_one_id"]})
    assert in_query.status_code == 400
    for request_id, body in (
        (in_form["request_id"], in_form),
        (in_query.json()["request_id"], in_query.json()),
    ):
        call = ApiCall.objects.get(request_id=request_id)
        assert api.secret not in str(call.request_params) and api.secret not in call.response_body
        assert call.request_params["api_secret"] == "********"
        assert call.request_params["api_id"] == api.account.api_id
        assert json.loads(call.response_body) == body
    form_call = ApiCall.objects.get(request_id=in_form["request_id"])
    assert form_call.request_params["verbose"] == "true"
    image_one = form_call.request_params["image_one_file"]
    assert image_one["file"] == "grace_hopper.jpeg" and image_one["bytes"] > 1000
    assert image_one["content_type"] == "image/jpeg"


@pytest.mark.models
def test_the_history_describes_an_image_answer_and_never_reads_a_refused_body(api: Api) -> None:
    masked = api.linkface(
        "/identity/mask_selfie_image", {"selfie_file": upload("grace_hopper"), "mask_eye": "1"}
    )
    assert masked.status_code == 200
    call = ApiCall.objects.get(request_id=masked["X-Request-Id"])
    assert call.response_body == f"[image/jpeg, {len(masked.content)} bytes]"
    # A body over the cap is refused by its Content-Length alone: nothing of it is kept.
    huge = api.client.post(
        "/faceid/v1/detect",
        data=b"x" * 64,
        content_type="application/x-www-form-urlencoded",
        CONTENT_LENGTH=str(3 * 1024 * 1024),
    )
    assert huge.status_code == 413
    assert ApiCall.objects.get(request_id=huge["X-Request-Id"]).request_params == {}


def test_another_accounts_key_cannot_be_used_with_this_secret(api: Api) -> None:
    from accounts.services import account_create

    other, _ = account_create(username="someone-else")
    response = api.client.post(f"{COMPARE}?api_id={other.api_id}&api_secret={api.secret}", compare_fields())
    assert response.json()["status"] == "UNAUTHORIZED"
    assert ApiAccount.objects.get(pk=other.pk).quota_used == 0


def test_non_utf8_in_a_multipart_field_is_an_encoding_error(api: Api) -> None:
    boundary = "b0undary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="image_one_url"\r\n\r\n'.encode()
        + b"http://example.com/\xff.jpg\r\n"
        + f"--{boundary}--\r\n".encode()
    )
    path = f"{COMPARE}?api_id={api.account.api_id}&api_secret={api.secret}"
    response = api.client.post(path, body, content_type=f"multipart/form-data; boundary={boundary}")
    assert (response.status_code, response.json()["status"]) == (400, "ENCODING_ERROR")


API_PATHS = [
    "/identity/compare_faces_in_two_images",
    "/identity/mask_selfie_image",
    "/identity/liveness_selfie_verification",
    "/resources/upload_liveness_data",
    "/resources/liveness_challenge",
]


@pytest.mark.parametrize("path", API_PATHS)
@pytest.mark.parametrize("credentials", [True, False])
def test_options_is_not_found_like_any_other_wrong_method(api: Api, path: str, credentials: bool) -> None:
    query = f"?api_id={api.account.api_id}&api_secret={api.secret}" if credentials else ""
    response = api.client.options(path + query)
    assert (response.status_code, response["Content-Type"]) == (404, "application/json")
    assert set(response.json()) == {"status", "request_id"} and response.json()["status"] == "NOT_FOUND"
    # On record as the refusal it was, before any credential was looked at: no account, no charge.
    call = ApiCall.objects.get(request_id=response["X-Request-Id"])
    assert (call.status, call.http_status, call.account) == ("NOT_FOUND", 404, None)
    api.account.refresh_from_db()
    assert api.account.quota_used == 0


def test_options_on_detect_is_api_not_found(api: Api) -> None:
    response = api.client.options(
        "/faceid/v1/detect", f"api_key={api.account.api_id}&api_secret={api.secret}"
    )
    assert (response.status_code, response.json()["error"]) == (404, "API_NOT_FOUND")
    assert ApiCall.objects.get(request_id=response["X-Request-Id"]).status == "API_NOT_FOUND"


@pytest.mark.parametrize("path", [*API_PATHS, "/faceid/v1/detect"])
def test_head_is_not_found_without_a_body(api: Api, path: str) -> None:
    response = api.client.head(f"{path}?api_id={api.account.api_id}&api_secret={api.secret}")
    assert response.status_code == 404 and response.content == b""
    assert ApiCall.objects.get(request_id=response["X-Request-Id"]).http_status == 404


@pytest.mark.models
@pytest.mark.parametrize("accept", ["image/jpeg", "text/html", "application/xml"])
def test_the_accept_header_changes_nothing(api: Api, accept: str) -> None:
    masked = api.linkface(
        "/identity/mask_selfie_image", {"selfie_file": upload("grace_hopper")}, HTTP_ACCEPT=accept
    )
    assert (masked.status_code, masked["Content-Type"]) == (200, "image/jpeg")
    refused = api.linkface(COMPARE, {}, HTTP_ACCEPT=accept)
    assert (refused.status_code, refused.json()["status"]) == (400, "INVALID_ARGUMENT")


class CutShort(io.BytesIO):
    def read(self, size: int | None = -1) -> bytes:
        raise OSError("client gone")  # as a WSGI server reports a body that stopped coming


@pytest.mark.parametrize(
    ("path", "field", "code"),
    [(COMPARE, "status", "INVALID_ARGUMENT"), ("/faceid/v1/detect", "error", "BAD_ARGUMENTS:body")],
)
@pytest.mark.parametrize(
    "content_type", ["multipart/form-data; boundary=b", "application/x-www-form-urlencoded"]
)
def test_a_body_that_cannot_be_read_is_a_refusal_not_an_internal_error(
    api: Api, path: str, field: str, code: str, content_type: str
) -> None:
    environ: dict[str, Any] = {
        "CONTENT_TYPE": content_type,
        "CONTENT_LENGTH": "1000",
        "wsgi.input": CutShort(),
    }
    response = api.client.post(path, **environ)
    body = response.json()
    assert (response.status_code, body[field]) == (400, code)
    assert body.get("reason", "request body could not be read") == "request body could not be read"

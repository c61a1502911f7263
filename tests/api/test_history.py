"""Every call that gets an answer is in the call history, whatever its parameters were."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.models import ApiCall
from tests.api.conftest import Api, upload

COMPARE = "/identity/compare_faces_in_two_images"
DETECT = "/faceid/v1/detect"


def recorded(response: Any) -> ApiCall:
    return ApiCall.objects.get(request_id=response["X-Request-Id"])


def test_a_query_string_of_150_parameters_is_refused_and_recorded(api: Api) -> None:
    filler = "&".join(f"p{index}=x" for index in range(150))
    response = api.client.post(f"{COMPARE}?api_id={api.account.api_id}&api_secret={api.secret}&{filler}")
    body = response.json()
    assert (response.status_code, body["status"]) == (400, "INVALID_ARGUMENT")
    assert body["reason"] == "too many parameters (at most 100)"
    call = recorded(response)
    assert (call.status, call.http_status) == ("INVALID_ARGUMENT", 400)
    # The history keeps the first parameters, as for any call, secret masked.
    assert call.request_params["api_secret"] == "********" and len(call.request_params) == 50


def test_a_form_of_150_fields_is_refused_and_recorded(api: Api) -> None:
    response = api.linkface(COMPARE, {f"field{index}": "x" for index in range(150)})
    assert response.json()["reason"] == "too many parameters (at most 100)"
    assert recorded(response).status == "INVALID_ARGUMENT"


@pytest.mark.models
def test_a_faceid_call_ignores_a_long_query_string_and_is_recorded(api: Api) -> None:
    """FaceID reads its parameters from the form only, so a long query string changes nothing,
    in the answer or in the history."""
    filler = "&".join(f"p{index}=x" for index in range(150))
    response = api.client.post(
        f"{DETECT}?{filler}",
        {"api_key": api.account.api_id, "api_secret": api.secret, "image": upload("grace_hopper")},
    )
    assert response.status_code == 200, response.content
    call = recorded(response)
    assert (call.status, call.account) == ("OK", api.account)
    api.account.refresh_from_db()
    assert api.account.quota_used == 1


@pytest.mark.parametrize("value", ["%00", "a%00b"])
def test_a_nul_character_in_a_parameter_is_recorded(api: Api, value: str) -> None:
    """PostgreSQL keeps no NUL in text or JSON: the history stores it replaced."""
    response = api.client.post(f"{COMPARE}?api_id={api.account.api_id}&api_secret={api.secret}&note={value}")
    assert response.json()["status"] == "INVALID_ARGUMENT"
    assert "\x00" not in recorded(response).request_params["note"]


@pytest.mark.models
def test_a_nul_character_in_a_file_name_and_a_field_name_is_recorded(api: Api) -> None:
    photo = upload("grace_hopper", filename="a\x00b.jpg")
    response = api.linkface(
        COMPARE, {"image_one_file": photo, "image_two_file": upload("grace_hopper"), "x\x00": "1"}
    )
    assert response.status_code == 200, response.content
    params = recorded(response).request_params
    assert not any("\x00" in text for text in strings_of(params)), params


def strings_of(value: object) -> list[str]:
    if isinstance(value, dict):
        return [text for key, item in value.items() for text in [str(key), *strings_of(item)]]
    return [str(value)]

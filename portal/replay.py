"""A recorded call made again: as a curl command to copy, and as a link that opens the
endpoint's try-it page with the same parameters and image ids.

Both are built from the history's record (identity/api/history.py), in which secrets are
already masked: the command never holds one, it expands $API_SECRET in the user's shell,
as the try-it pages' own command does (static/portal/curl.js, whose quoting rules these are).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from urllib.parse import urlencode

from django.urls import reverse

from accounts.models import ApiCall
from faceportal.endpoints import BY_NAME, FACEID

SECRET = "api_secret"
SECRET_ARGUMENT = '--form-string "api_secret=$API_SECRET"'
CREDENTIALS = ("api_id", "api_key", SECRET)
# Where a stored image's id goes when the call is made again, by the field naming it in the
# answer or the request (liveness answers its selfie as `image_id`).
ID_PARAMETERS = {
    "image_one_id": "image_one_id",
    "image_two_id": "image_two_id",
    "selfie_image_id": "selfie_image_id",
    "image_id": "selfie_image_id",
    "liveness_data_id": "liveness_data_id",
}
# The other ways to give the same input, dropped once its id is given (the id wins anyway).
ALTERNATIVES = {
    "image_one_id": ("image_one_file", "image_one_url"),
    "image_two_id": ("image_two_file", "image_two_url"),
    "selfie_image_id": ("selfie_file", "selfie_url"),
    "liveness_data_id": ("liveness_data_file", "liveness_data_url"),
}
OUTPUT = {"mask": "masked.jpg"}  # an endpoint that answers an image: where curl writes it


@dataclass(frozen=True)
class Replay:
    curl: str
    tryit_url: str  # "" when the endpoint has no try-it page
    files_to_choose: list[str]  # file fields the try-it page cannot fill in (a file is never kept by name)
    truncated: bool  # a recorded value was cut at the history's limit: the command may differ


def replay_of(call: ApiCall, base_url: str, stored_ids: dict[str, str], max_chars: int) -> Replay | None:
    """`stored_ids`: {id parameter: id} of the stored images (and packages) still retained that
    the call used or stored, which the replay passes by id. None for a path that is no endpoint."""
    entry = BY_NAME.get(call.endpoint)
    if entry is None:
        return None
    params = call.request_params if isinstance(call.request_params, dict) else {}
    id_field = "api_key" if entry.family == FACEID else "api_id"
    api_id = str(params.get(id_field) or (call.account.api_id if call.account else ""))
    lines = [
        f"curl -sS {shlex.quote(base_url.rstrip('/') + entry.url)}",
        f"--form-string {shlex.quote(f'{id_field}={api_id}')}",
        SECRET_ARGUMENT,
    ]
    truncated = False
    for name, value in params.items():
        if name in CREDENTIALS or "secret" in str(name).lower():
            continue
        if isinstance(value, dict):
            file_name = curl_file_name(str(value.get("file") or "file"))
            lines.append(f"-F {shlex.quote(f'{name}=@{file_name}')}")
        else:
            truncated = truncated or len(str(value)) >= max_chars
            lines.append(f"--form-string {shlex.quote(f'{name}={value}')}")
    if call.endpoint in OUTPUT:
        lines.append(f"-o {OUTPUT[call.endpoint]}")
    return Replay(
        curl=" \\\n  ".join(lines),
        tryit_url=_tryit_url(entry.tryit.view_name, api_id, params, stored_ids) if entry.tryit else "",
        files_to_choose=_files_to_choose(params, stored_ids),
        truncated=truncated,
    )


def curl_file_name(name: str) -> str:
    """In -F name=@file curl itself splits on ';' and ',' and reads '"': such a name goes in
    curl's own double quotes; "-" alone would mean stdin."""
    plain = "./-" if name == "-" else name
    if re.search(r'[;,"\\]', plain):
        return '"' + re.sub(r'([\\"])', r"\\\1", plain) + '"'
    return plain


def _tryit_url(view_name: str, api_id: str, params: dict[str, object], stored_ids: dict[str, str]) -> str:
    query: dict[str, str] = {"api_id": api_id}
    dropped = {alt for id_param in stored_ids for alt in ALTERNATIVES.get(id_param, ())}
    for name, value in params.items():
        if name in CREDENTIALS or "secret" in str(name).lower() or isinstance(value, dict) or name in dropped:
            continue
        query[str(name)] = str(value)
    query.update(stored_ids)
    return f"{reverse(view_name)}?{urlencode(query)}"


def _files_to_choose(params: dict[str, object], stored_ids: dict[str, str]) -> list[str]:
    dropped = {alt for id_param in stored_ids for alt in ALTERNATIVES.get(id_param, ())}
    return [str(name) for name, value in params.items() if isinstance(value, dict) and name not in dropped]

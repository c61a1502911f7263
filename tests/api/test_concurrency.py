"""Real concurrent HTTP calls against a live server: the quota is never over-spent."""

from __future__ import annotations

import json
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from accounts.models import ApiAccount
from accounts.services import account_create
from tests.conftest import encode, pixels

PHOTO = encode(pixels("astronaut"), "JPEG", quality=90)


def multipart(fields: dict[str, str], files: dict[str, bytes]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        )
    for name, data in files.items():
        header = f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{name}.jpg"\r\n'
        parts.append(header.encode() + b"Content-Type: image/jpeg\r\n\r\n" + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def call(url: str) -> tuple[int, dict[str, Any]]:
    body, content_type = multipart({}, {"image_one_file": PHOTO, "image_two_file": PHOTO})
    request = urllib.request.Request(url, data=body, headers={"Content-Type": content_type}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.mark.models
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("calls", "quota"), [(10, 4), (3, 6)])
def test_concurrent_calls_succeed_exactly_min_of_calls_and_quota(
    live_server: Any, calls: int, quota: int
) -> None:
    account, secret = account_create(username=f"busy-{calls}", quota=quota, rate=0, concurrency=0)
    url = (
        f"{live_server.url}/identity/compare_faces_in_two_images?api_id={account.api_id}&api_secret={secret}"
    )
    with ThreadPoolExecutor(max_workers=calls) as pool:
        results = list(pool.map(call, [url] * calls))
    statuses = sorted(body["status"] for _, body in results)
    assert statuses.count("OK") == min(calls, quota)
    assert statuses.count("OUT_OF_QUOTA") == calls - min(calls, quota)
    assert ApiAccount.objects.get(pk=account.pk).quota_used == min(calls, quota)

"""Face sets under real concurrency: a gunicorn with two workers (two processes, two exact
search caches), adds and searches at once. No face is lost or counted twice, person ids are
never handed out twice, and a face added or deleted through one worker is seen by the next
search on either."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from faceportal.endpoints import BY_NAME
from ops import harness
from tests.conftest import encode, pixels

pytestmark = [pytest.mark.models, pytest.mark.slow]

ENROLLED = encode(pixels("astronaut"), "JPEG", quality=90)
PROBE = encode(pixels("tom_hanks"), "JPEG", quality=90)


@pytest.fixture(scope="module")
def instance() -> Iterator[harness.Instance]:
    # At most 10 sets per account: the concurrent creates below try 16.
    with harness.running_instance(workers=2, threads=1, env={"FACEPORTAL_FACESET_MAX_SETS": "10"}) as running:
        yield running


def post(
    instance: harness.Instance,
    verb: str,
    fields: dict[str, str],
    photo: bytes | None = None,
    *,
    expect: int | None = 200,
) -> dict[str, Any]:
    credentials = {"api_id": instance.credentials.api_id, "api_secret": instance.credentials.api_secret}
    files = {"file": ("photo.jpg", photo)} if photo is not None else {}
    body, content_type = harness.multipart({**credentials, **fields}, files)
    client = harness.Client(instance.port)  # a new connection: any worker may take it
    try:
        reply = client.send(harness.Call(BY_NAME[f"faceset_{verb}"].url, body, content_type))
    finally:
        client.close()
    answer = reply.json()
    assert expect is None or reply.status == expect, (reply.status, reply.body[:300])
    return answer


def test_concurrent_creates_stop_at_the_cap_exactly(instance: harness.Instance) -> None:
    def create(number: int) -> str:
        return str(post(instance, "create", {"name": f"set{number}"}, expect=None)["status"])

    with ThreadPoolExecutor(max_workers=4) as pool:
        statuses = list(pool.map(create, range(16)))
    names = [face_set["name"] for face_set in post(instance, "list", {})["result"]]
    assert statuses.count("OK") == 10 == len(names)
    assert statuses.count("INVALID_ARGUMENT") == 6
    refused = post(instance, "create", {"name": "one-more"}, expect=400)
    assert "too many face dbs (at most 10)" in refused["reason"]
    for name in names:
        post(instance, "delete", {"name": name})


def test_concurrent_adds_and_searches_lose_and_duplicate_nothing(instance: harness.Instance) -> None:
    post(instance, "create", {"name": "gate"})

    def add(number: int) -> dict[str, Any]:
        # Explicit ids spaced out, so that no generated id can equal one given later.
        fields = {"name": "gate"} | ({"person_id": str(1000 * number)} if number % 2 else {})
        return post(instance, "add_face", fields, ENROLLED)["result"]

    def search(_: int) -> list[dict[str, Any]]:
        return post(instance, "search_face", {"name": "gate", "topN": "10"}, ENROLLED)["result"]

    with ThreadPoolExecutor(max_workers=4) as pool:
        adding = pool.map(add, range(16))
        searching = pool.map(search, range(8))
        added, searched = list(adding), list(searching)
    face_ids = [face["face_id"] for face in added]
    persons = [face["person_id"] for face in added]
    assert len(set(face_ids)) == 16
    assert len(set(persons)) == 16  # generated ids are above every explicit one seen so far
    assert {p for n, p in enumerate(persons) if n % 2} == {1000 * n for n in range(1, 16, 2)}
    assert all(result and result[0]["score"] == 1.0 for result in searched if result)
    info = post(instance, "info", {"name": "gate"})["result"]
    assert (info["face_count"], info["person_count"]) == (16, 16)
    final = post(instance, "search_face", {"name": "gate", "topN": "10"}, ENROLLED)["result"]
    assert len(final) == 10 and {match["face_id"] for match in final} <= set(face_ids)


def test_a_face_added_or_deleted_through_one_worker_is_seen_by_the_next_search_on_any(
    instance: harness.Instance,
) -> None:
    post(instance, "create", {"name": "lobby"})
    post(instance, "add_face", {"name": "lobby"}, ENROLLED)
    for _ in range(4):  # warm both workers' caches with the set as it is
        assert post(instance, "search_face", {"name": "lobby"}, PROBE)["result"] == []
    face = post(instance, "add_face", {"name": "lobby"}, PROBE)["result"]
    for _ in range(6):
        found = post(instance, "search_face", {"name": "lobby"}, PROBE)["result"]
        assert [match["face_id"] for match in found] == [face["face_id"]]
    post(instance, "delete_face", {"name": "lobby", "face_id": str(face["face_id"])})
    for _ in range(6):
        assert post(instance, "search_face", {"name": "lobby"}, PROBE)["result"] == []

"""The fixed database cost of one call, pinned so that it cannot grow unnoticed (issue 12, item 8).

Counted without the savepoints that the test's own transaction turns `transaction.atomic`
into (in production they are the transaction's BEGIN and COMMIT).
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.api.conftest import Api, upload

COMPARE = "/identity/compare_faces_in_two_images"


def statements(context: CaptureQueriesContext) -> list[str]:
    return [query["sql"] for query in context.captured_queries if "SAVEPOINT" not in query["sql"]]


@pytest.mark.models
def test_a_compare_of_two_uploads_costs_seven_statements(api: Api) -> None:
    """Authentication (the secret's hash, then the account: apart on purpose, see
    accounts.services.authenticate), the atomic quota charge, the two images, the history row
    started with the charge and completed with the answer."""
    fields = {"image_one_file": upload("astronaut"), "image_two_file": upload("grace_hopper")}
    with CaptureQueriesContext(connection) as context:
        assert api.linkface(COMPARE, fields).status_code == 200
    verbs = [sql.split()[0] for sql in statements(context)]
    assert verbs == ["SELECT", "SELECT", "UPDATE", "INSERT", "INSERT", "INSERT", "UPDATE"]


@pytest.mark.models
def test_a_detect_costs_five_statements(api: Api) -> None:
    with CaptureQueriesContext(connection) as context:
        assert api.faceid({"image": upload("astronaut")}).status_code == 200
    verbs = [sql.split()[0] for sql in statements(context)]
    assert verbs == ["SELECT", "SELECT", "UPDATE", "INSERT", "UPDATE"]


def test_a_refused_call_costs_its_history_row_only(api: Api) -> None:
    with CaptureQueriesContext(connection) as context:
        response = api.client.post(f"{COMPARE}?api_id={api.account.api_id}&api_secret=wrong", {})
    assert response.json()["status"] == "UNAUTHORIZED"
    verbs = [sql.split()[0] for sql in statements(context)]
    assert verbs == ["SELECT", "INSERT"]


@pytest.mark.models
def test_a_search_and_an_add_cost_the_same_however_large_the_set(api: Api) -> None:
    """Search: authentication, the set, the charge, the history row (started and completed);
    the worker's cached matrix is current, so no face is read. Add: the same, the set's row
    updated (its lock) and read again, the photo and the face inserted."""
    base = "/faceset/v2"
    assert api.linkface(f"{base}/create", {"name": "gate"}).status_code == 200
    counts: list[list[str]] = []
    for _ in range(2):  # a set of 1 face, then of 4
        for photo in ("astronaut", "grace_hopper", "tom_hanks")[: 1 if not counts else 3]:
            assert (
                api.linkface(f"{base}/add_face", {"name": "gate", "file": upload(photo)}).status_code == 200
            )
        api.linkface(f"{base}/search_face", {"name": "gate", "file": upload("astronaut")})  # warms the cache
        with CaptureQueriesContext(connection) as context:
            assert api.linkface(f"{base}/search_face", {"name": "gate", "file": upload("astronaut")}).json()[
                "result"
            ]
        counts.append([sql.split()[0] for sql in statements(context)])
    assert counts[0] == counts[1] == ["SELECT", "SELECT", "SELECT", "UPDATE", "INSERT", "UPDATE"]
    with CaptureQueriesContext(connection) as context:
        assert (
            api.linkface(f"{base}/add_face", {"name": "gate", "file": upload("astronaut")}).status_code == 200
        )
    verbs = [sql.split()[0] for sql in statements(context)]
    assert verbs == [
        "SELECT",
        "SELECT",
        "SELECT",
        "UPDATE",
        "INSERT",
        "UPDATE",
        "SELECT",
        "INSERT",
        "INSERT",
        "UPDATE",
    ]

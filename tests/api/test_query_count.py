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

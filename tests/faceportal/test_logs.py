"""Structured logs: one JSON object per line, API calls findable by request id."""

from __future__ import annotations

import json
import logging

import pytest
from django.test import Client

from faceportal.logs import JsonFormatter


def test_a_record_becomes_one_json_object_with_its_extra_fields() -> None:
    record = logging.makeLogRecord(
        {
            "name": "faceportal.api",
            "levelname": "INFO",
            "msg": "api call %s",
            "args": ("x",),
            "request_id": "TID1",
        }
    )
    entry = json.loads(JsonFormatter().format(record))
    assert entry["message"] == "api call x" and entry["request_id"] == "TID1" and entry["level"] == "INFO"
    assert "args" not in entry and "msg" not in entry


@pytest.mark.django_db
def test_every_api_call_is_logged_with_its_request_id(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="faceportal.api"):
        response = client.post("/identity/compare_faces_in_two_images")
    (record,) = [r for r in caplog.records if getattr(r, "request_id", None) == response["X-Request-Id"]]
    assert (record.endpoint, record.status, record.http_status) == ("compare", "UNAUTHORIZED", 401)  # type: ignore[attr-defined]
    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == response["X-Request-Id"] and line["latency_ms"] >= 0

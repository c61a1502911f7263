"""Prometheus metrics count API calls by endpoint and status, and quota refusals."""

from __future__ import annotations

import pytest
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from accounts.services import account_create


def samples(client: Client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/plain")
    found = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


@pytest.mark.django_db
def test_calls_and_quota_refusals_are_counted(client: Client) -> None:
    account, secret = account_create(username="metered", quota=0)
    unauthorized = ("faceportal_api_calls_total", (("endpoint", "compare"), ("status", "UNAUTHORIZED")))
    out_of_quota = ("faceportal_api_calls_total", (("endpoint", "compare"), ("status", "OUT_OF_QUOTA")))
    refusals = ("faceportal_quota_refusals_total", ())
    before = samples(client)
    client.post("/identity/compare_faces_in_two_images")
    client.post(f"/identity/compare_faces_in_two_images?api_id={account.api_id}&api_secret={secret}")
    after = samples(client)
    assert after[unauthorized] == before.get(unauthorized, 0) + 1
    assert after[out_of_quota] == before.get(out_of_quota, 0) + 1
    assert after[refusals] == before.get(refusals, 0) + 1
    assert after[("faceportal_api_latency_seconds_count", (("endpoint", "compare"),))] >= 2

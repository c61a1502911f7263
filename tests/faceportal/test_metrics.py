"""Prometheus metrics count API calls by endpoint and status, and quota refusals."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from accounts.services import account_create
from facelab.testdata import photo_bytes


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


@pytest.mark.models
@pytest.mark.django_db
def test_engine_stages_are_timed_for_a_compare(client: Client, tmp_path: Path, settings: Any) -> None:
    settings.MEDIA_ROOT = tmp_path
    account, secret = account_create(username="staged", quota=5, rate=0)
    photo = photo_bytes("astronaut")

    def stage_count(found: dict[tuple[str, tuple[tuple[str, str], ...]], float], stage: str) -> float:
        return found.get(("faceportal_engine_stage_seconds_count", (("stage", stage),)), 0)

    stages = ("decode", "resize", "detect", "landmarks", "quality", "embed", "compare")
    before = samples(client)
    response = client.post(
        f"/identity/compare_faces_in_two_images?api_id={account.api_id}&api_secret={secret}",
        {
            "image_one_file": SimpleUploadedFile("a.png", photo),
            "image_two_file": SimpleUploadedFile("b.png", photo),
        },
    )
    assert response.status_code == 200, response.content
    after = samples(client)
    grew = {stage: stage_count(after, stage) - stage_count(before, stage) for stage in stages}
    # Two images decoded, resized, searched and embedded; one face each; one comparison.
    assert grew["compare"] == 1
    assert all(grew[stage] >= 2 for stage in ("decode", "resize", "detect", "landmarks", "quality")), grew
    assert grew["embed"] == 2, grew  # one batch per image
    assert after[("faceportal_engine_stage_seconds_sum", (("stage", "detect"),))] > before.get(
        ("faceportal_engine_stage_seconds_sum", (("stage", "detect"),)), 0
    )

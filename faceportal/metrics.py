"""Prometheus metrics: API calls by endpoint and status, their latency, the engine's stage
timings, refusals for quota.

Under gunicorn every worker is a process of its own, so counters are kept in files in
PROMETHEUS_MULTIPROC_DIR (set by scripts/start and faceportal/gunicorn.conf.py) and added up
when /metrics is scraped; without it (tests, runserver) the process's own registry is served.
"""

from __future__ import annotations

import os

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_safe
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

API_CALLS = Counter("faceportal_api_calls_total", "API calls answered", ["endpoint", "status"])
API_LATENCY = Histogram(
    "faceportal_api_latency_seconds", "Time to answer an API call", ["endpoint"], buckets=LATENCY_BUCKETS
)
QUOTA_REFUSALS = Counter("faceportal_quota_refusals_total", "Calls refused because the quota was used up")
# Engine stages are shorter than whole calls: finer buckets at the low end.
STAGE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
ENGINE_STAGE = Histogram(
    "faceportal_engine_stage_seconds",
    "Time spent in each stage of the face engine (decode, resize, detect, landmarks, quality, "
    "embed, compare, mask)",
    ["stage"],
    buckets=STAGE_BUCKETS,
)


def observe_call(endpoint: str, status: str, seconds: float) -> None:
    API_CALLS.labels(endpoint=endpoint, status=status).inc()
    API_LATENCY.labels(endpoint=endpoint).observe(seconds)
    if status in ("OUT_OF_QUOTA", "AUTHORIZATION_ERROR:OUT_OF_QUOTA"):
        QUOTA_REFUSALS.inc()


def observe_stage(stage: str, seconds: float) -> None:
    ENGINE_STAGE.labels(stage=stage).observe(seconds)


@require_safe
def metrics(request: HttpRequest) -> HttpResponse:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)

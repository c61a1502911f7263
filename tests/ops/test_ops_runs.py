"""The load and abuse runs (ops/load.py, ops/abuse.py), tiny, against real 1-worker gunicorn instances.

They assert what must hold (every request answered, refusals, no 5xx, no crash), never timings:
the figures themselves are for people, printed by the full runs.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from ops import abuse, load, nginx

pytestmark = [pytest.mark.models, pytest.mark.slow]


def failed(checks: list[abuse.Check]) -> list[str]:
    return [f"{check.section}: {check.name}: {check.detail}" for check in checks if check.verdict == "FAIL"]


@pytest.fixture(scope="module")
def instance() -> Iterator[load.Instance]:
    with load.running_instance(workers=1, threads=1, env=abuse.extra_allowed_hosts()) as running:
        yield running


def test_a_tiny_load_run_answers_every_request_and_measures_the_engine(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["--workers", "1", "--seconds", "1.5", "--concurrency", "2", "--engine-processes", "1", "--json"]
    assert load.main(argv) == 0
    record = json.loads(capsys.readouterr().out)
    (config,) = record["configs"]
    assert (config["workers"], config["threads"]) == (1, 1)
    for endpoint in ("detect", "compare"):
        (step,) = config["endpoints"][endpoint]["steps"]
        assert step["concurrency"] == 2 and step["requests"] > 0
        assert step["error_rate"] == 0 and step["server_errors"] == 0
        assert config["endpoints"][endpoint]["api_engine_ratio"] > 0
        assert record["engine"][endpoint]["requests"] > 0


def test_wrong_secrets_are_refused_alike_for_valid_and_unknown_api_ids(instance: load.Instance) -> None:
    checks, timing = abuse.run_timing(instance, 40)
    assert failed(checks) == []
    assert len(timing.valid_ms) == len(timing.unknown_ms) == 20


def test_every_private_address_and_redirect_is_refused_and_never_reached(instance: load.Instance) -> None:
    redirector = abuse.CountingServer((abuse.REDIRECT_HOST, 0), socket.AF_INET, load.photo("grace_hopper"))
    with abuse.serving([redirector]), abuse.watched(instance, "ssrf") as health:
        checks = abuse.run_ssrf(instance, redirector)
    assert failed(checks + health) == []
    refused = [check for check in checks if check.name.endswith(" refused")]
    expected = len(abuse.ssrf_targets(1)) + len(abuse.redirect_targets("http://x", 1))
    assert len(refused) == expected and all("DOWNLOAD_ERROR" in check.detail for check in refused)
    assert any(check.name == "the local target received no connection" and check.passed for check in checks)


def test_oversized_lying_and_unframed_bodies_get_quick_client_errors(instance: load.Instance) -> None:
    with abuse.watched(instance, "oversize") as health:
        checks, rows = abuse.run_oversize(instance)
    assert failed(checks + health) == []
    assert all(400 <= row["status"] < 500 for row in rows)
    announced = next(row for row in rows if row["case"].startswith("FaceID announces 1 GiB"))
    taken = announced["sent_before_answer"] + announced["sent_after_answer"]
    assert announced["status"] == 413 and taken < abuse.READ_AT_MOST


@pytest.mark.parametrize("threads", [1, 2])
def test_the_service_recovers_from_slow_clients_without_errors(threads: int) -> None:
    checks, result = abuse.run_slowloris(workers=1, threads=threads, seconds=1.5, env={}, interval=0.1)
    assert failed(checks) == []
    assert result.attempts > 0 and result.recovered_ms is not None


def test_gunicorn_alone_serves_nobody_while_as_many_slow_clients_as_workers_stay() -> None:
    """The number docs/operations.md states: with sync workers, WORKERS slow clients are enough."""
    checks, result = abuse.run_slowloris(
        workers=1, threads=1, seconds=2, env={}, interval=0.1, slow_connections=1
    )
    assert failed(checks) == []  # no 5xx, and it serves again once they left
    assert result.slow_connections == 1 and result.attempts > 0
    assert result.succeeded == 0 and result.recovered_ms is not None


def test_behind_nginx_slow_clients_hold_no_worker_and_normal_calls_are_all_served() -> None:
    """Directly, a handful of slow clients starve gunicorn's workers (the test above only asks
    that it recovers); through nginx, as docs/operations.md deploys it, many do not."""
    if not Path(nginx.NGINX).exists():
        message = f"{nginx.NGINX} is missing (apt-get install nginx-light; scripts/test does as root)"
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(message)
        pytest.skip(message)
    checks, result = abuse.run_slowloris(workers=1, threads=1, seconds=3, env={}, behind_nginx=True)
    assert failed(checks) == []
    assert result.slow_connections == abuse.NGINX_SLOW_CLIENTS
    assert result.attempts > 0 and result.succeeded == result.attempts and result.recovered_ms is not None


def test_mann_whitney_u_counts_the_pairs_and_tells_shifted_samples_apart() -> None:
    rng = np.random.default_rng(7)
    a, b = rng.normal(0, 1, 60), rng.normal(0, 1, 50)
    u, p_same = abuse.mann_whitney(a, b)
    assert u == sum(1.0 if x > y else 0.5 if x == y else 0.0 for x in a for y in b)
    assert p_same > 0.01
    _, p_shifted = abuse.mann_whitney(a + 2, b)
    assert p_shifted < 1e-6


def test_the_median_difference_interval_covers_a_known_shift() -> None:
    rng = np.random.default_rng(3)
    a, b = rng.normal(5, 1, 400), rng.normal(2, 1, 400)
    difference, low, high = abuse.median_difference_ci(a, b)
    assert low < difference < high and low < 3 < high and low > 2


def step(concurrency: int, rate: int, latency: float) -> load.Step:
    return load.Step(concurrency, 1.0, [latency] * rate, 0, 0, 0.0)


def test_the_knee_is_where_more_clients_stop_buying_throughput() -> None:
    steps = [step(1, 10, 100), step(2, 19, 105), step(4, 19, 205), step(8, 19, 410)]
    assert load.find_knee(steps) == 2
    assert load.find_knee(steps[:2]) is None  # still growing: the knee is further out

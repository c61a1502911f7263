"""Small fault runs (ops/faults.py) in the services pass: the object store or Redis stops
under a live instance. Calls answer the documented INTERNAL_ERROR quickly, charge nothing,
leave no object without its row (or row without its object), and the service recovers.

They stop services, so they start their own (ops.services) rather than the pass's shared
ones; like every services test they are skipped outside the services pass.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ops.faults import HANG_LIMIT, Bench, FaultRun, Outcome, bench_on_services, redis_stopped, storage_stopped
from ops.services import running_services, services_expected, services_problem


@pytest.fixture(scope="module")
def bench() -> Iterator[Bench]:
    if not services_expected():
        pytest.skip("needs the services pass: scripts/test-services (python -m ops.services -- pytest ...)")
    problem = services_problem()
    if problem:
        pytest.fail(problem)
    with running_services() as services, bench_on_services(services, rate=100) as bench:
        yield bench


def assert_failed_cleanly_and_recovered(run: FaultRun) -> None:
    failed = run.during_fault
    assert failed, "no call was made during the fault"
    assert {(outcome.status, outcome.code) for outcome in failed} == {(500, "INTERNAL_ERROR")}
    assert run.after_fault and all(outcome.ok for outcome in run.after_fault)
    assert run.longest_wait < HANG_LIMIT / 3
    assert run.charged == run.charged_after_sweep == run.successes == len(run.after_fault)
    assert run.rows_without_object == [] and run.objects_without_row == [] and run.objects_after_sweep == []
    assert run.problems() == []


@pytest.mark.services
@pytest.mark.models
@pytest.mark.slow
def test_a_stopped_object_store_fails_calls_cleanly_and_charges_nothing(bench: Bench) -> None:
    run = storage_stopped(bench, calls=2)  # two storing a new image, one reading a stored one
    assert len(run.during_fault) == 3
    assert_failed_cleanly_and_recovered(run)
    assert "/readyz while the store was down: 503" in run.notes


@pytest.mark.services
@pytest.mark.models
@pytest.mark.slow
def test_a_stopped_redis_fails_calls_cleanly_and_charges_nothing(bench: Bench) -> None:
    run = redis_stopped(bench, calls=2)
    assert_failed_cleanly_and_recovered(run)
    assert "/readyz while Redis was down: 503" in run.notes


def test_a_run_that_charged_an_unanswered_call_or_left_an_object_is_reported() -> None:
    run = FaultRun("example", outcomes=[Outcome(200, "OK", 0.1), Outcome(0, "RemoteDisconnected", 0.2)])
    run.charged, run.objects_without_row = 2, ["images/ab/ab.jpg"]
    run.charged_after_sweep, run.objects_after_sweep = 2, ["images/ab/ab.jpg"]
    assert run.problems() == [
        "connection lost: RemoteDisconnected",
        "quota charged 2 for 1 successful answers (after purge_images)",
        "1 object(s) without row (after purge_images)",
    ]
    # What the maintenance job repaired is no finding: only what it leaves is.
    run.connection_loss_expected, run.charged_after_sweep, run.objects_after_sweep = True, 1, []
    assert run.problems() == []


def test_a_slow_or_undocumented_answer_is_reported() -> None:
    run = FaultRun("example", outcomes=[Outcome(502, "non-JSON body b'Bad Gateway'", HANG_LIMIT)])
    assert run.problems() == [
        f"a call waited {HANG_LIMIT:.1f} s (hang)",
        "undocumented answer 502 non-JSON body b'Bad Gateway'",
    ]

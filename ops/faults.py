"""Fault runs: what a client sees when a part of the service fails, and what is left after.

`python -m ops.faults` starts PostgreSQL, Redis and SeaweedFS S3 (ops/services/) and one
gunicorn instance on them, all on loopback, then in turn:

- kills a worker with SIGKILL in the middle of compare requests;
- restarts PostgreSQL while compare requests run;
- stops Redis, calls, starts it again;
- stops the object store (SeaweedFS), calls with new images and with a stored one, starts it;
- freezes the object store (SIGSTOP), calls, thaws it.

For each it records every answer (HTTP status and documented code, or the connection error
when none came) and the longest wait, then checks the books: the quota charged equals the
number of successful answers, every stored-image or liveness-package row has its object in
the bucket and every object its row, both as the fault left them and after the daily
maintenance job (`purge_images`) has swept what a killed worker leaves. It prints one table
and exits 1 if any fault left a hang, an undocumented answer, or after that job a wrong
charge or an orphan.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

import psycopg

from ops.harness import (
    COMPARE_PHOTOS,
    Call,
    Client,
    Credentials,
    Instance,
    compare_call,
    multipart,
    photo,
)
from ops.server import Server, manage
from ops.services import ServiceError, Services, bucket_keys, running_services

# A client that has waited this long counts the call as hung (the worker timeout is 60 s).
HANG_LIMIT = 30.0
# What a compare call may answer while a dependency fails: success or the documented
# last-resort error. Anything else (a 502, an HTML page, a traceback) is a finding.
DOCUMENTED = {(200, "OK"), (500, "INTERNAL_ERROR")}
STORED_PREFIXES = ("images/", "liveness/")


@dataclass(frozen=True)
class Outcome:
    status: int  # 0: no HTTP answer came
    code: str  # the body's status, or the connection error's name
    seconds: float
    sent_at: float = 0.0  # time.monotonic() when the call was sent

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.code == "OK"

    @property
    def said(self) -> str:
        return f"{self.status} {self.code}" if self.status else f"no answer ({self.code})"


def send(port: int, call: Call) -> Outcome:
    """One call on its own connection (never resent), timed, bounded by HANG_LIMIT."""
    client = Client(port, timeout=HANG_LIMIT)
    sent_at = time.monotonic()
    try:
        reply = client.send(call)
    finally:
        client.close()
    if reply.status == 0:
        return Outcome(0, reply.error or "no answer", reply.latency_ms / 1000, sent_at)
    code = str(
        reply.json().get("status") or reply.json().get("error") or f"non-JSON body {reply.body[:40]!r}"
    )
    return Outcome(reply.status, code, reply.latency_ms / 1000, sent_at)


class Bench:
    """One instance on the services, the account it is called with, and the books to check."""

    def __init__(self, services: Services, instance: Instance) -> None:
        self.services = services
        self.instance = instance
        one, two = (photo(name) for name in COMPARE_PHOTOS)
        self.new_images = compare_call(instance.credentials, one, two)
        self.second_photo = two

    def compare(self) -> Outcome:
        """A compare of two new images (stored on success)."""
        return send(self.instance.port, self.new_images)

    def compare_stored(self, image_id: str) -> Outcome:
        """A compare of a stored image (read from the store) with a new one."""
        credentials = self.instance.credentials
        body, content_type = multipart(
            {"image_one_id": image_id}, {"image_two_file": ("two.jpg", self.second_photo)}
        )
        query = f"api_id={credentials.api_id}&api_secret={credentials.api_secret}"
        return send(
            self.instance.port, Call(f"/identity/compare_faces_in_two_images?{query}", body, content_type)
        )

    def store_one(self) -> str:
        """An image stored through the API, by its id."""
        client = Client(self.instance.port, timeout=HANG_LIMIT)
        try:
            reply = client.send(self.new_images)
        finally:
            client.close()
        if reply.status != 200:
            raise RuntimeError(f"storing an image answered {reply.status} {reply.body[:200]!r}")
        return str(reply.json()["image_one"]["image_one_id"])

    def readyz(self) -> int:
        try:
            with urllib.request.urlopen(f"{self.instance.server.url}/readyz", timeout=HANG_LIMIT) as answer:
                return int(answer.status)
        except urllib.error.HTTPError as error:
            return int(error.code)
        except OSError:
            return 0

    def wait_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while self.readyz() != 200:
            if time.monotonic() > deadline:
                raise TimeoutError(f"instance not ready {timeout:.0f} s after the fault was lifted")
            time.sleep(0.5)

    def quota_used(self) -> int:
        with psycopg.connect(self.services.postgres.url, connect_timeout=10) as connection:
            row = connection.execute(
                "SELECT quota_used FROM accounts_apiaccount WHERE api_id = %s",
                [self.instance.credentials.api_id],
            ).fetchone()
        assert row is not None, "the run's account is gone"
        return int(row[0])

    def orphans(self) -> tuple[list[str], list[str]]:
        """Rows whose object is missing, and objects (images, packages) that no row names."""
        with psycopg.connect(self.services.postgres.url, connect_timeout=10) as connection:
            rows = connection.execute(
                "SELECT file FROM resources_storedimage UNION ALL SELECT file FROM resources_livenessdata"
            ).fetchall()
        names = {str(row[0]) for row in rows}
        keys = {key for key in bucket_keys(self.services.s3.env) if key.startswith(STORED_PREFIXES)}
        return sorted(names - keys), sorted(keys - names)


@dataclass
class FaultRun:
    name: str
    outcomes: list[Outcome] = field(default_factory=list)
    charged: int = 0
    rows_without_object: list[str] = field(default_factory=list)
    objects_without_row: list[str] = field(default_factory=list)
    # A killed worker cannot answer the call it was serving: only that fault may cut connections.
    connection_loss_expected: bool = False
    notes: list[str] = field(default_factory=list)
    # Calls made once the fault was lifted: the service should have recovered by then.
    after_fault: list[Outcome] = field(default_factory=list)
    # The same books after the daily maintenance job (purge_images) has swept what a killed
    # worker leaves: files without rows, and charges for answers that were never sent.
    charged_after_sweep: int = 0
    objects_after_sweep: list[str] = field(default_factory=list)

    def call_after_fault(self, outcome: Outcome) -> None:
        self.outcomes.append(outcome)
        self.after_fault.append(outcome)

    @property
    def during_fault(self) -> list[Outcome]:
        lifted = {id(outcome) for outcome in self.after_fault}
        return [outcome for outcome in self.outcomes if id(outcome) not in lifted]

    @property
    def successes(self) -> int:
        return sum(outcome.ok for outcome in self.outcomes)

    @property
    def longest_wait(self) -> float:
        return max((outcome.seconds for outcome in self.outcomes), default=0.0)

    def seen(self) -> str:
        counts = Counter(outcome.said for outcome in self.outcomes)
        return ", ".join(f"{count}x {said}" for said, count in counts.most_common())

    def problems(self) -> list[str]:
        found = []
        if self.longest_wait >= HANG_LIMIT - 0.5:
            found.append(f"a call waited {self.longest_wait:.1f} s (hang)")
        for outcome in self.outcomes:
            if outcome.status == 0 and not self.connection_loss_expected:
                found.append(f"connection lost: {outcome.code}")
            elif outcome.status and (outcome.status, outcome.code) not in DOCUMENTED:
                found.append(f"undocumented answer {outcome.said}")
        not_recovered = [outcome.said for outcome in self.after_fault if not outcome.ok]
        if not_recovered:
            found.append(f"after the fault was lifted: {', '.join(not_recovered)}")
        # What is left once purge_images has run is what counts: it is how the service repairs
        # a crash (the raw figures stay in the table beside it).
        if self.charged_after_sweep != self.successes:
            found.append(
                f"quota charged {self.charged_after_sweep} for {self.successes} successful answers"
                " (after purge_images)"
            )
        if self.rows_without_object:
            found.append(f"{len(self.rows_without_object)} row(s) without object")
        if self.objects_after_sweep:
            found.append(f"{len(self.objects_after_sweep)} object(s) without row (after purge_images)")
        return list(dict.fromkeys(found))


@contextmanager
def accounted(bench: Bench, name: str) -> Iterator[FaultRun]:
    """A fault run whose charge and new orphans are measured around the `with` body."""
    run = FaultRun(name)
    before = bench.quota_used()
    rows_before, objects_before = bench.orphans()
    yield run
    bench.wait_ready()
    run.charged = bench.quota_used() - before
    rows, objects = bench.orphans()
    run.rows_without_object = sorted(set(rows) - set(rows_before))
    run.objects_without_row = sorted(set(objects) - set(objects_before))
    # No call is in flight now, so nothing needs the usual grace period.
    manage(["purge_images", "--grace", "0"], bench.instance.server.full_env())
    run.charged_after_sweep = bench.quota_used() - before
    run.objects_after_sweep = sorted(set(bench.orphans()[1]) - set(objects_before))


def in_background(calls: Callable[[], None]) -> threading.Thread:
    thread = threading.Thread(target=calls, daemon=True)
    thread.start()
    return thread


# -- The faults ---------------------------------------------------------------------------


def worker_killed(bench: Bench, fractions: Sequence[float] = (0.3, 0.6, 0.8, 0.9, 0.95, 0.98)) -> FaultRun:
    """SIGKILL the worker serving a compare, at fractions of a compare's own duration; each
    time one more call is sent at once, answered by the replacement worker."""
    with accounted(bench, "worker killed (SIGKILL) mid-compare") as run:
        warm = [bench.compare() for _ in range(3)]
        run.outcomes.extend(warm)
        baseline = min(warm, key=lambda outcome: outcome.seconds)
        run.connection_loss_expected = True
        for fraction in fractions:
            victims = bench.instance.server.worker_pids()
            thread = in_background(lambda: run.outcomes.append(bench.compare()))
            time.sleep(baseline.seconds * fraction)
            for pid in victims:
                with suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            thread.join(HANG_LIMIT + 5)
            run.call_after_fault(bench.compare())  # queued until the new worker has its models
        run.notes.append(
            f"a compare takes {baseline.seconds:.2f} s; killed at {', '.join(map(str, fractions))}"
        )
    return run


def postgres_restarted(bench: Bench, clients: int = 2, after: float = 6.0) -> FaultRun:
    """PostgreSQL restarted (fast shutdown: sessions cut) while clients keep calling."""
    with accounted(bench, "PostgreSQL restarted under load") as run:
        stop = threading.Event()

        def client() -> None:
            while not stop.is_set():
                run.outcomes.append(bench.compare())

        threads = [in_background(client) for _ in range(clients)]
        time.sleep(2.0)
        down = time.monotonic()
        bench.services.postgres.restart()
        back = time.monotonic()
        time.sleep(after)
        stop.set()
        for thread in threads:
            thread.join(HANG_LIMIT + 5)
        failed = [outcome for outcome in run.outcomes if not outcome.ok]
        run.notes.append(f"PostgreSQL was down for {back - down:.2f} s")
        if failed:
            last = max(outcome.sent_at + outcome.seconds for outcome in failed)
            first = min(outcome.sent_at for outcome in failed)
            run.notes.append(
                f"failed calls ran from {first - down:.2f} s to {last - down:.2f} s after the restart "
                f"began (it was back at {back - down:.2f} s)"
            )
        # A restart while nothing is in flight: the worker's kept connection (CONN_MAX_AGE)
        # is stale and no failed call has marked it so.
        bench.services.postgres.restart()
        for _ in range(2):
            run.call_after_fault(bench.compare())
        quiet = ", ".join(outcome.said for outcome in run.after_fault)
        run.notes.append(f"after a restart with no call in flight the next calls answered: {quiet}")
    return run


def redis_stopped(bench: Bench, calls: int = 3) -> FaultRun:
    """Redis stopped for a few calls, then started again (empty: it keeps no data)."""
    with accounted(bench, "Redis stopped") as run:
        bench.services.redis.stop()
        try:
            run.outcomes.extend(bench.compare() for _ in range(calls))
            run.notes.append(f"/readyz while Redis was down: {bench.readyz()}")
        finally:
            bench.services.redis.start()
        run.call_after_fault(bench.compare())
    return run


def storage_stopped(bench: Bench, calls: int = 2) -> FaultRun:
    """The object store stopped: calls that must store a new image, and one that must read a
    stored image; then the store is started again and both kinds are called once more."""
    image_id = bench.store_one()  # before the run's books are opened: it is not the fault's
    with accounted(bench, "object store (SeaweedFS) stopped") as run:
        bench.services.s3.stop()
        try:
            run.outcomes.extend(bench.compare() for _ in range(calls))
            run.outcomes.append(bench.compare_stored(image_id))
            run.notes.append(f"/readyz while the store was down: {bench.readyz()}")
        finally:
            bench.services.s3.start()
        run.call_after_fault(bench.compare())
        run.call_after_fault(bench.compare_stored(image_id))
    return run


def storage_frozen(bench: Bench) -> FaultRun:
    """The object store frozen (SIGSTOP: connections open, nothing answers), as a store
    behind a dead network path or a full disk looks; then thawed."""
    process = bench.services.s3.process
    assert process is not None
    with accounted(bench, "object store frozen (SIGSTOP)") as run:
        process.send_signal(signal.SIGSTOP)
        try:
            run.outcomes.append(bench.compare())
            started = time.monotonic()
            ready = bench.readyz()
            run.notes.append(
                f"/readyz while the store was frozen: {ready or 'no answer'} after "
                f"{time.monotonic() - started:.1f} s"
            )
        finally:
            process.send_signal(signal.SIGCONT)
        bench.wait_ready()
        run.call_after_fault(bench.compare())
    return run


FAULTS: dict[str, Callable[[Bench], FaultRun]] = {
    "kill": worker_killed,
    "postgres": postgres_restarted,
    "redis": redis_stopped,
    "storage": storage_stopped,
    "storage-frozen": storage_frozen,
}


# -- Report -------------------------------------------------------------------------------


def report(runs: Sequence[FaultRun]) -> str:
    header = (
        "fault",
        "calls",
        "what the client saw",
        "longest wait",
        "charged / answered",
        "orphans",
        "after purge_images",
        "verdict",
    )
    rows = [
        (
            run.name,
            str(len(run.outcomes)),
            run.seen(),
            f"{run.longest_wait:.2f} s",
            f"{run.charged} / {run.successes}",
            f"{len(run.rows_without_object)} rows, {len(run.objects_without_row)} objects",
            f"charged {run.charged_after_sweep} ({run.charged - run.charged_after_sweep} given back), "
            f"{len(run.objects_after_sweep)} objects",
            "; ".join(run.problems()) or "ok",
        )
        for run in runs
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = [
        " | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in [header, *rows]
    ]
    lines.insert(1, "-+-".join("-" * width for width in widths))
    for run in runs:
        lines.extend(f"  {run.name}: {note}" for note in run.notes)
        lines.extend(
            f"  {run.name}: orphan {name}" for name in run.rows_without_object + run.objects_without_row
        )
    return "\n".join(lines)


@contextmanager
def bench_on_services(services: Services, *, workers: int = 1, rate: int = 1000) -> Iterator[Bench]:
    """An instance on a fresh data folder, with an account whose quota never runs out but
    whose rate limit is on (so that every call uses the shared counters in Redis)."""
    with tempfile.TemporaryDirectory(prefix="faceportal-faults-") as data:
        server = Server(data_dir=Path(data), env=services.env, workers=workers, threads=1)
        server.migrate()
        answer = manage(
            ["create_api_account", "--user", "faults", "--quota", str(10**9), "--rate", str(rate)],
            server.full_env(),
        )
        credentials = Credentials(**json.loads(answer.strip().splitlines()[-1]))
        try:
            server.start()
            yield Bench(services, Instance(server, credentials))
        finally:
            server.stop()


def _out_of_time(signum: int, frame: FrameType | None) -> None:
    raise TimeoutError("the fault run went over its --timeout")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ops.faults", description="Fault runs against FacePortal on loopback services."
    )
    parser.add_argument("--only", help=f"comma-separated faults among {','.join(FAULTS)} (default: all)")
    parser.add_argument("--timeout", type=int, default=900, help="seconds for the whole run (900)")
    args = parser.parse_args(argv)
    names = [name.strip() for name in (args.only or ",".join(FAULTS)).split(",") if name.strip()]
    unknown = [name for name in names if name not in FAULTS]
    if unknown or not names:
        parser.error(
            f"--only: unknown fault(s) {', '.join(unknown) or '(none given)'}; "
            f"choose from {', '.join(FAULTS)}"
        )
    signal.signal(signal.SIGALRM, _out_of_time)
    signal.alarm(args.timeout)
    runs: list[FaultRun] = []
    try:
        with running_services() as services, bench_on_services(services) as bench:
            print(f"ops.faults: {services.describe()}; instance on {bench.instance.server.url}", flush=True)
            for name in names:
                runs.append(FAULTS[name](bench))
                print(f"ops.faults: {runs[-1].name}: done", flush=True)
    except (ServiceError, TimeoutError, RuntimeError) as error:
        print(f"ops.faults: {error}", file=sys.stderr)
        if runs:
            print(report(runs))
        return 2
    finally:
        signal.alarm(0)
    print(report(runs))
    return 1 if any(run.problems() for run in runs) else 0


if __name__ == "__main__":
    sys.exit(main())

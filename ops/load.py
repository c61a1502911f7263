"""Closed-loop load on a real gunicorn instance, next to what the engine alone does on the same cores.

`python -m ops.load` starts FacePortal (a fresh data folder, migrated, one unlimited account), then
for detect and for compare runs closed-loop clients at rising concurrency: each client thread sends
its next request as soon as the previous answer is in, on a keep-alive connection, with the multipart
body encoded once beforehand so that the load generator spends as little CPU as possible. Each step
prints requests, throughput, latency percentiles and errors; the knee is the first concurrency after
which more clients buy less than 5 % more throughput while latency grows.

The physical limit it compares with (ops/engine_alone.py) is the engine alone in one process per
core (one intra-op thread each, as the workers use), doing the same decode and analysis of the
same images for the same time, with no HTTP, database or storage, measured after every round:
API / engine is the share of the machine that reaches the integrator as answers.

`--configs 1x1,2x1,2x2` measures several workers x threads settings, interleaved (every client count
on every configuration back to back, `--rounds` times, the median round reported) so that a busy
moment of a shared machine falls on all of them alike, and prints a summary to choose from. The
instances get this process's environment, so DATABASE_URL, REDIS_URL and FACEPORTAL_S3_* (e.g. from
`python -m ops.services -- python -m ops.load`) reach them unchanged.

The instance, credentials and HTTP helpers are ops/harness.py, shared with ops/abuse and ops/faults.py.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ops.engine_alone import ENGINE_IMAGES, EngineRun, engine_throughput

# Instance, Reply and multipart are unused here: the ops tests find them here, as before the
# harness had a module of its own.
from ops.harness import (
    COMPARE_PHOTOS,
    DETECT_PHOTO,
    Call,
    Client,
    Credentials,
    Instance,  # noqa: F401
    Reply,  # noqa: F401
    cell,
    compare_call,
    detect_call,
    milliseconds,
    multipart,  # noqa: F401
    percentile,
    photo,
    running_instance,
)
from ops.server import server_pss_mb

KNEE_GAIN = 0.05  # below this relative throughput gain, more clients only queue
DEFAULT_CONCURRENCY = (1, 2, 4, 8, 16)
DEFAULT_CONFIGS = ((1, 1), (2, 1), (3, 1), (2, 2), (4, 1))


# -- Closed-loop steps ---------------------------------------------------------------------------


@dataclass
class Step:
    concurrency: int
    seconds: float  # from the start to the last answer
    latencies_ms: list[float]  # of successful answers
    errors: int  # anything but HTTP 200, including no answer
    server_errors: int  # HTTP 5xx
    client_cpu_seconds: float  # what the load generator itself used meanwhile

    @property
    def requests(self) -> int:
        return len(self.latencies_ms) + self.errors

    @property
    def throughput(self) -> float:
        return len(self.latencies_ms) / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> dict[str, float | int | None]:
        return {
            "concurrency": self.concurrency,
            "requests": self.requests,
            "throughput_rps": round(self.throughput, 2),
            "p50_ms": milliseconds(self.latencies_ms, 50),
            "p95_ms": milliseconds(self.latencies_ms, 95),
            "p99_ms": milliseconds(self.latencies_ms, 99),
            "error_rate": round(self.errors / self.requests, 4) if self.requests else 0.0,
            "server_errors": self.server_errors,
            "client_cpu_pct": round(100 * self.client_cpu_seconds / self.seconds, 1) if self.seconds else 0.0,
        }


def run_step(port: int, call: Call, concurrency: int, seconds: float) -> Step:
    """`concurrency` clients, each sending its next request when its answer is in, for `seconds`."""
    lock = threading.Lock()
    latencies: list[float] = []
    failures: list[int] = []  # the HTTP status of each failure (0: none came)
    started = time.perf_counter()
    deadline = started + seconds
    last_answer = [started]

    def client_loop() -> None:
        client = Client(port)
        try:
            while time.perf_counter() < deadline:
                reply = client.send(call)
                with lock:
                    if reply.status == 200:
                        latencies.append(reply.latency_ms)
                    else:
                        failures.append(reply.status)
                    last_answer[0] = max(last_answer[0], time.perf_counter())
        finally:
            client.close()

    cpu_before = time.process_time()
    workers = [threading.Thread(target=client_loop, daemon=True) for _ in range(concurrency)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return Step(
        concurrency=concurrency,
        seconds=last_answer[0] - started,
        latencies_ms=latencies,
        errors=len(failures),
        server_errors=sum(1 for status in failures if status >= 500),
        client_cpu_seconds=time.process_time() - cpu_before,
    )


def find_knee(steps: Sequence[Step]) -> int | None:
    """The concurrency after which throughput grows < KNEE_GAIN while the median latency rises;
    None when throughput still grew at the last step (the knee is beyond the tested range)."""
    for here, after in itertools.pairwise(steps):
        gain = after.throughput / here.throughput - 1 if here.throughput else 0.0
        if gain < KNEE_GAIN and percentile(after.latencies_ms, 50) > percentile(here.latencies_ms, 50):
            return here.concurrency
    return None


# -- One configuration, several configurations ---------------------------------------------------


@dataclass
class EndpointResult:
    endpoint: str
    rounds: dict[int, list[Step]]  # every measured step, by client count

    @property
    def steps(self) -> list[Step]:
        """For each client count, the round with the median throughput: one busy moment on a
        shared machine does not decide the figures."""
        return [
            sorted(runs, key=lambda step: step.throughput)[(len(runs) - 1) // 2]
            for runs in self.rounds.values()
        ]

    @property
    def knee(self) -> int | None:
        return find_knee(self.steps)

    @property
    def best_throughput(self) -> float:
        return max((step.throughput for step in self.steps), default=0.0)

    @property
    def errors(self) -> int:  # over every round, not only the reported ones
        return sum(step.errors for runs in self.rounds.values() for step in runs)

    @property
    def server_errors(self) -> int:
        return sum(step.server_errors for runs in self.rounds.values() for step in runs)


@dataclass
class ConfigResult:
    workers: int
    threads: int
    endpoints: list[EndpointResult]
    memory_pss_mb: float

    @property
    def label(self) -> str:
        return f"{self.workers}x{self.threads}"


def endpoint_calls(credentials: Credentials) -> dict[str, Call]:
    return {
        "detect": detect_call(credentials, photo(DETECT_PHOTO)),
        "compare": compare_call(credentials, *(photo(name) for name in COMPARE_PHOTOS)),
    }


def measure(
    *,
    configs: Sequence[tuple[int, int]],
    endpoints: Sequence[str],
    concurrency: Sequence[int],
    seconds: float,
    rounds: int,
    engine_processes: int,
    progress: Callable[[str], None],
) -> tuple[list[ConfigResult], dict[str, EngineRun]]:
    """Every configuration runs at once (idle but for its own steps), and the steps are interleaved:
    each client count is measured on every configuration back to back, rotating who goes first, and
    each round ends with the engine alone (unless engine_processes is 0), so that configurations
    and the engine are compared under the same conditions of the machine."""
    measured: dict[tuple[int, str], dict[int, list[Step]]] = {
        (index, endpoint): {clients: [] for clients in concurrency}
        for index in range(len(configs))
        for endpoint in endpoints
    }
    engine_runs: dict[str, list[EngineRun]] = {endpoint: [] for endpoint in endpoints}
    with ExitStack() as stack:
        instances = [stack.enter_context(running_instance(workers=w, threads=t)) for w, t in configs]
        calls = [endpoint_calls(instance.credentials) for instance in instances]
        for endpoint in endpoints:
            for index, instance in enumerate(instances):
                # Warm-up, not reported: every worker thread answers a few times first.
                workers, threads = configs[index]
                run_step(instance.port, calls[index][endpoint], workers * threads, min(2.0, seconds))
            for round_number in range(rounds):
                for clients in concurrency:
                    for offset in range(len(configs)):
                        index = (offset + round_number) % len(configs)
                        step = run_step(instances[index].port, calls[index][endpoint], clients, seconds)
                        measured[index, endpoint][clients].append(step)
                        workers, threads = configs[index]
                        progress(
                            f"round {round_number + 1} {workers}x{threads} {endpoint} {clients} clients: "
                            f"{step.throughput:.2f} req/s"
                        )
                if engine_processes:
                    alone = engine_throughput(endpoint, ENGINE_IMAGES[endpoint](), engine_processes, seconds)
                    engine_runs[endpoint].append(alone)
                    progress(
                        f"round {round_number + 1} engine alone {endpoint}: {alone.throughput:.2f} req/s"
                    )
        memory = [server_pss_mb(instance.server) for instance in instances]
    results = [
        ConfigResult(
            workers,
            threads,
            [EndpointResult(endpoint, measured[index, endpoint]) for endpoint in endpoints],
            memory[index],
        )
        for index, (workers, threads) in enumerate(configs)
    ]
    engine = {
        endpoint: sorted(runs, key=lambda run: run.throughput)[(len(runs) - 1) // 2]
        for endpoint, runs in engine_runs.items()
        if runs
    }
    return results, engine


def choose(configs: Sequence[ConfigResult]) -> ConfigResult:
    """Within 5 % of the best mean relative throughput, the configuration with the fewest threads
    in all (less memory, less contention), then the higher throughput."""

    def score(config: ConfigResult) -> float:
        shares = []
        for result in config.endpoints:
            best = max(other.endpoints[config.endpoints.index(result)].best_throughput for other in configs)
            shares.append(result.best_throughput / best if best else 0.0)
        return float(np.mean(shares)) if shares else 0.0

    top = max(score(config) for config in configs)
    close = [config for config in configs if score(config) >= top * (1 - KNEE_GAIN)]
    return min(close, key=lambda config: (config.workers * config.threads, -score(config)))


# -- Output ----------------------------------------------------------------------------------------


def report(
    configs: Sequence[ConfigResult],
    engine: Mapping[str, EngineRun],
    conditions: Mapping[str, Any],
) -> tuple[str, dict[str, Any]]:
    """The printed tables and the same figures as a JSON-ready record."""
    load_before, load_after = conditions["load_average"]
    lines = [
        f"machine: {conditions['cores']} usable cores; load average {load_before:.2f} before, "
        f"{load_after:.2f} after; {conditions['seconds']:g} s per step; {conditions['rounds']} round(s), "
        "median round reported"
    ]
    if engine:
        alone = ", ".join(
            f"{name} {run.throughput:.2f} req/s (p50 {run.p50_ms:.1f} ms)" for name, run in engine.items()
        )
        processes = next(iter(engine.values())).processes
        lines.append(f"engine alone, no HTTP, {processes} processes: {alone}")
    lines.append("")
    record: dict[str, Any] = {
        **conditions,
        "engine": {name: asdict(run) for name, run in engine.items()},
        "configs": [],
    }
    header = (
        f"{'clients':>7} {'requests':>8} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
        f"{'errors':>7} {'5xx':>4} {'client cpu':>10}"
    )
    for config in configs:
        kind = "gthread" if config.threads > 1 else "sync"
        lines.append(
            f"== workers={config.workers} threads={config.threads} ({kind}); "
            f"server memory (PSS) {config.memory_pss_mb:.0f} MB"
        )
        entry: dict[str, Any] = {
            "workers": config.workers,
            "threads": config.threads,
            "memory_pss_mb": round(config.memory_pss_mb, 1),
            "endpoints": {},
        }
        for result in config.endpoints:
            lines.append(f"{result.endpoint}:")
            lines.append(header)
            rows = [step.summary() for step in result.steps]
            for row in rows:
                lines.append(
                    f"{row['concurrency']:>7} {row['requests']:>8} {row['throughput_rps']:>7.2f} "
                    f"{cell(row['p50_ms'], 8)} {cell(row['p95_ms'], 8)} {cell(row['p99_ms'], 8)} "
                    f"{row['error_rate']:>7.2%} {row['server_errors']:>4} {row['client_cpu_pct']:>9.1f}%"
                )
            knee = result.knee
            summary = (
                f"knee at {knee} client(s)" if knee is not None else "knee: not reached in the tested range"
            )
            ratio = None
            if result.endpoint in engine and engine[result.endpoint].throughput:
                ratio = result.best_throughput / engine[result.endpoint].throughput
                summary += f"; best {result.best_throughput:.2f} req/s = {ratio:.2f} of the engine alone"
            if result.errors:
                summary += f"; {result.errors} failed requests over all rounds ({result.server_errors} 5xx)"
            lines.append(summary)
            entry["endpoints"][result.endpoint] = {
                "steps": rows,
                "knee": knee,
                "best_throughput_rps": round(result.best_throughput, 2),
                "api_engine_ratio": round(ratio, 3) if ratio is not None else None,
                "errors_all_rounds": result.errors,
                "server_errors_all_rounds": result.server_errors,
            }
        lines.append("")
        record["configs"].append(entry)
    if len(configs) > 1:
        names = [result.endpoint for result in configs[0].endpoints]
        lines.append("summary (best req/s per endpoint; knee in clients):")
        lines.append(
            f"{'config':>7} " + " ".join(f"{name + ' req/s':>14} {'knee':>5}" for name in names) + "  PSS MB"
        )
        for config in configs:
            cells = " ".join(f"{r.best_throughput:>14.2f} {knee_text(r):>5}" for r in config.endpoints)
            lines.append(f"{config.label:>7} {cells}  {config.memory_pss_mb:>6.0f}")
        chosen = choose(configs)
        lines.append(
            f"choice: {chosen.label} (fewest threads in all within {KNEE_GAIN:.0%} of the best throughput)"
        )
        record["choice"] = chosen.label
    return "\n".join(lines), record


def knee_text(result: EndpointResult) -> str:
    """The knee, or '>N' when throughput still grew at the last client count N."""
    return str(result.knee) if result.knee is not None else f">{result.steps[-1].concurrency}"


def failed(configs: Sequence[ConfigResult]) -> bool:
    """A load run must not fail requests: any error is a finding, not noise."""
    return any(result.errors for config in configs for result in config.endpoints)


def parse_configs(text: str) -> list[tuple[int, int]]:
    pairs = []
    for item in text.split(","):
        workers, _, threads = item.strip().partition("x")
        try:
            pair = (int(workers), int(threads or 1))
        except ValueError:
            raise argparse.ArgumentTypeError(f"{item!r}: expected WORKERSxTHREADS, e.g. 2x1") from None
        if min(pair) < 1:
            raise argparse.ArgumentTypeError(f"{item!r}: workers and threads must be at least 1")
        pairs.append(pair)
    return pairs


def parse_counts(text: str) -> list[int]:
    try:
        counts = [int(item) for item in text.split(",") if item.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected whole numbers separated by commas") from None
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give one or more client counts of at least 1")
    return sorted(set(counts))


def positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a number of seconds") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: must be more than 0")
    return value


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m ops.load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument(
        "--threads", type=int, default=1, help="threads per worker; >1 is gthread (default 1)"
    )
    parser.add_argument(
        "--configs",
        type=parse_configs,
        help=f"several WORKERSxTHREADS to compare, e.g. {','.join(f'{w}x{t}' for w, t in DEFAULT_CONFIGS)}",
    )
    parser.add_argument("--seconds", type=positive, default=10.0, help="length of each step (default 10)")
    parser.add_argument(
        "--concurrency",
        type=parse_counts,
        default=list(DEFAULT_CONCURRENCY),
        help="client counts, comma-separated (default 1,2,4,8,16)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="measure each step this many times, report the median (default 1)",
    )
    parser.add_argument("--endpoints", default="detect,compare", help="detect,compare (default both)")
    parser.add_argument(
        "--engine-processes",
        type=int,
        default=len(os.sched_getaffinity(0)),
        help="processes for the engine-alone baseline (default: the usable cores)",
    )
    parser.add_argument("--no-engine", action="store_true", help="skip the engine-alone baseline")
    parser.add_argument("--json", action="store_true", help="print one JSON record instead of the tables")
    args = parser.parse_args(argv)
    args.endpoints = [name.strip() for name in args.endpoints.split(",") if name.strip()]
    unknown = set(args.endpoints) - {"detect", "compare"}
    if unknown or not args.endpoints:
        parser.error(f"--endpoints: choose from detect, compare (got {args.endpoints})")
    if args.configs is None:
        if args.workers < 1 or args.threads < 1:
            parser.error("--workers and --threads must be at least 1")
        args.configs = [(args.workers, args.threads)]
    if args.engine_processes < 1 or args.rounds < 1:
        parser.error("--engine-processes and --rounds must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)

    def progress(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    load_before = os.getloadavg()[0]
    configs, engine = measure(
        configs=args.configs,
        endpoints=args.endpoints,
        concurrency=args.concurrency,
        seconds=args.seconds,
        rounds=args.rounds,
        engine_processes=0 if args.no_engine else args.engine_processes,
        progress=progress,
    )
    conditions = {
        "cores": len(os.sched_getaffinity(0)),
        "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "seconds": args.seconds,
        "rounds": args.rounds,
    }
    text, record = report(configs, engine, conditions)
    print(json.dumps(record, indent=2) if args.json else text)
    if failed(configs):
        print("FAILED: some requests did not succeed (see errors and 5xx above)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

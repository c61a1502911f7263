"""The physical limit the load run compares with: the engine alone, in one spawned process per
core (no HTTP, no Django, no database or storage), doing what detect or compare asks of it for
the same uploads, for the same time.

Apart from ops/load.py so that the closed-loop run and this baseline each read on their own.
"""

from __future__ import annotations

import multiprocessing
import queue
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ops.harness import COMPARE_PHOTOS, DETECT_PHOTO, percentile, photo

ENGINE_START_TIMEOUT = 300.0  # seconds for the engine processes to load their models


ENGINE_IMAGES: dict[str, Callable[[], list[bytes]]] = {
    "detect": lambda: [photo(DETECT_PHOTO)],
    "compare": lambda: [photo(name) for name in COMPARE_PHOTOS],
}


def _engine_work(kind: str, images: Sequence[bytes]) -> Callable[[], object]:
    """What the endpoint asks of the engine for these uploads, as the views do it."""
    from faceengine import decode, get_engine, read_header
    from faceengine.imageio import ANALYSIS_SIDE

    engine = get_engine()  # the same threads setting (FACEPORTAL_ENGINE_THREADS) as the workers

    def load(data: bytes) -> Any:
        read_header(data)
        return decode(data, max_side=ANALYSIS_SIDE)

    if kind == "detect":
        return lambda: engine.analyze(load(images[0]), max_faces=None, embed=False, require_face=False)

    def compare() -> object:
        faces = [engine.analyze(load(data), max_faces=4, embed=True, require_face=True) for data in images]
        return engine.compare(faces[0], faces[1])

    return compare


def _engine_process(kind: str, images: list[bytes], seconds: float, barrier: Any, results: Any) -> None:
    work = _engine_work(kind, images)
    work()  # warm-up: models loaded, first-run allocations done
    work()
    barrier.wait(timeout=ENGINE_START_TIMEOUT)  # every process starts timing together
    latencies = []
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        begin = time.perf_counter()
        work()
        latencies.append((time.perf_counter() - begin) * 1000)
    results.put((latencies, time.perf_counter() - started))


@dataclass
class EngineRun:
    processes: int
    requests: int
    throughput: float
    p50_ms: float


def engine_throughput(kind: str, images: Sequence[bytes], processes: int, seconds: float) -> EngineRun:
    """The engine in `processes` fresh processes (spawned: no HTTP, no Django) for `seconds`."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(processes)
    results = context.Queue()
    children = [
        context.Process(target=_engine_process, args=(kind, list(images), seconds, barrier, results))
        for _ in range(processes)
    ]
    for child in children:
        child.start()
    collected: list[tuple[list[float], float]] = []
    deadline = time.monotonic() + ENGINE_START_TIMEOUT + seconds
    try:
        while len(collected) < processes:
            try:
                collected.append(results.get(timeout=1))
            except queue.Empty:
                if any(child.exitcode not in (None, 0) for child in children):
                    raise RuntimeError("an engine process failed (its error is printed above)") from None
                if time.monotonic() > deadline:
                    raise TimeoutError("the engine processes did not finish in time") from None
    finally:
        for child in children:
            if child.is_alive() and len(collected) < processes:
                child.terminate()
            child.join()
    latencies = [value for run, _ in collected for value in run]
    # Each process's own rate, added up: together they are what the cores can do.
    throughput = sum(len(run) / elapsed for run, elapsed in collected if elapsed > 0)
    return EngineRun(processes, len(latencies), throughput, percentile(latencies, 50))

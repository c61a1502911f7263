"""Stage timings of the engine, for whoever wants them (the service exports them as
Prometheus histograms) without the engine knowing who listens.

An observer is called with the stage's name and its duration in seconds, on the thread that
ran the stage; it must be fast and must not raise.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

Observer = Callable[[str, float], None]

STAGES = ("decode", "resize", "detect", "landmarks", "quality", "embed", "compare", "mask")

_observers: list[Observer] = []


def observe_stages(observer: Observer) -> None:
    """Adds an observer once (idempotent, so that app reloads do not double-count)."""
    if observer not in _observers:
        _observers.append(observer)


def forget_stages(observer: Observer) -> None:
    if observer in _observers:
        _observers.remove(observer)


@contextmanager
def timed(stage: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        if _observers:
            seconds = time.perf_counter() - started
            for observer in _observers:
                observer(stage, seconds)

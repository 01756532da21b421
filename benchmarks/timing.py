"""Repeated wall-clock measurements and the facts of the machine they were taken on."""

from __future__ import annotations

import gc
import os
import platform
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import Any

__all__ = ["Stats", "calls_for", "machine", "measure", "measure_interleaved", "take_turns"]


@dataclass(frozen=True)
class Stats:
    """Seconds of each repetition, summarised by their median, min and max."""

    runs: tuple[float, ...]

    @property
    def median(self) -> float:
        ordered = sorted(self.runs)
        mid = len(ordered) // 2
        return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2

    @property
    def min(self) -> float:
        return min(self.runs)

    @property
    def max(self) -> float:
        return max(self.runs)

    def to_dict(self) -> dict[str, Any]:
        return {"median": self.median, "min": self.min, "max": self.max, **asdict(self)}


def measure(
    run: Callable[[], object],
    repeats: int,
    before: Callable[[], object] | None = None,
    calls: int = 1,
) -> Stats:
    """Time ``run()`` ``repeats`` times; ``before()`` runs untimed ahead of each repetition.

    A repetition times ``calls`` calls in a row and records the time per call. The
    last call's result is dropped and garbage collected outside the timed region (a
    loop's earlier ones are dropped as the next call replaces them), so one
    repetition's leftovers do not slow the next one down.
    """
    runs = []
    for _ in range(repeats):
        if before is not None:
            before()
        gc.collect()
        start = time.perf_counter()
        for _ in range(calls):
            result = run()
        runs.append((time.perf_counter() - start) / calls)
        del result
    return Stats(tuple(runs))


def calls_for(run: Callable[[], object], seconds: float) -> int:
    """How many calls of ``run`` in a row last at least ``seconds`` (1, 2, 5, 10, 20, ...),
    as ``timeit``'s autorange picks them: a call much faster than that is timed as a
    loop, whose per-call time the timer's resolution and one-off stalls (a page fault,
    a cold cache after ``gc.collect``) move far less than a single call's."""
    if seconds <= 0:
        return 1
    calls = 1
    while True:
        for factor in (1, 2, 5):
            number = calls * factor
            if measure(run, 1, calls=number).runs[0] * number >= seconds:
                return number
        calls *= 10


def measure_interleaved(
    runs: dict[str, Callable[[], object]], repeats: int, min_seconds: float = 0.0
) -> dict[str, Stats]:
    """Time each of ``runs`` ``repeats`` times, taking turns (``take_turns``); each
    repetition lasts at least ``min_seconds`` (``calls_for``)."""
    calls = {name: calls_for(run, min_seconds) for name, run in runs.items()}
    times: dict[str, list[float]] = {name: [] for name in runs}
    for name in take_turns(list(runs), repeats):
        times[name].extend(measure(runs[name], 1, calls=calls[name]).runs)
    return {name: Stats(tuple(times[name])) for name in runs}


def take_turns(names: Sequence[Any], repeats: int) -> Iterator[Any]:
    """Each of ``names`` ``repeats`` times, in rounds, each round starting one further on.

    On a shared machine load comes in bursts; taking turns spreads a burst over all
    the contenders instead of over one, so their ratios stay meaningful.
    """
    names = list(names)
    for rep in range(repeats):
        yield from names[rep % len(names) :] + names[: rep % len(names)]


def _version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def _memory_bytes() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def _load() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def machine() -> dict[str, Any]:
    """Cores, memory, load, platform and the versions of everything measured."""
    packages = [
        "mixupy_dask",
        "mixupy",
        "numpy",
        "pandas",
        "dask",
        "distributed",
        "pyarrow",
        "matplotlib",
    ]
    return {
        "cpu_count": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "memory_bytes": _memory_bytes(),
        "load_average": _load(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "versions": {name: _version(name) for name in packages},
        "when_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }

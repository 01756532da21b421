"""Peak memory of the in-memory route, each measurement in a fresh Python process.

A fresh process per (method, rows) keeps one measurement's freed-but-kept memory
out of the next. Two views of the same call, both relative to the input's size:

- ``tracemalloc``: the peak of traced allocations (numpy reports its buffers to it)
  above what was allocated before the call;
- ``rss``: the process's peak resident set size (``ru_maxrss``) above its resident
  size just before the call, which also counts allocator and page effects.

Run as ``python -m benchmarks.peak_memory ROWS METHOD``; prints one JSON object.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tracemalloc
from typing import Any

__all__ = ["measure_in_subprocess", "run"]


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * resource.getpagesize()


def _measure(rows: int, method: str) -> dict[str, Any]:
    from .in_memory import METHODS, make_frame

    frame = make_frame(rows)
    call = METHODS[method]
    call(frame.iloc[:1000])  # imports and one-off caches are not the call's memory
    input_bytes = int(frame.memory_usage(index=False).sum())

    rss_before = _rss_bytes()
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    out = call(frame)
    rss_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    del out

    tracemalloc.start()
    base, _ = tracemalloc.get_traced_memory()
    out = call(frame)
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    output_bytes = int(out.memory_usage(index=False).sum())
    return {
        "method": method,
        "rows": rows,
        "input_bytes": input_bytes,
        "output_bytes": output_bytes,
        "tracemalloc_peak_bytes": traced_peak - base,
        "tracemalloc_peak_over_input": (traced_peak - base) / input_bytes,
        # ru_maxrss only rises: if the process peaked higher while building the input,
        # the call's own peak is hidden and the figure is a lower bound.
        "rss_peak_bytes": max(rss_peak, peak_before) - rss_before,
        "rss_peak_over_input": (max(rss_peak, peak_before) - rss_before) / input_bytes,
        "rss_peak_hidden": rss_peak <= peak_before,
    }


def measure_in_subprocess(rows: int, method: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.peak_memory", str(rows), method],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(sizes: list[int], log=print) -> list[dict[str, Any]]:
    from .in_memory import METHODS

    results = []
    for rows in sizes:
        for method in METHODS:
            result = measure_in_subprocess(rows, method)
            log(
                f"memory     n={rows:>10,}  {method:<12} peak "
                f"{result['tracemalloc_peak_over_input']:.2f}x input (tracemalloc), "
                f"{result['rss_peak_over_input']:.2f}x (RSS)"
            )
            results.append(result)
    return results


if __name__ == "__main__":
    print(json.dumps(_measure(int(sys.argv[1]), sys.argv[2])))

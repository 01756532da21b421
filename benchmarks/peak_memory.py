"""Peak memory of the in-memory route, each measurement in a fresh Python process.

A fresh process per (method, rows) keeps one measurement's freed-but-kept memory
out of the next. Two views of the same call, both relative to the input's size:

- ``tracemalloc``: the peak of traced allocations (numpy reports its buffers to it)
  above what was allocated before the call;
- ``rss``: the process's peak resident set size (``VmHWM``, reset just before the
  call) above its resident size just before the call, which also counts allocator
  and page effects.

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


def _reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark of this process (Linux >= 4.0); False if unable.

    Needed because ``ru_maxrss`` survives ``exec``: a process started by a big parent
    starts with the parent's peak, which would hide the call's own.
    """
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    return True


def peak_rss_bytes() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def _measure(rows: int, method: str) -> dict[str, Any]:
    from .in_memory import METHODS, make_frame

    frame = make_frame(rows)
    call = METHODS[method]
    call(frame.iloc[:1000])  # imports and one-off caches are not the call's memory
    input_bytes = int(frame.memory_usage(index=False).sum())

    reset = _reset_peak_rss()
    rss_before = _rss_bytes()
    peak_before = peak_rss_bytes()
    out = call(frame)
    rss_peak = peak_rss_bytes()
    del out
    # Without a reset the peak mark may predate the call; then the call's peak is unknown.
    hidden = not reset and rss_peak <= peak_before
    rss_growth = None if hidden else rss_peak - rss_before

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
        "rss_peak_bytes": rss_growth,
        "rss_peak_over_input": None if hidden else rss_growth / input_bytes,
    }


def _times(ratio: float | None) -> str:
    return "unknown" if ratio is None else f"{ratio:.2f}x"


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
                f"{_times(result['rss_peak_over_input'])} (RSS)"
            )
            results.append(result)
    return results


if __name__ == "__main__":
    print(json.dumps(_measure(int(sys.argv[1]), sys.argv[2])))

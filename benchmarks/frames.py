"""Polars and Arrow frames through ``mixup`` against the pandas route on the same data.

``python -m benchmarks.frames [--rows N] [--repeats R] [--out DIR]``: two tables of
``N`` rows (default 1e6) — 10 float64 columns, and the mixed-type table of
``benchmarks/mixed.py`` (``categorical="sample", integers="round",
missing="available"``) — each as a pandas frame, a Polars frame and a pyarrow Table
holding the same values, timed taking turns (``measure_interleaved``), and each call's
memory: the peak resident set above the data already loaded, in a fresh process per
call. Writes ``frames.json`` and ``frames.md`` into ``DIR`` (default: benchmarks/).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from .in_memory import ALPHA
from .mixed import MIXED_OPTIONS, make_tables
from .timing import machine, measure_interleaved

HERE = os.path.dirname(os.path.abspath(__file__))
KINDS = ("pandas", "polars", "pyarrow")


def tables(rows: int) -> dict[str, tuple[pd.DataFrame, dict[str, Any]]]:
    """The pandas frames and their options, by table name."""
    rng = np.random.default_rng(0)
    floats = pd.DataFrame(rng.standard_normal((10, rows)).T, columns=[f"x{i}" for i in range(10)])
    mixed, _ = make_tables(rows)
    return {"10 float64": (floats, {}), "mixed": (mixed, MIXED_OPTIONS)}


def as_kind(frame: pd.DataFrame, kind: str) -> Any:
    if kind == "pandas":
        return frame
    table = pa.Table.from_pandas(frame, preserve_index=False)
    if kind == "pyarrow":
        return table
    import polars as pl

    return pl.from_arrow(table)


def _peak_mib(rows: int, table: str, kind: str) -> float:
    """Peak RSS of one call above the data loaded, in a fresh process."""
    code = (
        "import resource, sys; from benchmarks.frames import _one; "
        f"_one({rows}, {table!r}, {kind!r})"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=os.path.dirname(HERE),
    )
    return float(done.stdout.strip().splitlines()[-1])


def _one(rows: int, table: str, kind: str) -> None:
    from mixupy_dask import mixup

    frame, options = tables(rows)[table]
    data = as_kind(frame, kind)
    del frame
    mixup(as_kind(tables(1000)[table][0], kind), alpha=ALPHA, seed=0, **options)  # imports
    base = _rss_mib()
    mixup(data, alpha=ALPHA, seed=0, **options)
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - base)


def _rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def run(rows: int, repeats: int, log=print) -> list[dict[str, Any]]:
    from mixupy_dask import mixup

    found = []
    for name, (frame, options) in tables(rows).items():
        data = {kind: as_kind(frame, kind) for kind in KINDS}
        calls = {
            kind: (lambda d=d, o=options: mixup(d, alpha=ALPHA, seed=0, **o))
            for kind, d in data.items()
        }
        for call in calls.values():
            call()  # warm
        timed = measure_interleaved(calls, repeats)
        del data, calls
        base = timed["pandas"].median
        for kind, stats in timed.items():
            peak = _peak_mib(rows, name, kind)
            log(
                f"frames  n={rows:>10,}  {name:<11} {kind:<8} median {stats.median:7.3f} s  "
                f"x{stats.median / base:5.2f}  peak +{peak:7.1f} MiB"
            )
            found.append(
                {
                    "table": name,
                    "kind": kind,
                    "rows": rows,
                    **stats.to_dict(),
                    "vs_pandas": stats.median / base,
                    "peak_mib": peak,
                }
            )
    return found


def markdown(found: list[dict[str, Any]]) -> str:
    lines = [
        "| table | frame | rows | median s | x pandas | peak MiB above input |",
        "|---|---|---|---|---|---|",
    ]
    for r in found:
        lines.append(
            f"| {r['table']} | {r['kind']} | {r['rows']:,} | {r['median']:.3f} | "
            f"{r['vs_pandas']:.2f} | {r['peak_mib']:.0f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.frames")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--out", default=HERE)
    args = parser.parse_args(argv)
    found = run(args.rows, args.repeats)
    with open(os.path.join(args.out, "frames.json"), "w") as f:
        json.dump({"machine": machine(), "results": found}, f, indent=1)
    with open(os.path.join(args.out, "frames.md"), "w") as f:
        f.write(markdown(found))


if __name__ == "__main__":
    main()

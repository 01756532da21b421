"""C-Mixup (``bandwidth``): our sampler against the dense reference and plain mixup.

Each measurement runs in a fresh Python process (``python -m benchmarks.regression
--one METHOD ROWS``), which reports its wall time and its peak RSS growth during the
call (``VmHWM`` reset just before), so no measurement inherits another's memory.

- ``dense``: C-Mixup as the paper's code samples it: the N x N matrix of kernel
  weights, normalised per row, then one ``numpy.random.choice`` per row. Partners
  only (no mixing), so the comparison flatters it.
- ``ours-partners``: our partners for the same rows (``LabelKernel.partners``).
- ``plain`` / ``cmixup``: ``mixup(df, labels="y")`` and the same with
  ``bandwidth``, in memory (n x 10 float64 features and a float64 target).
- ``parquet-plain`` / ``parquet-cmixup``: ``augment_parquet`` of the same table on a
  ``LocalCluster`` of 2 workers x 1 thread (2 GiB each), out of core.

Run: ``python -m benchmarks.regression --out benchmarks/regression.md``.
Times are not asserted anywhere; the targets are reported, met or not.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Any

import numpy as np

SIGMA = 0.1  # of a standard normal target: a tenth of its spread
SEED = 0


def make_frame(rows: int):
    import pandas as pd

    rng = np.random.default_rng(1)
    x = rng.normal(size=(rows, 10))
    frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(10)])
    frame["y"] = x[:, :3].sum(axis=1) / np.sqrt(3) * 0.8 + 0.6 * rng.normal(size=rows)
    return frame


def _rss() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def _peak() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def _reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def dense_partners(y: np.ndarray, sigma: float, seed: int) -> np.ndarray:
    """The paper's way: N x N weights (float64), normalised rows, a choice per row."""
    rng = np.random.default_rng(seed)
    w = y[:, None] - y[None, :]
    w *= w
    w *= -1.0 / (2 * sigma**2)
    np.exp(w, out=w)
    w /= w.sum(axis=1, keepdims=True)
    n = len(y)
    return np.array([rng.choice(n, p=w[i]) for i in range(n)])


def one(method: str, rows: int) -> dict[str, Any]:
    """Run one measurement in this process; return seconds and peak RSS growth."""
    from mixupy_dask import augment_parquet, mixup
    from mixupy_dask._core.kernel import LabelKernel
    from mixupy_dask._core.random import Keys

    frame = make_frame(rows)
    call: Any
    if method == "dense":
        y = frame["y"].to_numpy()
        call = lambda: dense_partners(y, SIGMA, SEED)  # noqa: E731
    elif method == "ours-partners":
        y = frame["y"].to_numpy()[None, :]
        call = lambda: LabelKernel(Keys(SEED), SIGMA, y).partners(np.arange(rows), 0)  # noqa: E731
    elif method in ("plain", "cmixup"):
        options = {"bandwidth": SIGMA} if method == "cmixup" else {}
        mixup(frame.iloc[:1000], seed=SEED, labels="y", **options)  # imports, caches
        call = lambda: mixup(frame, seed=SEED, labels="y", **options)  # noqa: E731
    else:  # parquet-*
        import distributed

        options = {"bandwidth": SIGMA} if method == "parquet-cmixup" else {}
        work = tempfile.mkdtemp(prefix="mixupy-regression-")
        frame.to_parquet(os.path.join(work, "src.parquet"), row_group_size=500_000)
        del frame
        cluster = distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, memory_limit="2GiB", dashboard_address=None
        )
        client = distributed.Client(cluster)

        def call():
            augment_parquet(os.path.join(work, "src.parquet"), os.path.join(work, "dst"),
                            seed=SEED, labels="y", client=client, **options)  # fmt: skip

        before, _ = _rss(), _reset_peak()
        start = time.perf_counter()
        call()
        seconds = time.perf_counter() - start
        workers = client.run(lambda: _peak())
        client.close()
        cluster.close()
        shutil.rmtree(work, ignore_errors=True)
        return {
            "seconds": seconds,
            "peak_bytes": _peak() - before,  # the client's growth
            "worker_peak_bytes": max(workers.values()),
        }
    before = _rss()
    _reset_peak()
    start = time.perf_counter()
    call()
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "peak_bytes": _peak() - before}


def measure(method: str, rows: int) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.regression", "--one", method, str(rows)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


PLAN = [
    (5_000, ("dense", "ours-partners", "plain", "cmixup")),
    (20_000, ("dense", "ours-partners", "plain", "cmixup")),
    (1_000_000, ("plain", "cmixup", "parquet-plain", "parquet-cmixup")),
    (10_000_000, ("plain", "cmixup", "parquet-plain", "parquet-cmixup")),
]


def _mib(b: float) -> str:
    return f"{b / 2**20:,.0f} MiB"


def report(results: dict[str, dict[str, Any]]) -> str:
    load = os.getloadavg()
    lines = [
        "# C-Mixup (`bandwidth`) benchmark",
        "",
        "`python -m benchmarks.regression` on "
        f"{os.cpu_count()} cores, {platform.platform()}, Python {platform.python_version()}; "
        f"load average {load[0]:.1f} at the end (the machine is shared: absolute times "
        "are inflated, ratios within a row are what this reports).",
        "",
        f"Data: n x 10 float64 features and a float64 target y (normal), sigma = {SIGMA}. "
        "One run per cell, each in a fresh process; peak = peak RSS growth during the call.",
        "",
        "## Against the dense reference (partners only)",
        "",
        "| rows | dense time | ours time | dense / ours | dense peak | ours peak |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for rows in (5_000, 20_000):
        d, o = results.get(f"dense/{rows}"), results.get(f"ours-partners/{rows}")
        if d and o:
            lines.append(
                f"| {rows:,} | {d['seconds']:.3g} s | {o['seconds']:.3g} s | "
                f"{d['seconds'] / o['seconds']:,.0f} | {_mib(d['peak_bytes'])} | "
                f"{_mib(o['peak_bytes'])} |"
            )
    lines += [
        "",
        "## Against plain mixup on the same data",
        "",
        "| rows | route | plain time | C-Mixup time | time ratio | plain peak | C-Mixup peak "
        "| peak ratio |",
        "|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for rows in (5_000, 20_000, 1_000_000, 10_000_000):
        for route, (a, b) in (
            ("in memory", ("plain", "cmixup")),
            ("Parquet", ("parquet-plain", "parquet-cmixup")),
        ):
            p, c = results.get(f"{a}/{rows}"), results.get(f"{b}/{rows}")
            if not (p and c):
                continue
            peak = (
                f"{_mib(p['peak_bytes'])} | {_mib(c['peak_bytes'])} | "
                f"{c['peak_bytes'] / max(p['peak_bytes'], 1):.2f}"
            )
            if "worker_peak_bytes" in p:
                peak = (
                    f"client {_mib(p['peak_bytes'])}, worker {_mib(p['worker_peak_bytes'])} | "
                    f"client {_mib(c['peak_bytes'])}, worker {_mib(c['worker_peak_bytes'])} | "
                    f"worker {c['worker_peak_bytes'] / max(p['worker_peak_bytes'], 1):.2f}"
                )
            lines.append(
                f"| {rows:,} | {route} | {p['seconds']:.3g} s | {c['seconds']:.3g} s | "
                f"{c['seconds'] / p['seconds']:.2f} | {peak} |"
            )
    t = results.get("cmixup/1000000"), results.get("plain/1000000")
    if all(t):
        ratio = t[0]["seconds"] / t[1]["seconds"]  # type: ignore[index]
        lines += [
            "",
            "## Targets",
            "",
            f"- in memory at 1e6 rows, C-Mixup / plain mixup time: {ratio:.2f} (target <= 3): "
            f"{'met' if ratio <= 3 else 'NOT met'}",
            f"- 1e7 rows in memory: {'ran' if results.get('cmixup/10000000') else 'not run'}",
        ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--one", nargs=2, metavar=("METHOD", "ROWS"))
    parser.add_argument("--out", default="benchmarks/regression.md")
    parser.add_argument("--max-rows", type=float, default=1e7)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one[0], int(args.one[1]))))
        return
    results: dict[str, dict[str, Any]] = {}
    for rows, methods in PLAN:
        if rows > args.max_rows:
            continue
        for method in methods:
            results[f"{method}/{rows}"] = measure(method, rows)
            print(method, rows, results[f"{method}/{rows}"], flush=True)
    with open(args.out.replace(".md", ".json"), "w") as f:
        json.dump(results, f, indent=1)
    with open(args.out, "w") as f:
        f.write(report(results))


if __name__ == "__main__":
    main()

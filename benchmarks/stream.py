"""MixupStream against its floors: ``python -m benchmarks.stream [--rows N] [--out DIR]``.

Numpy batches of 1024 rows from Parquet (10 float64 columns, in 16 files at 1x and 64
at 4x, row groups of 65,536 rows), rows per second of one epoch, each in a fresh
process (its peak RSS is the loader's memory; imports are made before the clock runs):

- ``stream``: ``MixupStream(src, 1024, window=W)``, numpy format;
- ``read``: a plain sequential pyarrow read of the same files into numpy batches;
- ``floor``: the same work single-threaded without keyed randomness: read a window,
  permute, Beta weights, gather partners, mix, reorder, cut batches;
- ``dask``: a fresh ``mixup(ddf, seed=(s, e))`` per epoch with its partitions iterated;

and in memory: ``MixupStream(frame, 1024, format="torch")`` against a plain torch loop
doing in-batch mixup (timm-style: one lambda per batch, partners by ``flip``).
Results go to ``stream.json`` / ``stream.md`` in ``--out`` (default: this folder).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

from .peak_memory import peak_rss_bytes

COLUMNS, BATCH = 10, 1024
#: Parquet files at 1x: the issue's measurement of today's way split its data in 16.
FILES = 16


def write(path: str, rows: int, files: int) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    os.makedirs(path)
    rng = np.random.default_rng(0)
    for i in range(files):
        n = rows // files + (rows % files if i == files - 1 else 0)
        table = pa.table({f"c{j}": rng.standard_normal(n) for j in range(COLUMNS)})
        pq.write_table(table, f"{path}/part.{i:03d}.parquet", row_group_size=65_536)


def run_stream(src: str, window: int) -> int:
    from mixupy_dask import MixupStream

    rows = 0
    for b in MixupStream(src, BATCH, seed=1, window=window).batches(0, format="numpy"):
        rows += len(b["c0"])
    return rows


def run_read(src: str, window: int) -> int:
    import pyarrow.dataset as ds

    rows = 0
    for batch in ds.dataset(src).to_batches(batch_size=BATCH, use_threads=False):
        cols = {c: batch.column(c).to_numpy() for c in batch.schema.names}
        rows += len(cols["c0"])
    return rows


def run_floor(src: str, window: int) -> int:
    import pyarrow.dataset as ds

    rng = np.random.default_rng(0)
    rows = 0
    reader = ds.dataset(src).to_batches(batch_size=65_536, use_threads=False)
    pending: list = []
    held = 0
    for batch in [*reader, None]:
        if batch is not None:
            pending.append(np.stack([c.to_numpy() for c in batch.columns]))
            held += batch.num_rows
            if held < window:
                continue
        if not pending:
            break
        x = np.concatenate(pending, axis=1)
        pending, held = [], 0
        n = x.shape[1]
        partner = rng.permutation(n)
        lam = rng.beta(4.0, 4.0, n)
        mixed = lam * x + (1 - lam) * x[:, partner]
        order = rng.permutation(n)
        for a in range(0, n, BATCH):
            b = mixed[:, order[a : a + BATCH]]
            rows += b.shape[1]
    return rows


def run_dask(src: str, window: int) -> int:
    import dask
    import dask.dataframe as dd

    from mixupy_dask import mixup

    rows = 0
    with dask.config.set(scheduler="threads"):
        out = mixup(dd.read_parquet(src), seed=(1, 0))
        for part in out.partitions:
            rows += len(part.compute())
    return rows


def run_torch_stream(rows: int) -> int:
    import pandas as pd

    from mixupy_dask import MixupStream

    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.standard_normal((rows, COLUMNS)), columns=[f"c{j}" for j in range(10)])
    df = df.astype(np.float32).assign(y=rng.integers(0, 2, rows).astype(np.float32))
    done = 0
    for b in MixupStream(df, BATCH, seed=1).batches(0, format="torch"):
        done += len(b["y"])
    return done


def run_torch_loop(rows: int) -> int:
    import torch

    g = torch.Generator().manual_seed(0)
    x = torch.randn(rows, COLUMNS, generator=g)
    y = torch.randint(0, 2, (rows,), generator=g).float()
    beta = torch.distributions.Beta(4.0, 4.0)
    done = 0
    order = torch.randperm(rows, generator=g)
    for a in range(0, rows, BATCH):
        i = order[a : a + BATCH]
        xb, yb = x[i], y[i]
        lam = float(beta.sample())
        xb = lam * xb + (1 - lam) * xb.flip(0)
        yb = lam * yb + (1 - lam) * yb.flip(0)
        done += len(yb)
    return done


def child(name: str, arg: str, window: int) -> None:
    # Imports are a process's one-time cost, not an epoch's: made before the clock runs.
    import dask.dataframe  # noqa: F401
    import pyarrow.dataset  # noqa: F401

    import mixupy_dask  # noqa: F401

    if name.startswith("torch"):
        import torch  # noqa: F401
    start = time.perf_counter()
    target = globals()[f"run_{name}"]
    rows = target(int(arg)) if name.startswith("torch") else target(arg, window)
    seconds = time.perf_counter() - start
    peak = peak_rss_bytes()  # this process's own (ru_maxrss may be the parent's)
    print(json.dumps({"rows": rows, "seconds": seconds, "peak": peak}))


def measure(name: str, arg: str, window: int) -> dict:
    env = {**os.environ, "ARROW_DEFAULT_MEMORY_POOL": "system"}
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.stream", "--child", name, arg, str(window)],
        capture_output=True, text=True, env=env, check=True,
    )  # fmt: skip
    result = json.loads(out.stdout.splitlines()[-1])
    result["rows_per_s"] = result["rows"] / result["seconds"]
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=6_250_000, help="rows at 1x (0.5 GB)")
    parser.add_argument("--window", type=int, default=1_000_000)
    parser.add_argument("--out", default=os.path.dirname(__file__))
    parser.add_argument("--child", nargs=3)
    args = parser.parse_args()
    if args.child:
        child(*args.child[:2], int(args.child[2]))
        return
    results: dict = {"rows_1x": args.rows, "window": args.window, "parquet": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for scale in (1, 4):
            src = f"{tmp}/x{scale}"
            write(src, args.rows * scale, FILES * scale)
            runs = {name: measure(name, src, args.window) for name in ("stream", "read", "floor")}
            if scale == 1:
                runs["dask"] = measure("dask", src, args.window)
            results["parquet"][f"{scale}x"] = runs
            print(scale, {k: round(v["rows_per_s"]) for k, v in runs.items()}, flush=True)
            shutil_rm(src)
    rows = min(args.rows, 2_000_000)
    results["memory"] = {n: measure(n, str(rows), 0) for n in ("torch_stream", "torch_loop")}
    with open(os.path.join(args.out, "stream.json"), "w") as f:
        json.dump(results, f, indent=1)
    with open(os.path.join(args.out, "stream.md"), "w") as f:
        f.write(report(results))
    print(report(results))


def shutil_rm(path: str) -> None:
    import shutil

    shutil.rmtree(path)


def report(r: dict) -> str:
    lines = [
        f"# MixupStream ({r['rows_1x']:,} rows x {COLUMNS} float64 at 1x, window "
        f"{r['window']:,}, batches of {BATCH})",
        "",
        "| data | stream rows/s | / floor | / plain read | stream peak MiB | floor peak MiB |",
        "|---|---|---|---|---|---|",
    ]
    for scale, runs in r["parquet"].items():
        s, fl, rd = runs["stream"], runs["floor"], runs["read"]
        lines.append(
            f"| {scale} | {s['rows_per_s']:,.0f} | {s['rows_per_s'] / fl['rows_per_s']:.2f} | "
            f"{s['rows_per_s'] / rd['rows_per_s']:.2f} | {s['peak'] / 2**20:.0f} | "
            f"{fl['peak'] / 2**20:.0f} |"
        )
    d = r["parquet"]["1x"]
    epoch_stream, epoch_dask = d["stream"]["seconds"], d["dask"]["seconds"]
    floors = [
        runs["stream"]["rows_per_s"] / runs["floor"]["rows_per_s"] for runs in r["parquet"].values()
    ]
    peaks = [runs["stream"]["peak"] / 2**20 for runs in r["parquet"].values()]
    memory = r["memory"]
    lines += [
        "",
        f"Per epoch at 1x: stream {epoch_stream:.1f} s, fresh `mixup(ddf)` with its "
        f"partitions iterated {epoch_dask:.1f} s ({epoch_dask / epoch_stream:.1f}x slower).",
        "",
        f"In memory ({memory['torch_stream']['rows']:,} rows, torch batches): stream "
        f"{memory['torch_stream']['rows_per_s']:,.0f} rows/s, plain torch in-batch "
        f"mixup loop {memory['torch_loop']['rows_per_s']:,.0f} rows/s.",
        "",
        "## Targets",
        "",
        "| target | measured | met |",
        "|---|---|---|",
        f"| stream >= 1.2x the floor's rows/s (1x, 4x) | {', '.join(f'{x:.2f}' for x in floors)} "
        f"| {'yes' if min(floors) >= 1.2 else 'no'} |",
        f"| per epoch >= 10x faster than today's way (1x) | {epoch_dask / epoch_stream:.1f}x "
        f"| {'yes' if epoch_dask >= 10 * epoch_stream else 'no'} |",
        f"| loader peak flat from 1x to 4x | {peaks[0]:.0f} -> {peaks[-1]:.0f} MiB "
        f"| {'yes' if peaks[-1] <= 1.1 * peaks[0] else 'no'} |",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()

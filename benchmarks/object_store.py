"""Parquet to Parquet on an object store: S3 through a real S3 API server on 127.0.0.1.

The same data at 1x and 4x, on one two-worker LocalCluster, every job in the same run,
taking turns:

- ``parquet copy``: ``dd.read_parquet`` + ``to_parquet``, which writes each file straight
  to its final key and commits nothing: the least a job can do on the store.
- ``mixupy_dask``: ``augment_parquet`` into a new destination: files written in place,
  then the ``_SUCCESS`` manifest.
- ``mixupy_dask overwrite``: ``augment_parquet(overwrite=True)`` over a complete
  dataset: staged under a hidden prefix, then swapped in (server-side copies).

each on S3 (moto's ``ThreadedMotoServer`` in a process of its own, so that serving
requests does not share the client's interpreter) and, for comparison, on local disk.
The commit step (after the last file is written: listing, manifest, rename or swap) is
timed by the library itself and read from its ``mixupy_dask.commit`` log record, so its
share of each run is measured in that run.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from .parquet_route import COLUMNS, WRITE, start_cluster
from .timing import Stats, take_turns

__all__ = ["run"]

SCALES = (1, 4)
#: Files per 1x: enough that the commit's per-file requests show, if they cost.
FILES_PER_UNIT = 8
#: The server, in its own process; it stops when its standard input closes.
SERVER = (
    "import logging, sys\n"
    "from moto.server import ThreadedMotoServer\n"
    "logging.getLogger('werkzeug').setLevel(logging.ERROR)\n"
    "server = ThreadedMotoServer(ip_address='127.0.0.1', port=0, verbose=False)\n"
    "server.start()\n"
    "print(server.get_host_and_port()[1], flush=True)\n"
    "sys.stdin.read()\n"
    "server.stop()\n"
)


class _Commits(logging.Handler):
    """Collects the library's commit records (mode, seconds of the write and commit)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        if hasattr(record, "mixupy_commit"):
            self.records.append(record.mixupy_commit)


def _copy(client, src: str, dst: str, options: dict[str, Any]) -> None:
    import dask.dataframe as dd

    frame = dd.read_parquet(src, storage_options=options)
    write = frame.to_parquet(dst, compute=False, storage_options=options, **WRITE)
    with client.as_current():
        client.compute(write).result()


def _mixup(client, src: str, dst: str, options: dict[str, Any], overwrite: bool = False):
    from mixupy_dask import augment_parquet

    return augment_parquet(
        src, dst, seed=0, client=client, storage_options=options, overwrite=overwrite
    )


def _server() -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    port = int(proc.stdout.readline())
    return proc, f"http://127.0.0.1:{port}"


def run(base_bytes: int, repeats: int, workdir: str, log=print) -> dict[str, Any]:
    """Time every job on S3 and on local disk at 1x and 4x; return rows of results."""
    import s3fs

    from mixupy_dask import make_data

    base_rows = max(1000, base_bytes // (COLUMNS * 8))
    server, endpoint = _server()
    options = {"key": "bench", "secret": "bench", "client_kwargs": {"endpoint_url": endpoint}}
    fs = s3fs.S3FileSystem(skip_instance_cache=True, **options)
    fs.mkdir("bench")
    commits = _Commits()
    logger = logging.getLogger("mixupy_dask.commit")
    logger.addHandler(commits)
    previous_level = logger.level
    logger.setLevel(logging.INFO)
    cluster, client = start_cluster()
    results = []
    try:
        # The data: one make-data run of the largest size; 1x is its first files.
        biggest = os.path.join(workdir, "data-4x")
        log(f"s3         generating {base_rows * max(SCALES):,} rows with make_data")
        make_data(biggest, base_rows * max(SCALES), COLUMNS,
                  partitions=FILES_PER_UNIT * max(SCALES), client=client)  # fmt: skip
        files = sorted(f for f in os.listdir(biggest) if f.endswith(".parquet"))
        for scale in SCALES:
            local = os.path.join(workdir, f"data-{scale}x")
            os.makedirs(local, exist_ok=True)
            chosen = files[: FILES_PER_UNIT * scale]
            for name in chosen:
                if not os.path.exists(os.path.join(local, name)):
                    shutil.copy2(os.path.join(biggest, name), os.path.join(local, name))
            fs.put([os.path.join(local, n) for n in chosen],
                   [f"bench/data-{scale}x/{n}" for n in chosen])  # fmt: skip
        for scale in SCALES:
            results += _one_scale(client, fs, options, workdir, scale, base_rows, repeats, commits,
                                  log)  # fmt: skip
    finally:
        logger.removeHandler(commits)
        logger.setLevel(previous_level)
        client.close()
        cluster.close()
        server.stdin.close()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    import moto

    return {
        "results": results,
        "server": f"moto {moto.__version__} ThreadedMotoServer on 127.0.0.1, its own process",
        "cluster": {"workers": 2, "threads_per_worker": 1},
        "base_rows": base_rows,
        "files_per_1x": FILES_PER_UNIT,
    }


def _one_scale(client, fs, options, workdir, scale, base_rows, repeats, commits, log):
    """Every job at one size, ``repeats`` times each, taking turns."""
    local_src = os.path.join(workdir, f"data-{scale}x")
    s3_src = f"s3://bench/data-{scale}x"
    parquet_bytes = sum(os.path.getsize(os.path.join(local_src, f)) for f in os.listdir(local_src))

    def local_clean(path: str) -> Callable[[], None]:
        return lambda: shutil.rmtree(path, ignore_errors=True)

    def s3_clean(path: str) -> Callable[[], None]:
        def clean() -> None:
            fs.invalidate_cache()
            if fs.exists(path):
                fs.rm(path, recursive=True)

        return clean

    local_out, local_over = os.path.join(workdir, "out"), os.path.join(workdir, "over")
    jobs: dict[tuple[str, str], tuple[Callable[[], Any], Callable[[], None]]] = {
        ("local", "parquet copy"): (
            lambda: _copy(client, local_src, local_out, {}), local_clean(local_out)),
        ("local", "mixupy_dask"): (
            lambda: _mixup(client, local_src, local_out, {}), local_clean(local_out)),
        ("local", "mixupy_dask overwrite"): (
            lambda: _mixup(client, local_src, local_over, {}, overwrite=True), lambda: None),
        ("s3", "parquet copy"): (
            lambda: _copy(client, s3_src, "s3://bench/out", options), s3_clean("bench/out")),
        ("s3", "mixupy_dask"): (
            lambda: _mixup(client, s3_src, "s3://bench/out", options), s3_clean("bench/out")),
        ("s3", "mixupy_dask overwrite"): (
            lambda: _mixup(client, s3_src, "s3://bench/over", options, overwrite=True),
            lambda: None),
    }  # fmt: skip
    # The datasets that the overwrite jobs replace, complete before the first timing.
    _mixup(client, local_src, local_over, {}, overwrite=True)
    _mixup(client, s3_src, "s3://bench/over", options, overwrite=True)
    names = list(jobs)
    times: dict[tuple[str, str], list[float]] = {job: [] for job in names}
    shares: dict[tuple[str, str], list[dict[str, Any]]] = {job: [] for job in names}
    for job in take_turns(names, repeats):
        once, clean = jobs[job]
        clean()
        commits.records.clear()
        start = time.perf_counter()
        once()
        times[job].append(time.perf_counter() - start)
        if commits.records:
            shares[job].append(commits.records[-1])
    for clean in (local_clean(local_out), local_clean(local_over)):
        clean()
    s3_clean("bench/out")()
    s3_clean("bench/over")()
    rows = []
    for store, method in names:
        stats = Stats(tuple(times[(store, method)]))
        copy = Stats(tuple(times[(store, "parquet copy")]))
        row = {
            "store": store,
            "method": method,
            "scale": scale,
            "rows": base_rows * scale,
            "columns": COLUMNS,
            "parquet_bytes": parquet_bytes,
            **stats.to_dict(),
            "vs_copy": stats.median / copy.median,
        }
        records = shares[(store, method)]
        if records:
            commit = Stats(tuple(r["commit_seconds"] for r in records))
            row["commit_mode"] = records[-1]["mode"]
            row["commit_seconds"] = commit.median
            # Each run's commit over that same run's time, then their median.
            runs = zip(records, times[(store, method)], strict=True)
            row["commit_share"] = Stats(tuple(r["commit_seconds"] / t for r, t in runs)).median
        rows.append(row)
        share = f"  commit {row['commit_share']:6.1%}" if records else ""
        log(f"s3         {scale}x {store:<5} {method:<22} median {stats.median:7.2f} s  "
            f"/ copy {row['vs_copy']:5.2f}{share}")  # fmt: skip
    return rows

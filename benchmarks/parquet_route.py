"""The Parquet route, end to end: Parquet in, Parquet out, on a two-worker LocalCluster.

Three jobs on the same files, each reading every row and writing every row:

- ``parquet copy``: ``dd.read_parquet`` + ``to_parquet``; the least any route can do.
- ``parquet read``: ``dd.read_parquet`` of every partition, nothing written: what
  reading the input once more costs. mixupy_dask reads each partition twice (its
  partners before the shuffle, its left rows after it, so no partition is held
  across the shuffle's barrier), so its floor is a hash shuffle plus this.
- ``dask shuffle``: read, add a uniform random column, ``set_index`` on it with
  explicit divisions (one all-to-all shuffle, Dask's default method), write.
  Mixup's own data movement is one such shuffle, so this is its natural peer.
- ``hash shuffle``: read, add a uniform random column, ``shuffle(on=)`` it (p2p), write:
  the plainest all-to-all shuffle Dask has.
- ``naive dask``: what a user without this package would write: partners by a hash
  shuffle on a random key, lined up with the input by position (partition by
  partition, cut to the shorter), ``lam * x + (1 - lam) * y`` with Beta draws seeded
  per partition. Rows whose partner partition is shorter are dropped, and nothing
  orders the rows a p2p shuffle delivers, so its output is reproducible only as long
  as arrival order happens to repeat; the benchmark runs it twice on the 1x data and
  reports whether the outputs agree.
- ``mixupy_dask``: ``augment_parquet(src, dst, client=client)``.

The cluster is two workers of one thread and 512 MiB each, the memory the user guide
recommends; every run of every method at each size is on a fresh one
(``fresh_client``), and the methods take turns (``take_turns``), so that a burst of
load on the machine falls on all of them alike. The data
sets (1x, 2x, 4x a base size) are one ``mixupy-dask make-data`` run of the largest size,
in files of the partition size ``augment_parquet`` chooses for these workers
(``auto_blocksize``, 8 MiB), so every method reads the same partitions; the smaller
sizes are hard links to its first files.
Peak memory comes from the scheduler: Dask's ``MemorySampler`` for the cluster total,
and a poll of each worker's process memory.
"""

from __future__ import annotations

import math
import os
import shutil
import threading
from collections.abc import Callable
from contextlib import contextmanager
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from .timing import Stats, measure, take_turns

__all__ = ["run"]

COLUMNS = 10
SCALES = (1, 2, 4)
#: Memory per worker: the user guide's recommendation (docs/large-data.md) for out-of-core jobs.
WORKER_MEMORY = "512MiB"
#: Seconds between memory samples.
INTERVAL = 0.25


def _generate(client, root: str, base_rows: int, files_per_unit: int, log) -> dict[int, str]:
    """Write the 4x data set with ``make_data`` on our cluster; link the smaller ones."""
    from mixupy_dask import make_data

    biggest = os.path.join(root, f"data-{max(SCALES)}x")
    log(f"parquet    generating {base_rows * max(SCALES):,} rows with make_data")
    make_data(
        biggest,
        base_rows * max(SCALES),
        COLUMNS,
        partitions=files_per_unit * max(SCALES),
        client=client,
    )
    files = sorted(f for f in os.listdir(biggest) if f.endswith(".parquet"))
    paths = {max(SCALES): biggest}
    for scale in SCALES:
        if scale == max(SCALES):
            continue
        path = os.path.join(root, f"data-{scale}x")
        os.makedirs(path)
        for name in files[: files_per_unit * scale]:
            try:
                os.link(os.path.join(biggest, name), os.path.join(path, name))
            except OSError:  # no hard links here: copy
                shutil.copy2(os.path.join(biggest, name), os.path.join(path, name))
        paths[scale] = path
    return paths


#: The peers write as mixupy_dask does (no dictionary for float columns, which only
#: slows writing random floats), so the ratios compare the pipelines, not encodings.
WRITE = {"write_index": False, "use_dictionary": False}


def _copy(client, src: str, dst: str) -> int:
    import dask.dataframe as dd

    frame = dd.read_parquet(src)
    client.compute(frame.to_parquet(dst, compute=False, **WRITE)).result()
    return frame.npartitions


def _read(client, src: str, dst: str) -> int:
    import dask.dataframe as dd

    frame = dd.read_parquet(src)
    client.compute(frame.map_partitions(len)).result()
    return frame.npartitions


def _with_key(part: pd.DataFrame, partition_info=None) -> pd.DataFrame:
    rng = np.random.default_rng(partition_info["number"] if partition_info else 0)
    return part.assign(_key=rng.random(len(part)))


def _shuffle(client, src: str, dst: str) -> int:
    import dask.dataframe as dd

    frame = dd.read_parquet(src)
    keyed = frame.map_partitions(_with_key, meta=frame._meta.assign(_key=0.0))
    npartitions = frame.npartitions
    divisions = np.linspace(0.0, 1.0, npartitions + 1).tolist()
    shuffled = keyed.set_index("_key", divisions=divisions)
    client.compute(shuffled.to_parquet(dst, compute=False, **WRITE)).result()
    return shuffled.npartitions


def _hash_shuffle(client, src: str, dst: str) -> int:
    import dask.dataframe as dd

    frame = dd.read_parquet(src)
    keyed = frame.map_partitions(_with_key, meta=frame._meta.assign(_key=0.0))
    shuffled = keyed.shuffle(on="_key", npartitions=frame.npartitions).drop(columns="_key")
    client.compute(shuffled.to_parquet(dst, compute=False, **WRITE)).result()
    return shuffled.npartitions


def _naive_mix(left: pd.DataFrame, right: pd.DataFrame, partition_info=None) -> pd.DataFrame:
    n = min(len(left), len(right))
    rng = np.random.default_rng(partition_info["number"] if partition_info else 0)
    lam = rng.beta(4.0, 4.0, n)[:, None]
    x, y = left.to_numpy()[:n], right.drop(columns="_key").to_numpy()[:n]
    return pd.DataFrame(lam * x + (1 - lam) * y, columns=left.columns)


def _naive(client, src: str, dst: str) -> int:
    import dask.dataframe as dd

    frame = dd.read_parquet(src)
    keyed = frame.map_partitions(_with_key, meta=frame._meta.assign(_key=0.0))
    partners = keyed.shuffle(on="_key", npartitions=frame.npartitions)
    mixed = dd.map_partitions(_naive_mix, frame.clear_divisions(), partners, meta=frame._meta)
    client.compute(mixed.to_parquet(dst, compute=False, **WRITE)).result()
    return mixed.npartitions


def _digest(path: str) -> str:
    import hashlib

    return hashlib.sha256(pd.read_parquet(path).to_numpy().tobytes()).hexdigest()


def _reproducible(client, method, src: str, workdir: str) -> bool:
    """Whether two runs of ``method`` on ``src`` write the same values."""
    digests = []
    for i in range(2):
        dst = os.path.join(workdir, f"repro-{i}")
        method(client, src, dst)
        digests.append(_digest(dst))
        shutil.rmtree(dst, ignore_errors=True)
    return digests[0] == digests[1]


def _mixup(client, src: str, dst: str) -> int:
    from mixupy_dask import augment_parquet

    summary = augment_parquet(src, dst, alpha=4.0, seed=0, client=client)
    return summary.files_written


METHODS: dict[str, Callable[[Any, str, str], int]] = {
    "parquet copy": _copy,
    "parquet read": _read,
    "dask shuffle": _shuffle,
    "hash shuffle": _hash_shuffle,
    "naive dask": _naive,
    "mixupy_dask": _mixup,
}


@contextmanager
def _worker_peaks(client):
    """Poll each worker's process memory (as the scheduler knows it); yield the peaks."""
    peaks: dict[str, int] = {}
    stop = threading.Event()

    def memory(dask_scheduler=None):
        return {addr: ws.memory.process for addr, ws in dask_scheduler.workers.items()}

    def poll():
        while True:  # one sample at once, then every INTERVAL, and one after the stop
            for addr, used in client.run_on_scheduler(memory).items():
                peaks[addr] = max(peaks.get(addr, 0), used)
            if stop.wait(INTERVAL):
                break

    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    try:
        yield peaks
    finally:
        stop.set()
        thread.join()


def _most(*values: int | None) -> int | None:
    """The largest of ``values`` that are known."""
    return max((v for v in values if v is not None), default=None)


def start_cluster():
    """Two single-threaded workers of ``WORKER_MEMORY`` each."""
    from distributed import Client

    from mixupy_dask import local_cluster

    cluster = local_cluster(workers=2, threads_per_worker=1, memory_limit=WORKER_MEMORY)
    return cluster, Client(cluster)


def _import_libraries() -> None:
    import dask.dataframe  # noqa: F401
    import pyarrow.parquet  # noqa: F401

    import mixupy_dask  # noqa: F401


@contextmanager
def fresh_client():
    """A client of a cluster of its own, its workers' libraries imported; closed on exit.

    Every timed run gets one: memory a job leaves behind on a worker (Arrow's and the
    allocator's buffers, p2p's state) must not count against the next one, and one
    run's stall must not stop the others. (Dask's own hash shuffle paused both workers
    at 4x after five earlier jobs on the same cluster.) The imports are done before
    the clock starts, as on a cluster that has run anything.
    """
    cluster, client = start_cluster()
    try:
        client.run(_import_libraries)
        yield client
    finally:
        client.close()
        cluster.close()


def layout(client, base_bytes: int) -> tuple[int, int]:
    """Rows of the 1x data set and its number of files of ``auto_blocksize`` bytes each.

    Files of whole partitions: ``dd.read_parquet`` reads one partition per file (a row
    group cannot be split), so with larger files the baselines would hold larger
    partitions than ``augment_parquet`` and, at 512 MiB, lose their workers.
    """
    from mixupy_dask._dask.cluster import auto_blocksize

    base_rows = max(1000, base_bytes // (COLUMNS * 8))
    return base_rows, max(2, math.ceil(base_rows * COLUMNS * 8 / auto_blocksize(client)))


def run(base_bytes: int, repeats: int, workdir: str, log=print) -> dict[str, Any]:
    """Time every method on every size; return rows of results and the cluster facts."""
    from distributed.diagnostics import MemorySampler

    with fresh_client() as client:
        base_rows, files_per_unit = layout(client, base_bytes)
        paths = _generate(client, workdir, base_rows, files_per_unit, log)
        limits = [w["memory_limit"] for w in client.scheduler_info()["workers"].values()]
    results = []
    dst = os.path.join(workdir, "out")

    def clean() -> None:
        shutil.rmtree(dst, ignore_errors=True)

    for scale in SCALES:
        src = paths[scale]
        parquet_bytes = sum(os.path.getsize(os.path.join(src, f)) for f in os.listdir(src))
        times: dict[str, list[float]] = {name: [] for name in METHODS}
        facts: dict[str, dict[str, Any]] = {}
        for name in take_turns(list(METHODS), repeats):
            partitions: list[int] = []
            with fresh_client() as client, _worker_peaks(client) as peaks:
                sampler = MemorySampler()
                with sampler.sample(name, client=client, measure="process", interval=INTERVAL):
                    run = partial(METHODS[name], client, src, dst)
                    times[name] += measure(lambda r=run, p=partitions: p.append(r()), 1, clean).runs
            clean()
            samples = sampler.to_pandas()
            before = facts.get(name, {})
            facts[name] = {
                "partitions": partitions[-1],
                "peak_worker_memory_bytes": _most(
                    before.get("peak_worker_memory_bytes"), max(peaks.values(), default=None)
                ),
                "peak_cluster_memory_bytes": _most(
                    before.get("peak_cluster_memory_bytes"),
                    int(samples[name].max()) if name in samples else None,
                ),
            }
            log(
                f"parquet    {scale}x {base_rows * scale:>11,} rows  {name:<12} "
                f"{times[name][-1]:8.2f} s"
            )
        stats = {name: Stats(tuple(runs)) for name, runs in times.items()}
        for name, s in stats.items():
            results.append(
                {
                    "method": name,
                    "scale": scale,
                    "rows": base_rows * scale,
                    "columns": COLUMNS,
                    "input_bytes": base_rows * scale * COLUMNS * 8,
                    "parquet_bytes": parquet_bytes,
                    **s.to_dict(),
                    **facts[name],
                    "vs_copy": s.median / stats["parquet copy"].median,
                    "vs_shuffle": s.median / stats["dask shuffle"].median,
                    "vs_hash_shuffle": s.median / stats["hash shuffle"].median,
                    "vs_shuffle_and_read": s.median
                    / (stats["hash shuffle"].median + stats["parquet read"].median),
                }
            )
    reproducible = {}
    for name in ("naive dask", "mixupy_dask"):
        with fresh_client() as client:
            reproducible[name] = _reproducible(client, METHODS[name], paths[min(SCALES)], workdir)
    log(f"parquet    reproducible output: {reproducible}")
    first = {r["method"]: r["median"] for r in results if r["scale"] == min(SCALES)}
    for r in results:
        r["vs_own_1x"] = r["median"] / first[r["method"]]
    return {
        "results": results,
        "reproducible": reproducible,
        "cluster": {
            "workers": 2,
            "threads_per_worker": 1,
            "worker_memory_limit_bytes": limits,
            "base_rows": base_rows,
            "files_per_1x": files_per_unit,
            "fresh_cluster_per_run": True,
        },
    }

"""Out of core: a data set three times the cluster's memory, through the real CLI.

Two worker processes of 512 MiB each (the smallest that hold pandas, pyarrow and
distributed with room to work: an idle one already uses ~240 MiB after its first task)
augment 3 GiB of float64. The run must complete without a worker being restarted, and
its output must be right: three output partitions are recomputed exactly from the
source rows they were mixed from, and every column's sum over the whole output is
checked against the sum the sampler's pairs and weights imply.
"""

from __future__ import annotations

import glob
import math
import os
import time

import numpy as np
import pyarrow.parquet as pq
import pytest

from mixupy_dask._core.random import Keys
from mixupy_dask._core.sampler import Sampler

from .helpers import HANG_GUARD, run_cli

pytestmark = pytest.mark.slow

distributed = pytest.importorskip("distributed")

WORKERS, MEMORY = 2, 512 * 2**20
COLUMNS = 40
ROWS = math.ceil(3 * WORKERS * MEMORY / (COLUMNS * 8))  # 3x the workers' memory as float64
ALPHA, SEED = 0.4, 11


def cli(*args: str, cwd) -> None:
    result = run_cli(*args, "--quiet", cwd=cwd, timeout=4 * HANG_GUARD)
    assert result.returncode == 0, result.stderr


def parquet_files(path) -> list[str]:
    return sorted(glob.glob(os.path.join(path, "*.parquet")))


def stream(path):
    """(first row, float64 values shaped (rows, columns)) of each file, in order."""
    start = 0
    for name in parquet_files(path):
        values = pq.read_table(name).to_pandas().to_numpy(np.float64)
        yield start, values
        start += len(values)


@pytest.fixture(scope="module")
def cluster():
    from mixupy_dask import local_cluster

    with (
        local_cluster(WORKERS, 1, MEMORY) as cluster,
        distributed.Client(cluster, set_as_default=False) as client,
    ):
        yield cluster, client


def test_workers_use_the_system_allocator_for_arrow(cluster):
    # mimalloc kept the p2p shuffle's freed memory per thread and paused 512 MiB workers.
    _, client = cluster
    backends = client.run(lambda: __import__("pyarrow").default_memory_pool().backend_name)
    assert set(backends.values()) == {"system"}


def test_three_times_memory_completes_exactly_without_restarts(cluster, tmp_path):
    cluster, client = cluster
    src, dst = tmp_path / "src", tmp_path / "dst"
    address = cluster.scheduler_address
    cli("make-data", src, "--rows", ROWS, "--columns", COLUMNS, "--scheduler", address,
        cwd=tmp_path)  # fmt: skip
    source_bytes = sum(os.path.getsize(f) for f in parquet_files(src))
    assert source_bytes >= 3 * WORKERS * MEMORY

    workers = client.run(os.getpid)  # {address: pid}: a restarted worker changes both
    sampler = distributed.diagnostics.MemorySampler()
    started = time.perf_counter()
    with sampler.sample("augment", client=client, interval=0.5):
        cli("augment", src, dst, "--alpha", ALPHA, "--seed", SEED, "--scheduler", address,
            cwd=tmp_path)  # fmt: skip
    seconds = time.perf_counter() - started
    assert client.run(os.getpid) == workers, "a worker was restarted during the run"
    peak = sampler.to_pandas()["augment"].max() / WORKERS
    print(f"\n{source_bytes / 2**30:.2f} GiB through {WORKERS} x {MEMORY / 2**20:.0f} MiB workers "
          f"in {seconds:.0f} s; peak {peak / 2**20:.0f} MiB per worker")  # fmt: skip
    assert peak < MEMORY

    # The pairs and weights of plain mixup with batch_size = n: output row t mixes
    # source row t (weight lam_t) with source row partner_t (weight 1 - lam_t).
    mixer = Sampler(Keys.from_seed(SEED), (ROWS,), ROWS, ALPHA)
    partner = mixer.partners(0, np.arange(ROWS, dtype=np.int64), 0)
    lam = mixer.weights(0, ROWS)
    weight = lam.copy()
    weight[partner] += 1 - lam  # a full cycle: every row is a partner exactly once

    out_files = parquet_files(dst)
    out_rows = np.array([pq.ParquetFile(f).metadata.num_rows for f in out_files])
    assert out_rows.sum() == ROWS
    offsets = np.concatenate([[0], np.cumsum(out_rows)])
    sample = sorted({0, len(out_files) // 2, len(out_files) - 1})
    wanted = {q: np.arange(offsets[q], offsets[q + 1]) for q in sample}
    needed = np.unique(np.concatenate([np.r_[r, partner[r]] for r in wanted.values()]))

    # One pass over the source: the rows the sampled partitions need, and the sums.
    rows, expected_sums = {}, np.zeros(COLUMNS)
    for start, values in stream(src):
        expected_sums += weight[start : start + len(values)] @ values
        here = needed[(needed >= start) & (needed < start + len(values))]
        rows.update(zip(here.tolist(), values[here - start], strict=True))

    got_sums = np.zeros(COLUMNS)
    for q, (_, values) in enumerate(stream(dst)):
        got_sums += values.sum(axis=0)
        if q in wanted:
            r = wanted[q]
            left = np.stack([rows[i] for i in r.tolist()])
            right = np.stack([rows[i] for i in partner[r].tolist()])
            expected = lam[r, None] * left + (1 - lam[r, None]) * right
            np.testing.assert_array_equal(values, expected, err_msg=f"output partition {q}")
    # Sums in another order: equal to rounding (~1e-12 here); one wrong row moves them ~1.
    np.testing.assert_allclose(got_sums, expected_sums, rtol=0, atol=1e-6)

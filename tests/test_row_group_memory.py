"""Memory bounded whatever the writer chose: row groups larger than the blocksize.

Partitions used to be whole row groups, so a writer's row group size set a task's
memory. Two layouts that stalled or killed the workers before row groups were sliced
(measured on the parent commit, same data, same cluster):

- one 20 MB row group per file through 2 workers x 512 MiB (blocksize 8 MiB): both
  workers paused at 412-454 MiB within 40 s and stayed paused (> 200 s, one restart);
- pyarrow's default row groups (1 Mi rows, 80 MB of 10 float64 columns) through 2
  workers x 1 GiB (blocksize 16 MiB): workers killed within 24 s (``KilledWorker``).

The issue's case is 3.2 GB as 160 such files; 1 GiB (50 files) reproduces the stall at
a third of the run time, so the suite keeps to a minute per test. Each run must finish
with no worker restarted (same pids) and no worker paused longer than ``MAX_PAUSE``,
sampled from the scheduler (see ``WorkerWatch``).
"""

from __future__ import annotations

import os
import time

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mixupy_dask import augment_parquet, local_cluster

from .helpers import WorkerWatch

pytestmark = pytest.mark.slow

distributed = pytest.importorskip("distributed")

COLUMNS = 10
MAX_PAUSE = 5.0  # seconds


def write(path, files: int, rows: int, row_group_size: int | None) -> int:
    """``files`` files of ``rows`` float64 rows; ``None``: pyarrow's default row groups."""
    os.makedirs(path)
    rng = np.random.default_rng(0)
    for i in range(files):
        table = pa.table({f"c{j}": rng.standard_normal(rows) for j in range(COLUMNS)})
        options = {} if row_group_size is None else {"row_group_size": row_group_size}
        pq.write_table(table, os.path.join(path, f"part.{i:03d}.parquet"), **options)
    return files * rows


@pytest.mark.parametrize(
    ("files", "rows", "row_group_size", "memory"),
    [
        pytest.param(50, 250_000, 250_000, "512MiB", id="one-20MB-row-group-per-file-512MiB"),
        pytest.param(5, 4_000_000, None, "1GiB", id="pyarrow-default-row-groups-1GiB"),
    ],
)
def test_large_row_groups_run_without_pause_or_restart(
    files, rows, row_group_size, memory, tmp_path
):
    src, dst = tmp_path / "src", tmp_path / "dst"
    n = write(src, files, rows, row_group_size)
    largest = max(
        pq.ParquetFile(src / name).metadata.row_group(0).total_byte_size for name in os.listdir(src)
    )
    with (
        local_cluster(2, 1, memory) as cluster,
        distributed.Client(cluster, set_as_default=False) as client,
    ):
        pids = client.run(os.getpid)
        started = time.perf_counter()
        with WorkerWatch(client) as watch:
            summary = augment_parquet(str(src), str(dst), seed=3, client=client)
        seconds = time.perf_counter() - started
        assert client.run(os.getpid) == pids, "a worker was restarted during the run"
    print(
        f"\n{n * COLUMNS * 8 / 2**30:.2f} GiB, row groups of {largest / 2**20:.0f} MiB, "
        f"2 x {memory}: {seconds:.0f} s, longest pause {watch.longest_pause():.1f} s, "
        f"peak {watch.peak_memory() / 2**20:.0f} MiB per worker"
    )
    assert summary.rows_out == n
    assert watch.samples, "the scheduler was never sampled"
    assert watch.longest_pause() <= MAX_PAUSE

"""``MixupStream`` out of core: a Parquet dataset several times larger than a cap on the
loader's memory streams through it with ``window`` well below the data, and the
batches sampled along the way are exactly those of the same stream over the frame in
memory (itself tested against ``mixup``, tests/test_stream.py).

The loader runs in a process of its own; its memory is its resident set (RSS), the cap
is on what it grows by from just after the stream is built (imports, pandas and
pyarrow are the same with or without a stream) to the end, measured as the kernel's
peak RSS of the process (``VmHWM``), which no sampling can miss. Not ``ru_maxrss``:
Linux keeps it across ``execve``, and ``subprocess`` starts the loader with ``vfork``
and ``exec``, so it starts at this process's own peak, that of writing the data: it
read 138-143 MiB "grown" at 5.12M rows and 46 MiB at 1M, growing with the data this
test wrote, while the loader's own peak grows by 50-58 MiB at 1M, 4M and 5.12M rows
alike (window 50k). The loader runs with Arrow's system allocator
(``ARROW_DEFAULT_MEMORY_POOL=system``), as ``local_cluster`` starts workers
(docs/design.md §10): the stream reads in a thread of its own, where Arrow's default
allocator keeps some freed pages (1M rows, window 100k: 63-64 MiB grown, 56-58 MiB
with the system allocator).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mixupy_dask import MixupStream

from .helpers import ENV, HANG_GUARD

pytestmark = pytest.mark.slow

ROWS, COLUMNS, FILES = 5_120_000, 10, 8  # 410 MB of float64
CAP = 128 * 2**20  # what the loader may grow by: the data is > 3x this
WINDOW, BATCH, SEED, EPOCH = 50_000, 4096, 13, 2
SAMPLE = (0, 1, 400, 1249)  # batches checked exactly (1249 is the last)

LOADER = """
import hashlib, json, re, sys
import psutil
from mixupy_dask import MixupStream

def peak():  # this process's peak RSS (getrusage's ru_maxrss may be its parent's)
    with open("/proc/self/status") as status:
        return int(re.search(r"VmHWM:\\s+(\\d+) kB", status.read()).group(1)) * 1024

src, window, batch, seed, epoch, sample = sys.argv[1:7]
sample = set(json.loads(sample))
stream = MixupStream(src, int(batch), seed=int(seed), window=int(window))
base = psutil.Process().memory_info().rss
hashes, rows = {}, 0
for k, b in enumerate(stream.batches(int(epoch), format="numpy")):
    rows += len(b["c0"])
    if k in sample:
        hashes[k] = hashlib.sha256(b"".join(v.tobytes() for v in b.values())).hexdigest()
print(json.dumps({"rows": rows, "grew": peak() - base, "hashes": hashes}))
"""


def digest(batch: pd.DataFrame) -> str:
    return hashlib.sha256(b"".join(batch[c].to_numpy().tobytes() for c in batch)).hexdigest()


def test_parquet_larger_than_the_memory_cap_streams_exactly(tmp_path):
    rng = np.random.default_rng(0)
    src = tmp_path / "src"
    src.mkdir()
    per = ROWS // FILES
    for i in range(FILES):
        table = pa.table({f"c{j}": rng.standard_normal(per) for j in range(COLUMNS)})
        pq.write_table(table, src / f"part.{i:03d}.parquet", row_group_size=65_536)
    assert ROWS * COLUMNS * 8 >= 3 * CAP
    result = subprocess.run(
        [sys.executable, "-c", LOADER, str(src), str(WINDOW), str(BATCH), str(SEED),
         str(EPOCH), json.dumps(SAMPLE)],
        capture_output=True, text=True, env={**ENV, "ARROW_DEFAULT_MEMORY_POOL": "system"},
        timeout=HANG_GUARD,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    print(
        f"\nloader grew by {out['grew'] / 2**20:.0f} MiB for {ROWS * COLUMNS * 8 / 2**20:.0f} MiB"
    )
    assert out["rows"] == ROWS
    # The same batches from the frame in memory, skipping to each (start=).
    stream = MixupStream(pd.read_parquet(src), BATCH, seed=SEED, window=WINDOW)
    for k in SAMPLE:
        batch = next(stream.batches(EPOCH, start=k))
        assert out["hashes"][str(k)] == digest(batch), k
    assert out["grew"] <= CAP  # last: the exactness above holds either way

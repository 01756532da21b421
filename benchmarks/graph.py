"""Graph size and construction time at many partitions, against Dask's own shuffles.

For P input partitions of a source whose row counts are known (as Parquet footers
give them), each method's collection is built and its task graph materialised as a
p2p shuffle, which is what a distributed client gets:

- ``mixupy_dask``: ``mixup`` of the source (the graph ``augment_parquet`` writes);
- ``set_index``: ``set_index`` on a random column with explicit divisions;
- ``hash shuffle``: ``shuffle(on=random column)``.

Reported per method: tasks per input partition before and after Dask's optimisation
(fusion), the seconds to build and materialise the graph (median of repeats,
interleaved), and the client memory the build allocated (tracemalloc peak).
"""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd

from .timing import measure_interleaved

__all__ = ["builders", "run"]

COLUMNS = 10
ROWS = 1000  # per partition: the graph does not depend on it


def _part(p: int) -> pd.DataFrame:
    rng = np.random.default_rng(p)
    return pd.DataFrame(
        rng.standard_normal((ROWS, COLUMNS)), columns=[f"x{i}" for i in range(COLUMNS)]
    )


def _keyed(p: int) -> pd.DataFrame:
    return _part(p).assign(key=np.random.default_rng(p).random(ROWS))


def builders(partitions: int) -> dict[str, Callable[[], Any]]:
    """Each method's lazy result on ``partitions`` partitions (nothing computed)."""
    from mixupy_dask._dask.source import Source
    from mixupy_dask._rows.call import prepare
    from mixupy_dask._rows.dask_route import mixup_dask

    def ours() -> Any:
        with dask.config.set({"dataframe.convert-string": False}):
            frame = dd.from_map(_part, range(partitions), meta=_part(0).iloc[:0])
        source = Source(frame, (ROWS,) * partitions, _part)
        return mixup_dask(source, prepare(source.meta, seed=1))

    def keyed() -> dd.DataFrame:
        with dask.config.set({"dataframe.convert-string": False}):
            return dd.from_map(_keyed, range(partitions), meta=_keyed(0).iloc[:0])

    divisions = list(np.linspace(0.0, 1.0, partitions + 1))
    return {
        "mixupy_dask": ours,
        "set_index": lambda: keyed().set_index("key", divisions=divisions),
        "hash shuffle": lambda: keyed().shuffle(on="key"),
    }


def _materialise(build: Callable[[], Any]) -> int:
    with dask.config.set({"dataframe.shuffle.method": "p2p"}):
        return len(build().__dask_graph__())


def _optimised(build: Callable[[], Any]) -> int:
    with dask.config.set({"dataframe.shuffle.method": "p2p"}):
        return len(build().optimize().__dask_graph__())


def _client_memory(build: Callable[[], Any]) -> int:
    tracemalloc.start()
    try:
        _materialise(build)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def run(sizes: list[int], repeats: int, log: Callable[[str], None]) -> list[dict[str, Any]]:
    rows = []
    for partitions in sizes:
        methods = builders(partitions)
        times = measure_interleaved(
            {name: (lambda b=b: _materialise(b)) for name, b in methods.items()}, repeats
        )
        base = times["set_index"].median
        for name, build in methods.items():
            started = time.perf_counter()
            tasks = _materialise(build)
            fused = _optimised(build)
            row = {
                "method": name,
                "partitions": partitions,
                "tasks_per_partition": tasks / partitions,
                "fused_tasks_per_partition": fused / partitions,
                "client_memory_bytes": _client_memory(build) if partitions <= 10_000 else None,
                "vs_set_index": times[name].median / base,
                **times[name].to_dict(),
            }
            rows.append(row)
            log(
                f"graph      P={partitions:>6,} {name:<13} {row['median']:.2f} s "
                f"({row['vs_set_index']:.2f}x set_index), {row['tasks_per_partition']:.2f} "
                f"tasks/partition ({row['fused_tasks_per_partition']:.2f} fused), client "
                f"{(row['client_memory_bytes'] or 0) / 2**20:.0f} MiB "
                f"[{time.perf_counter() - started:.0f} s]"
            )
    return rows

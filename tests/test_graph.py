"""Graph size: tasks per input partition against Dask's own ``set_index`` shuffle.

Counting tasks is no speed assertion: it is what the graph is, on any machine. The
target is at most 1.2x ``set_index``'s tasks per partition, for the graph a
distributed client gets (p2p), before Dask's fusion.
"""

from __future__ import annotations

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest

from mixupy_dask._dask.source import Source
from mixupy_dask._rows.call import prepare
from mixupy_dask._rows.dask_route import mixup_dask

P = 200
MAX_VS_SET_INDEX = 1.2


def part(p: int) -> pd.DataFrame:
    return pd.DataFrame(np.full((10, 3), float(p)), columns=["a", "b", "c"])


def tasks_per_partition(collection) -> float:
    with dask.config.set({"dataframe.shuffle.method": "p2p"}):
        return len(collection.__dask_graph__()) / P


def set_index_tasks() -> float:
    frame = dd.from_map(part, range(P), meta=part(0).iloc[:0])
    keyed = frame.assign(key=frame["a"] / P)
    return tasks_per_partition(keyed.set_index("key", divisions=list(np.linspace(0, 1, P + 1))))


@pytest.mark.parametrize("reread", [True, False], ids=["parquet-like", "in-memory"])
@pytest.mark.parametrize("options", [{}, {"labels": "c"}], ids=["plain", "labels"])
def test_tasks_per_partition_within_target(reread, options):
    frame = dd.from_map(part, range(P), meta=part(0).iloc[:0])
    source = Source(frame, (10,) * P, part if reread else None)
    ours = tasks_per_partition(mixup_dask(source, prepare(source.meta, seed=1, **options)))
    assert ours <= MAX_VS_SET_INDEX * set_index_tasks(), ours

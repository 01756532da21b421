"""The partner exchange: the one Dask shuffle that brings rows to their output partition.

Row mixup and series mixup both tag every row they send with the output partition
that needs it (a partner row, or a copy of a series), then call ``exchange``: Dask's
own shuffle (p2p on a distributed cluster, tasks or disk otherwise) routes each row
to exactly that partition. Routing is by partition number through ``set_index`` with
explicit divisions, not a hash shuffle, which could not route exactly; Dask assigns
a row to ``searchsorted(divisions, v, side="right") - 1``, so divisions
``0, 1, ..., Q - 1, Q - 1`` send value ``q`` to partition ``q``, empty ones included.
"""

from __future__ import annotations

import dask.dataframe as dd
import numpy as np
import pandas as pd

#: The routing column every sender adds: the output partition the row must reach.
DESTINATION = "_mixupy_partition"


def exchange(routed: dd.DataFrame, npartitions: int) -> dd.DataFrame:
    """``routed``'s rows moved to output partition ``row[DESTINATION]`` of ``npartitions``.

    Rows arrive in no particular order (receivers line them up by their own keys);
    the ``DESTINATION`` column becomes the index.
    """
    return routed.set_index(DESTINATION, divisions=[*range(npartitions), npartitions - 1])


def partition_numbers(npartitions: int) -> dd.Series:
    """A series whose partition ``p`` holds the one value ``p``.

    Passed beside a frame to ``dd.map_partitions``, it tells each task which partition
    it computes. ``partition_info`` cannot be trusted with that: when a caller selects
    partitions (``ddf.partitions[q]``, ``tail``), Dask pushes the selection below the
    mapped function and renumbers the tasks it keeps from 0.
    """
    return dd.from_map(_number, range(npartitions), meta=pd.Series([], dtype=np.int64))


def _number(p: int) -> pd.Series:
    return pd.Series([p], dtype=np.int64)

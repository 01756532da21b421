"""The partner exchange: the one Dask shuffle that brings rows to their output partition.

Row mixup and series mixup both tag every row they send with the output partition
that needs it (a partner row, or a copy of a series), then call ``exchange``: Dask's
own shuffle (p2p on a distributed cluster, tasks or disk otherwise) routes each row
to exactly that partition. Routing is by partition number: Dask's shuffle expression
takes a column named ``_partitions`` as the output partition of each row as it is
(p2p, tasks and disk alike; any other column would be hashed), which is what
``set_index`` with explicit divisions lowers to after computing that column, sorting
and setting the index. Calling it directly skips those steps: 5 tasks per partition
fewer, and no sort of rows that receivers line up by their own keys anyway.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd

#: The routing column every sender adds: the output partition the row must reach. The
#: name is the one Dask's shuffles read as a partition number instead of hashing it;
#: senders' other columns have positional or package-prefixed names, so none clashes.
DESTINATION = "_partitions"


def exchange(routed: dd.DataFrame, npartitions: int) -> dd.DataFrame:
    """``routed``'s rows moved to output partition ``row[DESTINATION]`` of ``npartitions``.

    Rows arrive in no particular order (receivers line them up by their own keys) and
    with an arbitrary index; whether the ``DESTINATION`` column is still there depends
    on the shuffle method (p2p drops it), so receivers must not read it. The method is
    Dask's default when the graph is lowered: p2p under a distributed client.
    """
    from dask.dataframe.dask_expr._collection import new_collection
    from dask.dataframe.dask_expr._shuffle import Shuffle

    return new_collection(Shuffle(routed.expr, DESTINATION, npartitions, ignore_index=True))


def tag_dtype(limit: int) -> np.dtype:
    """The integer type of routing tags below ``limit`` (output partitions, positions
    within one): int32 where it holds them, which takes 8 bytes a row off the shuffle
    for each pair of tags, else int64."""
    return np.dtype(np.int32 if limit < 2**31 else np.int64)


def partition_numbers(npartitions: int) -> dd.Series:
    """A series whose partition ``p`` holds the one value ``p``.

    Passed beside a frame to ``dd.map_partitions``, it tells each task which partition
    it computes. ``partition_info`` cannot be trusted with that: when a caller selects
    partitions (``ddf.partitions[q]``, ``tail``), Dask pushes the selection below the
    mapped function and renumbers the tasks it keeps from 0.
    """
    # Integers only: without Dask's string conversion, which adds a task per partition.
    with without_string_conversion():
        return dd.from_map(_number, range(npartitions), meta=pd.Series([], dtype=np.int64))


def _number(p: int) -> pd.Series:
    return pd.Series([p], dtype=np.int64)


#: ``dask.config.set`` saves and restores one process-wide dict: two threads building
#: graphs at once (two jobs in one process) could restore each other's value and leave
#: the conversion off for good. One lock keeps this package's own uses in turn.
_CONVERSION_LOCK = threading.RLock()


@contextlib.contextmanager
def without_string_conversion() -> Iterator[None]:
    """Build a frame without Dask's string conversion (``dataframe.convert-string``):
    pandas' default ``str`` columns keep their dtype (Dask would make them ``string``)."""
    with _CONVERSION_LOCK, dask.config.set({"dataframe.convert-string": False}):
        yield

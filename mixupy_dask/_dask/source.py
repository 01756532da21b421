"""The input of the dask routes: a ``Source`` is what they need of it — the partitions
as a lazy frame, their row counts when known without reading data, and a way to read
one partition again."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import dask.dataframe as dd
import pandas as pd

#: Default target of uncompressed bytes per partition, where no cluster says better.
DEFAULT_BLOCKSIZE = 64 * 2**20


@dataclass(frozen=True)
class Source:
    """The input of a dask route.

    Attributes
    ----------
    frame : dask.dataframe.DataFrame
        The partitions, lazily.
    lengths : tuple of int, optional
        Rows per partition, when known without reading data (Parquet footers).
    read : callable, optional
        ``read(p)`` returns partition ``p`` afresh. Mixing tasks then read their own
        left rows after the shuffle, so no input partition is held (or spilled) across
        the shuffle's barrier; without it they come from ``frame``.
    """

    frame: dd.DataFrame
    lengths: tuple[int, ...] | None = None
    read: Callable[[int], pd.DataFrame] | None = None

    @classmethod
    def of(cls, frame: dd.DataFrame) -> Source:
        """A user's dask frame as a source, its partitions fixed.

        Dask's ``read_parquet`` fuses neighbouring partitions when a computation reads
        only some of the columns, as many as those columns allow: a pass over the label
        column, or mixing fewer columns than were read, would see other partitions than
        the plan was made for. Such a frame is taken as the partitions ``to_delayed``
        gives, which no later projection changes.
        """
        from dask.dataframe.dask_expr.io.parquet import ReadParquet

        if any(isinstance(node, ReadParquet) for node in frame.expr.walk()):
            frame = dd.from_delayed(frame.to_delayed(), meta=frame._meta, verify_meta=False)
        return cls(frame)

    @property
    def meta(self) -> pd.DataFrame:
        return self.frame._meta

"""The Polars adapter: an eager ``polars.DataFrame`` through its Arrow table.

``DataFrame.to_arrow(compat_level=CompatLevel.newest())`` shares Polars' buffers
(numbers, bools' bitmaps, strings as Arrow string views; categoricals' indices are
rebuilt), so the Arrow adapter does the work and the result comes back through
``polars.from_arrow`` (string views again, taken without a copy), each column that
keeps its input's type (integers under ``integers="round"``, categoricals, enums,
strings, datetimes, durations) cast to exactly that Polars type.

Polars is imported only to handle a Polars object: ``accepts`` looks at the object's
module first, so ``import mixupy_dask`` (and mixing pandas frames) never imports it.
A ``LazyFrame`` is refused with what to do instead (``advice``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from .._core.labels import Encoders
from .._kernel.layout import Layout
from .._kernel.rows import Rows
from .arrow import ArrowAdapter
from .base import FrameAdapter

_ARROW = ArrowAdapter()


def is_polars(data: Any) -> bool:
    """Whether ``data`` is an object of Polars (without importing Polars otherwise)."""
    return type(data).__module__.partition(".")[0] == "polars"


#: The frame of the session under way in this thread, and its Arrow table once made.
_SESSION = threading.local()


def _table(data: Any) -> pa.Table:
    """``data``'s Arrow table, sharing Polars' buffers.

    At the newest compatibility level strings stay Polars' string views (at the default
    one ``to_arrow`` copies every string column into a large string); the Arrow
    adapter codes them as they are, casting to large strings only a column it does not
    code. Categoricals' indices cost a pass: in a ``session`` (one ``mixup`` call, whose
    methods each ask for the table) the session's frame is converted once.
    """
    if isinstance(data, pa.Table):
        return data
    import polars as pl

    level = pl.CompatLevel.newest()
    if id(data) != id(getattr(_SESSION, "frame", None)):
        return data.to_arrow(compat_level=level)
    if _SESSION.table is None:
        _SESSION.table = data.to_arrow(compat_level=level)
    return _SESSION.table


@contextmanager
def _session(data: Any) -> Iterator[None]:
    if id(data) == id(getattr(_SESSION, "frame", None)):  # nested: the outer one's table
        yield
        return
    outer = getattr(_SESSION, "frame", None), getattr(_SESSION, "table", None)
    _SESSION.frame, _SESSION.table = data, None
    try:
        yield
    finally:
        _SESSION.frame, _SESSION.table = outer


class PolarsAdapter(FrameAdapter):
    name = "polars"

    def accepts(self, data: Any) -> bool:
        if not is_polars(data):
            return False
        import polars as pl

        return isinstance(data, pl.DataFrame)

    def advice(self, data: Any) -> str | None:
        if not is_polars(data) or type(data).__name__ != "LazyFrame":
            return None
        return (
            "`data` is a polars LazyFrame, which mixupy_dask does not take: mix data that "
            "fits in memory as `data.collect()`; for data that does not, write it to "
            "Parquet (`data.sink_parquet(path)`) and use `augment_parquet` on the files"
        )

    def session(self, data: Any) -> AbstractContextManager[None]:
        return _session(data)

    # The route hands back what ``encode`` returned (an Arrow table): every method
    # takes that as well as a Polars frame.

    def schema(self, data: Any) -> pd.Series:
        return _ARROW.schema(_table(data))

    def value_counts(self, data: Any, column: Any) -> pd.Series:
        return _ARROW.value_counts(_table(data), column)

    def encode(self, data: Any, encoders: Encoders) -> pa.Table:
        return _ARROW.encode(_table(data), encoders)

    def to_rows(self, data: Any, layout: Layout) -> Rows:
        return _ARROW.to_rows(_table(data), layout)

    def from_rows(
        self,
        rows: Rows,
        layout: Layout,
        like: Any,
        provenance: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    ) -> Any:
        return _polars(_ARROW.from_rows(rows, layout, _table(like), provenance), like)

    def to_pandas(self, data: Any) -> pd.DataFrame:
        return _ARROW.to_pandas(_table(data))

    def from_pandas(self, frame: pd.DataFrame, like: Any) -> Any:
        return _polars(_ARROW.from_pandas(frame, _table(like)), like)


def _polars(table: pa.Table, like: Any) -> Any:
    """``table`` as a Polars frame, columns kept from ``like`` in ``like``'s exact types."""
    import polars as pl

    out = pl.from_arrow(table)
    assert isinstance(out, pl.DataFrame)
    kept = {}
    for name, dtype in like.schema.items():
        got = out.schema.get(name)
        if got is None or got == dtype:
            continue
        # Types come back where the values are the input's kind of values: strings,
        # categoricals, times (not a series id, which becomes an int64 series number);
        # rounded integers.
        numeric = got.is_numeric() or got == pl.Boolean
        if not numeric or (dtype.is_integer() and got.is_integer()):
            kept[name] = dtype
    return out.cast(kept) if kept else out

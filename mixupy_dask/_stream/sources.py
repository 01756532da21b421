"""The rows a stream mixes, read by global row ranges: a pandas frame, a Dask frame
(its partitions computed one at a time) or a Parquet dataset (its row groups read
through ``ParquetSource``, footers first, so only the ranges asked for are decoded)."""

from __future__ import annotations

import os
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pyarrow as pa
from dask.dataframe.utils import UNKNOWN_CATEGORIES

from .._dask.source import DEFAULT_BLOCKSIZE, Source
from .._io.parquet import MIN_SLICE_BYTES, ParquetSource, concat_tables
from .._kernel.kinds import category_codes
from .._kernel.layout import Layout
from .._rows.call import RowCall
from .._rows.dask_route import count_partitions
from ..errors import MixupError, MixupTypeError

#: ``window=None`` holds every row in memory: a Parquet dataset whose uncompressed size
#: is more than this share of the memory available is refused (it names ``window``).
MEMORY_SHARE = 0.5


class Rows:
    """Rows by global position; ``frame`` is the empty frame of their columns."""

    n: int
    meta: pd.DataFrame

    def read(self, runs: Sequence[tuple[int, int]]) -> pd.DataFrame:
        """The rows of ``runs`` (ascending ``[start, stop)``), with a fresh RangeIndex."""
        raise NotImplementedError

    def lazy(self) -> dd.DataFrame | None:
        """The rows as a lazy frame, for a pass over a few columns (None: in memory)."""
        return None

    def lengths(self) -> tuple[int, ...] | None:
        return None

    def check_fits(self) -> None:
        """``window=None`` reads every row into memory: refuse what cannot fit."""


@dataclass
class FrameRows(Rows):
    """A pandas frame."""

    frame: pd.DataFrame

    def __post_init__(self) -> None:
        self.n = len(self.frame)
        self.meta = self.frame.iloc[:0]

    def read(self, runs: Sequence[tuple[int, int]]) -> pd.DataFrame:
        if len(runs) == 1 and runs[0] == (0, self.n):
            return self.frame
        at = np.concatenate([np.arange(a, b, dtype=np.int64) for a, b in runs])
        return self.frame.take(at).reset_index(drop=True)


@dataclass
class PartitionRows(Rows):
    """Partitions of known lengths, each read whole by ``read_partition(p)`` (a Dask
    frame's, as pandas frames); the last one read is kept, since a window's runs are in
    ascending order."""

    frame: dd.DataFrame
    sizes: tuple[int, ...]
    read_partition: Callable[[int], Any]
    nbytes: int | None = None
    _last: tuple[int, Any] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.n = sum(self.sizes)
        self.meta = self.frame._meta
        self._starts = np.concatenate([[0], np.cumsum(self.sizes, dtype=np.int64)])

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_last": None}

    def lazy(self) -> dd.DataFrame:
        return self.frame

    def lengths(self) -> tuple[int, ...]:
        return self.sizes

    def recode(self, dtypes: dict[Hashable, pd.CategoricalDtype]) -> None:
        """Give categorical columns whose categories were unknown (a Dask frame that
        has not read them) the ``dtypes`` found by the counting pass: every partition
        is then recoded to them by value, as computing the frame unites them."""
        self.meta = self.meta.astype(dtypes)
        self._last = None

    def _partition(self, p: int) -> Any:
        if self._last is None or self._last[0] != p:
            self._last = None  # release the previous one before reading the next
            self._last = (p, self._load(p))
        return self._last[1]

    def _load(self, p: int) -> Any:
        return self._categories(self.read_partition(p))

    @staticmethod
    def _slice(part: Any, a: int, b: int) -> Any:
        return part.iloc[a:b]

    def _join(self, pieces: list[Any]) -> pd.DataFrame:
        out = pieces[0] if len(pieces) == 1 else pd.concat(pieces)
        return out.reset_index(drop=True)

    def _categories(self, part: pd.DataFrame) -> pd.DataFrame:
        """``part`` (a partition, or a window's rows from several files) recoded by
        value to the whole data's categories, where they are known: a placeholder of
        unknown categories would make every value missing. A class column or one-hot
        feature still unknown is encoded by value."""
        fix = {
            c: dt
            for c, dt in self.meta.dtypes.items()
            if isinstance(dt, pd.CategoricalDtype)
            and UNKNOWN_CATEGORIES not in dt.categories
            and part[c].dtype != dt
        }
        return _recoded(part, fix) if fix else part

    def read(self, runs: Sequence[tuple[int, int]]) -> pd.DataFrame:
        pieces = []
        for a, b in runs:
            p = int(np.searchsorted(self._starts, a, side="right")) - 1
            while a < b:
                start, stop = int(self._starts[p]), int(self._starts[p + 1])
                end = min(b, stop)
                if end > a:
                    pieces.append(self._slice(self._partition(p), a - start, end - start))
                a = end
                p += 1
        if not pieces:
            return self.meta
        return self._join(pieces)

    def check_fits(self) -> None:
        if self.nbytes is None:
            return
        import psutil  # a dependency of distributed

        available = psutil.virtual_memory().available
        if self.nbytes > MEMORY_SHARE * available:
            raise MixupError(
                f"`window=None` holds every row in memory, and the data is "
                f"{self.nbytes / 2**30:.1f} GiB uncompressed against "
                f"{available / 2**30:.1f} GiB available: give `window` (rows mixed "
                f"together, e.g. window=1_000_000) to stream it in O(window) memory"
            )


@dataclass
class ParquetRows(PartitionRows):
    """A Parquet dataset's partitions, read by ``read_partition(p)`` as Arrow tables
    (``ParquetSource.table_reader``): a window's rows are put together as tables and
    converted to pandas once, one copy of the rows instead of a conversion per
    partition and a concatenation of the frames."""

    def _load(self, p: int) -> pa.Table:
        table = self.read_partition(p)
        # A slice of a row group keeps the decoded batches it came from: copied out, so
        # that a window does not hold every row group it touches.
        if table.get_total_buffer_size() > 2 * table.nbytes:
            table = table.take(np.arange(table.num_rows))
        return table

    @staticmethod
    def _slice(part: pa.Table, a: int, b: int) -> pa.Table:
        return part.slice(a, b - a)

    def _join(self, pieces: list[Any]) -> pd.DataFrame:
        frame = self._categories(concat_tables(pieces).to_pandas())
        del pieces
        pa.default_memory_pool().release_unused()  # as ParquetSource's reads do
        return frame


def _recoded(part: pd.DataFrame, dtypes: dict[Hashable, pd.CategoricalDtype]) -> pd.DataFrame:
    """``part`` with its categorical columns recoded by value to ``dtypes``; a value
    outside them is refused, as the job refuses it, never made missing (a Parquet
    file whose row groups have dictionaries of their own beyond its first one's)."""
    out = part.copy(deep=False)
    for name, dtype in dtypes.items():
        values = part[name]
        if not isinstance(values.dtype, pd.CategoricalDtype):
            values = values.astype("category")
        codes = category_codes(values, dtype.categories, name)
        out[name] = pd.Categorical.from_codes(codes, dtype=dtype)
    return out


def open_rows(
    data: Any,
    columns: Sequence[str] | None,
    storage_options: dict[str, Any] | None,
    window: int | None,
) -> Rows:
    """``data`` (a pandas or Dask frame, or a Parquet path) as ``Rows`` of ``columns``."""
    if isinstance(data, (str, os.PathLike)):
        source = ParquetSource.open(str(data), columns, storage_options or {})
        # Categorical columns' categories from the files' dictionaries, as the job does.
        source = source.with_categories()
        source.check_object_columns(set())
        row_bytes = max(1, sum(p.nbytes for p in source.pieces) // max(source.rows, 1))
        if window is None:
            blocksize = DEFAULT_BLOCKSIZE
        else:  # about one unit's bytes a partition
            unit = max(1, window // 8)
            blocksize = int(min(DEFAULT_BLOCKSIZE, max(MIN_SLICE_BYTES, unit * row_bytes)))
        parts = source.source(blocksize)
        assert parts.lengths is not None
        return ParquetRows(
            parts.frame,
            parts.lengths,
            source.table_reader(blocksize),
            sum(p.nbytes for p in source.pieces),
        )
    if columns is not None and isinstance(data, (pd.DataFrame, dd.DataFrame)):
        missing = [c for c in columns if c not in data.columns]
        if missing:
            raise MixupError(f"`columns` not in `data`: {', '.join(map(repr, missing))}")
        data = data[list(columns)]
    if isinstance(data, pd.DataFrame):
        return FrameRows(data)
    if isinstance(data, dd.DataFrame):
        frame = Source.of(data).frame
        sizes = tuple(
            int(s) for s in dask.compute(*[dask.delayed(len)(p) for p in frame.to_delayed()])
        )

        def read_partition(p: int, frame: dd.DataFrame = frame) -> pd.DataFrame:
            return frame.partitions[p].compute()

        return PartitionRows(frame, sizes, read_partition)
    kind = f"{type(data).__module__}.{type(data).__qualname__}"
    raise MixupTypeError(
        f"`data` must be a pandas, Polars or Dask DataFrame, a pyarrow Table or a Parquet "
        f"path, not {kind}"
    )


def fixed_labels(rows: Rows, call: RowCall) -> tuple[Any, tuple[Any, ...], RowCall]:
    """The labels and one-hot features with their categories fixed from every row, so
    that every window encodes a class as the whole data does, and ``call`` with them.

    Categorical features whose categories a Dask frame has not read
    (``astype("category")`` without ``categorize()``) get, in the same pass, the
    categories computing the frame gives them, as ``mixup`` on the frame does
    (``count_partitions``): every partition is recoded to them by value, and the
    call's feature layout is made from them."""
    lazy = rows.lazy()
    if lazy is None:
        assert isinstance(rows, FrameRows)
        frame = rows.frame
        labels = call.labels
        if labels is not None and labels.needs_categories:
            labels = labels.from_counts([frame[labels.column].value_counts(dropna=False)])
        onehot = tuple(
            e.from_counts([frame[e.column].value_counts(dropna=False)]) if e.needs_categories else e
            for e in call.onehot
        )
        return labels, onehot, call
    labels, _, onehot, dtypes = count_partitions(
        lazy, call.labels, False, rows.lengths(), call.onehot, call.categoricals
    )
    if dtypes:
        assert isinstance(rows, PartitionRows)
        rows.recode(dtypes)
        features = rows.meta.dtypes
        if call.labels is not None and call.labels.column is not None:
            features = features.drop(call.labels.column)
        features = features.drop([e.column for e in call.onehot])
        layout = Layout.from_dtypes(features, policy=call.policy)
        call = replace(call, features=layout, categoricals=())
    return labels, onehot, call

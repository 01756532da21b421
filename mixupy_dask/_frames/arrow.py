"""The Arrow adapter: pyarrow ``Table``s, read from their buffers and written back as
Arrow arrays, with no pandas frame in between.

Numeric columns go straight from their Arrow buffers into the kernel's float blocks
(one copy, the cast into the block); times as int64 in their unit; dictionary columns
as their indices; strings as dictionary codes where that pays. Only a class column
(and a ``categorical="onehot"`` feature) passes through pandas, one column at a time,
so that its value counts and one-hot columns are pandas' own.

The dtypes the kernel sees are those of ``to_pandas`` (the reference conversion the
docs' table describes and the tests compare against): Arrow's own ``to_pandas``, but
integers and bools with missing values as pandas' nullable dtypes (``Int64``,
``boolean``) rather than float64 and object.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .._core.labels import Encoders
from .._core.validation import PROVENANCE
from .._kernel.kinds import _CODE_SAMPLE, CategoryCodes, Coded, ExactTimes, code_arrow
from .._kernel.layout import Layout
from .._kernel.rows import Rows, check_blocks
from .._kernel.times import NAT
from ..errors import MixupTypeError
from .base import FrameAdapter

#: What the Arrow (and Polars) adapters take, as refusals name it.
ACCEPTED = (
    "bool, integer, floating point, string (string, large_string, string_view), dictionary "
    "(categorical), timestamp (any unit, with or without a time zone) and duration"
)

#: Integers and bools with missing values: pandas' nullable dtypes, as the kernel reads
#: them (Arrow's own ``to_pandas`` makes them float64 and object).
_NULLABLE: dict[pa.DataType, Any] = {
    pa.int8(): pd.Int8Dtype(),
    pa.int16(): pd.Int16Dtype(),
    pa.int32(): pd.Int32Dtype(),
    pa.int64(): pd.Int64Dtype(),
    pa.uint8(): pd.UInt8Dtype(),
    pa.uint16(): pd.UInt16Dtype(),
    pa.uint32(): pd.UInt32Dtype(),
    pa.uint64(): pd.UInt64Dtype(),
    pa.bool_(): pd.BooleanDtype(),
}

_STRING = pd.StringDtype("pyarrow", na_value=np.nan)  # pandas' ``str``, what Arrow gives


def _is_string(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t)


def _refusal(name: Any, t: pa.DataType) -> MixupTypeError:
    hint = ""
    if pa.types.is_decimal(t):
        hint = "; cast decimals to float64 first if their precision may be rounded"
    elif pa.types.is_date(t):
        hint = "; cast dates to a timestamp first (e.g. `timestamp[s]`)"
    return MixupTypeError(
        f"column {name!r} has Arrow type {t}, which cannot be mixed; accepted: {ACCEPTED}{hint}"
    )


def pandas_dtype(name: Any, column: pa.ChunkedArray) -> Any:
    """The kernel's dtype for an Arrow column: ``to_pandas``' dtype of it."""
    t = column.type
    if pa.types.is_integer(t) or pa.types.is_boolean(t):
        return _NULLABLE[t] if column.null_count else np.dtype(t.to_pandas_dtype())
    if pa.types.is_floating(t):
        return np.dtype(t.to_pandas_dtype())
    if _is_string(t):
        return _STRING
    if pa.types.is_dictionary(t) and (
        _is_string(t.value_type) or pa.types.is_integer(t.value_type)
    ):
        return pd.CategoricalDtype(pd.Index(_dictionary(column).to_pandas()), ordered=t.ordered)
    if pa.types.is_timestamp(t):
        return pd.DatetimeTZDtype(t.unit, t.tz) if t.tz else np.dtype(f"M8[{t.unit}]")
    if pa.types.is_duration(t):
        return np.dtype(f"m8[{t.unit}]")
    raise _refusal(name, t)


def _dictionary(column: pa.ChunkedArray) -> pa.Array:
    """The one dictionary of a unified dictionary column (empty if it has no chunks)."""
    if column.num_chunks:
        return column.chunk(0).dictionary
    return pa.array([], type=column.type.value_type)


def column_to_pandas(column: pa.ChunkedArray) -> pd.Series:
    """One column as the reference conversion gives it (``to_pandas``)."""
    series = column.to_pandas(types_mapper=_NULLABLE.get if column.null_count else None)
    return series if isinstance(series, pd.Series) else pd.Series(series)


def to_pandas(table: pa.Table) -> pd.DataFrame:
    """The reference conversion: the pandas frame whose ``mixup`` the Arrow route equals."""
    table = table.unify_dictionaries()
    frame = pd.DataFrame({i: column_to_pandas(c) for i, c in enumerate(table.columns)}, copy=False)
    frame.columns = pd.Index(table.column_names)
    return frame


def _floats(column: pa.ChunkedArray, out: np.ndarray) -> None:
    """A numeric or bool column into ``out`` (one row of a float block); NaN where missing."""
    at = 0
    for chunk in column.chunks:
        k = len(chunk)
        if chunk.null_count and pa.types.is_floating(chunk.type):
            # Arrow writes NaN where missing itself: no filled copy, no validity mask.
            out[at : at + k] = chunk.to_numpy(zero_copy_only=False)
        elif chunk.null_count:
            fill = False if pa.types.is_boolean(chunk.type) else 0
            out[at : at + k] = pc.fill_null(chunk, fill).to_numpy(zero_copy_only=False)
            valid = chunk.is_valid().to_numpy(zero_copy_only=False)
            out[at : at + k][~valid] = np.nan
        else:
            out[at : at + k] = chunk.to_numpy(zero_copy_only=False)
        at += k


def _passenger(column: pa.ChunkedArray, kind: Any, dtype: Any) -> Any:
    """A passenger column as its ``Kind`` holds it (``to_rows``' ``coded`` form)."""
    if isinstance(kind, CategoryCodes):  # the unified dictionary's indices, -1 missing
        indices = pa.chunked_array([c.indices for c in column.chunks], type=column.type.index_type)
        return pc.fill_null(indices.cast(pa.int64()), -1).to_numpy()
    if isinstance(kind, ExactTimes):  # int64 in the column's unit, NaT where missing
        ints = pa.chunked_array([c.view(pa.int64()) for c in column.chunks], type=pa.int64())
        return pc.fill_null(ints, NAT).to_numpy()
    if pa.types.is_boolean(column.type):  # under integers="round"
        values = pc.fill_null(column, False).to_numpy(zero_copy_only=False)
        if not column.null_count:
            return values
        return pd.arrays.BooleanArray(values, ~column.is_valid().to_numpy(zero_copy_only=False))
    if pa.types.is_string_view(column.type):  # Polars' strings
        coded = _code_views(column)
        if coded is not None:
            return coded
        column = column.cast(pa.large_string())  # Arrow's kernels take large strings
    coded = code_arrow(column)
    return coded if coded is not None else pd.arrays.ArrowExtensionArray(column)


def _code_views(column: pa.ChunkedArray) -> Coded | None:
    """``code_arrow`` of a string view column without casting it to large strings
    first (a copy of every string): ``dictionary_encode`` takes views, and the sample
    ``code_arrow`` counts is taken of the indices (equal strings, equal indices; nulls
    stay null), so the same columns are coded, with the same codes."""
    encoded = pc.dictionary_encode(column.combine_chunks())
    indices = encoded.indices
    sample = indices.take(np.arange(0, len(indices), max(1, len(indices) // _CODE_SAMPLE)))
    if pc.count_distinct(sample, mode="all").as_py() > len(sample) // 2:
        return None
    return Coded(pc.fill_null(indices, -1).to_numpy(), encoded.dictionary)


def _numbers_out(values: np.ndarray, nulls: bool) -> pa.Array:
    """A float block's row as an Arrow array (no copy); NaN as missing under ``nulls``."""
    # A finite sum clears the row of NaN without a mask's allocation (an inf sum, or
    # inf - inf, only costs the mask).
    with np.errstate(over="ignore", invalid="ignore"):
        suspect = nulls and not np.isfinite(values.sum())
    if suspect:
        mask = np.isnan(values)
        if mask.any():
            return pa.array(values, mask=mask)
    return pa.array(values)


def _integers_out(values: np.ndarray, t: pa.DataType) -> pa.Array:
    """Rounded integers (floats holding integers, NaN missing) back in their Arrow type."""
    mask = np.isnan(values)
    ints = np.where(mask, 0, values).astype(t.to_pandas_dtype())
    return pa.array(ints, mask=mask if mask.any() else None, type=t)


def _passenger_out(values: Any, kind: Any, t: pa.DataType, dictionary: pa.Array | None) -> Any:
    """A passenger's held values back in the column's Arrow type."""
    if isinstance(kind, CategoryCodes):
        assert dictionary is not None
        indices = pa.array(values, mask=values < 0).cast(t.index_type)
        return pa.DictionaryArray.from_arrays(indices, dictionary, ordered=t.ordered)
    if isinstance(kind, ExactTimes):
        mask = values == NAT
        return pa.array(values, mask=mask if mask.any() else None).view(t)
    if isinstance(values, Coded):
        dictionary = values.dictionary
        if pa.types.is_string_view(dictionary.type):  # ``take`` has no kernel for views
            dictionary = dictionary.cast(pa.large_string())
        out = pc.take(dictionary, pa.array(values.codes, mask=values.codes < 0))
    elif isinstance(values, np.ndarray):
        out = pa.array(values)
    else:
        out = pa.array(values)
    return out if out.type == t else out.cast(t)


_ARROW_STREAM = (
    "`data` must be a pandas DataFrame, polars DataFrame, pyarrow Table or dask DataFrame; "
    "this object exports an Arrow stream: pass `pyarrow.table(data)` (a pyarrow Table "
    "comes back)"
)


class ArrowAdapter(FrameAdapter):
    name = "pyarrow"
    noun = "pyarrow Table"

    def accepts(self, data: Any) -> bool:
        return isinstance(data, pa.Table)

    def advice(self, data: Any) -> str | None:
        # Frames of other libraries that export an Arrow stream (a RecordBatch, a
        # DuckDB result, ...): not Polars objects, whose frames the Polars adapter takes.
        if not hasattr(data, "__arrow_c_stream__") or type(data).__module__.startswith("polars"):
            return None
        return f"{_ARROW_STREAM} ({type(data).__module__}.{type(data).__qualname__})"

    def schema(self, data: pa.Table) -> pd.Series:
        data = data.unify_dictionaries()
        return pd.Series(
            [pandas_dtype(n, c) for n, c in zip(data.column_names, data.columns, strict=True)],
            index=pd.Index(data.column_names),
            dtype=object,
        )

    def value_counts(self, data: pa.Table, column: Any) -> pd.Series:
        return column_to_pandas(data.unify_dictionaries().column(column)).value_counts(dropna=False)

    def encode(self, data: pa.Table, encoders: Encoders) -> pa.Table:
        data = data.unify_dictionaries()
        for part in encoders.parts:
            at = data.column_names.index(part.column)
            one = pd.DataFrame({part.column: column_to_pandas(data.column(at))})
            onehot = part.encode(one)  # pandas' own encoding: names, categories, NaN
            data = data.remove_column(at)
            for j, name in enumerate(onehot.columns):
                values = onehot.iloc[:, j].to_numpy()
                data = data.add_column(at + j, str(name), pa.array(values))
        return data

    def to_rows(self, data: pa.Table, layout: Layout) -> Rows:
        data = data.unify_dictionaries()
        columns, n = data.columns, data.num_rows
        blocks = []
        for dtype, positions in layout.block_columns:
            block = np.empty((len(positions), n), dtype=dtype)
            for i, p in enumerate(positions):
                _floats(columns[p], block[i])
            blocks.append(block)
        passengers, bad = [], {}
        for p in layout.passengers:
            values = _passenger(columns[p.position], p.kind, p.dtype)
            if layout.policy.missing == "raise":
                count = int(p.kind.missing(values).sum())
                if count:
                    bad[layout.columns[p.position]] = count
            passengers.append(values)
        check_blocks(blocks, layout, bad)
        return Rows(blocks, passengers)

    def from_rows(
        self,
        rows: Rows,
        layout: Layout,
        like: pa.Table,
        provenance: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    ) -> pa.Table:
        like = like.unify_dictionaries()
        types = dict(zip(like.column_names, like.schema.types, strict=True))
        arrays: list[Any] = [None] * len(layout.columns)
        nulls = layout.policy.missing != "raise"
        rounded = {(g, i) for g, i, _ in layout.rounded}
        for g, (block, (_, positions)) in enumerate(
            zip(rows.blocks, layout.block_columns, strict=True)
        ):
            for i, p in enumerate(positions):
                if (g, i) in rounded:
                    arrays[p] = _integers_out(block[i], types[layout.columns[p]])
                else:
                    arrays[p] = _numbers_out(block[i], nulls)
        for p, values in zip(layout.passengers, rows.passengers, strict=True):
            name = layout.columns[p.position]
            t = types[name]
            dictionary = _dictionary(like.column(name)) if pa.types.is_dictionary(t) else None
            arrays[p.position] = _passenger_out(values, p.kind, t, dictionary)
        names = [str(c) for c in layout.columns]
        if provenance is not None:
            left, partner, lam = provenance
            arrays += [pa.array(left.astype(np.int64)), pa.array(partner.astype(np.int64))]
            arrays.append(pa.array(lam))
            names += list(PROVENANCE)
        return pa.table(arrays, names=names)

    def to_pandas(self, data: pa.Table) -> pd.DataFrame:
        return to_pandas(data)

    def from_pandas(self, frame: pd.DataFrame, like: pa.Table) -> pa.Table:
        table = pa.Table.from_pandas(frame, preserve_index=False)
        types = dict(zip(like.column_names, like.schema.types, strict=True))
        for i, name in enumerate(table.column_names):
            t = types.get(name)
            got = table.schema.types[i]
            if t is not None and not got.equals(t) and _kept(got):
                table = table.set_column(i, name, table.column(i).cast(t))
        return table


def _kept(got: pa.DataType) -> bool:
    """Whether an output column of type ``got`` holds its input column's kind of values
    (strings, categories, times), so takes its type back; numbers are new values (mixed
    floats, a series number)."""
    return not (pa.types.is_integer(got) or pa.types.is_floating(got) or pa.types.is_boolean(got))

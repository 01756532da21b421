"""The roles of a series call's columns (series id, time, values, labels, constants),
checked from dtypes alone, and the checks of the series themselves."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

import dask.dataframe as dd
import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from .._core.dtypes import is_categorical_like
from .._core.validation import (
    check_data,
)
from .._kernel.layout import Layout
from ..errors import MixupError, MixupTypeError


@dataclass(frozen=True)
class Columns:
    """The roles of the columns: series id, time, values (labels among them)."""

    series: Hashable
    time: Hashable
    values: tuple[Hashable, ...]
    layout: Layout
    #: Per value column, by position in ``values`` (and ``layout.columns``): True for
    #: label columns, which are never scaled.
    is_label: tuple[bool, ...]
    time_kind: str  # "i" (int64 key) or "f" (float64 key)
    #: ``categorical="dominant"``: categorical and string columns, constant within each
    #: series; an output series takes the value of its series of largest weight.
    constants: tuple[Hashable, ...] = ()
    #: Every column but series and time, in input order (values and constants).
    order: tuple[Hashable, ...] = ()
    constant_dtypes: tuple[Any, ...] = ()

    @property
    def labels(self) -> list[Hashable]:
        return [c for c, lab in zip(self.values, self.is_label, strict=True) if lab]


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, (list, tuple, pd.Index)):
        return list(value)
    return [value]


def _time_kind(dtype: Any, name: Hashable) -> str:
    if isinstance(dtype, pd.DatetimeTZDtype) or ptypes.is_datetime64_dtype(dtype):
        return "i"
    if ptypes.is_timedelta64_dtype(dtype):
        return "i"
    if ptypes.is_bool_dtype(dtype) or isinstance(dtype, pd.CategoricalDtype):
        pass
    elif ptypes.is_integer_dtype(dtype):
        return "i"
    elif ptypes.is_float_dtype(dtype):
        return "f"
    raise MixupTypeError(
        f"`time` column {name!r} must be integer, float, datetime or timedelta, not {dtype}"
    )


def check_columns(
    data: pd.DataFrame | dd.DataFrame,
    series: Hashable,
    time: Hashable,
    labels: Any,
    categorical: str = "raise",
) -> Columns:
    """Check that the named columns exist and that every value column is numeric."""
    check_data(data)
    columns, dtypes = data.columns, data.dtypes
    for param, name in (("series", series), ("time", time)):
        if name is None or name not in columns:
            raise MixupError(
                f"`{param}` must name a column of `data`; {name!r} is not one of {list(columns)!r}"
            )
    if series == time:
        raise MixupError(f"`series` and `time` must be different columns, both are {series!r}")
    values = tuple(c for c in columns if c not in (series, time))
    if not values:
        raise MixupError("`data` has no value columns to mix besides `series` and `time`")
    labels = _as_list(labels)
    missing = [repr(c) for c in labels if c not in columns]
    if missing:
        raise MixupError(f"`labels` must name columns of `data`; not found: {', '.join(missing)}")
    clash = [repr(c) for c in labels if c in (series, time)]
    if clash:
        raise MixupError(f"`labels` cannot include the series or time column: {', '.join(clash)}")
    order = values
    constants: tuple[Hashable, ...] = ()
    if categorical == "dominant":
        constants = tuple(c for c in values if c not in labels and is_categorical_like(dtypes[c]))
        values = tuple(c for c in values if c not in constants)
        if not values:
            raise MixupError("`data` has no numeric value columns to mix")
    # Raises naming the columns that cannot be mixed.
    layout = Layout.from_dtypes(dtypes[list(values)], accepted="`categorical='dominant'`")
    if layout.passengers:  # datetimes as values: series mixup sums scaled numbers only
        shown = ", ".join(f"{layout.columns[p.position]!r} ({p.dtype})" for p in layout.passengers)
        raise MixupTypeError(
            f"value columns must be bool, integer or float to be mixed; not so: {shown}"
        )
    label_set = set(labels)
    return Columns(
        series,
        time,
        values,
        layout,
        tuple(c in label_set for c in values),
        _time_kind(dtypes[time], time),
        constants,
        order,
        tuple(dtypes[c] for c in constants),
    )


def check_series(counts: pd.Series, k: int, series: Hashable) -> tuple[pd.Index, np.ndarray]:
    """Sorted input series ids and their lengths, from ``value_counts`` of the id column."""
    ids = counts.index
    if ids.hasnans:
        raise MixupError(
            f"`series` column {series!r} has {int(counts[ids.isna()].sum())} missing ids"
        )
    try:
        counts = counts.sort_index()
    except TypeError as exc:
        raise MixupTypeError(
            f"`series` column {series!r} must hold ids of one sortable type: {exc}"
        ) from None
    empty = counts.index[counts.to_numpy() == 0]
    if len(empty):
        shown = ", ".join(repr(i) for i in empty[:5])
        raise MixupError(f"series must have at least one row; length 0: {shown}")
    if k > len(counts):
        raise MixupError(
            f"`k` ({k}) must not exceed the number of series in `data` ({len(counts)})"
        )
    return counts.index, counts.to_numpy(dtype=np.int64)


def check_labels_constant(lo: pd.DataFrame, hi: pd.DataFrame, labels: list[Hashable]) -> None:
    """Labels must not vary within a series: compare its min and max per label column."""
    if not labels:
        return
    index = lo.index
    lo = lo.to_numpy(dtype=float, na_value=np.nan)
    hi = hi.to_numpy(dtype=float, na_value=np.nan)
    # An all-missing label has NaN for both: left to the NonFiniteError check.
    differ = (lo != hi) & ~(np.isnan(lo) & np.isnan(hi))
    varying = index[differ.any(axis=1)]
    if len(varying):
        shown = ", ".join(repr(i) for i in varying[:5])
        raise MixupError(
            f"`labels` columns {labels!r} must be constant within each series; they vary "
            f"in series {shown}" + (f" and {len(varying) - 5} more" if len(varying) > 5 else "")
        )

"""Time-series mixup: whole series mixed step by step with Dirichlet weights.

Plain row mixup mixes rows from unrelated time steps and destroys temporal
structure. Here each output series is a weighted sum of ``k`` whole input series,
aligned by step position after ordering each by time (TSMixup, Ansari et al.,
"Chronos", 2024). Data come in long format: one row per (series id, time step).

Randomness follows the rest of the package: the ``k`` series and the weight
vector of output series ``b`` are drawn from generators keyed by (seed, this
module's stream, block of ``b``), never by partition, so the pandas and dask
routes give bit-identical values for any partitioning.

Both routes run the same two functions on rows sorted by (group, time): ``_scales``
(mean absolute value per group, summed in time order) and ``_combine`` (the
weighted sum). The pandas route's groups are the input series; a dask output
partition's groups are the copies of input series it received, one per
(output series, slot) — each the same rows in the same order, hence the same bits.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from .._core.dtypes import is_categorical_like
from .._core.random import SERIES_BLOCK, Keys, choose_series, dirichlet_weights
from .._core.validation import MAX_ROWS, SERIES_RULES, arguments, check_data, validate
from .._dask.cluster import compute
from .._dask.exchange import DESTINATION, exchange, partition_numbers, tag_dtype
from .._dask.source import Source
from .._kernel.layout import Layout
from .._kernel.mix import combine
from .._kernel.rows import empty_frame, from_blocks, to_blocks
from ..errors import MixupError, MixupTypeError

#: A routed copy's group in its output partition, ``(output series - first) * k + slot``
#: (one tag, not the two, and int32 where it fits), and its time key.
_GROUP, _TIME = "_mixupy_group", "_mixupy_time"


# --------------------------------------------------------------------------- checks


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

    def output_meta(self) -> pd.DataFrame:
        empty = pd.DataFrame(
            {
                c: pd.Series([], dtype=dt)
                for c, dt in zip(self.constants, self.constant_dtypes, strict=True)
            }
        )
        return _output_frame(
            empty_frame(self.layout), self, np.empty(0, np.int64), 0, pd.RangeIndex(0), empty
        )


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


def _check_labels_constant(lo: pd.DataFrame, hi: pd.DataFrame, labels: list[Hashable]) -> None:
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


# --------------------------------------------------------------------------- plan


@dataclass(frozen=True)
class Plan:
    """Which input series (``chosen``) and weights make each output series.

    Metadata built on the client: a length per input series, ``k`` series numbers
    and weights per output series; nothing per row. Whole blocks are always drawn,
    so output series ``b`` gets the same draws whatever ``batch_size`` is.
    """

    ids: pd.Index  # sorted input series ids; position = series number
    lengths: np.ndarray  # (S,) rows per input series
    chosen: np.ndarray  # (m, k) series numbers
    weights: np.ndarray  # (m, k)
    #: The constant columns' value in each input series (rows in ``ids`` order).
    constants: pd.DataFrame | None = None

    def dominant_values(self, first: int, last: int, out_lengths: np.ndarray) -> pd.DataFrame:
        """Each output row's constant columns: its output series' series of largest
        weight (the first on ties), for output series ``[first, last)``."""
        assert self.constants is not None
        weights = self.weights[first:last]
        dominant = self.chosen[first:last][np.arange(len(weights)), weights.argmax(axis=1)]
        return self.constants.iloc[np.repeat(dominant, out_lengths)].reset_index(drop=True)

    @classmethod
    def draw(
        cls, keys: Keys, ids: pd.Index, lengths: np.ndarray, m: int, k: int, alpha: float
    ) -> Plan:
        blocks = range(-(-m // SERIES_BLOCK))
        chosen = np.concatenate([choose_series(keys, len(ids), k, b) for b in blocks])[:m]
        weights = np.concatenate([dirichlet_weights(keys, k, alpha, b) for b in blocks])[:m]
        return cls(ids, lengths, chosen, weights)

    @property
    def m(self) -> int:
        return len(self.chosen)

    @property
    def k(self) -> int:
        return self.chosen.shape[1]

    @cached_property
    def out_lengths(self) -> np.ndarray:
        """Each output series is as long as the shortest series it mixes."""
        return self.lengths[self.chosen].min(axis=1)

    @cached_property
    def out_offsets(self) -> np.ndarray:
        return np.concatenate([[0], np.cumsum(self.out_lengths)])

    @cached_property
    def uses(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For each input series, the (output series, slot) pairs using it, as CSR."""
        flat = self.chosen.ravel()
        order = np.argsort(flat, kind="stable")
        ptr = np.concatenate([[0], np.cumsum(np.bincount(flat, minlength=len(self.ids)))])
        return ptr, order // self.k, order % self.k

    def partition_bounds(self, target_rows: float) -> np.ndarray:
        """Output series boundaries so that each output partition receives about
        ``target_rows`` input rows (its ``k`` copies), never splitting a series."""
        incoming = np.cumsum(self.lengths[self.chosen].sum(axis=1))
        q = int(np.clip(np.ceil(incoming[-1] / max(target_rows, 1.0)), 1, self.m))
        edges = np.searchsorted(incoming, incoming[-1] * np.arange(1, q) / q) + 1
        return np.unique(np.concatenate([[0], np.clip(edges, 1, self.m), [self.m]]))


# --------------------------------------------------------------------------- kernel


def _time_key(col: pd.Series, columns: Columns) -> np.ndarray:
    """The time column as a sortable int64 or float64 array; missing times are errors."""
    missing = int(col.isna().sum())
    if missing:
        raise MixupError(f"`time` column {columns.time!r} has {missing} missing values")
    if columns.time_kind == "f":
        return col.to_numpy(dtype=np.float64)
    return col.astype("int64").to_numpy()


def _order(groups: np.ndarray, times: np.ndarray, n_groups: int) -> np.ndarray:
    """The row order by (group, time).

    Integer times (also datetimes and timedeltas) usually fit, with the group, into one
    int64 key once shifted and divided by their common step, and one argsort of that
    is several times faster than ``lexsort``. Times are unique within a group (or the
    caller raises), so every method gives the same order.
    """
    if times.dtype.kind == "i" and len(times):
        lo, hi = int(times.min()), int(times.max())
        if hi - lo < 2**62:
            shifted = times - lo
            step = int(np.gcd.reduce(shifted)) or 1
            width = (hi - lo) // step + 1
            if n_groups * width < 2**62:
                if step > 1:
                    shifted //= step
                return np.argsort(groups * width + shifted)
    return np.lexsort((times, groups))


def _check_unique_times(
    groups: np.ndarray,
    times: np.ndarray,
    name_of: Callable[[int], Hashable],
    columns: Columns,
) -> None:
    """Rows sorted by (group, time): a repeated pair is a duplicate (series, time)."""
    dup = np.flatnonzero((groups[1:] == groups[:-1]) & (times[1:] == times[:-1]))
    if dup.size:
        bad = list(dict.fromkeys(name_of(g) for g in groups[dup]))
        raise MixupError(
            f"each (series, time) pair must appear once; `time` column {columns.time!r} "
            f"repeats within series {', '.join(repr(b) for b in bad[:5])}"
        )


def _scales(
    blocks: list[np.ndarray], groups: np.ndarray, counts: np.ndarray, columns: Columns, on: bool
) -> list[np.ndarray]:
    """Per block, (columns, groups) float64 divisors: mean |value| of each group.

    ``bincount`` adds each group's values one by one in row order (time order here),
    so a group gives the same bits wherever its rows sit. An all-zero series keeps
    scale 1 (it stays all zero); label columns are never scaled.
    """
    out = []
    for block, (_, positions) in zip(blocks, columns.layout.block_columns, strict=True):
        scale = np.ones((len(positions), len(counts)))
        for row, pos in enumerate(positions):
            if not on or columns.is_label[pos]:
                continue
            sums = np.bincount(groups, weights=np.abs(block[row]), minlength=len(counts))
            scale[row] = np.where(sums > 0, sums / np.maximum(counts, 1), 1.0)
        out.append(scale)
    return out


def _combine(
    blocks: list[np.ndarray],
    scales: list[np.ndarray],
    starts: np.ndarray,
    groups: np.ndarray,
    weights: np.ndarray,
    out_lengths: np.ndarray,
) -> list[np.ndarray]:
    """Output step ``t`` of series ``b`` = sum over slots ``j`` of
    ``weights[b, j] / scale * x[groups[b, j]][t]``, in slot order.

    ``blocks`` hold rows sorted by (group, time) with group ``g`` starting at
    ``starts[g]``; output series ``b`` keeps its first ``out_lengths[b]`` steps.
    """
    rows = np.repeat(np.arange(len(out_lengths)), out_lengths)
    steps = np.arange(len(rows)) - np.repeat(np.cumsum(out_lengths) - out_lengths, out_lengths)

    def terms(block: np.ndarray, scale: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for slot in range(groups.shape[1]):
            g = groups[:, slot]
            factor = (weights[:, slot] / scale[:, g]).astype(block.dtype)
            yield block.take(starts[g][rows] + steps, axis=1), factor[:, rows]

    return [combine(terms(block, scale)) for block, scale in zip(blocks, scales, strict=True)]


def _output_frame(
    values_or_blocks: pd.DataFrame | list[np.ndarray],
    columns: Columns,
    out_lengths: np.ndarray,
    first: int,
    index: pd.Index,
    constants: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Long-format output: series id, step, then the value columns (and the constant
    ones, in their input order)."""
    values = (
        values_or_blocks
        if isinstance(values_or_blocks, pd.DataFrame)
        else from_blocks(values_or_blocks, columns.layout, index)
    )
    if columns.constants:
        assert constants is not None
        values = pd.concat([values, constants.set_axis(values.index)], axis=1)
        values = values[list(columns.order)]
    n = len(out_lengths)
    ids = np.repeat(np.arange(first, first + n, dtype=np.int64), out_lengths)
    steps = np.arange(len(ids), dtype=np.int64) - np.repeat(
        np.cumsum(out_lengths) - out_lengths, out_lengths
    )
    head = pd.DataFrame({columns.series: ids, columns.time: steps}, index=values.index)
    return pd.concat([head, values], axis=1)


def _starts(counts: np.ndarray) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)


# --------------------------------------------------------------------------- routes


def _mix_frame(frame: pd.DataFrame, columns: Columns, plan: Plan, scale: bool) -> pd.DataFrame:
    """The pandas route: sort once by (series, time); the groups are the input series."""
    series = plan.ids.get_indexer(frame[columns.series])
    times = _time_key(frame[columns.time], columns)
    order = _order(series, times, len(plan.ids))
    series, times = series[order], times[order]
    _check_unique_times(series, times, lambda g: plan.ids[g], columns)
    blocks = [b.take(order, axis=1) for b in to_blocks(frame[list(columns.values)], columns.layout)]
    scales = _scales(blocks, series, plan.lengths, columns, scale)
    mixed = _combine(
        blocks, scales, _starts(plan.lengths), plan.chosen, plan.weights, plan.out_lengths
    )
    index = pd.RangeIndex(int(plan.out_offsets[-1]))
    constants = plan.dominant_values(0, plan.m, plan.out_lengths) if columns.constants else None
    return _output_frame(mixed, columns, plan.out_lengths, 0, index, constants)


def _route(part: pd.DataFrame, plan: Plan, columns: Columns, bounds: np.ndarray) -> pd.DataFrame:
    """Copy each row once per (output series, slot) using its series, tagged with where
    it goes: the output partition owning that output series."""
    ptr, use_b, use_j = plan.uses
    series = plan.ids.get_indexer(part[columns.series])
    if (series < 0).any():  # the data changed since the series were counted
        raise RuntimeError(f"series ids not seen when counting: {part[columns.series][series < 0]}")
    counts = ptr[series + 1] - ptr[series]
    rep = np.repeat(np.arange(len(part)), counts)
    use = np.repeat(ptr[series], counts) + (
        np.arange(len(rep)) - np.repeat(np.cumsum(counts) - counts, counts)
    )
    blocks = [b.take(rep, axis=1) for b in to_blocks(part[list(columns.values)], columns.layout)]
    routed = from_blocks(blocks, columns.layout, pd.RangeIndex(len(rep)))
    b = use_b[use]
    dest = np.searchsorted(bounds, b, side="right") - 1
    dtype = _group_dtype(plan, bounds)
    routed[_TIME] = _time_key(part[columns.time], columns)[rep]
    routed[_GROUP] = ((b - bounds[dest]) * plan.k + use_j[use]).astype(dtype)
    routed[DESTINATION] = dest.astype(dtype)
    return routed


def _group_dtype(plan: Plan, bounds: np.ndarray) -> np.dtype:
    """The routing tags' type: they are below the groups of the largest output partition
    and the number of output partitions."""
    return tag_dtype(max(int(np.diff(bounds).max(initial=1)) * plan.k, len(bounds)))


def _mix_partition(
    part: pd.DataFrame,
    number: pd.Series,
    plan: Plan,
    columns: Columns,
    bounds: np.ndarray,
    scale: bool,
) -> pd.DataFrame:
    """One output partition: its output series' copies of input series, mixed."""
    q = int(number.iloc[0])
    first, last = int(bounds[q]), int(bounds[q + 1])
    groups = part[_GROUP].to_numpy().astype(np.int64)  # int64: _order multiplies it
    times = part[_TIME].to_numpy()
    order = _order(groups, times, plan.chosen[first:last].size)
    groups, times = groups[order], times[order]
    chosen = plan.chosen[first:last]
    _check_unique_times(groups, times, lambda g: plan.ids[chosen.ravel()[g]], columns)
    counts = np.bincount(groups, minlength=chosen.size)
    if not np.array_equal(counts, plan.lengths[chosen.ravel()]):  # one copy of each row
        raise RuntimeError(f"output partition {q}: rows of some series were lost or repeated")
    blocks = [b.take(order, axis=1) for b in to_blocks(part[list(columns.values)], columns.layout)]
    scales = _scales(blocks, groups, counts, columns, scale)
    out_lengths = plan.out_lengths[first:last]
    slots = np.arange(chosen.size, dtype=np.int64).reshape(chosen.shape)
    mixed = _combine(blocks, scales, _starts(counts), slots, plan.weights[first:last], out_lengths)
    index = pd.RangeIndex(int(plan.out_offsets[first]), int(plan.out_offsets[last]))
    constants = plan.dominant_values(first, last, out_lengths) if columns.constants else None
    return _output_frame(mixed, columns, out_lengths, first, index, constants)


def _mix_dask(frame: dd.DataFrame, columns: Columns, plan: Plan, scale: bool) -> dd.DataFrame:
    """The dask route: route copies, one exact shuffle on output partition, mix."""
    n_rows = int(plan.lengths.sum())
    bounds = plan.partition_bounds(n_rows / max(frame.npartitions, 1))
    q = len(bounds) - 1
    # One graph key for the plan instead of a copy inside every task.
    plan_key = dask.delayed(plan, pure=True, traverse=False)
    meta = empty_frame(columns.layout)
    time_dtype = np.float64 if columns.time_kind == "f" else np.int64
    tags = _group_dtype(plan, bounds)
    routed_meta = meta.assign(
        **{
            _TIME: np.empty(0, time_dtype),
            _GROUP: np.empty(0, tags),
            DESTINATION: np.empty(0, tags),
        }
    )
    routed = frame.map_partitions(
        _route, plan_key, columns, bounds, meta=routed_meta, clear_divisions=True
    )
    gathered = exchange(routed, q)
    return dd.map_partitions(
        _mix_partition,
        gathered,
        partition_numbers(q),  # which output partition each task computes
        plan_key,
        columns,
        bounds,
        scale,
        meta=columns.output_meta(),
        clear_divisions=True,
    )


# --------------------------------------------------------------------------- public


@dataclass(frozen=True)
class SeriesCall:
    """A validated ``mixup_series`` call: options checked, seed fixed, columns resolved."""

    columns: Columns
    alpha: float
    k: int
    batch_size: int | None
    scale: bool  # divide by each series' mean |value|
    keys: Keys


def prepare(data: pd.DataFrame | dd.DataFrame, **options: Any) -> SeriesCall:
    """Check ``mixup_series``'s options (its keywords; its defaults for those not given)
    and columns, reading no data (``data`` may be an empty frame)."""
    options = arguments(mixup_series, data, **options)
    p = validate(SERIES_RULES, **{name: options[name] for name in SERIES_RULES})
    columns = check_columns(
        data, options["series"], options["time"], options["labels"], p["categorical"]
    )
    keys = Keys.from_seed(p["seed"])
    return SeriesCall(columns, p["alpha"], p["k"], p["batch_size"], p["scale"] == "mean", keys)


def _summaries(data: pd.DataFrame | dd.DataFrame, columns: Columns) -> list[Any]:
    """Rows per series id, and each label column's min and max per series (lazy on dask)."""
    summaries = [data[columns.series].value_counts(dropna=False)]
    if columns.labels:
        grouped = data.groupby(columns.series, observed=True)[columns.labels]
        summaries += [grouped.min(), grouped.max()]
    if columns.constants:  # O(series) rows when constant within each series
        summaries.append(data[[columns.series, *columns.constants]].drop_duplicates())
    return summaries


def _draw(call: SeriesCall, summaries: Sequence[Any]) -> Plan:
    """Check the series and their labels, then draw which series make each output."""
    ids, lengths = check_series(summaries[0], call.k, call.columns.series)
    if call.columns.labels:
        _check_labels_constant(summaries[1], summaries[2], call.columns.labels)
    m = len(ids) if call.batch_size is None else call.batch_size
    plan = Plan.draw(call.keys, ids, lengths, m, call.k, call.alpha)
    if call.columns.constants:
        plan = replace(plan, constants=_constant_values(summaries[-1], ids, call.columns))
    if plan.out_offsets[-1] >= MAX_ROWS:
        raise MixupError("`batch_size` output series together must stay below 2**53 rows")
    return plan


def _constant_values(pairs: pd.DataFrame, ids: pd.Index, columns: Columns) -> pd.DataFrame:
    """The constant columns' value per series, in ``ids`` order; refuse varying ones."""
    repeated = pairs[columns.series].value_counts()
    varying = repeated.index[repeated.to_numpy() > 1]
    if len(varying):
        shown = ", ".join(repr(i) for i in sorted(varying)[:5])
        raise MixupError(
            f"`categorical='dominant'` takes columns {list(columns.constants)!r} only when "
            f"constant within each series; they vary in series {shown}"
            + (f" and {len(varying) - 5} more" if len(varying) > 5 else "")
        )
    table = pairs.set_index(columns.series).reindex(ids)
    return table.astype(dict(zip(columns.constants, columns.constant_dtypes, strict=True)))


def mix_frame(frame: pd.DataFrame, call: SeriesCall) -> pd.DataFrame:
    """The pandas route, whole."""
    return _mix_frame(frame, call.columns, _draw(call, _summaries(frame, call.columns)), call.scale)


def mix_dask(
    source: Source,
    call: SeriesCall,
    client: Any = None,
    progress: Callable[[Any], None] | None = None,
) -> tuple[dd.DataFrame, int]:
    """The lazy dask route and its number of output rows.

    One pass over the data now, on ``client`` (or the current scheduler), brings back
    the series lengths (and label ranges): O(number of series), nothing O(rows).
    """
    summaries = compute(*_summaries(source.frame, call.columns), client=client, progress=progress)
    plan = _draw(call, summaries)
    return _mix_dask(source.frame, call.columns, plan, call.scale), int(plan.out_offsets[-1])


def mixup_series(
    data: pd.DataFrame | dd.DataFrame,
    *,
    series: Hashable,
    time: Hashable,
    alpha: float = 1.5,
    k: int = 2,
    batch_size: int | None = None,
    scale: str | None = "mean",
    seed: int | Sequence[int] | np.random.SeedSequence | None = None,
    labels: Hashable | Sequence[Hashable] | None = None,
    categorical: str = "raise",
) -> pd.DataFrame | dd.DataFrame:
    """Mix whole time series step by step: TSMixup-style data augmentation.

    Each output series is ``sum_j w_j * x_j / s_j`` of ``k`` distinct input series
    ``x_j`` drawn uniformly without replacement, with one weight vector ``w`` per
    output series drawn from a symmetric Dirichlet(alpha) (for ``k=2``, classic
    mixup with ``w_1 ~ Beta(alpha, alpha)``). Each input series is ordered by
    ``time`` and the series are aligned by step position: output step ``t`` mixes
    the ``t``-th step of each. The output is as long as the shortest of its ``k``
    input series; longer ones are cut at the end.

    Parameters
    ----------
    data : pandas.DataFrame or dask.dataframe.DataFrame
        Long format: one row per (series id, time step). Every column other than
        ``series`` and ``time`` is a value column and is mixed; value columns must
        be bool, integer or float with finite values (see ``categorical`` for
        categorical and string columns). Rows may come in any order, and on dask a
        series may be spread over several partitions.
    series : column name
        Series id column, any sortable type without missing values.
    time : column name
        Time column (integer, float, datetime or timedelta, no missing values),
        unique within each series.
    alpha : float, default 1.5
        Dirichlet concentration, > 0. Small values give weights near a one-hot
        vector (outputs close to one series), large values near ``1/k`` each.
    k : int, default 2
        Number of series mixed into each output series, 1 to ``MAX_K`` (16) and at
        most the number of input series. ``k=1`` gives (scaled) copies of single
        series.
    batch_size : int, optional
        Number of output series (default: the number of input series).
    scale : {"mean", None}, default "mean"
        ``"mean"`` divides each input series, per value column, by its mean
        absolute value over all its steps before mixing (so series of different
        magnitudes mix evenly); the output stays in that scaled unit. An all-zero
        series has scale 1. ``None`` mixes raw values.
    seed : int, sequence of int, numpy SeedSequence, Generator or RandomState, optional
        Fixes the result: the same seed gives bit-identical output on pandas and
        dask for any partitioning. Output series ``b`` depends only on the seed,
        its index ``b`` and the data, not on ``batch_size``. ``None`` draws fresh
        entropy once, at this call; a ``Generator`` (or ``RandomState``) gives each
        call a seed drawn from it (as ``mixup``).
    labels : column name or list of column names, optional
        Value columns holding series-level labels (e.g. one-hot classes): they must
        be constant within each series, are never scaled, and mix with the same
        weights, giving soft labels.
    categorical : {"raise", "dominant"}, default "raise"
        Categorical, string and object (string) columns: ``"raise"`` refuses them;
        ``"dominant"`` takes those constant within each series (a sensor's type) and
        gives each output series the value of its input series of largest weight (the
        first of the ``k`` on ties), in the input's dtype.

    Returns
    -------
    pandas.DataFrame or dask.dataframe.DataFrame
        Same type as ``data`` (dask: lazy). Columns: ``series`` holds the output
        series id ``0 .. batch_size - 1`` (int64), ``time`` holds the step position
        ``0, 1, ...`` within the output series (int64), then the value columns in
        their input order (float32 stays float32, others become float64). Rows are
        ordered by (series, step), with a fresh ``RangeIndex``.

    Raises
    ------
    MixupTypeError
        Wrong argument type, non-numeric value columns, unusable time or id column.
    MixupError
        Missing columns, bad ``alpha``/``k``/``batch_size``/``scale``, series of
        length 0, missing ids or times, ``k`` above the number of series,
        labels varying within a series, duplicate (series, time) pairs.
    NonFiniteError
        NaN, missing or infinite values.

    Notes
    -----
    On dask, one pass computes each series' row count (and label min/max when
    ``labels`` is given); that O(number of series) metadata, the ids and the drawn
    plan (``k`` series and weights per output series) live on the client, nothing
    O(rows). Every row is then copied to each output series that uses its series
    and moved by one exact Dask shuffle, so each worker holds only the series it
    mixes. Duplicate (series, time) pairs and non-finite values are found by the
    tasks when the result is computed; duplicates only in series that some output
    series uses.

    Examples
    --------
    >>> import pandas as pd
    >>> from mixupy_dask import mixup_series
    >>> df = pd.DataFrame({
    ...     "id": ["a"] * 3 + ["b"] * 4,
    ...     "t": [2, 0, 1, 0, 1, 2, 3],
    ...     "y": [3.0, 1.0, 2.0, 10.0, 20.0, 30.0, 40.0],
    ... })
    >>> out = mixup_series(df, series="id", time="t", k=2, batch_size=3, seed=0)
    >>> list(out.columns), out.shape
    (['id', 't', 'y'], (9, 3))
    >>> out.groupby("id").size().tolist()  # the shorter series has 3 steps
    [3, 3, 3]
    """
    call = prepare(
        data,
        series=series,
        time=time,
        alpha=alpha,
        k=k,
        batch_size=batch_size,
        scale=scale,
        seed=seed,
        labels=labels,
        categorical=categorical,
    )
    if isinstance(data, pd.DataFrame):
        return mix_frame(data, call)
    return mix_dask(Source.of(data), call)[0]

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

import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from time import perf_counter
from typing import Any

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from .dask_route import partition_numbers
from .errors import MixupError, MixupTypeError
from .kernel import Layout, from_blocks, to_blocks
from .parquet import (
    DEFAULT_BLOCKSIZE,
    AugmentSummary,
    _check_destination,
    _jsonable,
    _jsonable_seed,
    _open_source,
    _read_partition,
    _versions,
    write_dataset,
)
from .sampler import Keys
from .validation import MAX_ROWS, check_batch_size, is_int, seed_keys

__all__ = ["MAX_K", "augment_series_parquet", "mixup_series"]

#: This module's random stream under the user's seed (``sampler`` uses 0-2).
STREAM_SERIES = 100
#: Output series per draw block. Fixed: changing it changes every seeded result.
SERIES_BLOCK = 1024
#: Largest ``k``. Every output series pulls ``k`` whole input series through the
#: shuffle and a worker holds them all at once, so data moved and memory grow
#: linearly with ``k``; with more than a handful of components the Dirichlet mix
#: also tends to the plain average of the series and stops adding diversity.
MAX_K = 16

_PART, _B, _J, _TIME = "_mixupy_partition", "_mixupy_series", "_mixupy_slot", "_mixupy_time"


# --------------------------------------------------------------------------- checks


@dataclass(frozen=True)
class SeriesParams:
    """mixup_series's parameters, checked; the seed fixed as ``keys``."""

    alpha: float
    k: int
    batch_size: int | None
    scale: str | None
    keys: Keys


def check_series_params(alpha, k, batch_size, scale, seed) -> SeriesParams:
    """Validate mixup_series's parameters; raise naming the parameter and what is allowed."""
    if not isinstance(alpha, numbers.Real) or isinstance(alpha, (bool, np.bool_)):
        raise MixupTypeError(f"`alpha` must be a real number > 0, not {alpha!r}")
    if not (np.isfinite(alpha) and alpha > 0):
        raise MixupError(
            f"`alpha` must be a finite number > 0 (Dirichlet concentration), got {alpha!r}"
        )
    if not is_int(k):
        raise MixupTypeError(f"`k` must be an int between 1 and {MAX_K}, not {k!r}")
    if not 1 <= k <= MAX_K:
        raise MixupError(f"`k` must be between 1 and {MAX_K}, got {k!r}")
    batch_size = check_batch_size(batch_size)
    if not (scale is None or (isinstance(scale, str) and scale == "mean")):
        raise MixupError(f"`scale` must be 'mean' or None, got {scale!r}")
    return SeriesParams(float(alpha), int(k), batch_size, scale, seed_keys(seed))


@dataclass(frozen=True)
class Columns:
    """The roles of the columns: series id, time, values (labels among them)."""

    series: object
    time: object
    values: tuple
    layout: Layout
    #: Per value column, by position in ``values`` (and ``layout.columns``): True for
    #: label columns, which are never scaled.
    is_label: tuple[bool, ...]
    time_kind: str  # "i" (int64 key) or "f" (float64 key)

    @property
    def labels(self) -> list:
        return [c for c, lab in zip(self.values, self.is_label, strict=True) if lab]

    def output_meta(self) -> pd.DataFrame:
        return _output_frame(
            self.layout.empty_frame(), self, np.empty(0, np.int64), 0, pd.RangeIndex(0)
        )


def _as_list(value) -> list:
    if value is None:
        return []
    if isinstance(value, (list, tuple, pd.Index)):
        return list(value)
    return [value]


def _time_kind(dtype, name) -> str:
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


def check_columns(columns: pd.Index, dtypes: pd.Series, series, time, labels) -> Columns:
    """Check that the named columns exist and that every value column is numeric."""
    if columns.has_duplicates:
        dups = sorted({repr(c) for c in columns[columns.duplicated()]})
        raise MixupError(f"column names must be unique; repeated: {', '.join(dups)}")
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
    layout = Layout.from_dtypes(dtypes[list(values)])  # raises naming non-numeric columns
    label_set = set(labels)
    return Columns(
        series,
        time,
        values,
        layout,
        tuple(c in label_set for c in values),
        _time_kind(dtypes[time], time),
    )


def check_series(counts: pd.Series, k: int, series) -> tuple[pd.Index, np.ndarray]:
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


def _check_labels_constant(lo: pd.DataFrame, hi: pd.DataFrame, labels: list) -> None:
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


# --------------------------------------------------------------------------- randomness


def _choose(keys: Keys, n: int, k: int, block: int) -> np.ndarray:
    """``k`` distinct series of ``n`` for each output series of ``block`` (Floyd's method).

    Floyd's algorithm draws a uniform ``k``-subset with exactly ``k`` draws, vectorised
    here over the block's rows. The slot order is not uniform, which does not matter:
    the weights are exchangeable and drawn independently.
    """
    rng = keys.generator(STREAM_SERIES, 0, block)
    chosen = np.empty((SERIES_BLOCK, k), dtype=np.int64)
    for slot, top in enumerate(range(n - k, n)):
        t = rng.integers(0, top + 1, size=SERIES_BLOCK)
        seen = (chosen[:, :slot] == t[:, None]).any(axis=1)
        chosen[:, slot] = np.where(seen, top, t)
    return chosen


def _weights(keys: Keys, k: int, alpha: float, block: int) -> np.ndarray:
    """Dirichlet(alpha, ..., alpha) weight vectors for the output series of ``block``."""
    if k == 1:
        return np.ones((SERIES_BLOCK, 1))
    # A generator of its own: the weights do not depend on the number of series.
    rng = keys.generator(STREAM_SERIES, 1, block)
    return rng.dirichlet(np.full(k, alpha), size=SERIES_BLOCK)


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

    @classmethod
    def draw(cls, keys: Keys, ids: pd.Index, lengths: np.ndarray, m: int, k: int, alpha: float):
        blocks = range(-(-m // SERIES_BLOCK))
        chosen = np.concatenate([_choose(keys, len(ids), k, b) for b in blocks])[:m]
        weights = np.concatenate([_weights(keys, k, alpha, b) for b in blocks])[:m]
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


def _check_unique_times(groups: np.ndarray, times: np.ndarray, name_of, columns: Columns):
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
    for block, (_, positions) in zip(blocks, columns.layout.groups, strict=True):
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
    mixed = []
    for block, scale in zip(blocks, scales, strict=True):
        acc = None
        for slot in range(groups.shape[1]):
            g = groups[:, slot]
            factor = (weights[:, slot] / scale[:, g]).astype(block.dtype)
            term = block.take(starts[g][rows] + steps, axis=1)
            term *= factor[:, rows]
            if acc is None:
                acc = term
            else:
                acc += term
        mixed.append(acc)
    return mixed


def _output_frame(values_or_blocks, columns: Columns, out_lengths, first: int, index):
    """Long-format output: series id, step, then the value columns."""
    values = (
        values_or_blocks
        if isinstance(values_or_blocks, pd.DataFrame)
        else from_blocks(values_or_blocks, columns.layout, index)
    )
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
    return _output_frame(mixed, columns, plan.out_lengths, 0, index)


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
    routed[_TIME] = _time_key(part[columns.time], columns)[rep]
    routed[_B] = b
    routed[_J] = use_j[use]
    routed[_PART] = np.searchsorted(bounds, b, side="right") - 1
    return routed


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
    k = plan.k
    groups = (part[_B].to_numpy() - first) * k + part[_J].to_numpy()
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
    return _output_frame(mixed, columns, out_lengths, first, index)


def _mix_dask(frame: dd.DataFrame, columns: Columns, plan: Plan, scale: bool) -> dd.DataFrame:
    """The dask route: route copies, one exact shuffle on output partition, mix."""
    n_rows = int(plan.lengths.sum())
    bounds = plan.partition_bounds(n_rows / max(frame.npartitions, 1))
    q = len(bounds) - 1
    # One graph key for the plan instead of a copy inside every task.
    plan_key = dask.delayed(plan, pure=True, traverse=False)
    meta = columns.layout.empty_frame()
    time_dtype = np.float64 if columns.time_kind == "f" else np.int64
    routed_meta = meta.assign(
        **{
            _TIME: np.empty(0, time_dtype),
            _B: np.empty(0, np.int64),
            _J: np.empty(0, np.int64),
            _PART: np.empty(0, np.int64),
        }
    )
    routed = frame.map_partitions(
        _route, plan_key, columns, bounds, meta=routed_meta, clear_divisions=True
    )
    # Exact routing by partition id (not a hash shuffle): output partition p gets
    # exactly the rows tagged p, on Dask's own shuffle (p2p or tasks).
    gathered = routed.set_index(_PART, divisions=[*range(q), q - 1])
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


def _compute_metadata(counts, lo, hi, client, progress):
    """Series lengths (and label ranges) of a dask frame, on ``client`` if given."""
    todo = [counts] if lo is None else [counts, lo, hi]
    if client is None:
        done = dask.compute(*todo)
    else:
        futures = client.compute(todo)
        if progress is not None:
            progress(futures)
        done = client.gather(futures)
    return (done[0], None, None) if lo is None else tuple(done)


def _prepare(
    data, series, time, alpha, k, batch_size, scale, seed, labels, client=None, progress=None
):
    """Validate everything and draw the plan: (route, columns, params, plan).

    On dask this computes the series lengths (and label ranges), on ``client`` if given.
    """
    params = check_series_params(alpha, k, batch_size, scale, seed)
    if isinstance(data, pd.DataFrame):
        route = "pandas"
    elif isinstance(data, dd.DataFrame):
        route = "dask"
    else:
        raise MixupTypeError(
            f"`data` must be a pandas or dask DataFrame, not {type(data).__module__}."
            f"{type(data).__qualname__}"
        )
    columns = check_columns(data.columns, data.dtypes, series, time, labels)
    ids_col = data[columns.series]
    counts = ids_col.value_counts(dropna=False)
    lo = hi = None
    if columns.labels:
        grouped = data.groupby(columns.series, observed=True)[columns.labels]
        lo, hi = grouped.min(), grouped.max()
    if route == "dask":  # one pass over the data; O(number of series) comes back
        counts, lo, hi = _compute_metadata(counts, lo, hi, client, progress)
    ids, lengths = check_series(counts, params.k, columns.series)
    if columns.labels:
        _check_labels_constant(lo, hi, columns.labels)
    m = len(ids) if params.batch_size is None else params.batch_size
    plan = Plan.draw(params.keys, ids, lengths, m, params.k, params.alpha)
    if plan.out_offsets[-1] >= MAX_ROWS:
        raise MixupError("`batch_size` output series together must stay below 2**53 rows")
    return route, columns, params, plan


def mixup_series(
    data: pd.DataFrame | dd.DataFrame,
    *,
    series,
    time,
    alpha: float = 1.5,
    k: int = 2,
    batch_size: int | None = None,
    scale: str | None = "mean",
    seed: int | Sequence[int] | np.random.SeedSequence | None = None,
    labels=None,
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
        be bool, integer or float with finite values. Rows may come in any order,
        and on dask a series may be spread over several partitions.
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
    seed : int, sequence of int or numpy.random.SeedSequence, optional
        Fixes the result: the same seed gives bit-identical output on pandas and
        dask for any partitioning. Output series ``b`` depends only on the seed,
        its index ``b`` and the data, not on ``batch_size``. ``None`` draws fresh
        entropy once, at this call.
    labels : column name or list of column names, optional
        Value columns holding series-level labels (e.g. one-hot classes): they must
        be constant within each series, are never scaled, and mix with the same
        weights, giving soft labels.

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
    route, columns, params, plan = _prepare(
        data, series, time, alpha, k, batch_size, scale, seed, labels
    )
    on = params.scale == "mean"
    if route == "pandas":
        return _mix_frame(data, columns, plan, on)
    return _mix_dask(data, columns, plan, on)


@dataclass(frozen=True)
class _SeriesJob:
    """A validated Parquet run, not started: nothing computed, no cluster needed yet."""

    source: Any  # parquet._Source
    frame: dd.DataFrame
    fs: Any
    path: str
    dst: str
    overwrite: bool
    options: dict[str, Any]
    storage_options: dict[str, Any]


def _plan_series(
    src: str,
    dst: str,
    *,
    series,
    time,
    alpha: float = 1.5,
    k: int = 2,
    batch_size: int | None = None,
    scale: str | None = "mean",
    seed: int | Sequence[int] | np.random.SeedSequence | None = None,
    labels=None,
    columns: Sequence[str] | None = None,
    overwrite: bool = False,
    storage_options: dict[str, Any] | None = None,
    blocksize: int = DEFAULT_BLOCKSIZE,
) -> _SeriesJob:
    """Check the options, the source's footers and columns, and the destination.

    Reads no data, so the CLI calls it before it starts a cluster.
    """
    storage_options = dict(storage_options or {})
    check_series_params(alpha, k, batch_size, scale, seed)
    if not isinstance(overwrite, (bool, np.bool_)):
        raise MixupTypeError(f"`overwrite` must be True or False, not {overwrite!r}")
    if isinstance(blocksize, bool) or not isinstance(blocksize, int) or blocksize < 1:
        raise MixupError(f"`blocksize` must be a positive number of bytes, got {blocksize!r}")
    source = _open_source(src, columns, storage_options, blocksize)
    frame = dd.from_map(
        _read_partition,
        source.partitions,
        args=(source.fs, source.columns),
        meta=source.meta,
        label="read-parquet-rowgroups",
        enforce_metadata=False,
    )
    check_columns(frame.columns, frame.dtypes, series, time, labels)
    fs, path = _check_destination(source, dst, storage_options, bool(overwrite))
    if seed is None:  # drawn here so that it can be reported and written down
        seed = np.random.SeedSequence().entropy
    options = {
        "series": series,
        "time": time,
        "alpha": alpha,
        "k": k,
        "batch_size": batch_size,
        "scale": scale,
        "seed": seed,
        "labels": labels,
    }
    return _SeriesJob(source, frame, fs, path, str(dst), bool(overwrite), options, storage_options)


def _run_series(
    job: _SeriesJob, client: Any = None, progress: Callable[[Any], None] | None = None
) -> AugmentSummary:
    """Count the series, draw the plan, mix and write: all or nothing at ``job.dst``."""
    start = perf_counter()
    opts = job.options
    _, cols, params, plan = _prepare(job.frame, **opts, client=client, progress=progress)
    out = _mix_dask(job.frame, cols, plan, params.scale == "mean")
    metadata = {
        "source": str(job.source.path),
        "function": "mixup_series",
        "options": {name: _jsonable(value) for name, value in opts.items() if name != "seed"},
        "seed": _jsonable_seed(opts["seed"]),
        "versions": _versions(),
    }
    files = write_dataset(
        out,
        job.fs,
        job.path,
        overwrite=job.overwrite,
        client=client,
        progress=progress,
        metadata=metadata,
        storage_options=job.storage_options,
    )
    return AugmentSummary(
        rows_in=sum(job.source.lengths),
        rows_out=int(plan.out_offsets[-1]),
        files_written=files,
        seconds=perf_counter() - start,
        seed=opts["seed"],
        dst=job.dst,
    )


def augment_series_parquet(
    src: str,
    dst: str,
    *,
    series,
    time,
    alpha: float = 1.5,
    k: int = 2,
    batch_size: int | None = None,
    scale: str | None = "mean",
    seed: int | Sequence[int] | np.random.SeedSequence | None = None,
    labels=None,
    columns: Sequence[str] | None = None,
    overwrite: bool = False,
    client: Any = None,
    progress: Callable[[Any], None] | None = None,
    storage_options: dict[str, Any] | None = None,
    blocksize: int = DEFAULT_BLOCKSIZE,
) -> AugmentSummary:
    """Mix the series of a long-format Parquet dataset into a new Parquet dataset.

    The Parquet edge of :func:`mixup_series`, out of core, on the same reader and
    all-or-nothing writer as :func:`mixupy_dask.augment_parquet`: the source is read
    by row groups (twice: once to count each series' rows, once to mix), the output
    is written beside ``dst`` and renamed into place when complete, and the source
    is never touched. Output rows equal ``mixup_series(pandas.read_parquet(src),
    ...)`` bit for bit for the same seed.

    Parameters
    ----------
    src, dst : str
        Source file or dataset, and the new dataset directory (paths or fsspec URLs).
    series, time, alpha, k, batch_size, scale, seed, labels
        As for :func:`mixup_series`. With ``seed=None`` fresh entropy is drawn and
        reported in the summary and the output's metadata.
    columns : list of str, optional
        Columns to read (default: all); must include ``series`` and ``time``.
    overwrite : bool, default False
        Replace an existing ``dst``, only once the new output is complete.
    client : distributed.Client, optional
        Run on this cluster; by default dask's current scheduler.
    progress : callable, optional
        Called with the futures of the counting pass and of the write when ``client``
        is given (e.g. ``distributed.progress``).
    storage_options : dict, optional
        fsspec options for ``src`` and ``dst``.
    blocksize : int, default 64 MiB
        Target uncompressed bytes per input partition.

    Returns
    -------
    AugmentSummary
        Rows in and out, files written, seconds taken and the seed used.

    Examples
    --------
    >>> import os, tempfile
    >>> import pandas as pd
    >>> from mixupy_dask.series import augment_series_parquet
    >>> tmp = tempfile.mkdtemp()
    >>> df = pd.DataFrame({"id": [0, 0, 0, 1, 1, 2, 2], "t": [0, 1, 2, 0, 1, 0, 1],
    ...                    "y": [1.0, 2.0, 3.0, 5.0, 6.0, 7.0, 9.0]})
    >>> df.to_parquet(os.path.join(tmp, "in.parquet"))
    >>> summary = augment_series_parquet(os.path.join(tmp, "in.parquet"),
    ...     os.path.join(tmp, "out"), series="id", time="t", batch_size=4, seed=0)
    >>> summary.rows_in, summary.rows_out
    (7, 8)
    >>> pd.read_parquet(os.path.join(tmp, "out")).equals(
    ...     mixup_series(df, series="id", time="t", batch_size=4, seed=0))
    True
    """
    start = perf_counter()
    job = _plan_series(
        src,
        dst,
        series=series,
        time=time,
        alpha=alpha,
        k=k,
        batch_size=batch_size,
        scale=scale,
        seed=seed,
        labels=labels,
        columns=columns,
        overwrite=overwrite,
        storage_options=storage_options,
        blocksize=blocksize,
    )
    summary = _run_series(job, client, progress)
    return replace(summary, seconds=perf_counter() - start)

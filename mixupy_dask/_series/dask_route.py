"""The dask route: each row copied to the output series that use its series, one exact
shuffle on output partition, then the same kernel per partition."""

from __future__ import annotations

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd

from .._dask.exchange import DESTINATION, exchange, partition_numbers, tag_dtype
from .._kernel.rows import empty_frame, from_blocks, take_columns, to_blocks
from .arithmetic import (
    check_unique_times,
    combine_series,
    order_rows,
    output_frame,
    output_meta,
    series_scales,
    starts_of,
    time_key,
)
from .columns import Columns
from .plan import Plan

#: A routed copy's group in its output partition, ``(output series - first) * k + slot``
#: (one tag, not the two, and int32 where it fits), and its time key.
_GROUP, _TIME = "_mixupy_group", "_mixupy_time"


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
    blocks = [take_columns(b, rep) for b in to_blocks(part[list(columns.values)], columns.layout)]
    routed = from_blocks(blocks, columns.layout, pd.RangeIndex(len(rep)))
    b = use_b[use]
    dest = np.searchsorted(bounds, b, side="right") - 1
    dtype = _group_dtype(plan, bounds)
    routed[_TIME] = time_key(part[columns.time], columns)[rep]
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
    groups = part[_GROUP].to_numpy().astype(np.int64)  # int64: order_rows multiplies it
    times = part[_TIME].to_numpy()
    order = order_rows(groups, times, plan.chosen[first:last].size)
    groups, times = groups[order], times[order]
    chosen = plan.chosen[first:last]
    check_unique_times(groups, times, lambda g: plan.ids[chosen.ravel()[g]], columns)
    counts = np.bincount(groups, minlength=chosen.size)
    if not np.array_equal(counts, plan.lengths[chosen.ravel()]):  # one copy of each row
        raise RuntimeError(f"output partition {q}: rows of some series were lost or repeated")
    blocks = [take_columns(b, order) for b in to_blocks(part[list(columns.values)], columns.layout)]
    scales = series_scales(blocks, groups, counts, columns, scale)
    out_lengths = plan.out_lengths[first:last]
    slots = np.arange(chosen.size, dtype=np.int64).reshape(chosen.shape)
    mixed = combine_series(
        blocks, scales, starts_of(counts), slots, plan.weights[first:last], out_lengths
    )
    index = pd.RangeIndex(int(plan.out_offsets[first]), int(plan.out_offsets[last]))
    constants = plan.dominant_values(first, last, out_lengths) if columns.constants else None
    return output_frame(mixed, columns, out_lengths, first, index, constants)


def mix_dask(frame: dd.DataFrame, columns: Columns, plan: Plan, scale: bool) -> dd.DataFrame:
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
        meta=output_meta(columns),
        clear_divisions=True,
    )

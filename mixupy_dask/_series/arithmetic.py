"""The series arithmetic both routes share, on rows sorted by (group, time): the order,
the scales, the weighted sum and the long-format output frame."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator

import numpy as np
import pandas as pd

from .._kernel.mix import combine
from .._kernel.rows import empty_frame, from_blocks, take_columns
from ..errors import MixupError
from .columns import Columns


def time_key(col: pd.Series, columns: Columns) -> np.ndarray:
    """The time column as a sortable int64 or float64 array; missing times are errors."""
    missing = int(col.isna().sum())
    if missing:
        raise MixupError(f"`time` column {columns.time!r} has {missing} missing values")
    if columns.time_kind == "f":
        return col.to_numpy(dtype=np.float64)
    return col.astype("int64").to_numpy()


def order_rows(groups: np.ndarray, times: np.ndarray, n_groups: int) -> np.ndarray:
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


def check_unique_times(
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


def series_scales(
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


def combine_series(
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
            yield take_columns(block, starts[g][rows] + steps), factor[:, rows]

    return [combine(terms(block, scale)) for block, scale in zip(blocks, scales, strict=True)]


def output_frame(
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


def starts_of(counts: np.ndarray) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)


def output_meta(columns: Columns) -> pd.DataFrame:
    """A zero-row frame of the output's columns and dtypes (dask's ``meta``)."""
    empty = pd.DataFrame(
        {
            c: pd.Series([], dtype=dt)
            for c, dt in zip(columns.constants, columns.constant_dtypes, strict=True)
        }
    )
    return output_frame(
        empty_frame(columns.layout), columns, np.empty(0, np.int64), 0, pd.RangeIndex(0), empty
    )

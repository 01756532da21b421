"""The in-memory route: sort once by (series, time); the groups are the input series."""

from __future__ import annotations

import pandas as pd

from .._kernel.rows import take_columns, to_blocks
from .arithmetic import (
    check_unique_times,
    combine_series,
    order_rows,
    output_frame,
    series_scales,
    starts_of,
    time_key,
)
from .columns import Columns
from .plan import Plan


def mix_frame(frame: pd.DataFrame, columns: Columns, plan: Plan, scale: bool) -> pd.DataFrame:
    """The pandas route: sort once by (series, time); the groups are the input series."""
    series = plan.ids.get_indexer(frame[columns.series])
    times = time_key(frame[columns.time], columns)
    order = order_rows(series, times, len(plan.ids))
    series, times = series[order], times[order]
    check_unique_times(series, times, lambda g: plan.ids[g], columns)
    blocks = [
        take_columns(b, order) for b in to_blocks(frame[list(columns.values)], columns.layout)
    ]
    scales = series_scales(blocks, series, plan.lengths, columns, scale)
    mixed = combine_series(
        blocks, scales, starts_of(plan.lengths), plan.chosen, plan.weights, plan.out_lengths
    )
    index = pd.RangeIndex(int(plan.out_offsets[-1]))
    constants = plan.dominant_values(0, plan.m, plan.out_lengths) if columns.constants else None
    return output_frame(mixed, columns, plan.out_lengths, 0, index, constants)

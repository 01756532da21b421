"""A validated ``mixup_series`` call, its one counting pass and its plan, and the two
routes run from it."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import dask.dataframe as dd
import pandas as pd

from .._core.random import Keys
from .._core.validation import (
    MAX_ROWS,
    SERIES_DEFAULTS,
    SERIES_RULES,
    validate,
    with_defaults,
)
from .._dask.cluster import compute
from .._dask.source import Source
from ..errors import MixupError
from .columns import Columns, check_columns, check_labels_constant, check_series
from .dask_route import mix_dask
from .pandas_route import mix_frame
from .plan import Plan


@dataclass(frozen=True)
class SeriesCall:
    """A validated ``mixup_series`` call: options checked, seed fixed, columns resolved."""

    columns: Columns
    alpha: float
    k: int
    batch_size: int | None
    scale: bool  # divide by each series' mean |value|
    keys: Keys


def prepare(
    data: pd.DataFrame | dd.DataFrame, *, series: Hashable, time: Hashable, **options: Any
) -> SeriesCall:
    """Check ``mixup_series``'s options (its keywords; its defaults for those not given)
    and columns, reading no data (``data`` may be an empty frame)."""
    options = with_defaults(SERIES_DEFAULTS, options)
    p = validate(SERIES_RULES, **{name: options[name] for name in SERIES_RULES})
    columns = check_columns(data, series, time, options["labels"], p["categorical"])
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
        check_labels_constant(summaries[1], summaries[2], call.columns.labels)
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


def run_frame(frame: pd.DataFrame, call: SeriesCall) -> pd.DataFrame:
    """The pandas route, whole."""
    return mix_frame(frame, call.columns, _draw(call, _summaries(frame, call.columns)), call.scale)


def run_dask(
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
    return mix_dask(source.frame, call.columns, plan, call.scale), int(plan.out_offsets[-1])

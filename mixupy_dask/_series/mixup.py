"""Time-series mixup: whole series mixed step by step with Dirichlet weights.

Plain row mixup mixes rows from unrelated time steps and destroys temporal
structure. Here each output series is a weighted sum of ``k`` whole input series,
aligned by step position after ordering each by time (TSMixup, Ansari et al.,
"Chronos", 2024). Data come in long format: one row per (series id, time step).

Randomness follows the rest of the package: the ``k`` series and the weight
vector of output series ``b`` are drawn from generators keyed by (seed, this
module's stream, block of ``b``), never by partition, so the pandas and dask
routes give bit-identical values for any partitioning.

Both routes run the same two functions on rows sorted by (group, time): ``series_scales``
(mean absolute value per group, summed in time order) and ``combine_series`` (the
weighted sum). The pandas route's groups are the input series; a dask output
partition's groups are the copies of input series it received, one per
(output series, slot) — each the same rows in the same order, hence the same bits.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TYPE_CHECKING, Any

import dask.dataframe as dd
import numpy as np
import pandas as pd

from .._dask.source import Source
from .._frames.registry import adapter_for
from .call import prepare, run_dask, run_frame

if TYPE_CHECKING:
    import polars as pl
    import pyarrow as pa


def mixup_series(
    data: pd.DataFrame | dd.DataFrame | pl.DataFrame | pa.Table,
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
) -> pd.DataFrame | dd.DataFrame | pl.DataFrame | pa.Table:
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
    data : pandas.DataFrame, dask.dataframe.DataFrame, polars.DataFrame or pyarrow.Table
        Long format: one row per (series id, time step). A Polars or Arrow frame
        is mixed as its pandas conversion (``docs/frames.md``) and returned as its
        kind. Every column other than ``series`` and ``time`` is a value column and
        is mixed; value columns must be bool, integer or float with finite values
        (see ``categorical`` for categorical and string columns). Rows may come in
        any order, and on dask a series may be spread over several partitions.
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
    pandas.DataFrame, dask.dataframe.DataFrame, polars.DataFrame or pyarrow.Table
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
    options: dict[str, Any] = dict(
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
    if not isinstance(data, (pd.DataFrame, dd.DataFrame)):
        # Polars and Arrow frames: through pandas, and back to the input's kind (the
        # series and time columns become int64, value columns floats; categorical
        # columns keep their type).
        adapter = adapter_for(data, also=("dask",))
        out = mixup_series(adapter.to_pandas(data), **options)
        return adapter.from_pandas(out, like=data)
    call = prepare(data, **options)
    if isinstance(data, pd.DataFrame):
        return run_frame(data, call)
    return run_dask(Source.of(data), call)[0]

"""The public entry point: validate once, pick the route, call it."""

from __future__ import annotations

from collections.abc import Sequence

import dask.dataframe as dd
import numpy as np
import pandas as pd

from .dask_route import mixup_dask, partition_lengths
from .errors import MixupError, MixupTypeError
from .kernel import Layout
from .pandas_route import mixup_frame
from .sampler import Sampler
from .validation import check_params, check_rows

__all__ = ["mixup"]


def _check_columns(columns: pd.Index) -> None:
    if len(columns) == 0:
        raise MixupError("`data` has no columns to mix")
    if columns.has_duplicates:
        dups = sorted({repr(c) for c in columns[columns.duplicated()]})
        raise MixupError(f"column names must be unique; repeated: {', '.join(dups)}")


def mixup(
    data: pd.DataFrame | dd.DataFrame,
    alpha: float = 4.0,
    concat: bool = False,
    batch_size: int | None = None,
    *,
    seed: int | Sequence[int] | np.random.SeedSequence | None = None,
    _lengths: Sequence[int] | None = None,
) -> pd.DataFrame | dd.DataFrame:
    """Create convex combinations of pairs of rows: mixup data augmentation.

    Each output row is ``lam * x_i + (1 - lam) * x_j`` of a left row ``x_i`` and a
    partner row ``x_j``, with ``lam ~ Beta(alpha, alpha)`` (Zhang et al., 2018).
    Every column is mixed, labels included, so one-hot encode labels first.
    Compatible with mixupy's ``mixup(data, alpha, concat, batch_size)``.

    Parameters
    ----------
    data : pandas.DataFrame or dask.dataframe.DataFrame
        Rows to mix; every column bool, integer or float, every value finite. The
        index may be anything: the output gets a fresh ``RangeIndex``.
    alpha : float, default 4.0
        Beta(alpha, alpha) shape, >= 0. Small values keep rows close to the
        originals; ``alpha=0`` makes exact copies of the left rows.
    concat : bool, default False
        Put the original rows (as floats) before the mixed rows.
    batch_size : int, optional
        Number of mixed rows, any value >= 1 (default: as many as ``data`` has).
        Every full pass over the data uses each row once as left row and once as
        partner; a last partial pass uses a uniform random subset of rows.
    seed : int, sequence of int or numpy.random.SeedSequence, optional
        Fixes the result: the same seed gives bit-identical output on pandas and
        dask, for any partitioning and number of workers. ``seed=(base, epoch)``
        gives independent epochs. ``None`` draws fresh entropy once, at this call,
        so a lazy result recomputes to the same values.

    Returns
    -------
    pandas.DataFrame or dask.dataframe.DataFrame
        Same type as ``data`` (dask: lazy), same columns in the same order; float32
        columns stay float32, other columns become float64.

    Raises
    ------
    MixupTypeError
        Wrong argument type or non-numeric columns (also a ``TypeError``).
    MixupError
        Bad values, fewer than two rows, duplicate column names (a ``ValueError``).
    NonFiniteError
        NaN, missing or infinite values; on dask raised when the partition is computed.

    Examples
    --------
    >>> import pandas as pd
    >>> from mixupy_dask import mixup
    >>> df = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0], "y": [0, 1, 0, 1]})
    >>> out = mixup(df, alpha=1.0, batch_size=6, seed=0)
    >>> out.shape
    (6, 2)
    >>> bool(out.x.between(0, 3).all() and out.y.between(0, 1).all())
    True
    >>> mixup(df, alpha=0, seed=0).equals(df.astype(float))  # alpha=0: copies
    True
    """
    params = check_params(alpha, concat, batch_size, seed)
    if isinstance(data, pd.DataFrame):
        route = "pandas"
    elif isinstance(data, dd.DataFrame):
        route = "dask"
    else:
        raise MixupTypeError(
            f"`data` must be a pandas or dask DataFrame, not {type(data).__module__}."
            f"{type(data).__qualname__}"
        )
    _check_columns(data.columns)
    layout = Layout.from_dtypes(data.dtypes)
    if route == "pandas":
        m = check_rows(len(data), params.batch_size)
        sampler = Sampler(params.keys, len(data), m, params.alpha)
        return mixup_frame(data, sampler, layout, params.concat)
    lengths = list(_lengths) if _lengths is not None else partition_lengths(data)
    m = check_rows(sum(lengths), params.batch_size)
    sampler = Sampler(params.keys, sum(lengths), m, params.alpha)
    return mixup_dask(data, sampler, layout, params.concat, lengths)

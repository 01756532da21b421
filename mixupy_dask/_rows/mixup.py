"""``mixup``: validate once, pick the route, call it."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import dask.dataframe as dd
import numpy as np
import pandas as pd

from .._core.docs import MIXUP_PARAMETERS, shared_docs
from .._core.validation import MIXUP_RULES, validates
from .._dask.source import Source
from .._frames.registry import adapter_for, session_for
from .call import LAZY, prepare
from .dask_route import mixup_dask
from .pandas_route import mixup_frame

if TYPE_CHECKING:
    import polars as pl
    import pyarrow as pa


@validates(MIXUP_RULES)
@shared_docs(MIXUP_PARAMETERS)
def mixup(
    data: pd.DataFrame | dd.DataFrame | pl.DataFrame | pa.Table,
    alpha: float = 4.0,
    concat: bool = False,
    batch_size: int | Mapping[Hashable, int] | None = None,
    *,
    seed: int | Sequence[int] | np.random.SeedSequence | None = None,
    labels: Hashable | Sequence[Hashable] | None = None,
    within_class: bool = False,
    label_preserving: bool = False,
    sampling_strategy: str | float | Mapping[Hashable, int] | Callable[..., Any] | None = None,
    categorical: str = "raise",
    max_categories: int = 64,
    integers: str = "float",
    missing: str = "raise",
    provenance: bool = False,
    bandwidth: float | None = None,
) -> pd.DataFrame | dd.DataFrame | pl.DataFrame | pa.Table:
    """Create convex combinations of pairs of rows: mixup data augmentation.

    Each output row is ``lam * x_i + (1 - lam) * x_j`` of a left row ``x_i`` and a
    partner row ``x_j``, with ``lam ~ Beta(alpha, alpha)`` (Zhang et al., 2018).
    Labels mix with the same ``lam``. Compatible with mixupy's
    ``mixup(data, alpha, concat, batch_size)``.

    Parameters
    ----------
    data : pandas.DataFrame, dask.dataframe.DataFrame, polars.DataFrame or pyarrow.Table
        Rows to mix (a Polars ``LazyFrame`` is refused: ``.collect()`` it, or use
        ``augment_parquet`` on its Parquet files). Bool, integer, float, datetime64
        and timedelta64 columns (any unit, timezone-aware too) are mixed;
        categorical, string and object (string) columns as ``categorical`` says;
        label columns may also be categorical or strings. Values must be finite,
        and not missing unless ``missing`` allows it.
        The index may be anything: the output gets a fresh ``RangeIndex``.
    {alpha}
    {concat}
    {batch_size}
    {seed}
    {labels}
    {within_class}
    {label_preserving}
    {sampling_strategy}
    {categorical}
    {max_categories}
    {integers}
    {missing}
    {provenance}
    {bandwidth}

    Returns
    -------
    pandas.DataFrame, dask.dataframe.DataFrame, polars.DataFrame or pyarrow.Table
        Same type as ``data`` (dask: lazy, its ``meta`` has the exact output dtypes;
        Polars and Arrow: the types of ``docs/frames.md``, missing values null),
        the same columns in the same order with a class column (and with
        ``categorical="onehot"`` each categorical feature) replaced by its one-hot
        columns, then the provenance columns if asked for. float32 columns stay
        float32, other numbers become float64 (integers under ``integers="round"``
        keep their dtype); datetimes, timedeltas, categoricals and strings keep theirs
        (on dask the frame's: Dask reads pandas' ``str`` columns as ``string``).

        Datetimes and timedeltas are ``t_i + round((1 - lam) * (t_j - t_i))``,
        computed exactly in integers of the column's unit and rounded half to even,
        with the same float64 ``1 - lam`` as the numbers; the result lies between
        its parents.

    Raises
    ------
    MixupTypeError
        Wrong argument type, or columns ``categorical`` and the dtypes do not allow
        (also a ``TypeError``), e.g. an object column holding other values than
        strings.
    MixupError
        Bad values, fewer than two rows, duplicate or unknown column names, more
        than ``max_categories`` categories (a ``ValueError``).
    NonFiniteError
        Infinite values, missing values under ``missing="raise"``, missing labels; on
        dask raised when the partition is computed.

    Notes
    -----
    On the dask route the per-partition row counts (and, for ``labels`` and
    ``within_class``, the categories and per-class counts, and the categories of
    categoricals dask has not read, as ``dd.read_parquet`` leaves them) are computed
    in one pass, at this call; everything else is lazy.

    Examples
    --------
    >>> import pandas as pd
    >>> from mixupy_dask import mixup
    >>> df = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0], "y": ["a", "b", "a", "b"]})
    >>> out = mixup(df, alpha=1.0, batch_size=6, seed=0, labels="y")
    >>> out.columns.tolist()
    ['x', 'y_a', 'y_b']
    >>> bool((out.y_a + out.y_b).eq(1).all() and out.x.between(0, 3).all())
    True
    >>> mixup(df.drop(columns="y"), alpha=0, seed=0).equals(df[["x"]])  # alpha=0: copies
    True
    >>> df = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0, 4.0], "y": ["a", "a", "a", "b", "b"]})
    >>> out = mixup(df, seed=0, labels="y", within_class=True, sampling_strategy="auto")
    >>> out[["y_a", "y_b"]].sum().tolist()  # one more "b" row: 3 of each
    [0.0, 1.0]
    >>> df = pd.DataFrame({"x": [0.0, 1.0, 2.0], "city": ["Oslo", "Rome", "Lima"],
    ...                    "n": pd.array([1, 5, None], dtype="Int64")})
    >>> out = mixup(df, seed=0, categorical="sample", integers="round",
    ...             missing="available", provenance=True)
    >>> out.dtypes.astype(str).tolist()  # types kept; then left, partner, lambda
    ['float64', 'str', 'Int64', 'int64', 'int64', 'float64']
    >>> bool(out.city.isin(df.city).all() and out.n.notna().all())
    True
    >>> df = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0], "y": [0.0, 0.1, 5.0, 5.1]})
    >>> out = mixup(df, seed=0, labels="y", bandwidth=0.5, provenance=True)  # C-Mixup
    >>> bool((out.mixup_left // 2 == out.mixup_partner // 2).all())  # close labels only
    True
    """
    with session_for(data):  # prepare's schema and the route's work: one conversion
        call = prepare(
            data,
            alpha=alpha,
            concat=concat,
            batch_size=batch_size,
            seed=seed,
            labels=labels,
            within_class=within_class,
            label_preserving=label_preserving,
            sampling_strategy=sampling_strategy,
            categorical=categorical,
            max_categories=max_categories,
            integers=integers,
            missing=missing,
            provenance=provenance,
            bandwidth=bandwidth,
        )
        if isinstance(data, dd.DataFrame):
            return mixup_dask(Source.of(data), call)
        return mixup_frame(adapter_for(data, also=LAZY), data, call)

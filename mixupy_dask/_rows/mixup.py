"""``mixup``: validate once, pick the route, call it."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any

import dask.dataframe as dd
import numpy as np
import pandas as pd

from .._dask.source import Source
from .._frames.registry import adapter_for
from .call import LAZY, prepare
from .dask_route import mixup_dask
from .pandas_route import mixup_frame


def mixup(
    data: pd.DataFrame | dd.DataFrame,
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
) -> pd.DataFrame | dd.DataFrame:
    """Create convex combinations of pairs of rows: mixup data augmentation.

    Each output row is ``lam * x_i + (1 - lam) * x_j`` of a left row ``x_i`` and a
    partner row ``x_j``, with ``lam ~ Beta(alpha, alpha)`` (Zhang et al., 2018).
    Labels mix with the same ``lam``. Compatible with mixupy's
    ``mixup(data, alpha, concat, batch_size)``.

    Parameters
    ----------
    data : pandas.DataFrame or dask.dataframe.DataFrame
        Rows to mix. Bool, integer, float, datetime64 and timedelta64 columns (any
        unit, timezone-aware too) are mixed; categorical, string and object (string)
        columns as ``categorical`` says; label columns may also be categorical or
        strings. Values must be finite, and not missing unless ``missing`` allows it.
        The index may be anything: the output gets a fresh ``RangeIndex``.
    alpha : float, default 4.0
        Beta(alpha, alpha) shape, >= 0. Small values keep rows close to the
        originals; ``alpha=0`` makes exact copies of the left rows.
    concat : bool, default False
        Put the original rows (as floats) before the mixed rows.
    batch_size : int or dict, optional
        Number of mixed rows, any value >= 1 (default: as many as ``data`` has).
        Every full pass over the data uses each row once as left row and once as
        partner; a last partial pass uses a uniform random subset of rows. A dict
        ``{class: rows}`` (needs ``labels``) says how many mixed rows to make with left
        rows of each class (absent classes: none); each class then makes its own full
        passes and a partial pass of a uniform random subset of its rows.
    seed : int, sequence of int or numpy.random.SeedSequence, optional
        Fixes the result: the same seed gives bit-identical output on pandas and
        dask, for any partitioning and number of workers. ``seed=(base, epoch)``
        gives independent epochs. ``None`` draws fresh entropy once, at this call,
        so a lazy result recomputes to the same values.
    labels : column name or list of column names, optional
        One class column (categorical, string, object, bool or integer) is one-hot
        encoded into soft-label columns named ``f"{column}_{class}"``, in place of
        the column; several numeric columns are taken as a one-hot or probability
        block. Without ``labels`` every column is mixed as it is.
    within_class : bool, default False
        Take each row's partner from its own class (the argmax of its labels), so
        class-conditional distributions are augmented separately. Needs ``labels``.
    label_preserving : bool, default False
        Use ``max(lam, 1 - lam)``, so each row stays closest to its left row, and
        give it the left row's own label as a hard one-hot. Needs ``labels``.
    sampling_strategy : str, float, dict or callable, optional
        Balance the classes, with imbalanced-learn's meaning for over-sampling:
        ``'auto'`` (= ``'not majority'``), ``'minority'``, ``'not minority'``, ``'all'``,
        a float (two classes: minority / majority rows after resampling), a dict
        ``{class: rows after resampling}``, or a callable given the rows per class (a
        pandas Series) that returns such a dict. Resolved into rows per class, as a dict
        ``batch_size``, from the class counts; needs ``labels`` and ``within_class`` or
        ``label_preserving`` (so each mixed row has a class); instead of ``batch_size``.
        With ``concat=True`` the result holds the originals and the synthetic rows.
    categorical : {"raise", "dominant", "sample", "onehot"}, default "raise"
        Categorical, string and object (string) feature columns. ``"raise"`` refuses
        them. ``"dominant"`` takes the value of the parent with the larger weight (the
        left row when ``lam >= 0.5``). ``"sample"`` takes the left row's value with
        probability ``lam``, else the partner's: one uniform draw per output row,
        shared by all such columns of the row (values that belong together stay
        together). Both keep the column's dtype: a categorical its categories in
        their order (unused ones too), strings their storage. ``"onehot"`` replaces
        the column by soft one-hot float columns ``f"{column}_{category}"``, as
        ``labels`` encodes a class column (a categorical's categories in order,
        others' sorted values).
    max_categories : int, default 64
        ``categorical="onehot"`` refuses a column with more categories than this.
    integers : {"float", "round"}, default "float"
        ``"float"`` mixes integer columns into float64. ``"round"`` rounds the mixed
        value half to even (``numpy.rint``), clips it to the two parents' range and
        returns it in the column's own dtype (exact below 2**53); bool columns then
        take the dominant parent's value and stay bool.
    missing : {"raise", "propagate", "available"}, default "raise"
        Missing values (NaN, None, ``pd.NA``, NaT, Arrow nulls): ``"raise"`` refuses
        them; ``"propagate"`` makes a mixed value missing when either parent's is (a
        chosen column takes the chosen parent's value, missing or not);
        ``"available"`` takes the other parent's value where one is missing, missing
        only when both are. Infinite values and missing labels are always refused.
        Nullable integer and boolean columns stay nullable where their dtype is
        kept; float output holds NaN.
    provenance : bool, default False
        Append the columns ``mixup_left`` and ``mixup_partner`` (int64: the input
        positions of the left and partner rows, counted from 0 over the whole data)
        and ``mixup_lambda`` (float64: the row's ``lam``). With ``concat=True`` an
        original row is its own left row and partner, with ``lam = 1``.

    Returns
    -------
    pandas.DataFrame or dask.dataframe.DataFrame
        Same type as ``data`` (dask: lazy; its ``meta`` has the exact output dtypes),
        the same columns in the same order with a class column (and with
        ``categorical="onehot"`` each categorical feature) replaced by its one-hot
        columns, then the provenance columns if asked for. float32 columns stay
        float32, other numbers become float64 (integers under ``integers="round"``
        keep their dtype); datetimes, timedeltas, categoricals and strings keep theirs.

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
        than ``max_categories`` categories, categorical columns with unknown
        categories on dask (a ``ValueError``).
    NonFiniteError
        Infinite values, missing values under ``missing="raise"``, missing labels; on
        dask raised when the partition is computed.

    Notes
    -----
    On the dask route the per-partition row counts (and, for ``labels`` and
    ``within_class``, the categories and per-class counts) are computed once, at
    this call; everything else is lazy.

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
    """
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
    )
    if isinstance(data, dd.DataFrame):
        return mixup_dask(Source.of(data), call)
    return mixup_frame(adapter_for(data, also=LAZY), data, call)

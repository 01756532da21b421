"""The public entry point: validate once, pick the route, call it."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence

import dask.dataframe as dd
import numpy as np
import pandas as pd

from .dask_route import Plan, categories_from_counts, describe, mixup_dask
from .errors import MixupError, MixupTypeError
from .kernel import Layout
from .labels import resolve_labels
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


def check_call(
    data,
    alpha=4.0,
    concat=False,
    batch_size=None,
    seed=None,
    labels=None,
    within_class=False,
    label_preserving=False,
):
    """Check a call's parameters and the columns' dtypes, reading no data.

    Returns the validated parameters and the resolved labels (None without labels).
    ``data`` may be an empty frame of the right dtypes, as a Parquet schema gives.
    """
    params = check_params(alpha, concat, batch_size, seed, within_class, label_preserving, labels)
    if not isinstance(data, (pd.DataFrame, dd.DataFrame)):
        raise MixupTypeError(
            f"`data` must be a pandas or dask DataFrame, not {type(data).__module__}."
            f"{type(data).__qualname__}"
        )
    _check_columns(data.columns)
    spec = resolve_labels(data.dtypes, labels)
    if within_class and spec.column is None and len(spec.block) < 2:
        raise MixupError(
            "`within_class=True` needs class labels: a class column or at least two label columns"
        )
    if spec is None:  # check feature dtypes before any pass over the data
        Layout.from_dtypes(data.dtypes)
    else:
        Layout.from_dtypes(data.dtypes.drop(spec.column if spec.column is not None else []))
    return params, spec


def mixup(
    data: pd.DataFrame | dd.DataFrame,
    alpha: float = 4.0,
    concat: bool = False,
    batch_size: int | None = None,
    *,
    seed: int | Sequence[int] | np.random.SeedSequence | None = None,
    labels: Hashable | Sequence[Hashable] | None = None,
    within_class: bool = False,
    label_preserving: bool = False,
    _lengths: Sequence[int] | None = None,
    _read_partition: Callable[[int], pd.DataFrame] | None = None,
) -> pd.DataFrame | dd.DataFrame:
    """Create convex combinations of pairs of rows: mixup data augmentation.

    Each output row is ``lam * x_i + (1 - lam) * x_j`` of a left row ``x_i`` and a
    partner row ``x_j``, with ``lam ~ Beta(alpha, alpha)`` (Zhang et al., 2018).
    Labels mix with the same ``lam``. Compatible with mixupy's
    ``mixup(data, alpha, concat, batch_size)``.

    Parameters
    ----------
    data : pandas.DataFrame or dask.dataframe.DataFrame
        Rows to mix; every column bool, integer or float (label columns may also be
        categorical or strings), every value finite. The index may be anything: the
        output gets a fresh ``RangeIndex``.
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

    Returns
    -------
    pandas.DataFrame or dask.dataframe.DataFrame
        Same type as ``data`` (dask: lazy), the same columns in the same order with
        a class column replaced by its one-hot columns; float32 columns stay float32,
        other columns become float64.

    Raises
    ------
    MixupTypeError
        Wrong argument type or non-numeric columns (also a ``TypeError``).
    MixupError
        Bad values, fewer than two rows, duplicate or unknown column names (a
        ``ValueError``).
    NonFiniteError
        NaN, missing or infinite values; on dask raised when the partition is computed.

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
    """
    params, spec = check_call(
        data, alpha, concat, batch_size, seed, labels, within_class, label_preserving
    )

    def make_sampler(class_sizes: tuple[int, ...]) -> Sampler:
        m = check_rows(sum(class_sizes), params.batch_size)
        return Sampler(params.keys, class_sizes, m, params.alpha, params.label_preserving)

    if isinstance(data, pd.DataFrame):
        if spec is not None and spec.needs_categories:
            spec = categories_from_counts(spec, [data[spec.column].value_counts(dropna=False)])
        encoded = data if spec is None else spec.encode(data)
        layout = Layout.from_dtypes(encoded.dtypes, spec.names if spec else ())
        return mixup_frame(encoded, make_sampler, layout, params.concat, within_class)

    spec, class_starts = describe(data, spec, within_class, _lengths)
    meta = data._meta if spec is None else spec.encode(data._meta)
    layout = Layout.from_dtypes(meta.dtypes, spec.names if spec else ())
    plan = Plan(make_sampler(tuple(int(s) for s in class_starts[:, -1])), class_starts)
    encoder = spec if spec is not None and spec.column is not None else None
    return mixup_dask(data, plan, layout, params.concat, encoder, _read_partition)

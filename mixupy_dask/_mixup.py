"""``mixup``: validate once, pick the route, call it."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import dask.dataframe as dd
import numpy as np
import pandas as pd

from ._dask_route import mixup_dask
from ._kernel import Layout
from ._labels import Labels, resolve_labels
from ._pandas_route import mixup_frame
from ._random import Keys
from ._sampler import Sampler
from ._source import Source
from ._validation import (
    MIXUP_RULES,
    arguments,
    check_data,
    check_rows,
    needs_labels,
    validate,
)
from .errors import MixupError


@dataclass(frozen=True)
class RowCall:
    """A validated ``mixup`` call: its options, the seed fixed, the labels resolved
    against the columns (their categories may still be unknown)."""

    alpha: float
    concat: bool
    batch_size: int | None
    keys: Keys
    labels: Labels | None
    within_class: bool
    label_preserving: bool

    def sampler(self, class_sizes: tuple[int, ...]) -> Sampler:
        """The row plan, once the rows per class are known."""
        m = check_rows(sum(class_sizes), self.batch_size)
        return Sampler(self.keys, class_sizes, m, self.alpha, self.label_preserving)

    def rows_out(self, n: int) -> int:
        return (n if self.concat else 0) + check_rows(n, self.batch_size)


def prepare(data: pd.DataFrame | dd.DataFrame, **options: Any) -> RowCall:
    """Check ``mixup``'s options (its keywords; its defaults for those not given) and
    the columns' dtypes, reading no data.

    ``data`` may be an empty frame of the right dtypes, as a Parquet schema gives.
    """
    options = arguments(mixup, data, **options)
    p = validate(MIXUP_RULES, **{name: options[name] for name in MIXUP_RULES})
    labels = options["labels"]
    needs_labels(labels, within_class=p["within_class"], label_preserving=p["label_preserving"])
    check_data(data)
    spec = resolve_labels(data.dtypes, labels)
    if p["within_class"] and spec is not None and spec.column is None and len(spec.block) < 2:
        raise MixupError(
            "`within_class=True` needs class labels: a class column or at least two label columns"
        )
    # Refuse non-numeric features before any pass over the data.
    features = data.dtypes if spec is None or spec.column is None else data.dtypes.drop(spec.column)
    Layout.from_dtypes(features)
    return RowCall(
        p["alpha"],
        p["concat"],
        p["batch_size"],
        Keys.from_seed(p["seed"]),
        spec,
        p["within_class"],
        p["label_preserving"],
    )


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
    call = prepare(
        data,
        alpha=alpha,
        concat=concat,
        batch_size=batch_size,
        seed=seed,
        labels=labels,
        within_class=within_class,
        label_preserving=label_preserving,
    )
    if isinstance(data, pd.DataFrame):
        return mixup_frame(data, call)
    return mixup_dask(Source(data), call)

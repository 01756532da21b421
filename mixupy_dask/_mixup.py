"""``mixup``: validate once, pick the route, call it."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import dask.dataframe as dd
import numpy as np
import pandas as pd

from ._balancing import class_rows, strategy_rows
from ._dask_route import mixup_dask
from ._kernel import DEFAULT_POLICY, Layout, Policy
from ._labels import Labels, check_onehot, onehot_features, resolve_labels
from ._pandas_route import mixup_frame
from ._random import Keys
from ._sampler import Sampler
from ._source import Source
from ._validation import (
    MIXUP_RULES,
    PROVENANCE,
    arguments,
    check_data,
    check_rows,
    needs_labels,
    per_class_rules,
    validate,
)
from .errors import MixupError


@dataclass(frozen=True)
class RowCall:
    """A validated ``mixup`` call: its options, the seed fixed, the labels resolved
    against the columns (their categories may still be unknown)."""

    alpha: float
    concat: bool
    batch_size: int | Mapping[Hashable, int] | None
    keys: Keys
    labels: Labels | None
    within_class: bool
    label_preserving: bool
    sampling_strategy: Any = None
    policy: Policy = DEFAULT_POLICY
    provenance: bool = False
    #: ``categorical="onehot"``: the features to encode (categories may be unknown yet)
    onehot: tuple[Labels, ...] = ()
    max_categories: int = 64
    #: The features' layout as checked; with no labels and no one-hot features, the
    #: whole frame's (None: not checked yet)
    features: Layout | None = None

    @property
    def per_class(self) -> bool:
        """Rows to make per class (a dict ``batch_size`` or a ``sampling_strategy``)."""
        return isinstance(self.batch_size, Mapping) or self.sampling_strategy is not None

    @property
    def by_class(self) -> bool:
        """The plan needs the rows of each class."""
        return self.within_class or self.per_class

    def class_rows(
        self,
        class_sizes: tuple[int, ...],
        classes: tuple[Any, ...] | None,
        argument: Callable[[], Any] | None = None,
    ) -> tuple[int, ...]:
        """Rows to make per class; a callable strategy gets ``argument()`` (default: the
        class counts as a pandas Series)."""
        assert classes is not None  # rows per class need the classes and labels
        assert self.labels is not None
        if isinstance(self.batch_size, Mapping):
            return class_rows(self.batch_size, classes, class_sizes)
        if argument is None:

            def argument() -> pd.Series:
                counts = pd.Series(list(class_sizes), index=pd.Index(classes), name="rows")
                return counts[counts > 0]

        return strategy_rows(
            self.sampling_strategy, classes, class_sizes, self.labels.name, argument
        )

    def sampler(
        self,
        class_sizes: tuple[int, ...],
        classes: tuple[Any, ...] | None = None,
        argument: Callable[[], Any] | None = None,
    ) -> Sampler:
        """The row plan, once the rows per class (and the classes) are known."""
        if not self.per_class:
            assert not isinstance(self.batch_size, Mapping)
            m = check_rows(sum(class_sizes), self.batch_size)
            return Sampler(self.keys, class_sizes, m, self.alpha, self.label_preserving)
        check_rows(sum(class_sizes), None)
        rows = self.class_rows(class_sizes, classes, argument)
        m = check_rows(sum(class_sizes), sum(rows))
        return Sampler(
            self.keys,
            class_sizes,
            m,
            self.alpha,
            self.label_preserving,
            class_rows=rows,
            pooled=not self.within_class,
        )

    def rows_out(self, n: int) -> int | None:
        """Rows written for ``n`` input rows; None while rows per class are unknown."""
        if self.per_class:
            return None
        assert not isinstance(self.batch_size, Mapping)
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
    per_class_rules(
        labels, p["batch_size"], p["sampling_strategy"], p["within_class"], p["label_preserving"]
    )
    check_data(data)
    dtypes = data.dtypes  # a new Series at each access
    spec = resolve_labels(dtypes, labels)
    per_class = isinstance(p["batch_size"], Mapping) or p["sampling_strategy"] is not None
    if spec is not None and spec.column is None and len(spec.block) < 2:
        if p["within_class"]:
            raise MixupError(
                "`within_class=True` needs class labels: a class column or at least two label "
                "columns"
            )
        if per_class:
            name = "sampling_strategy" if p["sampling_strategy"] is not None else "batch_size"
            raise MixupError(
                f"`{name}` per class needs class labels: a class column or at least two label "
                f"columns"
            )
    policy = Policy(p["categorical"], p["integers"], p["missing"])
    # Refuse columns the policies cannot mix before any pass over the data.
    features = dtypes if spec is None or spec.column is None else dtypes.drop(spec.column)
    onehot: tuple[Labels, ...] = ()
    if p["categorical"] == "onehot":
        onehot = onehot_features(features, p["missing"])
        check_onehot(onehot, data.columns, p["max_categories"])
        features = features.drop([e.column for e in onehot])
    layout = Layout.from_dtypes(features, policy=policy)
    check_categories(features)
    if p["provenance"]:
        clash = [repr(c) for c in PROVENANCE if c in data.columns]
        if clash:
            raise MixupError(
                f"`provenance=True` adds the columns {', '.join(map(repr, PROVENANCE))}; "
                f"`data` already has {', '.join(clash)}: rename it"
            )
    return RowCall(
        p["alpha"],
        p["concat"],
        p["batch_size"],
        Keys.from_seed(p["seed"]),
        spec,
        p["within_class"],
        p["label_preserving"],
        p["sampling_strategy"],
        policy,
        p["provenance"],
        onehot,
        p["max_categories"],
        layout,
    )


def check_categories(dtypes: pd.Series) -> None:
    """Categorical features must have known categories: the output's dtype is theirs,
    and a lazy frame's ``meta`` must say it before any data is read."""
    from dask.dataframe.utils import UNKNOWN_CATEGORIES

    unknown = [
        repr(name)
        for name, dt in zip(dtypes.index.tolist(), dtypes.tolist(), strict=True)
        if isinstance(dt, pd.CategoricalDtype) and UNKNOWN_CATEGORIES in dt.categories
    ]
    if unknown:
        raise MixupError(
            f"categorical columns {', '.join(unknown)} have unknown categories (a dask "
            f"frame that has not read them); make them known first, e.g. "
            f"`ddf[column] = ddf[column].cat.as_known()`"
        )


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
    if isinstance(data, pd.DataFrame):
        return mixup_frame(data, call)
    return mixup_dask(Source.of(data), call)

"""A validated ``mixup`` call: ``prepare`` checks the options and the columns once,
reading no data, and ``RowCall`` carries them to the routes and makes their sampler."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any

import dask.dataframe as dd
import pandas as pd
from dask.utils import format_bytes

from .._core.balancing import class_rows, strategy_rows
from .._core.labels import Labels, check_onehot, onehot_features, resolve_labels
from .._core.random import Keys
from .._core.sampler import Sampler
from .._core.validation import (
    MIXUP_DEFAULTS,
    MIXUP_RULES,
    PROVENANCE,
    bandwidth_rules,
    check_rows,
    needs_labels,
    per_class_rules,
    validate,
    with_defaults,
)
from .._dask.cluster import available_memory
from .._frames.base import check_columns
from .._frames.registry import adapter_for
from .._kernel.kinds import DEFAULT_POLICY, Policy
from .._kernel.layout import Layout
from ..errors import MixupError

#: Frames the dask route takes (not through an adapter), as errors name them.
LAZY = ("dask",)

#: Bytes of an output value, at most: float64 (one-hot and label columns are float64).
VALUE_BYTES = 8


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
    #: Categorical features chosen from a parent (``categorical="dominant"`` or
    #: "sample") whose categories a dask frame has not read yet: the counting pass
    #: reads them (``count_partitions``)
    categoricals: tuple[Hashable, ...] = ()
    #: C-Mixup's kernel width over the numeric labels (None: permutation partners)
    bandwidth: float | None = None

    @property
    def per_class(self) -> bool:
        """Rows to make per class (a dict ``batch_size`` or a ``sampling_strategy``)."""
        return isinstance(self.batch_size, Mapping) or self.sampling_strategy is not None

    @property
    def needs_classes(self) -> bool:
        """The plan needs the rows of each class."""
        return self.within_class or self.per_class

    def class_rows(
        self,
        class_sizes: tuple[int, ...],
        classes: tuple[Any, ...] | None,
    ) -> tuple[int, ...]:
        """Rows to make per class; a callable strategy is given the class counts as a
        pandas Series."""
        assert classes is not None  # rows per class need the classes and labels
        assert self.labels is not None
        if isinstance(self.batch_size, Mapping):
            return class_rows(self.batch_size, classes, class_sizes)

        def counts() -> pd.Series:
            sizes = pd.Series(list(class_sizes), index=pd.Index(classes), name="rows")
            return sizes[sizes > 0]

        return strategy_rows(self.sampling_strategy, classes, class_sizes, self.labels.name, counts)

    def sampler(
        self,
        class_sizes: tuple[int, ...],
        classes: tuple[Any, ...] | None = None,
    ) -> Sampler:
        """The row plan, once the rows per class (and the classes) are known."""
        if not self.per_class:
            assert not isinstance(self.batch_size, Mapping)
            m = check_rows(sum(class_sizes), self.batch_size)
            return Sampler(self.keys, class_sizes, m, self.alpha, self.label_preserving)
        check_rows(sum(class_sizes), None)
        rows = self.class_rows(class_sizes, classes)
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

    def output_columns(
        self, columns: int, labels: Labels | None = None, onehot: tuple[Labels, ...] | None = None
    ) -> int:
        """Output columns of a frame of ``columns`` columns: each one-hot encoded column
        replaced by one per category, a feature's not yet counted taken at
        ``max_categories`` (the most it may have), a class column's as one; then the
        provenance columns. ``labels`` and ``onehot`` default to the call's own."""
        labels = self.labels if labels is None else labels
        encoded = [labels] if labels is not None and labels.column is not None else []
        width = columns
        for e in [*encoded, *(self.onehot if onehot is None else onehot)]:
            if e.categories is not None:
                width += len(e.categories) - 1
            elif e.feature:
                width += self.max_categories - 1
        return width + (len(PROVENANCE) if self.provenance else 0)

    def check_memory(self, rows_in: int, rows_out: int, columns: int) -> None:
        """Refuse, before anything is encoded, a one-hot result memory cannot hold.

        The estimate is the encoded input and the output twice (the gathered partner
        rows, the frame returned), each ``columns`` wide at ``VALUE_BYTES`` a value:
        ``(rows_in + 2 rows_out) x columns x 8`` bytes, measured within 1 % of the peak
        (3.0x the output for ``batch_size=n``, 2.5x with ``concat``). It is compared with
        the memory available now (``available_memory``): flights with
        ``max_categories=5000`` (4,180 columns) was killed at 23 GiB without this check.
        """
        need = (rows_in + 2 * rows_out) * columns * VALUE_BYTES
        available = available_memory()
        if need <= available:
            return
        raise MixupError(
            f"`categorical='onehot'` makes {columns:,} columns: {rows_out:,} rows out of "
            f"{rows_in:,} need about {format_bytes(need)} in memory (the encoded input and "
            f"the output twice, 8 bytes a value), more than the {format_bytes(available)} "
            f"available; lower `max_categories` (now {self.max_categories}), mix fewer "
            f"columns or rows, or mix out of core with `augment_parquet`"
        )

    def rows_out(self, n: int) -> int | None:
        """Rows written for ``n`` input rows; None while rows per class are unknown."""
        if self.per_class:
            return None
        assert not isinstance(self.batch_size, Mapping)
        return (n if self.concat else 0) + check_rows(n, self.batch_size)


def schema(data: Any) -> pd.Series:
    """The columns' dtypes of a dask frame, or of a frame a ``_frames`` adapter takes;
    a ``MixupTypeError`` naming the kinds accepted for anything else."""
    if isinstance(data, dd.DataFrame):
        return data.dtypes
    return adapter_for(data, also=LAZY).schema(data)


def prepare(data: Any, **options: Any) -> RowCall:
    """Check ``mixup``'s options (its keywords; its defaults for those not given) and
    the columns' dtypes, reading no data.

    ``data`` is a dask frame or one a ``_frames`` adapter takes; it may be an empty
    frame of the right dtypes, as a Parquet schema gives.
    """
    options = with_defaults(MIXUP_DEFAULTS, options)
    p = validate(MIXUP_RULES, **{name: options[name] for name in MIXUP_RULES})
    labels = options["labels"]
    needs_labels(labels, within_class=p["within_class"], label_preserving=p["label_preserving"])
    bandwidth_rules(
        labels,
        p["bandwidth"],
        p["within_class"],
        p["label_preserving"],
        p["sampling_strategy"],
        p["batch_size"],
    )
    per_class_rules(
        labels, p["batch_size"], p["sampling_strategy"], p["within_class"], p["label_preserving"]
    )
    dtypes = schema(data)  # a new Series at each call
    columns = dtypes.index
    check_columns(columns)
    spec = resolve_labels(dtypes, labels)
    per_class = isinstance(p["batch_size"], Mapping) or p["sampling_strategy"] is not None
    if p["bandwidth"] is not None and spec is not None and spec.column is not None:
        raise MixupError(
            f"`bandwidth` needs numeric labels (a regression target); `labels` "
            f"{spec.column!r} is a class column ({dtypes[spec.column]}): give a float "
            f"column, e.g. `df[{spec.column!r}].astype(float)`"
        )
    classes_needed = p["within_class"] or per_class
    if classes_needed and spec is not None and spec.column is None and len(spec.block) < 2:
        if p["within_class"]:
            what = "`within_class=True`"
        elif p["sampling_strategy"] is not None:
            what = "`sampling_strategy`"
        else:
            what = "`batch_size` per class"
        (name,) = spec.block
        raise MixupError(
            f"{what} needs class labels: a class column (bool, integer, string, object "
            f"or categorical) or at least two label columns (one-hot or probabilities); "
            f"{name!r} is {dtypes[name]}, a numeric label mixed as it is, not classes "
            f"(cast it to int or category to use it as classes)"
        )
    policy = Policy(p["categorical"], p["integers"], p["missing"])
    # Refuse columns the policies cannot mix before any pass over the data.
    features = dtypes if spec is None or spec.column is None else dtypes.drop(spec.column)
    onehot: tuple[Labels, ...] = ()
    if p["categorical"] == "onehot":
        onehot = onehot_features(features, p["missing"])
        check_onehot(onehot, columns, p["max_categories"])
        features = features.drop([e.column for e in onehot])
    layout = Layout.from_dtypes(features, policy=policy)
    if p["provenance"]:
        clash = [repr(c) for c in PROVENANCE if c in columns]
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
        unknown_categories(features),
        p["bandwidth"],
    )


def unknown_categories(dtypes: pd.Series) -> tuple[Hashable, ...]:
    """The categorical columns among ``dtypes`` whose categories are not known yet (a
    dask frame that has not read them, as ``dd.read_parquet`` leaves them)."""
    from dask.dataframe.utils import UNKNOWN_CATEGORIES

    return tuple(
        name
        for name, dt in zip(dtypes.index.tolist(), dtypes.tolist(), strict=True)
        if isinstance(dt, pd.CategoricalDtype) and UNKNOWN_CATEGORIES in dt.categories
    )

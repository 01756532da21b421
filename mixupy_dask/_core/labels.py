"""Label columns: which they are, how a class column becomes soft-label columns.

``labels=`` names either one *class column* (categorical, string, object, bool or
integer), which is one-hot encoded into columns named as ``pd.get_dummies(...,
prefix=column)`` would name them, or a *label block* of numeric columns (already
one-hot, or probabilities), mixed as they are. Either way the encoded label columns
are mixed with the same weights as the features, and a row's class is the argmax
of its label columns.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from dask.dataframe.utils import UNKNOWN_CATEGORIES
from pandas.api import types as ptypes

from ..errors import MixupError, MixupTypeError, NonFiniteError
from .dtypes import output_dtype


def _is_class_dtype(dtype) -> bool:
    return (
        isinstance(dtype, pd.CategoricalDtype)
        or ptypes.is_object_dtype(dtype)
        or ptypes.is_string_dtype(dtype)
        or ptypes.is_bool_dtype(dtype)
        or ptypes.is_integer_dtype(dtype)
    )


@dataclass(frozen=True)
class Labels:
    """The label columns of a frame, before and after encoding.

    ``column`` is the class column to one-hot encode (None for a label block),
    ``categories`` its classes in output order once known, ``block`` the input names
    of a numeric label block.
    """

    column: Hashable | None = None
    categories: tuple | None = None
    block: tuple = ()
    #: A feature one-hot encoded under ``categorical="onehot"`` (not a label): its
    #: missing values, where ``missing=`` allows them, become NaN in all its columns.
    feature: bool = False
    missing_ok: bool = False

    @property
    def role(self) -> str:
        return "column" if self.feature else "label column"

    @property
    def needs_categories(self) -> bool:
        return self.column is not None and self.categories is None

    @property
    def classes(self) -> tuple:
        """The classes in class order: a block's columns, or a class column's categories
        once fixed (``with_categories``)."""
        if self.column is None:
            return self.block
        if self.categories is None:
            raise RuntimeError(f"the categories of {self.column!r} are not known yet")
        return self.categories

    @property
    def names(self) -> tuple:
        """The label columns of the encoded frame, in order."""
        if self.column is None:
            return self.block
        return tuple(f"{self.column}_{c}" for c in self.classes)

    @property
    def name(self) -> str:
        """What the labels are called in errors: the class column, or the block."""
        return str(self.column) if self.column is not None else ", ".join(map(str, self.block))

    def with_categories(self, observed: Iterable) -> Labels:
        """Fix the categories from the distinct values seen in the data (sorted)."""
        try:
            return replace(self, categories=tuple(sorted(observed)))
        except TypeError:
            raise MixupTypeError(
                f"{self.role} {self.column!r} mixes values that cannot be sorted; give it "
                f"a categorical dtype to fix the order of its classes"
            ) from None

    def from_counts(self, counts: Sequence[pd.Series]) -> Labels:
        """Fix a class column's categories from its per-partition value counts
        (``value_counts(dropna=False)``); refuse missing labels.

        A categorical's are its partitions' categories (unused ones too) united in
        partition order, as computing the frame unites them; others' the sorted values
        seen.
        """
        observed: set = set()
        united: dict = {}  # an ordered set
        missing = 0
        for c in counts:
            nulls = c.index.isna()
            missing += int(c[nulls].sum())
            if isinstance(c.index, pd.CategoricalIndex):
                united.update(dict.fromkeys(c.index.categories))
            else:
                observed.update(c.index[~nulls & (c.to_numpy() > 0)])
        if missing and not self.missing_ok:
            raise NonFiniteError(f"{self.role} {self.column!r} has missing values ({missing})")
        if self.categories is not None:
            return self
        return replace(self, categories=tuple(united)) if united else self.with_categories(observed)

    def encode(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Replace the class column, in place, by its one-hot float columns."""
        if self.column is None:
            return frame
        values = frame[self.column]
        if isinstance(values.dtype, pd.CategoricalDtype):  # re-code, no object round trip
            codes = values.cat.set_categories(list(self.classes)).cat.codes.to_numpy()
        else:
            codes = pd.Categorical(values, categories=list(self.classes)).codes
        unknown = codes < 0
        if unknown.any():
            missing = values.isna().to_numpy()
            if missing.any() and not self.missing_ok:
                raise NonFiniteError(
                    f"{self.role} {self.column!r} has missing values ({int(missing.sum())})"
                )
            if (unknown & ~missing).any():
                raise MixupError(f"{self.role} {self.column!r} has values outside its categories")
        onehot = np.zeros((len(self.classes), len(codes)))
        onehot[codes[~unknown], np.flatnonzero(~unknown)] = 1.0
        onehot[:, unknown] = np.nan  # a missing category: missing in every column
        columns: dict = {}
        for name in frame.columns:
            if name == self.column:
                columns.update(zip(self.names, onehot, strict=True))
            else:
                columns[name] = frame[name]
        return pd.DataFrame(columns, index=frame.index, copy=False)


def resolve_labels(dtypes: pd.Series, labels) -> Labels | None:
    """Check ``labels=`` against the columns; the categories may still be unknown."""
    if labels is None:
        return None
    names = [labels] if isinstance(labels, Hashable) and labels in dtypes.index else labels
    if isinstance(names, (str, bytes)) or not isinstance(names, Sequence) or not names:
        raise MixupError(f"`labels`: no column named {labels!r}")
    missing = [n for n in names if n not in dtypes.index]
    if missing:
        raise MixupError(f"`labels`: no column named {', '.join(map(repr, missing))}")
    if len(names) == 1 and _is_class_dtype(dtypes[names[0]]):
        dtype = dtypes[names[0]]
        categories = None
        # Categories not read yet: dask puts a placeholder category, and an empty Arrow
        # table gives a dictionary column none at all (no row could carry either).
        known = isinstance(dtype, pd.CategoricalDtype) and dtype.categories is not None
        if known and len(dtype.categories) and UNKNOWN_CATEGORIES not in dtype.categories:
            categories = tuple(dtype.categories)
        elif ptypes.is_bool_dtype(dtype):
            categories = (False, True)
        return Labels(column=names[0], categories=categories)
    bad = [f"{n!r} ({dtypes[n]})" for n in names if output_dtype(dtypes[n]) is None]
    if bad:
        raise MixupTypeError(
            f"`labels`: several label columns must all be numeric (one-hot or probabilities);"
            f" not so: {', '.join(bad)}"
        )
    return Labels(block=tuple(names))


@dataclass(frozen=True)
class Encoders:
    """The class column and the one-hot encoded features, applied one after the other:
    what turns a frame into the numeric frame the kernel mixes."""

    parts: tuple[Labels, ...]

    def encode(self, frame: pd.DataFrame) -> pd.DataFrame:
        for part in self.parts:
            frame = part.encode(frame)
        return frame


def onehot_features(dtypes: pd.Series, missing: str) -> tuple[Labels, ...]:
    """``categorical="onehot"``: an encoder per categorical, string or object feature;
    a categorical's categories are its own (unused ones too, in order), others' the
    sorted values seen, once counted."""
    from .dtypes import is_categorical_like

    encoders = []
    for name, dtype in dtypes.items():
        if not is_categorical_like(dtype):
            continue
        categories = None
        if isinstance(dtype, pd.CategoricalDtype) and UNKNOWN_CATEGORIES not in dtype.categories:
            categories = tuple(dtype.categories)
        encoders.append(Labels(name, categories, feature=True, missing_ok=missing != "raise"))
    return tuple(encoders)


def check_onehot(encoders: Sequence[Labels], columns: pd.Index, max_categories: int) -> None:
    """Refuse a one-hot encoding wider than ``max_categories``, or one whose column
    names are taken."""
    for encoder in encoders:
        if encoder.categories is None:
            continue
        if len(encoder.categories) > max_categories:
            raise MixupError(
                f"column {encoder.column!r} has {len(encoder.categories)} categories, more "
                f"than `max_categories` ({max_categories}) for `categorical='onehot'`; raise "
                f"`max_categories`, or use 'dominant' or 'sample'"
            )
        taken = [repr(n) for n in encoder.names if n in columns]
        if taken:
            raise MixupError(
                f"`categorical='onehot'` names the columns of {encoder.column!r} "
                f"{', '.join(taken)}, which `data` already has"
            )

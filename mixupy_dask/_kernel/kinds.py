"""Column kinds: how each column that is not a float-block column is held, mixed and
carried through the shuffle, registered once in ``KINDS``.

The default kind is not in the registry: bool, integer and float columns (and every
label column) are rows of a float block (``Layout.block_columns``), mixed by
``combine``; integers under ``integers="round"`` are rounded back into their dtype.
Any other column is a *passenger* of the first ``Kind`` in ``KINDS`` that ``takes``
its dtype under the ``Policy``; a column no kind takes and no float block holds is
refused. Every rule is per column, never per row: a kind works on whole 1-D arrays.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pandas.api import types as ptypes

from .._core.dtypes import is_categorical_like, is_time, output_dtype
from ..errors import MixupError, MixupTypeError
from .times import NAT, mix_times


@dataclass(frozen=True)
class Policy:
    """How columns other than floats are mixed (``mixup``'s ``categorical``,
    ``integers`` and ``missing``); the defaults refuse categorical and string
    columns and missing values."""

    categorical: str = "raise"
    integers: str = "float"
    missing: str = "raise"


DEFAULT_POLICY = Policy()

#: ``categorical=`` values that mix a column by choosing one parent's value.
CHOOSING = ("dominant", "sample")


@dataclass(frozen=True)
class Mixing:
    """What every passenger column of one ``mix_rows`` call shares, one entry per row:
    ``lam``; ``dominant``, where ``lam >= 0.5``; ``chosen``, where the categorical
    policy takes the left row (``dominant``, or ``u < lam`` under "sample"); and the
    policy's ``missing``. ``whole`` marks the rows whose ``lam`` is exactly 0 or 1:
    there the parent of weight 0 takes no part, its missing values neither propagate
    nor fill (``dominant`` and ``chosen`` already pick the parent of weight 1)."""

    lam: np.ndarray
    dominant: np.ndarray
    chosen: np.ndarray
    missing: str

    @functools.cached_property
    def whole(self) -> np.ndarray:
        return (self.lam == 0) | (self.lam == 1)


class Kind:
    """One kind of passenger column. Subclasses say which dtypes they take
    (``takes``) and how two parents' values mix (``mix``); the other methods default to
    holding the column's own array of its dtype (any pandas extension array works)."""

    #: A short name, for reprs and docs only: nothing dispatches on it.
    name = "kind"

    def takes(self, dtype: Any, policy: Policy) -> bool:
        """Whether columns of ``dtype`` are of this kind under ``policy``."""
        raise NotImplementedError

    def values(self, column: pd.Series, dtype: Any, name: Any) -> Any:
        """The column's values as the kernel holds them (``name`` is for errors)."""
        if column.dtype != dtype:
            column = column.astype(dtype)
        return column.to_numpy() if isinstance(dtype, np.dtype) else column.array

    def from_wire(self, column: pd.Series, dtype: Any, name: Any) -> Any:
        """The values of a column of a frame made by ``wire_frame``."""
        return self.values(column, dtype, name)

    def code(self, values: Any) -> Any:
        """``values`` in a cheaper form for rows mixed only with each other (``to_rows``'s
        ``coded``); by default as they are."""
        return values

    def missing(self, values: Any) -> np.ndarray:
        """A bool mask of the missing values."""
        return np.asarray(pd.isna(values), dtype=bool)

    def empty(self, dtype: Any) -> Any:
        """Zero values, as ``values`` holds them."""
        return pd.array([], dtype=dtype)

    def output(self, values: Any, dtype: Any) -> Any:
        """The output column's array, of ``dtype``, from held values."""
        return values

    def wire(self, values: Any, dtype: Any) -> Any:
        """What crosses the shuffle; ``from_wire`` reads it back exactly."""
        return values

    def mix(self, left: Any, right: Any, dtype: Any, how: Mixing) -> Any:
        """The mixed values; ``right`` may be overwritten (a fresh gather), ``left`` not."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class _Chosen(Kind):
    """Mixed by taking one parent's value: the left one where ``how.chosen`` (bool
    dtypes: where ``how.dominant``); under ``missing="available"`` the other parent's
    where just one is missing."""

    def mix(self, left: Any, right: Any, dtype: Any, how: Mixing) -> Any:
        take = how.dominant if ptypes.is_bool_dtype(dtype) else how.chosen
        if how.missing == "available":
            lmiss, rmiss = self.missing(left), self.missing(right)
            # Most columns have no missing value: they skip the masked pass.
            if lmiss.any() or rmiss.any():
                # Where just one parent is missing, the other one's value: the left's
                # where the right is missing; not from a parent of weight 0.
                take = np.where((lmiss != rmiss) & ~how.whole, rmiss, take)
        return choose(take, left, right)


def category_codes(column: pd.Series, categories: pd.Index, name: Any) -> np.ndarray:
    """A categorical column's codes in ``categories``.

    A part of the data (a partition, a file) may have some of the categories, in any
    order: the column's are their union (the files' dictionaries, or the partitions'
    found by the counting pass). Recoded by value; a value outside the column's
    categories is refused, never made missing.
    """
    if column.cat.categories.equals(categories):
        return column.cat.codes.to_numpy()
    codes = column.cat.set_categories(categories).cat.codes.to_numpy()
    lost = (codes < 0) & (column.cat.codes.to_numpy() >= 0)
    if lost.any():
        outside = list(dict.fromkeys(column[lost].astype(object)))
        raise MixupError(
            f"categorical column {name!r} has values {outside!r} in one part of the "
            f"data that are not among its categories {list(categories)!r}; give it "
            f"one categorical dtype"
        )
    return codes


class CategoryCodes(_Chosen):
    """Categoricals under ``categorical="dominant"`` / "sample", held and sent as their
    integer codes (-1 missing); the output has the column's categorical dtype."""

    name = "codes"

    def takes(self, dtype: Any, policy: Policy) -> bool:
        return (
            isinstance(dtype, pd.CategoricalDtype)
            and is_categorical_like(dtype)
            and policy.categorical in CHOOSING
        )

    def values(self, column: pd.Series, dtype: Any, name: Any) -> np.ndarray:
        return category_codes(column, dtype.categories, name)

    def from_wire(self, column: pd.Series, dtype: Any, name: Any) -> np.ndarray:
        return column.to_numpy()

    def missing(self, values: np.ndarray) -> np.ndarray:
        return values < 0

    def empty(self, dtype: Any) -> np.ndarray:
        return np.empty(0, dtype=np.int64)

    def output(self, values: np.ndarray, dtype: Any) -> Any:
        return pd.Categorical.from_codes(values, dtype=dtype)


_OBJECT = np.dtype(object)


class ChosenValues(_Chosen):
    """Strings (any storage) and object strings under ``categorical="dominant"`` /
    "sample", and bools under ``integers="round"``: held as the column's own values
    (Arrow-backed ones as ``Coded`` where that pays)."""

    name = "values"

    def takes(self, dtype: Any, policy: Policy) -> bool:
        if is_categorical_like(dtype):
            return not isinstance(dtype, pd.CategoricalDtype) and policy.categorical in CHOOSING
        return ptypes.is_bool_dtype(dtype) and policy.integers == "round"

    def values(self, column: pd.Series, dtype: Any, name: Any) -> Any:
        if dtype == _OBJECT and column.dtype != object:  # e.g. strings back from Arrow
            column = column.astype(object)
        if column.dtype == object:  # also where a lazy frame's meta calls it strings
            values = column.to_numpy(dtype=object, copy=True)
            missing = pd.isna(values)
            values[missing] = None  # one missing value, whatever the route carried
            inferred = pd.api.types.infer_dtype(values, skipna=True)
            if inferred not in ("string", "empty"):
                raise MixupTypeError(
                    f"object column {name!r} must hold only strings (and missing values) "
                    f"to be mixed with `categorical=`; it holds {inferred} values"
                )
            if dtype == _OBJECT:
                return values
            column = pd.Series(values, dtype=dtype)
        return super().values(column, dtype, name)

    def code(self, values: Any) -> Any:
        return _code(values) if _is_arrow(values) else values

    def missing(self, values: Any) -> np.ndarray:
        if isinstance(values, Coded):
            return values.codes < 0
        return super().missing(values)

    def output(self, values: Any, dtype: Any) -> Any:
        if isinstance(values, Coded):
            return values.values(dtype)
        if isinstance(values, np.ndarray) and values.dtype == object:
            return pd.Index(values, dtype=object)  # not inferred as strings: object stays
        return values


class ExactTimes(Kind):
    """datetime64 (tz-aware too) and timedelta64, held and sent as int64 in the column's
    unit (NaT is int64's minimum), mixed exactly by ``mix_times``."""

    name = "time"

    def takes(self, dtype: Any, policy: Policy) -> bool:
        return is_time(dtype) and isinstance(dtype, (np.dtype, pd.DatetimeTZDtype))

    def values(self, column: pd.Series, dtype: Any, name: Any) -> np.ndarray:
        if column.dtype != dtype:
            column = column.astype(dtype)
        return np.asarray(column.array.asi8)

    def from_wire(self, column: pd.Series, dtype: Any, name: Any) -> np.ndarray:
        return column.to_numpy(dtype=np.int64)

    def missing(self, values: np.ndarray) -> np.ndarray:
        return values == NAT

    def empty(self, dtype: Any) -> np.ndarray:
        return np.empty(0, dtype=np.int64)

    def output(self, values: np.ndarray, dtype: Any) -> Any:
        if isinstance(dtype, pd.DatetimeTZDtype):
            naive = pd.DatetimeIndex(values.view(f"M8[{dtype.unit}]"))
            return naive.tz_localize("UTC").tz_convert(dtype.tz).array
        return values.view(dtype)

    def mix(self, left: np.ndarray, right: np.ndarray, dtype: Any, how: Mixing) -> np.ndarray:
        """Exact ``left + round((1 - lam) * (right - left))``; missing where either is
        ("propagate"), or the other parent's where just one is ("available"); where a
        parent's weight is exactly 0, the other parent's value (``mix_times`` gives it
        exactly, NaT included)."""
        lmiss, rmiss = self.missing(left), self.missing(right)
        out = mix_times(left, right, 1.0 - how.lam)
        if lmiss.any() or rmiss.any():
            lmiss, rmiss = lmiss & ~how.whole, rmiss & ~how.whole
            if how.missing == "available":
                out = np.where(lmiss, right, np.where(rmiss, left, out))
            else:
                out[lmiss | rmiss] = NAT
        return out


#: The passenger kinds, in the order they are asked: the first that takes a dtype wins.
KINDS: tuple[Kind, ...] = (ExactTimes(), CategoryCodes(), ChosenValues())


def kind_of(dtype: Any, policy: Policy) -> Kind | np.dtype | None:
    """How a column of ``dtype`` is mixed under ``policy``: a passenger ``Kind``, else
    the float dtype of its block (the default kind), else None (refused)."""
    if isinstance(dtype, np.dtype):
        return _numpy_kind(dtype, policy)
    return _kind_of(dtype, policy)


@functools.lru_cache(maxsize=256)
def _numpy_kind(dtype: np.dtype, policy: Policy) -> Kind | np.dtype | None:
    # Numpy dtypes are few and cheap to hash; pandas' checks cost ~20 us a column,
    # a tenth of a 10-column, 1e4-row mixup.
    return _kind_of(dtype, policy)


def _kind_of(dtype: Any, policy: Policy) -> Kind | np.dtype | None:
    for kind in KINDS:
        if kind.takes(dtype, policy):
            return kind
    return output_dtype(dtype)


@contextmanager
def registered(kind: Kind) -> Iterator[Kind]:
    """``kind`` first in ``KINDS`` while the block runs (for tests: the registry is
    private; a new kind belongs in ``KINDS`` itself)."""
    global KINDS
    saved = KINDS
    KINDS = (kind, *saved)
    _numpy_kind.cache_clear()
    try:
        yield kind
    finally:
        KINDS = saved
        _numpy_kind.cache_clear()


# Held values of ``ChosenValues``: Arrow-backed columns as dictionary codes, and
# choosing one parent's value in whatever form the values are held.


@dataclass(frozen=True)
class Coded:
    """An Arrow-backed passenger as dictionary codes (-1 where missing) into its distinct
    values: gathering and choosing int32 codes costs a fraction of gathering Arrow
    strings (~7 ms against ~120 ms per million rows), and the values are looked up once,
    for the output. Rows mixed or concatenated together share one dictionary."""

    codes: np.ndarray
    dictionary: pa.Array

    def take(self, rows: np.ndarray) -> Coded:
        return Coded(self.codes.take(rows), self.dictionary)

    def __len__(self) -> int:
        return len(self.codes)

    def values(self, dtype: Any) -> pd.api.extensions.ExtensionArray:
        """The values as an array of ``dtype``, missing where the code is -1."""
        indices = pa.array(self.codes, mask=self.codes < 0)
        return pd.array(pc.take(self.dictionary, indices), dtype=dtype)


#: Rows sampled to judge whether a column's distinct values are few enough to code.
_CODE_SAMPLE = 4096


def _is_arrow(values: Any) -> bool:
    return (
        isinstance(values.dtype, pd.ArrowDtype)
        or getattr(values.dtype, "storage", None) == "pyarrow"
    )


def _code(values: Any) -> Coded | Any:
    """``values`` as ``Coded`` where that pays: when a sample of its rows has at most
    half as many distinct values as rows (hashing many distinct strings costs more
    than the gathers it saves); else ``values`` as they are."""
    coded = code_arrow(pa.array(values))
    return values if coded is None else coded


def code_arrow(array: pa.Array | pa.ChunkedArray) -> Coded | None:
    """An Arrow array as ``Coded`` where that pays (see ``_code``), else None."""
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    sample = array.take(np.arange(0, len(array), max(1, len(array) // _CODE_SAMPLE)))
    if pc.count_distinct(sample, mode="all").as_py() > len(sample) // 2:
        return None
    encoded = pc.dictionary_encode(array)
    return Coded(pc.fill_null(encoded.indices, -1).to_numpy(), encoded.dictionary)


def choose(take: np.ndarray, left: Any, right: Any) -> Any:
    """``left``'s values where ``take``, else ``right``'s (which may be overwritten)."""
    if isinstance(left, np.ndarray):
        return np.where(take, left, right)
    if isinstance(left, Coded):
        return Coded(np.where(take, left.codes, right.codes), left.dictionary)
    if _is_arrow(left):
        # One Arrow kernel: ~3x faster than pandas' masked assignment into Arrow strings.
        chosen = pc.if_else(pa.array(take), pa.array(left), pa.array(right))
        return pd.array(chosen, dtype=left.dtype)
    right[take] = left[take]
    return right

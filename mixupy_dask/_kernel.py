"""The one numeric kernel: frames to float column blocks, the mixing formula, and back.

Values travel as 2-D blocks shaped (columns, rows), one block per output dtype,
which is pandas' own block layout: converting a frame costs one copy at most and
gathering rows is a contiguous ``take`` per column.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pandas.api import types as ptypes

from ._random import Keys, uniforms
from ._validation import PROVENANCE
from .errors import MixupError, MixupTypeError, NonFiniteError


def output_dtype(dtype) -> np.dtype | None:
    """float32 for floats of 32 bits or less, float64 for other bool/int/float, else None."""
    if isinstance(dtype, pd.CategoricalDtype) or ptypes.is_complex_dtype(dtype):
        return None
    if ptypes.is_float_dtype(dtype):
        return (
            np.dtype(np.float32)
            if np.dtype(_numpy_type(dtype)).itemsize <= 4
            else np.dtype(np.float64)
        )
    if ptypes.is_bool_dtype(dtype) or ptypes.is_integer_dtype(dtype):
        return np.dtype(np.float64)
    return None


def _numpy_type(dtype):
    """The numpy type behind a numpy, pandas-nullable or pyarrow-backed numeric dtype."""
    return getattr(dtype, "numpy_dtype", dtype)


@dataclass(frozen=True)
class Policy:
    """How columns other than floats are mixed (``mixup``'s ``categorical``,
    ``integers`` and ``missing``); the defaults are today's behaviour."""

    categorical: str = "raise"
    integers: str = "float"
    missing: str = "raise"


DEFAULT_POLICY = Policy()


def _is_time(dtype) -> bool:
    return ptypes.is_datetime64_any_dtype(dtype) or ptypes.is_timedelta64_dtype(dtype)


def is_categorical_like(dtype) -> bool:
    """A categorical, string or object column: mixed by choosing a parent's value."""
    return (
        isinstance(dtype, pd.CategoricalDtype)
        or ptypes.is_string_dtype(dtype)
        or ptypes.is_object_dtype(dtype)
    ) and not _is_time(dtype)


@dataclass(frozen=True)
class Passenger:
    """A column that is not mixed in the float blocks: its output position, its dtype
    (the same in and out) and how it is mixed.

    ``kind`` is ``"codes"`` (a categorical, by its integer codes), ``"values"``
    (strings, object strings or bools, as they are) — both take one parent's value
    — or ``"time"`` (datetime/timedelta as int64 in the column's unit, mixed exactly).
    """

    position: int
    kind: str
    dtype: Any  # numpy or pandas dtype


@dataclass(frozen=True)
class Layout:
    """Which columns are mixed, and the output dtype of each, grouped into blocks.

    Float blocks hold the numeric columns (``groups``); ``passengers`` the columns
    that travel beside them (categoricals, strings, times; bools under
    ``integers="round"``); ``rounded`` the integer columns mixed as floats and then
    rounded back into their own dtype.
    """

    columns: pd.Index
    groups: tuple[tuple[np.dtype, tuple[int, ...]], ...]
    #: (group, row within the group's block) of each label column, in label order
    labels: tuple[tuple[int, int], ...] = ()
    passengers: tuple[Passenger, ...] = ()
    #: (group, row within the group's block, dtype) of each rounded integer column
    rounded: tuple[tuple[int, int, object], ...] = ()
    policy: Policy = DEFAULT_POLICY
    #: The labels are a class column's one-hot columns, exactly 0 or 1 in every input
    #: row: they cross the shuffle as uint8 (``wire_frame``), an eighth of the bytes.
    onehot_labels: bool = False

    @classmethod
    def from_dtypes(
        cls,
        dtypes: pd.Series,
        labels: Sequence = (),
        policy: Policy = DEFAULT_POLICY,
        accepted: str = "`categorical='dominant'`, 'sample' or 'onehot'",
    ) -> Layout:
        """Check that every column can be mixed under ``policy``; raise naming the ones
        that cannot.

        ``labels`` names the (encoded) label columns, whose argmax is a row's class;
        they are always mixed as floats.
        """
        label_set = set(labels)
        # Plain lists: iterating pandas' (Arrow-backed) column index costs ~3 us a name.
        names, types = dtypes.index.tolist(), dtypes.tolist()
        kinds: list[str | np.dtype | None] = []
        for name, dt in zip(names, types, strict=True):
            kinds.append(_kind(dt, policy if name not in label_set else DEFAULT_POLICY))
        bad = [(name, dt) for name, dt, k in zip(names, types, kinds, strict=True) if k is None]
        if bad:
            shown = ", ".join(f"{name!r} ({dt})" for name, dt in bad)
            message = (
                f"columns must be bool, integer, float, datetime or timedelta to be mixed; "
                f"not so: {shown}"
            )
            if policy.categorical == "raise" and any(is_categorical_like(dt) for _, dt in bad):
                message += (
                    f"; categorical, string and object (string) columns are taken by {accepted}"
                )
            raise MixupTypeError(message)
        groups: dict[np.dtype, list[int]] = {}
        passengers = []
        for position, (dt, kind) in enumerate(zip(types, kinds, strict=True)):
            if isinstance(kind, str):
                passengers.append(Passenger(position, kind, dt))
            else:
                assert kind is not None  # refused above
                groups.setdefault(kind, []).append(position)
        where = {
            names[p]: (g, i)
            for g, positions in enumerate(groups.values())
            for i, p in enumerate(positions)
        }
        rounded = tuple(
            (*where[name], dt)
            for name, dt in zip(names, types, strict=True)
            if name in where
            and name not in label_set
            and policy.integers == "round"
            and ptypes.is_integer_dtype(dt)
        )
        return cls(
            dtypes.index,
            tuple((dt, tuple(pos)) for dt, pos in groups.items()),
            tuple(where[name] for name in labels),
            tuple(passengers),
            rounded,
            policy,
        )

    @property
    def plain(self) -> bool:
        """Float blocks only, as before mixed types: the fast paths apply."""
        return not self.passengers and not self.rounded

    def empty_rows(self) -> Rows:
        return Rows(
            [np.empty((len(pos), 0), dtype=dt) for dt, pos in self.groups],
            [_empty_passenger(p) for p in self.passengers],
        )

    def empty_frame(self) -> pd.DataFrame:
        """A zero-row frame of the output's columns and dtypes (dask's ``meta``)."""
        return from_rows(self.empty_rows(), self, pd.RangeIndex(0))

    def empty_wire(self) -> pd.DataFrame:
        """A zero-row frame of what travels through the shuffle (``wire_frame``)."""
        return wire_frame(self.empty_rows(), self, pd.RangeIndex(0))


def _kind(dtype, policy: Policy) -> str | np.dtype | None:
    """How a column of ``dtype`` is mixed: a float dtype (in a block), a passenger
    kind, or None (refused)."""
    if isinstance(dtype, np.dtype):
        return _numpy_kind(dtype, policy)
    return _dtype_kind(dtype, policy)


@functools.lru_cache(maxsize=256)
def _numpy_kind(dtype: np.dtype, policy: Policy) -> str | np.dtype | None:
    # Numpy dtypes are few and cheap to hash; pandas' checks cost ~20 us a column,
    # a tenth of a 10-column, 1e4-row mixup.
    return _dtype_kind(dtype, policy)


def _dtype_kind(dtype, policy: Policy) -> str | np.dtype | None:
    if _is_time(dtype):
        return "time" if isinstance(dtype, (np.dtype, pd.DatetimeTZDtype)) else None
    if is_categorical_like(dtype):
        if policy.categorical not in ("dominant", "sample"):
            return None
        return "codes" if isinstance(dtype, pd.CategoricalDtype) else "values"
    if ptypes.is_bool_dtype(dtype) and policy.integers == "round":
        return "values"
    return output_dtype(dtype)


def _empty_passenger(p: Passenger):
    if p.kind == "codes":
        return np.empty(0, dtype=np.int64)
    if p.kind == "time":
        return np.empty(0, dtype=np.int64)
    return pd.array([], dtype=p.dtype)


@dataclass
class Rows:
    """Rows of a frame as the kernel holds them: the float blocks (columns, rows) and
    one 1-D array per passenger column (codes, int64 times, or the values)."""

    blocks: list[np.ndarray]
    extra: list

    def take(self, rows: np.ndarray) -> Rows:
        return Rows([b.take(rows, axis=1) for b in self.blocks], [e.take(rows) for e in self.extra])

    def __len__(self) -> int:
        if self.blocks:
            return self.blocks[0].shape[1]
        return len(self.extra[0])


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

    def values(self, dtype) -> pd.api.extensions.ExtensionArray:
        """The values as an array of ``dtype``, missing where the code is -1."""
        indices = pa.array(self.codes, mask=self.codes < 0)
        return pd.array(pc.take(self.dictionary, indices), dtype=dtype)


#: Rows sampled to judge whether a column's distinct values are few enough to code.
_CODE_SAMPLE = 4096


def _is_arrow(values) -> bool:
    return (
        isinstance(values.dtype, pd.ArrowDtype)
        or getattr(values.dtype, "storage", None) == "pyarrow"
    )


def _code(values) -> Coded | Any:
    """``values`` as ``Coded`` where that pays: when a sample of its rows has at most
    half as many distinct values as rows (hashing many distinct strings costs more
    than the gathers it saves); else ``values`` as they are."""
    array = pa.array(values)
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    sample = array.take(np.arange(0, len(array), max(1, len(array) // _CODE_SAMPLE)))
    if pc.count_distinct(sample, mode="all").as_py() > len(sample) // 2:
        return values
    encoded = pc.dictionary_encode(array)
    return Coded(pc.fill_null(encoded.indices, -1).to_numpy(), encoded.dictionary)


def to_blocks(frame: pd.DataFrame, layout: Layout, also: dict | None = None) -> list[np.ndarray]:
    """The frame's values as one float block per dtype group, shaped (columns, rows).

    Raises ``NonFiniteError`` naming the columns with NaN, missing or infinite values
    (with ``missing=`` other than "raise": infinite values, and missing labels), and
    those of ``also`` (name → count of missing values found elsewhere).
    """
    blocks = []
    for dtype, positions in layout.groups:
        part = frame.iloc[:, list(positions)] if len(positions) < frame.shape[1] else frame
        blocks.append(part.to_numpy(dtype=dtype, na_value=np.nan).T)
    bad = dict(also or {})
    strict = layout.policy.missing == "raise"
    label_rows = set(layout.labels)
    missing_labels = {}
    for g, (block, (_, positions)) in enumerate(zip(blocks, layout.groups, strict=True)):
        # NaN and inf always make a row sum non-finite, so a finite sum clears the whole
        # block cheaply; only a failed (or overflowed) sum pays for the exact count.
        # Finite values near the float limits may overflow the sum: that is no error
        # (the exact count clears them; +inf + -inf is NaN there), so numpy must not warn.
        with np.errstate(over="ignore", invalid="ignore"):
            suspect = np.flatnonzero(~np.isfinite(block.sum(axis=1)))
        if not len(suspect):
            continue
        part = block[suspect]  # only the columns with a failed sum pay for the count
        counts = part.shape[1] - np.isfinite(part).sum(axis=1)
        if not strict:  # missing values are data; infinite ones, and missing labels, not
            nans = np.isnan(part).sum(axis=1)
            for i, nan_count in zip(suspect.tolist(), nans, strict=True):
                if (g, i) in label_rows and nan_count:
                    missing_labels[layout.columns[positions[i]]] = int(nan_count)
            counts = counts - nans
        names = [layout.columns[positions[i]] for i in suspect]
        bad.update({name: int(c) for name, c in zip(names, counts, strict=True) if c})
    if missing_labels:
        where = ", ".join(f"{name!r} ({count})" for name, count in missing_labels.items())
        raise NonFiniteError(f"label columns must not have missing values; they have: {where}")
    if bad:
        where = ", ".join(f"{name!r} ({count})" for name, count in bad.items())
        if strict:
            raise NonFiniteError(
                f"values must be finite; NaN, missing or infinite values in columns: {where} "
                f"(`missing='propagate'` or 'available' mixes missing values)"
            )
        raise NonFiniteError(
            f"values must not be infinite under `missing={layout.policy.missing!r}`; "
            f"infinite values in columns: {where}"
        )
    return blocks


def from_blocks(blocks: Sequence[np.ndarray], layout: Layout, index: pd.Index) -> pd.DataFrame:
    """A frame with ``layout``'s columns, in their order, from blocks made by ``to_blocks``."""
    if len(blocks) == 1 and layout.plain:
        return pd.DataFrame(blocks[0].T, index=index, columns=layout.columns, copy=False)
    return _frame(_block_arrays(blocks, layout), layout, index)


def _block_arrays(blocks: Sequence[np.ndarray], layout: Layout) -> dict[int, object]:
    arrays: dict[int, object] = {}
    for block, (_, positions) in zip(blocks, layout.groups, strict=True):
        arrays.update(zip(positions, block, strict=True))
    for g, i, dtype in layout.rounded:
        values = blocks[g][i]
        position = layout.groups[g][1][i]
        # Integers come back exactly (|values| < 2**53); NaN becomes the missing value.
        arrays[position] = (
            values.astype(dtype) if isinstance(dtype, np.dtype) else pd.array(values, dtype=dtype)
        )
    return arrays


def _frame(arrays: dict[int, object], layout: Layout, index: pd.Index) -> pd.DataFrame:
    frame = pd.DataFrame(
        {p: arrays[p] for p in range(len(layout.columns))}, index=index, copy=False
    )
    frame.columns = layout.columns
    return frame


# --- passengers: columns that travel beside the float blocks ----------------------------

#: int64 of NaT: a time passenger's missing value.
NAT = np.iinfo(np.int64).min


def _passenger_values(column: pd.Series, p: Passenger, name, wire: bool):
    """A passenger column as the kernel holds it (see ``Rows``)."""
    if p.kind == "codes":
        if wire:  # categoricals cross the shuffle as their codes
            return column.to_numpy()
        categories = p.dtype.categories
        if not column.cat.categories.equals(categories):
            if set(column.cat.categories) != set(categories):
                raise MixupError(
                    f"categorical column {name!r} has categories "
                    f"{list(column.cat.categories)!r} in one part of the data and "
                    f"{list(categories)!r} in another; give it one categorical dtype"
                )
            column = column.cat.set_categories(categories)
        return column.cat.codes.to_numpy()
    if p.kind == "time":
        if wire:
            return column.to_numpy(dtype=np.int64)
        if column.dtype != p.dtype:
            column = column.astype(p.dtype)
        return np.asarray(column.array.asi8)
    if p.dtype == object and column.dtype != object:  # e.g. strings back from Arrow
        column = column.astype(object)
    if column.dtype == object:  # also where a lazy frame's meta calls it strings
        values = column.to_numpy(dtype=object, copy=True)
        missing = pd.isna(values)
        values[missing] = None  # one missing value, whatever the route carried
        kind = pd.api.types.infer_dtype(values, skipna=True)
        if kind not in ("string", "empty"):
            raise MixupTypeError(
                f"object column {name!r} must hold only strings (and missing values) to be "
                f"mixed with `categorical=`; it holds {kind} values"
            )
        if p.dtype == object:
            return values
        column = pd.Series(values, dtype=p.dtype)
    if column.dtype != p.dtype:
        column = column.astype(p.dtype)
    return column.to_numpy() if isinstance(p.dtype, np.dtype) else column.array


def _missing(values, p: Passenger) -> np.ndarray:
    if isinstance(values, Coded):
        return values.codes < 0
    if p.kind == "codes":
        return values < 0
    if p.kind == "time":
        return values == NAT
    return np.asarray(pd.isna(values), dtype=bool)


def to_rows(frame: pd.DataFrame, layout: Layout, wire: bool = False, coded: bool = False) -> Rows:
    """The frame's values as ``Rows``; ``wire``: a frame made by ``wire_frame``;
    ``coded``: Arrow-backed passengers as ``Coded`` where that pays (for rows mixed only
    with each other, not through the shuffle).

    Raises ``NonFiniteError`` as ``to_blocks`` does, passengers' missing values
    included under ``missing="raise"``.
    """
    extra, bad = [], {}
    for p in layout.passengers:
        name = layout.columns[p.position]
        values = _passenger_values(frame.iloc[:, p.position], p, name, wire)
        if coded and p.kind == "values" and _is_arrow(values):
            values = _code(values)
        if layout.policy.missing == "raise":
            count = int(_missing(values, p).sum())
            if count:
                bad[name] = count
        extra.append(values)
    return Rows(to_blocks(frame, layout, bad), extra)


def _passenger_output(values, p: Passenger):
    if isinstance(values, Coded):
        return values.values(p.dtype)
    if p.kind == "codes":
        return pd.Categorical.from_codes(values, dtype=p.dtype)
    if p.kind == "time":
        dtype = p.dtype
        if isinstance(dtype, pd.DatetimeTZDtype):
            naive = pd.DatetimeIndex(values.view(f"M8[{dtype.unit}]"))
            return naive.tz_localize("UTC").tz_convert(dtype.tz).array
        return values.view(dtype)
    if isinstance(values, np.ndarray) and values.dtype == object:
        return pd.Index(values, dtype=object)  # not inferred as strings: object stays object
    return values


def from_rows(rows: Rows, layout: Layout, index: pd.Index) -> pd.DataFrame:
    """A frame with ``layout``'s columns and output dtypes, from ``Rows``."""
    if layout.plain:
        return from_blocks(rows.blocks, layout, index)
    arrays = _block_arrays(rows.blocks, layout)
    for p, values in zip(layout.passengers, rows.extra, strict=True):
        arrays[p.position] = _passenger_output(values, p)
    return _frame(arrays, layout, index)


def wire_frame(rows: Rows, layout: Layout, index: pd.Index) -> pd.DataFrame:
    """``Rows`` as a frame to send through the shuffle: floats (rounded integers
    still as floats), one-hot labels as uint8, categorical codes, int64 times, the
    values of the others. ``to_rows(..., wire=True)`` reads it back exactly."""
    if layout.plain and not layout.onehot_labels:
        return from_blocks(rows.blocks, layout, index)
    arrays: dict[int, object] = {}
    for block, (_, positions) in zip(rows.blocks, layout.groups, strict=True):
        arrays.update(zip(positions, block, strict=True))
    if layout.onehot_labels:
        for g, i in layout.labels:
            arrays[layout.groups[g][1][i]] = rows.blocks[g][i].astype(np.uint8)
    for p, values in zip(layout.passengers, rows.extra, strict=True):
        arrays[p.position] = values
    return _frame(arrays, layout, index)


def concat_rows(parts: Sequence[Rows]) -> Rows:
    """Rows one after the other."""
    blocks = [
        np.concatenate(group, axis=1) for group in zip(*(r.blocks for r in parts), strict=True)
    ]
    extra: list = []
    for group in zip(*(r.extra for r in parts), strict=True):
        if isinstance(group[0], np.ndarray):
            extra.append(np.concatenate(group))
        elif isinstance(group[0], Coded):
            extra.append(Coded(np.concatenate([g.codes for g in group]), group[0].dictionary))
        else:
            extra.append(type(group[0])._concat_same_type(list(group)))
    return Rows(blocks, extra)


def combine(terms: Iterable[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """``sum_j weight_j * term_j`` over ``(term, weight)`` pairs, added in their order:
    the one mixing formula.

    Blocks are shaped (columns, rows); each weight broadcasts against its term (one per
    row, or one per column and row) and is already in the block's dtype. Every term but
    the first is overwritten (callers pass fresh gathers); the first is not. Pairs may
    come from a generator, so only the sum and one term are held at a time. Row mixup
    is the case ``k = 2`` with weights ``lam, 1 - lam``; series mixup adds ``k`` series.

    The sum is built in the second term's buffer and the first product is added to it
    in slices of rows: no block-sized temporary, which both lowers the peak memory and
    keeps small calls clear of the allocator's page faults. Floating-point addition is
    commutative, so ``w2 * t2 + w1 * t1`` is bit for bit ``w1 * t1 + w2 * t2``.
    """
    pairs = iter(terms)
    first, first_weight = next(pairs)
    second = next(pairs, None)
    if second is None:
        return np.multiply(first, first_weight)
    out, weight = second
    out *= weight
    _add_product(out, first, first_weight)
    for term, weight in pairs:
        term *= weight
        out += term
    return out


#: Elements of the temporary ``_add_product`` uses per slice (256 KiB of float64).
PRODUCT_SLICE = 1 << 15


def _add_product(out: np.ndarray, term: np.ndarray, weight: np.ndarray) -> None:
    """``out += term * weight`` for (columns, rows) blocks, in slices of rows."""
    columns, rows = out.shape
    step = max(1, PRODUCT_SLICE // max(columns, 1))
    scratch = np.empty((columns, min(step, rows)), dtype=out.dtype)
    for a in range(0, rows, step):
        b = min(a + step, rows)
        part = scratch[:, : b - a]
        np.multiply(term[:, a:b], weight[..., a:b], out=part)  # per row, or per column and row
        out[:, a:b] += part


def mix(left: np.ndarray, right: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """``lam * left + (1 - lam) * right`` per row, for blocks shaped (columns, rows).

    This exact form, rather than ``right + lam * (left - right)``, gives exact copies
    for ``lam == 1`` and cannot overflow for values near the float limits. ``right``
    is overwritten (callers pass a fresh gather); ``left`` is not.
    """
    lam = lam.astype(left.dtype, copy=False)
    return combine([(left, lam), (right, 1 - lam)])


def _label_values(blocks: Sequence[np.ndarray], layout: Layout) -> np.ndarray:
    """The label columns as one (labels, rows) float64 array."""
    return np.stack([blocks[g][i] for g, i in layout.labels]).astype(np.float64, copy=False)


def classes(blocks: Sequence[np.ndarray], layout: Layout) -> np.ndarray:
    """Each row's class: the argmax of its label columns (the first one on ties).

    As int16 (below 32,000 classes): stable sorts of 16-bit integers are radix sorts,
    10x faster than of int64. Found column by column, which for a few classes is
    twice as fast as ``argmax(axis=0)`` and needs no stacked copy of the labels.
    """
    columns = [blocks[g][i] for g, i in layout.labels]
    found = np.zeros(len(columns[0]), dtype=np.int16 if len(columns) < 32_000 else np.intp)
    best = columns[0].astype(np.float64)  # a copy: updated in place
    for k, values in enumerate(columns[1:], 1):
        found[values > best] = k  # strictly greater: the first column wins ties
        np.maximum(best, values, out=best)
    return found


def mix_blocks(
    left: Sequence[np.ndarray],
    right: Sequence[np.ndarray],
    lam: np.ndarray,
    layout: Layout,
    hard_labels: bool = False,
) -> list[np.ndarray]:
    """Mix every block; with ``hard_labels``, labels are the left row's own, as one-hot.

    A single label column (a numeric target) is copied from the left row instead.
    """
    mixed = [mix(lb, rb, lam) for lb, rb in zip(left, right, strict=True)]
    if hard_labels and layout.labels:
        own = _label_values(left, layout)
        if len(own) > 1:
            own = (np.arange(len(own))[:, None] == own.argmax(axis=0)).astype(np.float64)
        for (g, i), values in zip(layout.labels, own, strict=True):
            mixed[g][i] = values
    return mixed


def mix_rows(
    left: Rows,
    right: Rows,
    lam: np.ndarray,
    layout: Layout,
    hard_labels: bool = False,
    keys: Keys | None = None,
    start: int = 0,
) -> Rows:
    """Mix every column of output rows ``[start, start + len(lam))`` as ``layout.policy``
    says; ``right`` is overwritten (callers pass a fresh gather), ``left`` is not.

    Floats: ``mix_blocks``. Rounded integers: the float result rounded half to even
    and clipped to the two parents' range. Categoricals, strings (and bools under
    ``integers="round"``): one parent's value, the left one where ``take_left``.
    Times: ``mix_times``, exact. Missing values: "propagate" keeps NaN arithmetic
    (and NaT where either time is missing); "available" takes the other parent's value
    where one is missing.
    """
    policy = layout.policy
    fills = []
    if policy.missing == "available":
        fills = [_gaps(lb, rb) for lb, rb in zip(left.blocks, right.blocks, strict=True)]
    bounds = [
        (
            np.fmin(left.blocks[g][i], right.blocks[g][i]),
            np.fmax(left.blocks[g][i], right.blocks[g][i]),
        )
        for g, i, _ in layout.rounded
    ]
    mixed = mix_blocks(left.blocks, right.blocks, lam, layout, hard_labels)
    for out, lb, fill in zip(mixed, left.blocks, fills, strict=False):
        for row, lnan, values, rnan in fill:
            out[row, rnan] = lb[row].take(rnan)
            out[row, lnan] = values
    for (g, i, _), (low, high) in zip(layout.rounded, bounds, strict=True):
        mixed[g][i] = np.clip(np.rint(mixed[g][i]), low, high)
    if not layout.passengers:
        return Rows(mixed, [])
    dominant = lam >= 0.5
    chosen = dominant
    if policy.categorical == "sample":
        assert keys is not None
        chosen = uniforms(keys, start, start + len(lam)) < lam
    extra = []
    for p, lv, rv in zip(layout.passengers, left.extra, right.extra, strict=True):
        lmiss, rmiss = _missing(lv, p), _missing(rv, p)
        # Most columns have no missing value: they skip the masked passes.
        any_missing = lmiss.any() or rmiss.any()
        if p.kind == "time":
            out = mix_times(lv, rv, 1.0 - lam)
            if any_missing and policy.missing == "available":
                out = np.where(lmiss, rv, np.where(rmiss, lv, out))
            elif any_missing:
                out[lmiss | rmiss] = NAT
            extra.append(out)
            continue
        take = dominant if ptypes.is_bool_dtype(p.dtype) else chosen
        if policy.missing == "available" and any_missing:
            # Where just one parent is missing, the other one's value: the left's where
            # the right is missing.
            take = np.where(lmiss != rmiss, rmiss, take)
        extra.append(_choose(take, lv, rv))
    return Rows(mixed, extra)


def _gaps(left: np.ndarray, right: np.ndarray) -> list[tuple[int, Any, Any, Any]]:
    """Under ``missing="available"``: for each column (block row) with a NaN in either
    parent, the positions of the left and right NaNs and the right values where the
    left is NaN (saved before mixing overwrites ``right``)."""
    # A sum per column finds the columns with NaN in one pass and no temporaries; only
    # those pay for masks (a false alarm from overflow costs work, not correctness).
    with np.errstate(over="ignore", invalid="ignore"):
        suspect = np.isnan(left.sum(axis=1)) | np.isnan(right.sum(axis=1))
    found = []
    for row in np.flatnonzero(suspect):
        # Positions, not masks: indexing by a few positions is ~5x faster than by a
        # mask of every row.
        lnan, rnan = np.flatnonzero(np.isnan(left[row])), np.flatnonzero(np.isnan(right[row]))
        if len(lnan) or len(rnan):
            found.append((int(row), lnan, right[row].take(lnan), rnan))
    return found


def _choose(take: np.ndarray, left, right):
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


_M32 = np.uint64(0xFFFFFFFF)


def _shift_left(x: np.ndarray, s: np.ndarray) -> np.ndarray:
    """``x << s`` for shifts in [0, 63] (numpy leaves larger shifts undefined)."""
    return np.left_shift(x, s.astype(np.uint64))


def _quotient_high(hi: np.ndarray, lo: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """``round_half_even((hi * 2**64 + lo) / 2**shift)`` for shifts >= 64."""
    one = np.ones_like(lo)
    # The product is below 2**117: shifts from 118 on round to zero like 120 does.
    t = (np.minimum(shift, 120) - 64).astype(np.uint64)  # 0..56
    q = hi >> t
    r_hi = hi & (_shift_left(one, t) - one)
    half_hi = np.where(t > 0, _shift_left(one, np.maximum(t, one) - one), 0).astype(np.uint64)
    half_lo = np.where(t > 0, 0, np.uint64(1) << np.uint64(63)).astype(np.uint64)
    above = (r_hi > half_hi) | ((r_hi == half_hi) & (lo > half_lo))
    tie = (r_hi == half_hi) & (lo == half_lo)
    return q + (above | (tie & (q & one).astype(bool)))


def mix_times(left: np.ndarray, right: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``left + round(w * (right - left))``, exactly, for int64 times and float64
    weights ``w`` in [0, 1]; rounding half to even.

    The difference can need 65 bits, so it is held as its sign and magnitude (uint64).
    Below 2**59 (and for weights >= 2**-9) the float product's nearest integer is
    corrected by its exact remainder (``_near_quotient``); elsewhere
    ``w = mantissa * 2**(exponent - 53)`` with an integer mantissa below 2**53, so
    ``mantissa * |difference|`` is a 117-bit integer, formed from 32-bit limbs whose
    partial products fit uint64, and shifted right with round-half-even. The result
    lies between ``left`` and ``right``, so int64 holds it (wrapping arithmetic in
    uint64 gives it exactly).
    """
    left = np.asarray(left, dtype=np.int64)
    right = np.asarray(right, dtype=np.int64)
    w = np.asarray(w, dtype=np.float64)
    if left.size > _TIME_CHUNK:
        # ~40 element-wise passes with temporaries: over cache-sized chunks they run
        # about twice as fast as over a whole column.
        out = np.empty_like(left)
        for start in range(0, left.size, _TIME_CHUNK):
            part = slice(start, start + _TIME_CHUNK)
            out[part] = _mix_times(left[part], right[part], w[part])
        return out
    return _mix_times(left, right, w)


#: Rows per pass of ``mix_times``: its dozen uint64 temporaries stay in cache.
_TIME_CHUNK = 32768


def _mix_times(left: np.ndarray, right: np.ndarray, w: np.ndarray) -> np.ndarray:
    ul, ur = left.view(np.uint64), right.view(np.uint64)
    up = right >= left
    magnitude = np.where(up, ur - ul, ul - ur)  # |right - left| < 2**64, mod 2**64
    q, near = _near_quotient(magnitude, w)
    # The rest (huge differences, weights below 2**-9) in the 117-bit integer product.
    rows = np.flatnonzero(~near)
    if len(rows):
        q[rows] = _exact_quotient(magnitude[rows], w[rows])
    return np.where(up, ul + q, ul - q).view(np.int64)


#: ``_near_quotient`` is exact for differences below this (and weights >= 2**-9).
_NEAR_LIMIT = np.uint64(2**59)


def _near_quotient(magnitude: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``round_half_even(w * magnitude)`` and where it is exact: where
    ``magnitude < 2**59`` and ``w`` is 0 or >= 2**-9 (other rows get any value). A
    float estimate corrected by its exact remainder.

    With ``w = mantissa / 2**shift`` (``mantissa < 2**53``, ``shift <= 61``) the float
    product ``p`` is within ``2**-50 * w * magnitude`` of the exact one (two roundings
    of 2**-53 each, with room to spare), so ``q = rint(p)`` leaves a remainder
    ``r = mantissa * magnitude - q * 2**shift`` with ``|r| < 2**(shift - 1) +
    8 * magnitude < 5 * 2**60``. It fits int64, so wrapping uint64 arithmetic gives it
    exactly, and ``q + round(r / 2**shift)`` is the exact quotient.
    """
    fraction, exponent = np.frexp(w)
    shift = 53 - exponent.astype(np.int64)
    mantissa = np.ldexp(fraction, 53).astype(np.uint64)  # exact: 53 significant bits
    # Rows outside the range may overflow the casts; they are recomputed, so no warning.
    with np.errstate(invalid="ignore", over="ignore"):
        q = np.rint(w * magnitude.astype(np.float64)).astype(np.uint64)
    remainder = (mantissa * magnitude - _shift_left(q, shift)).view(np.int64)
    half = np.left_shift(1, shift - 1)
    up = remainder + half  # floor(up / 2**shift) rounds r / 2**shift half up
    q += (up >> shift).view(np.uint64)  # -1, 0 or more: wraps as it should
    tie = (up & ((half << 1) - 1)) == 0
    q -= tie & (q & np.uint64(1)).astype(bool)  # a half: to the even neighbour
    return q, (magnitude < _NEAR_LIMIT) & (shift <= 61)


def _exact_quotient(magnitude: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``round_half_even(w * magnitude)`` exactly, in integer arithmetic (``mix_times``)."""
    fraction, exponent = np.frexp(w)
    mantissa = np.ldexp(fraction, 53).astype(np.uint64)  # exact: 53 significant bits
    shift = (53 - exponent).astype(np.int64)  # >= 52, as w <= 1
    mh, ml = mantissa >> np.uint64(32), mantissa & _M32
    dh, dl = magnitude >> np.uint64(32), magnitude & _M32
    ll, lh, hl, hh = ml * dl, ml * dh, mh * dl, mh * dh
    middle = (lh & _M32) + (hl & _M32) + (ll >> np.uint64(32))
    lo = (ll & _M32) | ((middle & _M32) << np.uint64(32))
    hi = hh + (lh >> np.uint64(32)) + (hl >> np.uint64(32)) + (middle >> np.uint64(32))
    # Most weights are >= 2**-10, so the shift is 52..63 and the quotient takes bits
    # of hi and lo; larger shifts (tiny weights) are done apart, on their rows only.
    one = np.ones_like(lo)
    low = shift < 64
    sa = np.where(low, shift, 63).astype(np.uint64)
    q = _shift_left(hi, 64 - sa) | (lo >> sa)
    remainder = lo & (_shift_left(one, sa) - one)
    half = _shift_left(one, sa - one)
    q += (remainder > half) | ((remainder == half) & (q & one).astype(bool))
    high = np.flatnonzero(~low)
    if len(high):
        q[high] = _quotient_high(hi[high], lo[high], shift[high])
    return q


def with_provenance(
    frame: pd.DataFrame, left: np.ndarray, partner: np.ndarray, lam: np.ndarray
) -> pd.DataFrame:
    """``frame`` with ``provenance=True``'s trailing columns: the global input positions
    of each row's left row and partner, and its lambda."""
    extra = pd.DataFrame(
        dict(zip(PROVENANCE, (left.astype(np.int64), partner.astype(np.int64), lam), strict=True)),
        index=frame.index,
    )
    return pd.concat([frame, extra], axis=1)

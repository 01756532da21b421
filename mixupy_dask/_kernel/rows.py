"""Frames to rows and back: float column blocks shaped (columns, rows), one block per
output dtype (pandas' own block layout: converting a frame costs one copy at most and
gathering rows is a contiguous ``take`` per column), and passenger columns beside them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .._core.validation import PROVENANCE
from ..errors import MixupError, MixupTypeError, NonFiniteError
from .layout import Layout, Passenger
from .times import NAT


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


def empty_rows(layout: Layout) -> Rows:
    return Rows(
        [np.empty((len(pos), 0), dtype=dt) for dt, pos in layout.groups],
        [_empty_passenger(p) for p in layout.passengers],
    )


def empty_frame(layout: Layout) -> pd.DataFrame:
    """A zero-row frame of the output's columns and dtypes (dask's ``meta``)."""
    return from_rows(empty_rows(layout), layout, pd.RangeIndex(0))


def empty_wire(layout: Layout) -> pd.DataFrame:
    """A zero-row frame of what travels through the shuffle (``wire_frame``)."""
    return wire_frame(empty_rows(layout), layout, pd.RangeIndex(0))


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

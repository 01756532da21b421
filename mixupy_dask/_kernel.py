"""The one numeric kernel: frames to float column blocks, the mixing formula, and back.

Values travel as 2-D blocks shaped (columns, rows), one block per output dtype,
which is pandas' own block layout: converting a frame costs one copy at most and
gathering rows is a contiguous ``take`` per column.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from .errors import MixupTypeError, NonFiniteError


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
class Layout:
    """Which columns are mixed, and the output dtype of each, grouped into blocks."""

    columns: pd.Index
    groups: tuple[tuple[np.dtype, tuple[int, ...]], ...]
    #: (group, row within the group's block) of each label column, in label order
    labels: tuple[tuple[int, int], ...] = ()

    @classmethod
    def from_dtypes(cls, dtypes: pd.Series, labels: Sequence = ()) -> Layout:
        """Check that every column is numeric; raise naming the ones that are not.

        ``labels`` names the (encoded) label columns, whose argmax is a row's class.
        """
        out = [output_dtype(dt) for dt in dtypes]
        bad = [
            f"{name!r} ({dt})"
            for name, dt, o in zip(dtypes.index, dtypes, out, strict=True)
            if o is None
        ]
        if bad:
            raise MixupTypeError(
                f"columns must be bool, integer or float to be mixed; not so: {', '.join(bad)}"
            )
        groups: dict[np.dtype, list[int]] = {}
        for position, dt in enumerate(out):
            assert dt is not None  # refused above
            groups.setdefault(dt, []).append(position)
        where = {
            dtypes.index[p]: (g, i)
            for g, positions in enumerate(groups.values())
            for i, p in enumerate(positions)
        }
        return cls(
            dtypes.index,
            tuple((dt, tuple(pos)) for dt, pos in groups.items()),
            tuple(where[name] for name in labels),
        )

    def empty_frame(self) -> pd.DataFrame:
        """A zero-row frame of the output's columns and dtypes (dask's ``meta``)."""
        blocks = [np.empty((len(pos), 0), dtype=dt) for dt, pos in self.groups]
        return from_blocks(blocks, self, pd.RangeIndex(0))


def to_blocks(frame: pd.DataFrame, layout: Layout) -> list[np.ndarray]:
    """The frame's values as one float block per dtype group, shaped (columns, rows).

    Raises ``NonFiniteError`` naming the columns with NaN, missing or infinite values.
    """
    blocks = []
    for dtype, positions in layout.groups:
        part = frame.iloc[:, list(positions)] if len(positions) < frame.shape[1] else frame
        blocks.append(part.to_numpy(dtype=dtype, na_value=np.nan).T)
    bad = {}
    for block, (_, positions) in zip(blocks, layout.groups, strict=True):
        # NaN and inf always make a row sum non-finite, so a finite sum clears the whole
        # block cheaply; only a failed (or overflowed) sum pays for the exact count.
        # Finite values near the float limits may overflow the sum: that is no error
        # (the exact count clears them; +inf + -inf is NaN there), so numpy must not warn.
        with np.errstate(over="ignore", invalid="ignore"):
            if np.isfinite(block.sum(axis=1)).all():
                continue
        counts = block.shape[1] - np.isfinite(block).sum(axis=1)
        bad.update({layout.columns[p]: int(c) for p, c in zip(positions, counts, strict=True) if c})
    if bad:
        where = ", ".join(f"{name!r} ({count})" for name, count in bad.items())
        raise NonFiniteError(
            f"values must be finite; NaN, missing or infinite values in columns: {where}"
        )
    return blocks


def from_blocks(blocks: Sequence[np.ndarray], layout: Layout, index: pd.Index) -> pd.DataFrame:
    """A frame with ``layout``'s columns, in their order, from blocks made by ``to_blocks``."""
    if len(blocks) == 1:
        return pd.DataFrame(blocks[0].T, index=index, columns=layout.columns, copy=False)
    arrays: dict[int, np.ndarray] = {}
    for block, (_, positions) in zip(blocks, layout.groups, strict=True):
        arrays.update(zip(positions, block, strict=True))
    frame = pd.DataFrame(
        {p: arrays[p] for p in range(len(layout.columns))}, index=index, copy=False
    )
    frame.columns = layout.columns
    return frame


def combine(terms: Iterable[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """``sum_j weight_j * term_j`` over ``(term, weight)`` pairs, added in their order:
    the one mixing formula.

    Blocks are shaped (columns, rows); each weight broadcasts against its term (one per
    row, or one per column and row) and is already in the block's dtype. Every term but
    the first is overwritten (callers pass fresh gathers); the first is not. Pairs may
    come from a generator, so only the sum and one term are held at a time. Row mixup
    is the case ``k = 2`` with weights ``lam, 1 - lam``; series mixup adds ``k`` series.
    """
    pairs = iter(terms)
    first, weight = next(pairs)
    out = np.multiply(first, weight)
    for term, weight in pairs:
        term *= weight
        out += term
    return out


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
    """Each row's class: the argmax of its label columns (the first one on ties)."""
    return _label_values(blocks, layout).argmax(axis=0)


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

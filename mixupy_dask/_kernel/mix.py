"""The one mixing formula, and the mixing of every kind of column."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from .._core.random import Keys, uniforms
from .kinds import Mixing
from .layout import Layout
from .rows import Rows


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
    draws: np.ndarray | None = None,
) -> Rows:
    """Mix every column of output rows ``[start, start + len(lam))`` as ``layout.policy``
    says; ``right`` is overwritten (callers pass a fresh gather), ``left`` is not.

    Floats: ``mix_blocks``. Rounded integers: the float result rounded half to even
    and clipped to the two parents' range. Missing values: "propagate" keeps NaN
    arithmetic; "available" takes the other parent's value where one is missing.
    Either way a parent of weight exactly 0 takes no part: a row of ``lam == 1`` is
    its left row's features, missing values included, and one of ``lam == 0`` its
    partner's (``0 * NaN`` is NaN, so the formula alone let a weight-0 partner's
    missing value in, and "available" filled the left row's from it). Passengers: as
    their ``Kind.mix`` says (``kinds``), given one ``Mixing``.
    ``draws``: the uniforms of ``categorical="sample"`` for these rows, for rows that
    are not one range of output rows (``MixupStream``'s batches); else they are drawn
    for ``[start, start + len(lam))``.
    """
    policy = layout.policy
    fills = []
    if policy.missing == "available":
        fills = [_gaps(lb, rb) for lb, rb in zip(left.blocks, right.blocks, strict=True)]
    copies = _copies(left.blocks, right.blocks, lam, layout) if policy.missing != "raise" else []
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
    for g, rows, values in copies:
        mixed[g][rows] = values
    for (g, i, _), (low, high) in zip(layout.rounded, bounds, strict=True):
        mixed[g][i] = np.clip(np.rint(mixed[g][i]), low, high)
    if not layout.passengers:
        return Rows(mixed, [])
    dominant = lam >= 0.5
    chosen = dominant
    if policy.categorical == "sample":
        if draws is None:
            assert keys is not None
            draws = uniforms(keys, start, start + len(lam))
        chosen = draws < lam
    how = Mixing(lam, dominant, chosen, policy.missing)
    passengers = [
        p.kind.mix(lv, rv, p.dtype, how)
        for p, lv, rv in zip(layout.passengers, left.passengers, right.passengers, strict=True)
    ]
    return Rows(mixed, passengers)


def _copies(
    left: Sequence[np.ndarray], right: Sequence[np.ndarray], lam: np.ndarray, layout: Layout
) -> list[tuple[int, Any, np.ndarray]]:
    """Where a parent's weight is exactly 0 in a block's dtype (``lam`` of 0 or 1 once
    cast, as ``mix`` casts it): the other parent's values in the block's feature rows
    (labels follow their own rules), taken before mixing overwrites ``right``, as
    ``(block, index, values)`` to assign into the mixed block. Empty when none is."""
    labels: dict[int, set[int]] = {}
    for g, i in layout.labels:
        labels.setdefault(g, set()).add(i)
    found = []
    for g, (lb, rb) in enumerate(zip(left, right, strict=True)):
        weight = lam.astype(lb.dtype, copy=False)
        whole = np.flatnonzero((weight == 1) | (weight == 0))
        features = [i for i in range(len(lb)) if i not in labels.get(g, ())]
        if not len(whole) or not features:
            continue
        index = np.ix_(np.array(features, dtype=np.intp), whole)
        values = np.where(weight.take(whole) == 1, lb[index], rb[index])
        found.append((g, index, values))
    return found


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

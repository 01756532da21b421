"""The in-memory route: the reference semantics, vectorised over all output rows."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ._kernel import Layout, classes, from_blocks, mix_blocks, to_blocks
from ._sampler import Sampler

if TYPE_CHECKING:
    from ._mixup import RowCall


def _pairs(sampler: Sampler, members: list[np.ndarray] | None) -> tuple[np.ndarray, np.ndarray]:
    """Left and partner input positions of every output row, in output order.

    ``members[g]`` lists the positions of class ``g``'s rows in input order (None: one
    class of all rows, where class ranks are positions).
    """
    n, full = sampler.n, sampler.full_cycles
    at = (lambda g, ranks: ranks) if members is None else (lambda g, ranks: members[g][ranks])
    partners = np.empty(full * n, dtype=np.int64)
    for g, size in enumerate(sampler.class_sizes):
        slots = np.tile(np.arange(size, dtype=np.int64), full)
        cycles = np.repeat(np.arange(full), size) if full > 1 else 0
        # Full cycles: left rows are all rows, so output index = cycle * n + position.
        partners[np.repeat(np.arange(full) * n, size) + at(g, slots)] = at(
            g, sampler.partners(g, slots, cycles)
        )
    left = np.tile(np.arange(n, dtype=np.int64), full)
    if full == sampler.cycles:
        return left, partners
    rest_left, rest_partners = [], []
    for g, size in enumerate(sampler.class_sizes):
        rest_left.append(at(g, sampler.left_ranks(full, g, 0, size)))
        slots = np.arange(sampler.size(full, g), dtype=np.int64)
        rest_partners.append(at(g, sampler.partners(g, slots, full)))
    rest_left, rest_partners = np.concatenate(rest_left), np.concatenate(rest_partners)
    order = np.argsort(rest_left, kind="stable")  # left rows in input order
    return np.concatenate([left, rest_left[order]]), np.concatenate(
        [partners, rest_partners[order]]
    )


def mixup_frame(frame: pd.DataFrame, call: RowCall) -> pd.DataFrame:
    """Mix a whole pandas frame as ``call`` says."""
    labels = call.labels
    if labels is not None and labels.needs_categories:
        labels = labels.from_counts([frame[labels.column].value_counts(dropna=False)])
    encoded = frame if labels is None else labels.encode(frame)
    layout = Layout.from_dtypes(encoded.dtypes, labels.names if labels else ())
    blocks = to_blocks(encoded, layout)
    members = None
    if call.within_class:
        row_classes = classes(blocks, layout)
        members = [np.flatnonzero(row_classes == g) for g in range(len(layout.labels))]
        sampler = call.sampler(tuple(len(m) for m in members))
    else:
        sampler = call.sampler((len(frame),))
    left, partners = _pairs(sampler, members)
    lam = sampler.weights(0, sampler.m)
    same_left = sampler.m == sampler.n  # one full cycle: left rows are the input as is
    lefts = blocks if same_left else [block.take(left, axis=1) for block in blocks]
    rights = [block.take(partners, axis=1) for block in blocks]
    mixed = mix_blocks(lefts, rights, lam, layout, sampler.label_preserving)
    if call.concat:
        mixed = [np.concatenate([b, out], axis=1) for b, out in zip(blocks, mixed, strict=True)]
    return from_blocks(mixed, layout, pd.RangeIndex(mixed[0].shape[1]))

"""The in-memory route: the reference semantics, vectorised over all output rows."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .kernel import Layout, from_blocks, mix, to_blocks
from .sampler import Sampler

__all__ = ["mixup_frame"]


def _pairs(sampler: Sampler) -> tuple[np.ndarray | None, np.ndarray]:
    """Left and partner input positions of every output row (left None: all rows once)."""
    n, full = sampler.n, sampler.full_cycles
    ranks = np.arange(full * n, dtype=np.int64)
    cycles = ranks // n if full > 1 else 0
    ranks %= n
    left = [ranks]
    partners = [sampler.partners(ranks, cycles)] if full else []
    rest = sampler.cycle_size(full) if full < sampler.cycles else 0
    if rest:
        left.append(sampler.left_rows(full, 0, n))
        partners.append(sampler.partners(np.arange(rest, dtype=np.int64), full))
    if sampler.m == n:
        return None, partners[0]
    return np.concatenate(left), np.concatenate(partners)


def mixup_frame(
    frame: pd.DataFrame, sampler: Sampler, layout: Layout, concat: bool
) -> pd.DataFrame:
    """Mix a whole pandas frame: the same kernel and sampler as every other route."""
    blocks = to_blocks(frame, layout)
    left, partners = _pairs(sampler)
    lam = sampler.weights(0, sampler.m)
    mixed = [
        mix(block if left is None else block.take(left, axis=1), block.take(partners, axis=1), lam)
        for block in blocks
    ]
    if concat:
        mixed = [
            np.concatenate([block, out], axis=1) for block, out in zip(blocks, mixed, strict=True)
        ]
    return from_blocks(mixed, layout, pd.RangeIndex(mixed[0].shape[1]))

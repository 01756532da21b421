"""The lazy dask route: sampler per partition, one partner shuffle, one kernel pass.

Output partition ``q = c * P + p`` holds cycle ``c``'s left rows from input
partition ``p``, so each full cycle lines up with the input's partitions. Every
source row computes, element-wise, the output position it is the partner of
(``Sampler.destinations``) and travels there in a single ``set_index`` shuffle on
the output partition id; the kernel then pairs left and partner partitions by
position with ``map_partitions``.
"""

from __future__ import annotations

from collections.abc import Sequence

import dask.dataframe as dd
import numpy as np
import pandas as pd

from .kernel import Layout, from_blocks, mix, to_blocks
from .sampler import Sampler

__all__ = ["mixup_dask", "partition_lengths"]

_PART, _POS = "_mixupy_partition", "_mixupy_position"


def partition_lengths(frame: dd.DataFrame) -> list[int]:
    """Rows per partition, in one pass (nothing O(n) comes back to the client)."""
    return [int(x) for x in frame.map_partitions(len).compute()]


def _originals(part: pd.DataFrame, layout: Layout, offsets, partition_info=None) -> pd.DataFrame:
    p = partition_info["number"]
    return from_blocks(to_blocks(part, layout), layout, pd.RangeIndex(offsets[p], offsets[p + 1]))


def _route(
    part: pd.DataFrame,
    sampler: Sampler,
    layout: Layout,
    offsets,
    cycle: int,
    rank_starts,
    partition_info=None,
) -> pd.DataFrame:
    """A source partition's rows that are partners in ``cycle``, tagged with where they go."""
    p = partition_info["number"]
    keep, ranks = sampler.destinations(np.arange(offsets[p], offsets[p + 1]), cycle)
    blocks = [block.take(keep, axis=1) for block in to_blocks(part, layout)]
    routed = from_blocks(blocks, layout, pd.RangeIndex(len(keep)))
    # The output partition owning rank t is the last one starting at or before t
    # ("right"), which skips empty partitions that start at the same rank.
    starts = np.asarray(rank_starts[:-1])
    routed[_PART] = cycle * (len(offsets) - 1) + np.searchsorted(starts, ranks, "right") - 1
    routed[_POS] = cycle * sampler.n + ranks
    return routed


def _mix_partition(
    part: pd.DataFrame,
    partners: pd.DataFrame,
    sampler: Sampler,
    layout: Layout,
    offsets,
    out_offsets,
    partition_info=None,
) -> pd.DataFrame:
    q = partition_info["number"]
    cycle, p = divmod(q, len(offsets) - 1)
    start, stop = out_offsets[q], out_offsets[q + 1]
    if len(partners) != stop - start:  # the shuffle must deliver one partner per row
        raise RuntimeError(f"partition {q}: {len(partners)} partner rows for {stop - start} rows")
    left = sampler.left_rows(cycle, offsets[p], offsets[p + 1]) - offsets[p]
    blocks = to_blocks(part, layout)
    if len(left) != part.shape[0]:
        blocks = [block.take(left, axis=1) for block in blocks]
    # Partner rows arrive in any order; each output position comes exactly once.
    order = np.empty(len(partners), dtype=np.int64)
    order[partners[_POS].to_numpy() - start] = np.arange(len(partners))
    partner_blocks = [block.take(order, axis=1) for block in to_blocks(partners, layout)]
    lam = sampler.weights(start, stop)
    mixed = [mix(lb, rb, lam) for lb, rb in zip(blocks, partner_blocks, strict=True)]
    return from_blocks(mixed, layout, pd.RangeIndex(start, stop))


def mixup_dask(
    frame: dd.DataFrame, sampler: Sampler, layout: Layout, concat: bool, lengths: Sequence[int]
) -> dd.DataFrame:
    """Build the lazy mixup graph for ``frame`` whose partitions have ``lengths`` rows."""
    offsets = np.concatenate([[0], np.cumsum(lengths)]).tolist()
    P, n = len(lengths), sampler.n
    frame = frame.clear_divisions()
    meta = layout.empty_frame()

    rank_starts = [sampler.rank_starts(c, offsets) for c in range(sampler.cycles)]
    out_offsets = [c * n + s for c, starts in enumerate(rank_starts) for s in starts[:-1]]
    out_offsets.append(sampler.m)

    routed_meta = meta.assign(**{_PART: np.int64(0), _POS: np.int64(0)}).iloc[:0]
    routed = dd.concat(
        [
            frame.map_partitions(
                _route,
                sampler,
                layout,
                offsets,
                c,
                rank_starts[c],
                meta=routed_meta,
                clear_divisions=True,
            )
            for c in range(sampler.cycles)
        ]
    )
    Q = sampler.cycles * P
    partners = routed.set_index(_PART, divisions=[*list(range(Q)), Q - 1])
    left = dd.concat([frame] * sampler.cycles) if sampler.cycles > 1 else frame
    if left.npartitions != partners.npartitions:  # map_partitions pairs by position only
        raise RuntimeError(f"{left.npartitions} left partitions for {partners.npartitions}")
    mixed = dd.map_partitions(
        _mix_partition,
        left,
        partners,
        sampler,
        layout,
        offsets,
        out_offsets,
        meta=meta,
        clear_divisions=True,
    )
    if not concat:
        return mixed
    originals = frame.map_partitions(_originals, layout, offsets, meta=meta, clear_divisions=True)
    shifted = mixed.map_partitions(lambda df: df.set_axis(df.index + n), meta=meta)
    return dd.concat([originals, shifted])

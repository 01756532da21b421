"""C-Mixup's partners: a Gaussian kernel over the labels, sampled exactly.

With ``bandwidth=sigma``, the partner of left row ``i`` is row ``j`` (``i`` itself
included) with probability ``w_ij / sum_k w_ik``, where

    w_ij = exp(-1/2 * sum_c ((y_jc - y_ic) / sigma) ** 2)

over the label block's columns ``c`` (Yao et al., C-Mixup, NeurIPS 2022). A dense
sampler costs O(N) per row, O(N^2) in all; this one costs O(N log N) and draws from
the same distribution.

The sampler
-----------
Rows are sorted once by the first label column (``order``; ties by position). Around
``y_i`` the sorted labels split into *rings* by the first coordinate's distance
``d = |y_j1 - y_i1| / sigma``: ring 0 holds ``d <= EDGES[0]``, ring ``r`` holds
``EDGES[r - 1] < d <= EDGES[r]``. Each ring is one or two runs of the sorted rows
(two ``searchsorted`` per edge, for a whole chunk of sorted rows at once), and every
row of ring ``r`` has ``w_ij <= B_r = exp(-EDGES[r - 1] ** 2 / 2)`` (``B_0 = 1``): the
other label columns only add to the distance. Rejection sampling with the proposal
"ring ``r`` with probability proportional to ``B_r * |ring r|``, then a uniform row
of it" accepted with probability ``w_ij / B_r`` gives each row ``j`` of the rings
probability proportional to ``B_r * (w_ij / B_r) = w_ij``: exactly the kernel's
distribution. Rows beyond the last edge (``UNDERFLOW`` sigmas) have ``w_ij == 0.0`` in
float64 (``exp(-x)`` underflows to 0 for ``x > 745.14``, i.e. beyond 38.61 sigma), the
only terms left out, so the distribution is C-Mixup's up to the float64 rounding of
the weights: ring membership is decided in floating point, and the 53-bit acceptance
uniform resolves ``w_ij / B_r`` to ``2**-53``, as a dense ``choice`` resolves its
cumulative weights.

Cost: the sort, ``2 * len(EDGES)`` searches per distinct left row, and per output row
a geometric number of attempts. For a 1-D label of locally even density the
acceptance rate is ``sqrt(2 pi) / (2 * 1.7536) = 71 %`` (1.4 attempts); it is higher
where sigma is much smaller than the label spacing (ring 0 holds the row alone) or much
larger than the label range (every weight is near 1). A multi-column block accepts
less: the proposal sees the first column only (on independent columns of even
density, about ``0.71 * (sigma-window share of the other columns)``). Every attempt
has a chance of at least ``1 / sum_r B_r |ring r|``, so it ends; labels crowded just
outside an edge raise the attempts of the rows near them by at most the factor
``B_r / w`` of that ring (``exp(-(EDGES[r]**2 - EDGES[r-1]**2) / 2)``).

Draws: three uniforms per (output row, attempt) from ``Stream.KERNEL``, keyed by the
global output row (``row_uniforms``): ring, row within the ring, acceptance. Partners
depend on the labels and the seed, never on partitioning or on which rows are
computed together.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

import numpy as np

from .random import Keys, Stream, row_seeds, row_uniforms
from .sampler import Sampler

#: Ring edges, in bandwidths, of the first label column's distance. The last is where
#: every weight is 0.0 in float64 (``exp(-0.5 * 38.61 ** 2) == 0``), with a margin for
#: the rounding of ``y_i +- edge * sigma``.
UNDERFLOW = 38.7
EDGES = (1.0, 2.0, 3.0, 4.0, 6.0, UNDERFLOW)
#: Each ring's bound on the weights in it: ``exp(-inner edge ** 2 / 2)``.
BOUNDS = np.exp(-0.5 * np.array((0.0, *EDGES[:-1])) ** 2)
#: Output rows drawn together, in sorted order of their left rows.
CHUNK = 1 << 16


def weights(labels: np.ndarray, i: np.ndarray, j: np.ndarray, bandwidth: float) -> np.ndarray:
    """``w_ij`` for pairs of columns ``i`` and ``j`` of ``labels`` (columns, rows)."""
    total = np.zeros(len(i))
    for column in labels:
        t = (column[j] - column[i]) / bandwidth
        total += t * t
    return np.exp(-0.5 * total)


def label_values(blocks, labels: tuple[tuple[int, int], ...]) -> np.ndarray:
    """The label columns of float ``blocks`` (``Layout.labels`` says where), as float64
    (columns, rows)."""
    return np.array([blocks[g][i] for g, i in labels], dtype=np.float64).reshape(len(labels), -1)


def left_rows(sampler: Sampler) -> np.ndarray:
    """The left row of every output row, in output order (one class of all rows):
    each full cycle's are the input rows, the partial cycle's its chosen rows."""
    n, full = sampler.n, sampler.full_cycles
    partial = sampler.left_ranks(full, 0, 0, n) if sampler.m % n else np.empty(0, np.int64)
    return np.concatenate([np.tile(np.arange(n, dtype=np.int64), full), partial])


@dataclass(frozen=True)
class LabelKernel:
    """The partner distribution of C-Mixup over ``labels`` (label columns, rows), as
    float64, with bandwidth ``bandwidth``; ``partners`` samples it for output rows."""

    keys: Keys
    bandwidth: float
    labels: np.ndarray

    @property
    def n(self) -> int:
        return self.labels.shape[1]

    @cached_property
    def order(self) -> np.ndarray:
        """Positions sorted by the first label column (ties in input order)."""
        key = self.labels[0]
        # Without ties (or nans) the order is unique: the faster unstable sort finds
        # the same permutation as the stable one. With them, the stable sort decides.
        order = np.argsort(key)
        ranked = key.take(order)
        if len(key) and not np.isnan(ranked[-1]) and (ranked[1:] != ranked[:-1]).all():
            return order
        return np.argsort(key, kind="stable")

    @cached_property
    def sorted_labels(self) -> np.ndarray:
        return np.ascontiguousarray(self.labels[:, self.order])

    @cached_property
    def rank(self) -> np.ndarray:
        """Each position's place in ``order``."""
        rank = np.empty(self.n, dtype=np.int64)
        rank[self.order] = np.arange(self.n)
        return rank

    def _by_rank(self, ranks: np.ndarray) -> np.ndarray:
        """Indices that put ``ranks`` in ascending order (stably): O(n) by a scatter when
        they are distinct (one cycle's left rows), a sort otherwise."""
        if len(ranks) <= self.n:
            at = np.full(self.n, -1, dtype=np.int64)
            at[ranks] = np.arange(len(ranks))
            by_rank = at[at >= 0]
            if len(by_rank) == len(ranks):
                return by_rank
        return np.argsort(ranks, kind="stable")

    def partners(self, left: np.ndarray, start: int) -> np.ndarray:
        """Partner positions of output rows ``start, start + 1, ...`` whose left rows
        are the positions ``left``; each output row's partner depends on its left row,
        its own number and the seed only."""
        left = np.asarray(left, dtype=np.int64)
        # One cycle at a time (output rows k // n): its left rows are distinct.
        cuts = [0, *range(-start % self.n or self.n, len(left), self.n), len(left)]
        return np.concatenate(
            [self._partners(left[a:b], start + a) for a, b in itertools.pairwise(cuts)]
            + [np.empty(0, dtype=np.int64)]
        )

    def _partners(self, left: np.ndarray, start: int) -> np.ndarray:
        partner = np.empty(len(left), dtype=np.int64)
        ranks = self.rank[left]
        # Rows in sorted order, a chunk at a time: the searches run over sorted queries
        # and the labels they gather are near each other.
        by_rank = self._by_rank(ranks)
        seeds = row_seeds(self.keys, Stream.KERNEL, np.arange(start, start + len(left)))
        key = self.sorted_labels[0]
        reaches = [edge * self.bandwidth for edge in EDGES]
        rings = len(EDGES)
        for first in range(0, len(left), CHUNK):
            members = by_rank[first : first + CHUNK]
            own = ranks[members]
            y = key[own]
            # Row 0 of each is ring 0's end (hi[0]); rows 1.. the edges' lo and hi, so
            # that row r is ring r's inner bounds (see _draw).
            lo = np.empty((rings + 1, len(members)), dtype=np.int64)
            hi = np.empty_like(lo)
            with np.errstate(over="ignore"):  # an edge beyond the float range is +-inf
                for e, reach in enumerate(reaches, 1):
                    lo[e] = _search(key, y - reach, "left")
                    hi[e] = _search(key, y + reach, "right")
            lo[0] = hi[1]
            hi[0] = hi[1]
            partner[members] = self._draw(own, y, lo, hi, seeds[members])
        return self.order[partner]

    def _draw(
        self, own: np.ndarray, y: np.ndarray, lo: np.ndarray, hi: np.ndarray, seeds: np.ndarray
    ) -> np.ndarray:
        """Sorted indices of the partners of the rows at sorted index ``own`` (first
        label ``y``), whose edges' windows are ``lo[1:]``, ``hi[1:]`` (edges, rows), and
        ``lo[0] == hi[0] == hi[1]``: rejection sampling.

        Ring ``r`` is the sorted runs ``[lo[r + 1], lo[r])`` and ``[hi[r], hi[r + 1])``;
        ring 0 the one run ``[lo[1], hi[1])`` (its second run is empty). All arrays are
        (rings, rows), so flat index ``ring * rows + row`` picks a row's ring.
        """
        rings, m = len(EDGES), len(own)
        size = np.empty((rings, m), dtype=np.int64)  # rows of each ring: both runs
        np.subtract(hi[1], lo[1], out=size[0])
        np.subtract(lo[1:-1], lo[2:], out=size[1:])
        size[1:] += hi[2:]
        size[1:] -= hi[1:-1]
        mass = size * BOUNDS[:, None]
        np.cumsum(mass, axis=0, out=mass)  # (rings, rows)
        start_at = lo[1:].reshape(-1)  # ring r's first run starts at lo[r + 1]
        inner_lo = lo[:-1].reshape(-1)  # ... and ends at lo[r] (ring 0: hi[1])
        inner_hi = hi[:-1].reshape(-1)  # its second run starts at hi[r] (ring 0: hi[1])
        flat_size = size.reshape(-1)
        labels = self.sorted_labels
        found = np.empty(m, dtype=np.int64)
        pending = np.arange(m)
        attempt = 0
        while len(pending):
            u = row_uniforms(seeds if attempt == 0 else seeds[pending], attempt, 3)
            cum = mass if attempt == 0 else mass[:, pending]
            threshold = u[0] * cum[-1]
            ring = np.zeros(len(pending), dtype=np.int64)
            for r in range(rings - 1):  # u[0] * total may round up to the total:
                ring += cum[r] <= threshold  # the (empty) last ring is refused below
            at = ring * m
            at += pending
            count = flat_size.take(at)
            offset = np.minimum((u[1] * count).astype(np.int64), np.maximum(count - 1, 0))
            start = start_at.take(at)
            before = inner_lo.take(at)
            before -= start
            j = np.where(offset < before, start + offset, inner_hi.take(at) + offset - before)
            i = own if attempt == 0 else own[pending]
            w = _weights(labels, y if attempt == 0 else y[pending], i, j, self.bandwidth)
            accepted = (u[2] * BOUNDS[ring] < w) & (count > 0)
            found[pending[accepted]] = j[accepted]
            pending = pending[~accepted]
            attempt += 1
        return found


#: Sorted queries searched a block at a time, each block within the stretch of the
#: sorted labels its first and the next block's first query bracket.
SEARCH_BLOCK = 4096


def _search(key: np.ndarray, q: np.ndarray, side: Literal["left", "right"]) -> np.ndarray:
    """``np.searchsorted(key, q, side)`` for non-decreasing ``q``: the same indices,
    each block of queries searched within the stretch of ``key`` that holds its
    answers (shorter searches, in cache)."""
    if len(q) <= SEARCH_BLOCK or not (np.isfinite(q[0]) and np.isfinite(q[-1])):
        # With q[0] and q[-1] finite (and y sorted, the edge finite) every query is
        # finite and in order; otherwise (inf - inf is nan) search plainly.
        return np.searchsorted(key, q, side)
    firsts = np.searchsorted(key, q[::SEARCH_BLOCK], side)
    ends = np.append(firsts[1:], len(key))
    out = np.empty(len(q), dtype=np.int64)
    for b, (a, z) in enumerate(zip(firsts.tolist(), ends.tolist(), strict=True)):
        part = slice(b * SEARCH_BLOCK, (b + 1) * SEARCH_BLOCK)
        np.add(np.searchsorted(key[a:z], q[part], side), a, out=out[part])
    return out


def _weights(
    labels: np.ndarray, y: np.ndarray, i: np.ndarray, j: np.ndarray, bandwidth: float
) -> np.ndarray:
    """``weights(labels, i, j, bandwidth)``, given the first column at ``i`` (``y``),
    with the same floating-point operations."""
    t = (labels[0].take(j) - y) / bandwidth
    total = t * t  # == 0.0 + t * t: t * t is never -0.0
    for column in labels[1:]:
        t = (column.take(j) - column.take(i)) / bandwidth
        total += t * t
    return np.exp(-0.5 * total)

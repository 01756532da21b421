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
        return np.argsort(self.labels[0], kind="stable")

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
        for first in range(0, len(left), CHUNK):
            members = by_rank[first : first + CHUNK]
            own = ranks[members]
            y = key[own]
            lo = np.empty((len(members), len(EDGES)), dtype=np.int64)
            hi = np.empty_like(lo)
            with np.errstate(over="ignore"):  # an edge beyond the float range is +-inf
                for e, edge in enumerate(EDGES):
                    reach = edge * self.bandwidth
                    lo[:, e] = np.searchsorted(key, y - reach, "left")
                    hi[:, e] = np.searchsorted(key, y + reach, "right")
            partner[members] = self._draw(own, lo, hi, seeds[members])
        return self.order[partner]

    def _draw(
        self, own: np.ndarray, lo: np.ndarray, hi: np.ndarray, seeds: np.ndarray
    ) -> np.ndarray:
        """Sorted indices of the partners of the rows at sorted index ``own``, whose
        edges' windows are ``lo``, ``hi`` (rows, edges): rejection sampling.

        Ring ``r`` is the sorted runs ``[lo[r], lo[r-1])`` and ``[hi[r-1], hi[r])``;
        ring 0 the one run ``[lo[0], hi[0])`` (its second run is empty).
        """
        rings = len(EDGES)
        size = np.empty_like(lo)  # rows of each ring: both runs
        size[:, 0] = hi[:, 0] - lo[:, 0]
        np.subtract(lo[:, :-1], lo[:, 1:], out=size[:, 1:])
        size[:, 1:] += hi[:, 1:]
        size[:, 1:] -= hi[:, :-1]
        mass = np.cumsum(size * BOUNDS, axis=1)  # (rows, rings)
        # Ring r's runs start at lo[r] and hi[r - 1] (ring 0: one run from lo[0]).
        inner_lo = np.empty_like(lo)
        inner_lo[:, 0] = hi[:, 0]
        inner_lo[:, 1:] = lo[:, :-1]
        inner_hi = np.empty_like(hi)
        inner_hi[:, 0] = hi[:, 0]
        inner_hi[:, 1:] = hi[:, :-1]
        found = np.empty(len(own), dtype=np.int64)
        pending = np.arange(len(own))
        attempt = 0
        while len(pending):
            u = row_uniforms(seeds[pending], attempt, 3)
            cum = mass[pending]
            ring = (cum <= (u[0] * cum[:, -1])[:, None]).sum(axis=1)
            np.minimum(ring, rings - 1, out=ring)
            at = pending * rings + ring  # flat index into the (rows, rings) arrays
            count = size.take(at)
            # u[0] * total may round up to the total: the (empty) last ring is refused.
            offset = np.minimum((u[1] * count).astype(np.int64), np.maximum(count - 1, 0))
            start = lo.take(at)
            before = inner_lo.take(at) - start
            j = np.where(offset < before, start + offset, inner_hi.take(at) + offset - before)
            w = weights(self.sorted_labels, own[pending], j, self.bandwidth)
            accepted = (u[2] * BOUNDS[ring] < w) & (count > 0)
            found[pending[accepted]] = j[accepted]
            pending = pending[~accepted]
            attempt += 1
        return found

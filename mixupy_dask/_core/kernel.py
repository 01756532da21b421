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
(two searches per edge, for a chunk of sorted rows at once, ``BucketIndex``), and every
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

Cost: the sort, ``2 * len(EDGES)`` searches per distinct left row (each a bucket's
start and a scan of the few labels in it), and per output row a geometric number of
attempts. For a 1-D label of locally even density the
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
from collections.abc import Sequence
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
    (columns, rows); one float64 column as a view, not a copy."""
    if len(labels) == 1:
        ((g, i),) = labels
        return np.asarray(blocks[g][i], dtype=np.float64)[None, :]
    return np.array([blocks[g][i] for g, i in labels], dtype=np.float64).reshape(len(labels), -1)


def left_rows(sampler: Sampler) -> np.ndarray:
    """The left row of every output row, in output order (one class of all rows):
    each full cycle's are the input rows, the partial cycle's its chosen rows."""
    n, full = sampler.n, sampler.full_cycles
    partial = sampler.left_ranks(full, 0, 0, n) if sampler.m % n else np.empty(0, np.int64)
    rows = np.arange(n, dtype=np.int64)
    if full == 1 and not len(partial):
        return rows
    left = np.empty(full * n + len(partial), dtype=np.int64)  # written once, not copied
    left[: full * n].reshape(full, n)[:] = rows
    left[full * n :] = partial
    return left


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
        return stable_argsort(self.labels[0])

    @cached_property
    def _sorted_key(self) -> np.ndarray:
        """The first label column in ``order``, then a nan (``BucketIndex``'s end)."""
        padded = np.empty(self.n + 1)
        # "clip" cannot clip here, and writes into `padded` without a buffer.
        self.labels[0].take(self.order, out=padded[:-1], mode="clip")
        padded[-1] = np.nan
        return padded

    @cached_property
    def sorted_labels(self) -> tuple[np.ndarray, ...]:
        """The label columns in ``order``."""
        return (self._sorted_key[:-1], *(column.take(self.order) for column in self.labels[1:]))

    @cached_property
    def rank(self) -> np.ndarray:
        """Each position's place in ``order``."""
        rank = np.empty(self.n, dtype=np.int64)
        rank[self.order] = np.arange(self.n)
        return rank

    @cached_property
    def _positions(self) -> type[np.signedinteger]:
        """The type of the ring tables' sorted positions: int32 while they fit (half
        the bytes to write and gather)."""
        return np.int32 if self.n <= np.iinfo(np.int32).max else np.intp

    @cached_property
    def _index(self) -> BucketIndex | None:
        """The sorted first column's search index, if it pays (``BucketIndex.build``)."""
        return BucketIndex.build(self._sorted_key)

    def _by_rank(self, left: np.ndarray) -> tuple[np.ndarray, bool]:
        """Indices that put ``left`` in ascending order of rank (stably), and whether
        the ranks are distinct: O(n) by a scatter when they are (one cycle's left
        rows), a sort otherwise. Every row once in input order: ``order`` itself."""
        n, m = self.n, len(left)
        if m == n and left[0] == 0 and left[-1] == n - 1 and (left[1:] > left[:-1]).all():
            return self.order, True  # left is range(n)
        ranks = self.rank.take(left)
        if m <= n:
            at = np.full(n, -1, dtype=np.int64)
            at[ranks] = np.arange(m)
            by_rank = at[at >= 0]
            if len(by_rank) == m:
                return by_rank, True
        return np.argsort(ranks, kind="stable"), False

    def partners(self, left: np.ndarray, start: int) -> np.ndarray:
        """Partner positions of output rows ``start, start + 1, ...`` whose left rows
        are the positions ``left``; each output row's partner depends on its left row,
        its own number and the seed only."""
        left = np.asarray(left, dtype=np.int64)
        # One cycle at a time (output rows k // n): its left rows are distinct.
        cuts = [0, *range(-start % self.n or self.n, len(left), self.n), len(left)]
        cycles = [self._partners(left[a:b], start + a) for a, b in itertools.pairwise(cuts)]
        return cycles[0] if len(cycles) == 1 else np.concatenate(cycles)

    def _partners(self, left: np.ndarray, start: int) -> np.ndarray:
        m = len(left)
        partner = np.empty(m, dtype=np.int64)
        if not m:
            return partner
        # Rows in sorted order, a chunk at a time: the searches run over sorted queries
        # and the labels they gather are near each other.
        by_rank, distinct = self._by_rank(left)
        # Every row once: the chunk starting at `first` holds sorted rows first, ...
        every = distinct and m == self.n
        key = self.sorted_labels[0]
        index = self._index
        reaches = [edge * self.bandwidth for edge in EDGES]
        rings = len(EDGES)
        later = []  # the rows still pending after FIRST_ATTEMPTS, drawn for together
        for first in range(0, m, CHUNK):
            members = by_rank[first : first + CHUNK]
            if every:
                own = np.arange(first, first + len(members))
                y = key[first : first + len(members)]
            else:
                own = self.rank.take(left.take(members))
                y = key.take(own)
            # Row 0 of each is ring 0's end (hi[0]); rows 1.. the edges' lo and hi, so
            # that row r is ring r's inner bounds (see _Proposal).
            lo = np.empty((rings + 1, len(members)), dtype=self._positions)
            hi = np.empty_like(lo)
            with np.errstate(over="ignore"):  # an edge beyond the float range is +-inf
                for e, reach in enumerate(reaches, 1):
                    if index is None:
                        lo[e] = _search(key, y - reach, "left")
                        hi[e] = _search(key, y + reach, "right")
                    else:
                        lo[e] = index.search(y - reach, "left")
                        hi[e] = index.search(y + reach, "right")
            lo[0] = hi[1]
            hi[0] = hi[1]
            seeds = row_seeds(self.keys, Stream.KERNEL, members + start)
            rows = _Proposal.of_windows(lo, hi, members, own, y, seeds)
            later.append(self._draw(rows, partner, 0, FIRST_ATTEMPTS))
        self._draw(_Proposal.concat(later), partner, FIRST_ATTEMPTS, None)
        return partner

    def _draw(
        self, rows: _Proposal, partner: np.ndarray, attempt: int, stop: int | None
    ) -> _Proposal:
        """Rejection sampling: attempts ``attempt, ...`` (up to ``stop``, None: until
        every row has a partner) for ``rows``, which write their partners' positions
        to ``partner[rows.slot]``; returns the rows still pending.

        The ring tables are (rings, rows), so flat index ``ring * rows + row`` picks a
        row's ring. Only the rows still pending draw again.
        """
        rings, m = len(EDGES), len(rows.slot)
        flat_size = rows.size.reshape(-1)
        outer, inner, skip = rows.outer.reshape(-1), rows.inner.reshape(-1), rows.skip.reshape(-1)
        labels = self.sorted_labels
        pending = np.arange(m)
        # The pending rows' own values:
        seeds, own, y, weight = rows.seeds, rows.own, rows.y, rows.cum
        while len(pending) and attempt != stop:
            u = row_uniforms(seeds, attempt, 3)
            threshold = u[0] * weight[-1]
            # (u[0] * total may round up to the total: the (empty) last ring is
            # refused below. Counted in bytes, half the time of intp.)
            counted = np.zeros(len(pending), dtype=np.uint8)
            for r in range(rings - 1):
                counted += (weight[r] <= threshold).view(np.uint8)
            ring = counted.astype(np.intp)
            at = ring * m
            at += pending
            count = flat_size.take(at)
            offset = (u[1] * count).astype(count.dtype)
            np.minimum(offset, np.maximum(count - 1, 0), out=offset)
            j = outer.take(at)
            j += offset
            past = (j >= inner.take(at)).astype(j.dtype)  # past the inner window
            past *= skip.take(at)
            j += past
            j = j.astype(np.intp, copy=False)  # ``take`` is far slower with other types
            w = _weights(labels, y, own, j, self.bandwidth)
            accepted = u[2] * BOUNDS.take(ring) < w
            accepted &= count > 0
            # (Boolean masks index slowly: their positions instead.)
            done = np.flatnonzero(accepted)
            slots = rows.slot.take(done if len(pending) == m else pending.take(done))
            partner[slots] = self.order.take(j.take(done))
            keep = np.flatnonzero(~accepted)
            pending = pending.take(keep)
            if len(pending):
                seeds, own, y = seeds.take(keep), own.take(keep), y.take(keep)
                weight = weight.take(keep, axis=1)
            attempt += 1
        return rows.take(pending)


@dataclass(frozen=True)
class _Proposal:
    """The proposal of rejection sampling for some rows, in (rings, rows) tables.

    Ring ``r`` of a row is the sorted rows ``[lo[r + 1], hi[r + 1])`` without the
    inner window ``[lo[r], hi[r])`` (ring 0's is empty, ``lo[0] == hi[0] == hi[1]``):
    ``size[r] = width[r + 1] - width[r]`` rows (``width = hi - lo``), the ``o``-th of
    them ``outer[r] + o`` (``outer[r] = lo[r + 1]``), moved past the inner window by
    ``skip[r] = width[r]`` once it reaches ``inner[r] = lo[r]``. ``cum`` is the
    cumulative mass ``BOUNDS[r] * size[r]`` over the rings, summed in ring order. Per
    row: ``slot``, its place among the rows asked for, ``own`` and ``y``, its left
    row's sorted index and first label, and ``seeds``, its draws' seed.
    """

    size: np.ndarray
    outer: np.ndarray
    inner: np.ndarray
    skip: np.ndarray
    cum: np.ndarray
    slot: np.ndarray
    own: np.ndarray
    y: np.ndarray
    seeds: np.ndarray

    @classmethod
    def of_windows(cls, lo, hi, slot, own, y, seeds) -> _Proposal:
        """From the edges' windows ``lo[1:]``, ``hi[1:]`` and ``lo[0] == hi[0] == hi[1]``."""
        rings = len(EDGES)
        width = hi - lo  # width[0] == 0
        size = width[1:] - width[:-1]
        cum = size.astype(np.float64)  # exact: sizes are below 2**53
        cum *= BOUNDS[:, None]
        for r in range(1, rings):
            cum[r] += cum[r - 1]
        return cls(size, lo[1:], lo[:-1], width[:-1], cum, slot, own, y, seeds)

    def take(self, rows: np.ndarray) -> _Proposal:
        tables = (self.size, self.outer, self.inner, self.skip, self.cum)
        return _Proposal(
            *(t.take(rows, axis=1) for t in tables),
            *(a.take(rows) for a in (self.slot, self.own, self.y, self.seeds)),
        )

    @classmethod
    def concat(cls, parts: list[_Proposal]) -> _Proposal:
        return cls(
            *(np.concatenate([getattr(p, f) for p in parts], axis=1) for f in _TABLES),
            *(np.concatenate([getattr(p, f) for p in parts]) for f in _ROWS),
        )


_TABLES = ("size", "outer", "inner", "skip", "cum")
_ROWS = ("slot", "own", "y", "seeds")
#: Attempts each chunk of rows makes alone; the rows still pending then (about 2 %)
#: draw together, in far fewer passes of few rows each.
FIRST_ATTEMPTS = 3


def stable_argsort(key: np.ndarray) -> np.ndarray:
    """``np.argsort(key, kind="stable")``, faster for many finite keys.

    A stable radix sort of 16-bit buckets (an affine, non-decreasing map of the keys)
    puts the keys in bucket order; a stable sort of that nearly sorted sequence then
    only sorts within buckets. The map never puts a key after a larger one, and both
    sorts are stable, so the result is the stable sort of the keys, ties in input
    order. Keys crowded into few buckets (outliers stretch the map) sort directly.
    """
    n = len(key)
    if n >= SORT_MIN:
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            low, high = float(key.min()), float(key.max())
            scale = (SORT_BUCKETS - 1) / (high - low) if high > low else 0.0
        if np.isfinite(low) and np.isfinite(high) and np.isfinite(scale) and scale > 0:
            bucket = np.empty(n, dtype=np.uint16)
            top = SORT_BUCKETS - 1
            for a in range(0, n, CHUNK):  # (no temporaries of n values)
                bucket[a : a + CHUNK] = _affine_buckets(key[a : a + CHUNK], low, scale, top)
            counts = np.bincount(bucket, minlength=SORT_BUCKETS)
            if np.dot(counts, counts) <= SORT_CROWDING * n:
                first = np.argsort(bucket, kind="stable")
                del bucket
                nearly = key.take(first)
                within = np.argsort(nearly, kind="stable")
                # Into `nearly`'s memory where it fits ("clip" cannot clip here, and
                # needs no buffer).
                fits = nearly.dtype.itemsize == np.dtype(np.intp).itemsize
                return first.take(within, out=nearly.view(np.intp) if fits else None, mode="clip")
    # Without ties (or nans) the order is unique: the faster unstable sort finds the
    # same permutation as the stable one. With them, the stable sort decides.
    order = np.argsort(key)
    ranked = key.take(order)
    if n and not np.isnan(ranked[-1]) and (ranked[1:] != ranked[:-1]).all():
        return order
    return np.argsort(key, kind="stable")


#: Keys from which ``stable_argsort`` sorts by buckets first, its buckets, and the
#: most keys a key may share its bucket with on average (sum of squared counts / n).
SORT_MIN = 1 << 15
SORT_BUCKETS = 1 << 16
SORT_CROWDING = 256


def _affine_buckets(x: np.ndarray, low: float, scale: float, top: int) -> np.ndarray:
    """``floor((x - low) * scale)`` clipped to ``[0, top]``: non-decreasing in ``x``
    (every step rounds monotonically), so a key of a lower bucket is a smaller one."""
    f = x - low
    f *= scale
    np.clip(f, 0, top, out=f)
    return f.astype(np.intp)


@dataclass(frozen=True)
class BucketIndex:
    """``np.searchsorted`` over sorted finite keys, exactly, in a few steps a query.

    The keys' range splits into ``top + 1`` equal buckets (``_affine_buckets``);
    ``start[b]`` counts the keys of the buckets before ``b``. A query ``q`` in bucket
    ``b`` has every key of an earlier bucket below it and every key of a later one
    above it (the map is non-decreasing), so its answer is ``start[b]`` plus the keys
    of bucket ``b`` before it: a short linear scan, ``SCAN`` steps at most, then a
    binary search for the few left. ``key`` ends with a nan, which compares false:
    the scan stops at the end.
    """

    key: np.ndarray
    low: float
    scale: float
    top: int
    start: np.ndarray

    @classmethod
    def build(cls, padded: np.ndarray) -> BucketIndex | None:
        """The index of the sorted keys ``padded[:-1]`` (``padded[-1]`` is a nan); None
        where it does not pay: few keys, non-finite ones, or keys crowded into few
        buckets."""
        key = padded[:-1]
        n = len(key)
        if n < INDEX_MIN or not (np.isfinite(key[0]) and np.isfinite(key[-1])):
            return None
        top = INDEX_BUCKETS * n
        with np.errstate(over="ignore", divide="ignore"):
            scale = float(top / (key[-1] - key[0]))
        if not (np.isfinite(scale) and scale > 0):
            return None
        low = float(key[0])
        table = np.int32 if n <= np.iinfo(np.int32).max else np.intp  # half the bytes
        start = np.empty(top + 1, dtype=table)
        # The keys' buckets do not decrease. A chunk of keys at a time (no temporaries
        # of n values): where each bucket begins (`new`), which sets start[b] for the
        # buckets b after the previous one (`last`) up to it; and the sum of squared
        # bucket counts (`crowding`), as far as they are known (`opened`: where the
        # last bucket seen begins).
        last, opened, crowding = -1, 0, 0
        for a in range(0, n, CHUNK):
            bucket = _affine_buckets(key[a : a + CHUNK], low, scale, top)
            new = np.flatnonzero(bucket[1:] != bucket[:-1])
            new += 1
            if bucket[0] != last:
                new = np.concatenate([[0], new])
            if not len(new):
                continue
            ids = bucket.take(new)
            new += a
            counts = np.diff(new, prepend=opened)  # of the buckets each new one closes
            crowding += int(np.dot(counts, counts))
            if crowding > INDEX_CROWDING * n:
                return None
            start[last + 1 : ids[-1] + 1] = np.repeat(new.astype(table), np.diff(ids, prepend=last))
            last, opened = int(ids[-1]), int(new[-1])
        if crowding + (n - opened) ** 2 > INDEX_CROWDING * n:
            return None
        start[last + 1 :] = n
        return cls(padded, low, scale, top, start)

    def search(self, q: np.ndarray, side: Literal["left", "right"]) -> np.ndarray:
        """``np.searchsorted(key, q, side)`` for ``q`` without nans."""
        with np.errstate(over="ignore"):
            at = self.start.take(_affine_buckets(q, self.low, self.scale, self.top))
        at = at.astype(np.intp)  # ``take`` is far slower with other index types
        before = np.less if side == "left" else np.less_equal  # key[at] goes before q
        moving = np.flatnonzero(before(self.key.take(at), q))
        for _ in range(SCAN):
            if not len(moving):
                return at
            step = at.take(moving)
            step += 1
            at[moving] = step
            moving = moving.take(np.flatnonzero(before(self.key.take(step), q.take(moving))))
        if len(moving):
            at[moving] = np.searchsorted(self.key[:-1], q.take(moving), side)
        return at


#: Keys from which the kernel searches by ``BucketIndex``, its buckets per key, the
#: most keys a key may share its bucket with on average, and its scan's steps.
INDEX_MIN = 1 << 12
INDEX_BUCKETS = 3
INDEX_CROWDING = 8
SCAN = 8


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
    labels: Sequence[np.ndarray], y: np.ndarray, i: np.ndarray, j: np.ndarray, bandwidth: float
) -> np.ndarray:
    """``weights(labels, i, j, bandwidth)``, given the first column at ``i`` (``y``),
    with the same floating-point operations (in place)."""
    total = labels[0].take(j)
    total -= y
    total /= bandwidth
    total *= total  # == 0.0 + t * t: t * t is never -0.0
    for column in labels[1:]:
        t = column.take(j)
        t -= column.take(i)
        t /= bandwidth
        t *= t
        total += t
    total *= -0.5
    return np.exp(total, out=total)

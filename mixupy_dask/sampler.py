"""Counter-based randomness: every random choice is a pure function of (seed, position).

Mixup's randomness has three parts, each keyed by the seed and a *global* position,
never by a generator whose state depends on partitioning or call order. That is what
makes the pandas and dask routes bit-identical for any partitioning, and a lazy
result recompute to the same values after a worker dies:

- ``Permutation``: a keyed pseudo-random permutation of ``range(n)`` per cycle, with an
  element-wise inverse, so a source row can compute where it must travel.
- ``Selection``: a keyed uniform choice of exactly ``k`` of ``n`` positions, whose
  members in any range, and counts before any position, are cheap to compute.
- ``lambdas``: Beta(alpha, alpha) weights drawn in fixed blocks of output positions.

``Sampler`` puts them together into the row semantics of DESIGN.md section 2.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

__all__ = ["Keys", "Permutation", "Sampler", "Selection", "lambdas"]

# Independent random streams, one per use, under the user's seed.
STREAM_PERMUTATION = 0
STREAM_SELECTION = 1
STREAM_LAMBDA = 2
STREAM_QUOTA = 3

#: Output rows per Beta draw block. Fixed: changing it changes every seeded result.
LAMBDA_BLOCK = 4096
#: Rows per leaf of the selection tree. Fixed for the same reason.
SELECTION_LEAF = 4096
#: Feistel rounds. Four rounds of a strong mixing function make a pseudo-random
#: permutation (Luby-Rackoff); we need statistical quality, not cryptography.
FEISTEL_ROUNDS = 4
#: numpy's hypergeometric sampler is exact only below this population per side.
_HYPERGEOMETRIC_LIMIT = 10**9

_U64 = np.uint64
_GOLDEN = _U64(0x9E3779B97F4A7C15)
_MIX1 = _U64(0xBF58476D1CE4E5B9)
_MIX2 = _U64(0x94D049BB133111EB)


def _mix64_inplace(z: np.ndarray, tmp: np.ndarray) -> None:
    """``_mix64`` on an array, in place, with ``tmp`` as scratch space."""
    with np.errstate(over="ignore"):
        for shift, mult in ((30, _MIX1), (27, _MIX2)):
            np.right_shift(z, _U64(shift), out=tmp)
            z ^= tmp
            z *= mult
        np.right_shift(z, _U64(31), out=tmp)
        z ^= tmp


def _mix64(z: np.ndarray | np.uint64) -> np.ndarray:
    """The splitmix64 finaliser: a fast, well-avalanching bijection of uint64."""
    with np.errstate(over="ignore"):
        z = z ^ (z >> _U64(30))
        z = z * _MIX1
        z ^= z >> _U64(27)
        z *= _MIX2
        z ^= z >> _U64(31)
    return z


@dataclass(frozen=True)
class Keys:
    """The user's seed, fixed once: entropy plus spawn key, as in numpy's SeedSequence.

    Held as plain ints so that it pickles to workers and tokenises deterministically.
    """

    entropy: int | tuple[int, ...]
    spawn_key: tuple[int, ...] = ()

    @classmethod
    def from_seed_sequence(cls, seq: np.random.SeedSequence) -> Keys:
        entropy = seq.entropy
        if not isinstance(entropy, int):
            entropy = tuple(int(e) for e in entropy)
        return cls(entropy, tuple(int(k) for k in seq.spawn_key))

    def seed_sequence(self, *stream: int) -> np.random.SeedSequence:
        """An independent SeedSequence for the sub-stream ``stream`` of this seed."""
        return np.random.SeedSequence(self.entropy, spawn_key=self.spawn_key + stream)

    def generator(self, *stream: int) -> np.random.Generator:
        return np.random.default_rng(self.seed_sequence(*stream))


@dataclass(frozen=True)
class Permutation:
    """Keyed pseudo-random permutations of ``range(n)``, one per cycle.

    An unbalanced Feistel network over the smallest power of two >= n, with cycle
    walking to stay inside ``range(n)``. Both directions are element-wise, so a row
    finds its partner (``forward``) and a source row finds who it is the partner of
    (``inverse``) without materialising the permutation. The domain is < 2n, so
    cycle walking takes fewer than two rounds of the network on average.
    """

    keys: Keys
    n: int
    stream: tuple[int, ...] = ()

    @cached_property
    def _widths(self) -> tuple[int, int]:
        bits = max(2, (self.n - 1).bit_length())
        return bits // 2, bits - bits // 2

    @cached_property
    def _base_keys(self) -> np.ndarray:
        seq = self.keys.seed_sequence(STREAM_PERMUTATION, *self.stream)
        return seq.generate_state(FEISTEL_ROUNDS, dtype=np.uint64)

    def _round_keys(self, cycle: int | np.ndarray) -> np.ndarray:
        """Round keys, shape (rounds,) for one cycle or (rounds, len) for an array."""
        c = _mix64(np.asarray(cycle, dtype=np.uint64) * _GOLDEN)
        base = self._base_keys.reshape((-1,) + (1,) * np.ndim(c))
        return _mix64(base ^ c)

    def _network(self, x: np.ndarray, keys: np.ndarray, inverse: bool) -> np.ndarray:
        """One pass of the network over uint64 ``x``, in place (x is overwritten)."""
        a, b = self._widths
        rounds = range(FEISTEL_ROUNDS - 1, -1, -1) if inverse else range(FEISTEL_ROUNDS)
        low, f, tmp = np.empty_like(x), np.empty_like(x), np.empty_like(x)
        for r in rounds:
            # Round r splits a value into a high part of `hi` bits and a low part of
            # `lo` bits; the widths alternate so that unbalanced halves both get mixed.
            # Forward: (high, low) -> (low, high ^ F(low)); inverse undoes it. In-place
            # numpy ops on three buffers: this is the sampler's hot loop.
            hi, lo = (a, b) if r % 2 == 0 else (b, a)
            hi_mask = _U64((1 << hi) - 1)
            if inverse:
                np.right_shift(x, _U64(hi), out=low)
                x &= hi_mask
            else:
                np.bitwise_and(x, _U64((1 << lo) - 1), out=low)
                x >>= _U64(lo)
            np.bitwise_xor(low, keys[r], out=f)
            _mix64_inplace(f, tmp)
            f &= hi_mask
            x ^= f
            if inverse:
                x <<= _U64(lo)
            else:
                low <<= _U64(hi)
            x |= low
        return x

    def _apply(self, x, cycle, inverse: bool) -> np.ndarray:
        x = np.asarray(x, dtype=np.int64)
        keys = self._round_keys(cycle)
        y = self._network(x.astype(np.uint64), keys, inverse)
        n = _U64(self.n)
        outside = np.flatnonzero(y >= n)
        while outside.size:  # cycle walking: re-encrypt until back inside range(n)
            sub_keys = keys if keys.ndim == 1 else keys[:, outside]
            y[outside] = self._network(y[outside], sub_keys, inverse)
            outside = outside[y[outside] >= n]
        return y.view(np.int64)

    def forward(self, x, cycle: int | np.ndarray) -> np.ndarray:
        """pi_cycle(x) for positions ``x`` (array) in ``range(n)``."""
        return self._apply(x, cycle, inverse=False)

    def inverse(self, y, cycle: int | np.ndarray) -> np.ndarray:
        """pi_cycle^-1(y), element-wise."""
        return self._apply(y, cycle, inverse=True)


@dataclass(frozen=True)
class Selection:
    """A keyed uniform choice of exactly ``k`` of the positions ``range(n)``.

    Built as a fixed binary tree over the positions: each node splits its quota
    between its halves with a hypergeometric draw keyed by the node, and each leaf
    picks its quota uniformly. Whatever the partitioning, the members inside any
    range and the count before any position cost O(log n + range / leaf) draws.
    """

    keys: Keys
    n: int
    k: int
    stream: tuple[int, ...] = ()

    def _rng(self, lo: int, hi: int) -> np.random.Generator:
        return self.keys.generator(STREAM_SELECTION, *self.stream, lo, hi)

    def _split(self, lo: int, mid: int, hi: int, k: int) -> int:
        """How many of the node's ``k`` members fall in its left half."""
        good, bad = mid - lo, hi - mid
        if k in (0, good + bad):
            return min(k, good)
        rng = self._rng(lo, hi)
        if max(good, bad) < _HYPERGEOMETRIC_LIMIT:
            return int(rng.hypergeometric(good, bad, k))
        # Beyond numpy's exact range: a binomial with the same mean, kept feasible.
        return int(np.clip(rng.binomial(k, good / (good + bad)), k - bad, good))

    def _leaf(self, lo: int, hi: int, k: int) -> np.ndarray:
        if k == hi - lo:
            return np.arange(lo, hi, dtype=np.int64)
        chosen = self._rng(lo, hi).choice(hi - lo, size=k, replace=False)
        return np.sort(chosen).astype(np.int64) + lo

    def members(self, start: int, stop: int) -> np.ndarray:
        """The selected positions in ``[start, stop)``, ascending."""
        found = []
        stack = [(0, self.n, self.k)]
        while stack:
            lo, hi, k = stack.pop()
            if k == 0 or hi <= start or lo >= stop:
                continue
            if hi - lo <= SELECTION_LEAF:
                leaf = self._leaf(lo, hi, k)
                found.append(leaf[(leaf >= start) & (leaf < stop)])
                continue
            mid = (lo + hi) // 2
            k_left = self._split(lo, mid, hi, k)
            stack.append((mid, hi, k - k_left))  # popped last: keeps output sorted
            stack.append((lo, mid, k_left))
        return np.concatenate(found) if found else np.empty(0, dtype=np.int64)

    def count_before(self, stop: int) -> int:
        """How many selected positions are < ``stop``."""
        lo, hi, k, count = 0, self.n, self.k, 0
        while k > 0 and lo < stop < hi:
            if hi - lo <= SELECTION_LEAF:
                return count + int(np.searchsorted(self._leaf(lo, hi, k), stop))
            mid = (lo + hi) // 2
            k_left = self._split(lo, mid, hi, k)
            if stop <= mid:
                hi, k = mid, k_left
            else:
                lo, k, count = mid, k - k_left, count + k_left
        return count + (k if stop >= hi else 0)


def lambdas(keys: Keys, alpha: float, start: int, stop: int) -> np.ndarray:
    """Mixing weights for output rows ``[start, stop)``; ``alpha == 0`` gives ones.

    Block ``b`` of ``LAMBDA_BLOCK`` output rows always draws from its own generator
    keyed by ``b``, so any range draws only the blocks it overlaps and gets the
    same values whichever range it is part of.
    """
    if alpha == 0:
        return np.ones(stop - start)
    if stop <= start:
        return np.empty(0)
    first, last = start // LAMBDA_BLOCK, (stop - 1) // LAMBDA_BLOCK
    draws = [
        keys.generator(STREAM_LAMBDA, block).beta(alpha, alpha, LAMBDA_BLOCK)
        for block in range(first, last + 1)
    ]
    offset = first * LAMBDA_BLOCK
    return np.concatenate(draws)[start - offset : stop - offset]


@dataclass(frozen=True)
class Sampler:
    """The row plan of mixup for classes of ``class_sizes`` rows and ``m`` output rows.

    Plain mixup has one class of all ``n`` rows; ``within_class`` mixing has one per
    label. Output row ``k`` belongs to cycle ``c = k // n``; the cycle's left rows are
    the input rows in input order (all of them in a full cycle; in the partial last
    cycle a keyed uniform choice of ``m % n``, split between classes by a keyed
    multivariate hypergeometric draw, then chosen by ``Selection`` per class).

    Within class ``g``, rows are numbered by *class rank* (their order in the input)
    and the cycle's left rows by *slot rank* ``v`` (their order among the cycle's left
    rows of that class). The partner of the left row with slot rank ``v`` is the row
    of class rank ``pi_{c,g}(v)``, so in a full cycle every row is a partner exactly
    once, and partners in the partial cycle are distinct.
    """

    keys: Keys
    class_sizes: tuple[int, ...]
    m: int
    alpha: float
    label_preserving: bool = False

    @property
    def n(self) -> int:
        return sum(self.class_sizes)

    @property
    def full_cycles(self) -> int:
        return self.m // self.n

    @property
    def cycles(self) -> int:
        return -(-self.m // self.n)

    @cached_property
    def quotas(self) -> tuple[int, ...]:
        """Left rows of each class in the partial last cycle."""
        rest = self.m % self.n
        if len(self.class_sizes) == 1:
            return (rest,)
        rng = self.keys.generator(STREAM_QUOTA)
        return tuple(int(q) for q in rng.multivariate_hypergeometric(self.class_sizes, rest))

    def size(self, cycle: int, g: int = 0) -> int:
        """Left rows of class ``g`` in ``cycle``."""
        return self.class_sizes[g] if cycle < self.full_cycles else self.quotas[g]

    def _stream(self, g: int) -> tuple[int, ...]:
        return () if len(self.class_sizes) == 1 else (g,)

    def permutation(self, g: int = 0) -> Permutation:
        return Permutation(self.keys, self.class_sizes[g], self._stream(g))

    def selection(self, g: int = 0) -> Selection:
        return Selection(self.keys, self.class_sizes[g], self.quotas[g], self._stream(g))

    def left_ranks(self, cycle: int, g: int, start: int, stop: int) -> np.ndarray:
        """Class ranks in ``[start, stop)`` of class ``g`` that are left rows in ``cycle``."""
        if cycle < self.full_cycles:
            return np.arange(start, stop, dtype=np.int64)
        return self.selection(g).members(start, stop)

    def slot_start(self, cycle: int, g: int, class_rank: int) -> int:
        """Slot rank of the first left row of class ``g`` at or after ``class_rank``."""
        if cycle < self.full_cycles:
            return class_rank
        return self.selection(g).count_before(class_rank)

    def partners(self, g: int, slots: np.ndarray, cycle: int | np.ndarray) -> np.ndarray:
        """Class ranks of the partners of the left rows with slot ranks ``slots``."""
        return self.permutation(g).forward(slots, cycle)

    def destinations(self, g: int, class_ranks: np.ndarray, cycle: int):
        """Which rows of class ``g`` are partners in ``cycle``, and the slot ranks they serve.

        Returns ``(keep, slots)``: indices into ``class_ranks`` and the slot ranks of the
        left rows they are partners of (only the partial cycle leaves rows out).
        """
        slots = self.permutation(g).inverse(class_ranks, cycle)
        keep = np.flatnonzero(slots < self.size(cycle, g))
        return keep, slots[keep]

    def weights(self, start: int, stop: int) -> np.ndarray:
        """lambda for output rows ``[start, stop)``; label-preserving keeps it >= 1/2."""
        lam = lambdas(self.keys, self.alpha, start, stop)
        if self.label_preserving:
            np.maximum(lam, 1.0 - lam, out=lam)
        return lam

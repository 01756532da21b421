"""All of the package's randomness: every draw is a pure function of (seed, stream, position).

Each random choice is keyed by the user's seed, a stream number from ``Stream`` and a
*global* position (an output row block, a selection-tree node, an output series
block), never by a generator whose state depends on partitioning or call order. That
is what makes the pandas and dask routes bit-identical for any partitioning, and a
lazy result recompute to the same values after a worker dies:

- ``Permutation``: a keyed pseudo-random permutation of ``range(n)`` per cycle, with an
  element-wise inverse, so a source row can compute where it must travel.
- ``Selection``: a keyed uniform choice of exactly ``k`` of ``n`` positions, whose
  members in any range, and counts before any position, are cheap to compute.
- ``lambdas``: Beta(alpha, alpha) weights drawn in fixed blocks of output rows.
- ``class_quotas``: how a partial cycle's left rows split between classes.
- ``choose_series`` and ``dirichlet_weights``: the ``k`` input series and the weights
  of each output series of series mixup.
- ``row_uniforms``: uniforms keyed by (output row, attempt), for draws whose number
  per row is not fixed (the label kernel's rejection sampler, ``_core/kernel.py``).

``_sampler.Sampler`` puts the row parts together into the row semantics
(docs/design.md); ``_series.plan.Plan`` the series parts.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np


class Stream(enum.IntEnum):
    """The independent random streams under a user's seed, one per use.

    A stream's number is the first entry of the spawn key of every generator it
    uses, so the numbers are part of every seeded result: never renumber or reuse one.
    """

    #: Feistel round keys of the partner permutations (then the class, within classes).
    PERMUTATION = 0
    #: Nodes and leaves of the partial cycle's selection tree (then the class).
    SELECTION = 1
    #: Beta weights, one generator per block of ``LAMBDA_BLOCK`` output rows.
    LAMBDA = 2
    #: How the partial cycle's left rows split between classes.
    QUOTA = 3
    #: ``categorical="sample"``: one uniform per output row, per ``LAMBDA_BLOCK`` block.
    SAMPLE = 4
    #: ``bandwidth``: the label kernel's partner draws, per (output row, attempt)
    #: (``row_uniforms``).
    KERNEL = 5
    #: ``MixupStream``'s orders, under the stream's own seed (not an epoch's): sub-stream
    #: 0 the units of an epoch (then the epoch), 1 the output rows of a window (then the
    #: epoch and the window), 2 the global batches of an epoch (then the epoch).
    EPOCH = 6
    #: Series mixup: sub-stream 0 chooses the ``k`` series, 1 draws the weights, each
    #: per block of ``SERIES_BLOCK`` output series.
    SERIES = 100


#: Output rows per Beta draw block. Fixed: changing it changes every seeded result.
LAMBDA_BLOCK = 4096
#: Rows per leaf of the selection tree. Fixed for the same reason.
SELECTION_LEAF = 4096
#: Feistel rounds. Four rounds of a strong mixing function make a pseudo-random
#: permutation (Luby-Rackoff); we need statistical quality, not cryptography.
FEISTEL_ROUNDS = 4
#: Output series per draw block of series mixup. Fixed for the same reason.
SERIES_BLOCK = 1024
#: Elements per pass of the Feistel network: its buffers (4 x 512 KiB) stay in cache.
_NETWORK_CHUNK = 65536
#: Largest domain encrypted whole as a lookup table (32 MiB of uint64).
_TABLE_LIMIT = 1 << 22
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
    def from_seed(cls, seed: int | tuple[int, ...] | np.random.SeedSequence | None) -> Keys:
        """Fix a validated seed now: ``None`` draws fresh entropy once, at the call."""
        if seed is None:
            seed = np.random.SeedSequence()
        if isinstance(seed, np.random.SeedSequence):
            return cls.from_seed_sequence(seed)
        values = [seed] if isinstance(seed, int) else list(seed)
        return cls.from_seed_sequence(np.random.SeedSequence(values))

    @classmethod
    def from_seed_sequence(cls, seq: np.random.SeedSequence) -> Keys:
        entropy = seq.entropy
        if not isinstance(entropy, int):
            entropy = tuple(int(e) for e in entropy or ())
        return cls(entropy, tuple(int(k) for k in seq.spawn_key))

    def seed_sequence(self, *stream: int) -> np.random.SeedSequence:
        """An independent SeedSequence for the sub-stream ``stream`` of this seed."""
        return np.random.SeedSequence(
            self.entropy, spawn_key=self.spawn_key + tuple(int(s) for s in stream)
        )

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
        seq = self.keys.seed_sequence(Stream.PERMUTATION, *self.stream)
        return seq.generate_state(FEISTEL_ROUNDS, dtype=np.uint64)

    def _round_keys(self, cycle: int | np.ndarray) -> np.ndarray:
        """Round keys, shape (rounds,) for one cycle or (rounds, len) for an array."""
        c = _mix64(np.asarray(cycle, dtype=np.uint64) * _GOLDEN)
        base = self._base_keys.reshape((-1,) + (1,) * np.ndim(c))
        return _mix64(base ^ c)

    def _round_tables(self, keys: np.ndarray, size: int) -> list[np.ndarray] | None:
        """Each round's function at every low part, for one cycle over ``size`` values.

        A round's function sees only the low part, of at most ``w = max(_widths)``
        bits. With one cycle (``keys`` of shape (rounds,)) over at least ``2 ** w``
        values, tabulating it and looking it up gives the same values with one pass over
        the input a round instead of ten. None: compute it (per-element cycles, or too
        few values to pay for the tables).
        """
        if keys.ndim != 1 or size < 1 << max(self._widths):
            return None
        # All rounds in one pass over (rounds, 2 ** w), each row cut to its round's widths.
        full = _mix64(keys[:, None] ^ np.arange(1 << max(self._widths), dtype=np.uint64))
        tables = []
        for r, values in enumerate(full.astype(self._dtype)):
            hi, lo = self._split(r)
            tables.append(values[: 1 << lo] & self._dtype((1 << hi) - 1))
        return tables

    @cached_property
    def _dtype(self) -> type[np.unsignedinteger]:
        """What tabulated passes compute in: uint32 while the domain fits, which halves
        the bytes each of their shifts, masks and lookups moves (same values)."""
        return np.uint32 if sum(self._widths) <= 32 else np.uint64

    def _split(self, r: int) -> tuple[int, int]:
        """Round ``r``'s widths (high, low): they alternate, so that unbalanced halves
        both get mixed."""
        a, b = self._widths
        return (a, b) if r % 2 == 0 else (b, a)

    def _network(
        self,
        x: np.ndarray,
        keys: np.ndarray,
        inverse: bool,
        tables: list[np.ndarray] | None,
    ) -> np.ndarray:
        """One pass of the network over uint64 ``x``, in place (x is overwritten),
        looking the round functions up in ``tables`` when given (``_round_tables``).

        The passes run over chunks whose buffers stay in the CPU's cache: about twice
        as fast as over a long array (at 1e6).
        """
        if x.size <= _NETWORK_CHUNK:
            return self._network_chunk(x, keys, inverse, tables)
        for start in range(0, x.size, _NETWORK_CHUNK):
            part = slice(start, start + _NETWORK_CHUNK)
            x[part] = self._network_chunk(
                x[part], keys if keys.ndim == 1 else keys[:, part], inverse, tables
            )
        return x

    def _network_chunk(
        self,
        x: np.ndarray,
        keys: np.ndarray,
        inverse: bool,
        tables: list[np.ndarray] | None,
    ) -> np.ndarray:
        rounds = range(FEISTEL_ROUNDS - 1, -1, -1) if inverse else range(FEISTEL_ROUNDS)
        word = x.dtype.type  # uint64, or uint32 for tabulated passes (_dtype)
        signed = np.int64 if word is np.uint64 else np.int32  # take wants signed indices
        low, f = np.empty_like(x), np.empty_like(x)
        tmp = np.empty_like(x) if tables is None else None
        for r in rounds:
            # Round r splits a value into a high part of `hi` bits and a low part of
            # `lo` bits. Forward: (high, low) -> (low, high ^ F(low)); inverse undoes
            # it. In-place numpy ops on a few buffers: this is the sampler's hot loop.
            hi, lo = self._split(r)
            hi_mask = word((1 << hi) - 1)
            if inverse:
                np.right_shift(x, word(hi), out=low)
                x &= hi_mask
            else:
                np.bitwise_and(x, word((1 << lo) - 1), out=low)
                x >>= word(lo)
            if tables is not None:
                # "clip" cannot clip (low < 2 ** lo) and, unlike "raise", needs no buffer.
                tables[r].take(low.view(signed), out=f, mode="clip")
            else:
                assert tmp is not None
                np.bitwise_xor(low, keys[r], out=f)
                _mix64_inplace(f, tmp)
                f &= hi_mask
            x ^= f
            if inverse:
                x <<= word(lo)
            else:
                low <<= word(hi)
            x |= low
        return x

    def _apply(self, x, cycle, inverse: bool) -> np.ndarray:
        """The permutation (or its inverse) at ``x``; ``x=None``: at every position."""
        keys = self._round_keys(cycle)
        domain = 1 << sum(self._widths)
        n = self.n
        size = self.n if x is None else np.size(x)
        if keys.ndim == 1 and 2 * size >= domain and domain <= _TABLE_LIMIT:
            # One cycle over most of the domain (the pandas route): encrypt the whole
            # domain once and walk cycles by lookups in that table, instead of running
            # the network again on the values that fell outside. Same values.
            tables = self._round_tables(keys, domain)
            table = self._network(np.arange(domain, dtype=self._dtype), keys, inverse, tables)
            y = table[:n] if x is None else table[np.asarray(x, dtype=np.int64)]
            y = y.astype(np.int64)
            outside = np.flatnonzero(y >= n)
            while outside.size:
                y[outside] = table[y[outside]]
                outside = outside[y[outside] >= n]
            return y
        x = np.arange(self.n) if x is None else np.asarray(x, dtype=np.int64)
        # Tabulated once for the first pass and every walk after it.
        tables = self._round_tables(keys, size)
        word = np.uint64 if tables is None else self._dtype
        y = self._network(x.astype(word), keys, inverse, tables)
        outside = np.flatnonzero(y >= n)
        while outside.size:  # cycle walking: re-encrypt until back inside range(n)
            sub_keys = keys if keys.ndim == 1 else keys[:, outside]
            y[outside] = self._network(y[outside], sub_keys, inverse, tables)
            outside = outside[y[outside] >= n]
        return y.view(np.int64) if word is np.uint64 else y.astype(np.int64)

    def forward(self, x, cycle: int | np.ndarray) -> np.ndarray:
        """pi_cycle(x) for positions ``x`` (array) in ``range(n)``; None: all of them."""
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
        return self.keys.generator(Stream.SELECTION, *self.stream, lo, hi)

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


def _blocks(
    keys: Keys,
    stream: int,
    start: int,
    stop: int,
    draw: Callable[[np.random.Generator, int], np.ndarray],
) -> np.ndarray:
    """Rows ``[start, stop)`` of a stream drawn in blocks of ``LAMBDA_BLOCK`` rows.

    Block ``b`` always draws from its own generator keyed by ``b``, so any range draws
    only the blocks it overlaps and gets the same values whichever range it is part
    of. ``draw(generator, size)`` fills its array in order, so the first ``k`` values
    of a block are its draw of size ``k``: the last block draws only up to ``stop``.
    """
    if stop <= start:
        return np.empty(0)
    first, last = start // LAMBDA_BLOCK, (stop - 1) // LAMBDA_BLOCK
    draws = [
        draw(keys.generator(stream, block), min(LAMBDA_BLOCK, stop - block * LAMBDA_BLOCK))
        for block in range(first, last + 1)
    ]
    offset = first * LAMBDA_BLOCK
    return np.concatenate(draws)[start - offset :]


def lambdas(keys: Keys, alpha: float, start: int, stop: int) -> np.ndarray:
    """Mixing weights for output rows ``[start, stop)``; ``alpha == 0`` gives ones."""
    if alpha == 0:
        return np.ones(stop - start)
    return _blocks(keys, Stream.LAMBDA, start, stop, lambda rng, k: rng.beta(alpha, alpha, k))


def uniforms(keys: Keys, start: int, stop: int) -> np.ndarray:
    """One uniform in [0, 1) per output row ``[start, stop)``, in the blocks of
    ``lambdas``."""
    return _blocks(keys, Stream.SAMPLE, start, stop, lambda rng, k: rng.random(k))


def row_seeds(keys: Keys, stream: int, rows: np.ndarray) -> np.ndarray:
    """Each output row's own SplitMix64 seed: ``mix64(row * golden ^ key)``.

    With ``row_uniforms`` this is a counter-based generator: a row's draws are a pure
    function of (seed, stream, row, attempt), so any subset of rows, in any order,
    gets the same values, and a row may take as many attempts as it needs without
    moving any other row's draws.
    """
    key = keys.seed_sequence(stream).generate_state(1, dtype=np.uint64)[0]
    with np.errstate(over="ignore"):
        return _mix64(np.asarray(rows, dtype=np.int64).view(np.uint64) * _GOLDEN ^ key)


def row_uniforms(seeds: np.ndarray, attempt: int, count: int) -> np.ndarray:
    """``count`` uniforms in [0, 1) (53 bits) per row for ``attempt``, shape (count, rows).

    Draw ``t = attempt * count + s + 1`` of a row is SplitMix64's output at step ``t``
    from the row's seed (``row_seeds``): ``mix64(seed + t * golden)``. Statistical
    quality, not cryptography, as the Feistel network's.
    """
    steps = np.arange(attempt * count + 1, (attempt + 1) * count + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = seeds + (steps * _GOLDEN)[:, None]  # all the draws at once, in place
        _mix64_inplace(z, np.empty_like(z))
        z >>= _U64(11)
    # Below 2**53 as int64 too, which numpy converts to float far faster.
    return z.view(np.int64) * 2.0**-53


def keyed_permutation(keys: Keys, n: int, *position: int) -> np.ndarray:
    """A uniform permutation of ``range(n)`` drawn from ``Stream.EPOCH`` at ``position``:
    materialised (``O(n)`` ints), for the orders of ``MixupStream``."""
    return keys.generator(Stream.EPOCH, *position).permutation(n)


def class_quotas(keys: Keys, class_sizes: tuple[int, ...], rest: int) -> tuple[int, ...]:
    """How many of a partial cycle's ``rest`` left rows each class gets: a keyed
    multivariate hypergeometric draw, so the cycle is a uniform choice of rows."""
    if len(class_sizes) == 1:
        return (rest,)
    rng = keys.generator(Stream.QUOTA)
    return tuple(int(q) for q in rng.multivariate_hypergeometric(class_sizes, rest))


def choose_series(keys: Keys, n: int, k: int, block: int) -> np.ndarray:
    """``k`` distinct series of ``n`` for each output series of ``block`` (Floyd's method).

    Floyd's algorithm draws a uniform ``k``-subset with exactly ``k`` draws, vectorised
    here over the block's rows. The slot order is not uniform, which does not matter:
    the weights are exchangeable and drawn independently.
    """
    rng = keys.generator(Stream.SERIES, 0, block)
    chosen = np.empty((SERIES_BLOCK, k), dtype=np.int64)
    for slot, top in enumerate(range(n - k, n)):
        t = rng.integers(0, top + 1, size=SERIES_BLOCK)
        seen = (chosen[:, :slot] == t[:, None]).any(axis=1)
        chosen[:, slot] = np.where(seen, top, t)
    return chosen


def dirichlet_weights(keys: Keys, k: int, alpha: float, block: int) -> np.ndarray:
    """Dirichlet(alpha, ..., alpha) weight vectors for the output series of ``block``."""
    if k == 1:
        return np.ones((SERIES_BLOCK, 1))
    # A generator of its own: the weights do not depend on the number of series.
    rng = keys.generator(Stream.SERIES, 1, block)
    return rng.dirichlet(np.full(k, alpha), size=SERIES_BLOCK)

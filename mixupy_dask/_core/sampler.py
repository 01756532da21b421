"""The row plan: which left row and which partner make each output row, and its weight.

Built from ``_random``'s keyed permutations, selections and Beta blocks; the pandas
route evaluates it for all rows at once, the dask route per partition.

Two ways to say how many rows to make
-------------------------------------
**One number** ``m`` (an int ``batch_size``): output row ``k`` belongs to cycle
``c = k // n``; every class is in every full cycle, and the partial last cycle takes
``m % n`` rows split between classes by a keyed multivariate hypergeometric draw.

**Rows per class** ``m_g`` (a dict ``batch_size`` or a ``sampling_strategy``): class
``g`` of ``n_g`` rows has ``m_g // n_g`` full passes of its own and one partial pass of
``m_g % n_g`` rows, a keyed uniform choice (``Selection``) of the class's rows. Cycle
``c`` holds, for every class, its pass number ``c`` if it has one: all of the class in a
full pass, the chosen rows in its partial pass, none after; so classes asking for
more passes go on alone in later cycles. A class of zero rows can make zero rows.

Either way cycle ``c``'s left rows come in input order, cycles one after the other,
so the output order is a function of the seed and the data, never of partitioning.

Partners
--------
Partners are drawn from a *group*: the left row's class (``within_class``, and plain
mixup's single class of all rows), or, for rows per class without ``within_class``
(``pooled``), one group of all ``n`` rows. Within group ``h`` rows are numbered by
*group rank* (their order in the input) and cycle ``c``'s left rows of the group by
*slot rank* ``v``. The partner of slot ``v`` is the row of group rank
``pi_{c,h}(v)``, with ``pi_{c,h}`` a keyed permutation of the group: in a full pass every
row of the group is a partner exactly once, and partners within a cycle are distinct.
A pooled cycle has at most ``n`` left rows, so its partners are distinct too, as in a
partial cycle of plain mixup. A group of one row has only itself as partner: its mixed rows
are ``lam * x + (1 - lam) * x``, the row itself up to the rounding of the last bit.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from .random import Keys, Permutation, Selection, class_quotas, lambdas


@dataclass(frozen=True)
class Sampler:
    """The row plan of mixup for classes of ``class_sizes`` rows and ``m`` output rows.

    ``class_rows`` (rows to make per class) switches from one number ``m`` to rows per
    class, see the module's docstring; then ``m == sum(class_rows)``. ``pooled`` takes
    the partners of per-class rows from all rows instead of the left row's class.
    """

    keys: Keys
    class_sizes: tuple[int, ...]
    m: int
    alpha: float
    label_preserving: bool = False
    class_rows: tuple[int, ...] | None = None
    pooled: bool = False

    @property
    def n(self) -> int:
        return sum(self.class_sizes)

    @property
    def per_class(self) -> bool:
        return self.class_rows is not None

    @property
    def _rows(self) -> tuple[int, ...]:
        """``class_rows``, where rows are made per class."""
        assert self.class_rows is not None
        return self.class_rows

    @property
    def full_cycles(self) -> int:
        """Full cycles of the whole input (one-number plans)."""
        return self.m // self.n

    def full(self, g: int) -> int:
        """Full passes over class ``g``; its partial pass, if any, is cycle ``full(g)``."""
        if not self.per_class:
            return self.full_cycles
        size = self.class_sizes[g]
        return self._rows[g] // size if size else 0

    @property
    def cycles(self) -> int:
        if not self.per_class:
            return -(-self.m // self.n)
        return max(
            (
                -(-rows // size)
                for rows, size in zip(self._rows, self.class_sizes, strict=True)
                if size
            ),
            default=0,
        )

    @cached_property
    def quotas(self) -> tuple[int, ...]:
        """Left rows of each class in its partial pass."""
        if self.per_class:
            return tuple(
                r % s if s else 0 for r, s in zip(self._rows, self.class_sizes, strict=True)
            )
        return class_quotas(self.keys, self.class_sizes, self.m % self.n)

    def size(self, cycle: int, g: int = 0) -> int:
        """Left rows of class ``g`` in ``cycle``."""
        full = self.full(g)
        if cycle < full:
            return self.class_sizes[g]
        return self.quotas[g] if cycle == full else 0

    @property
    def left_is_input(self) -> bool:
        """One cycle whose left rows are all input rows, in order."""
        return self.cycles == 1 and all(
            self.size(0, g) == s for g, s in enumerate(self.class_sizes)
        )

    def _stream(self, g: int) -> tuple[int, ...]:
        return () if len(self.class_sizes) == 1 else (g,)

    def selection(self, g: int = 0) -> Selection:
        return Selection(self.keys, self.class_sizes[g], self.quotas[g], self._stream(g))

    def left_ranks(self, cycle: int, g: int, start: int, stop: int) -> np.ndarray:
        """Class ranks in ``[start, stop)`` of class ``g`` that are left rows in ``cycle``."""
        full = self.full(g)
        if cycle < full:
            return np.arange(start, stop, dtype=np.int64)
        if cycle == full:
            return self.selection(g).members(start, stop)
        return np.empty(0, dtype=np.int64)

    def slot_start(self, cycle: int, g: int, class_rank: int) -> int:
        """Number of class ``g``'s left rows in ``cycle`` before class rank ``class_rank``."""
        full = self.full(g)
        if cycle < full:
            return class_rank
        return self.selection(g).count_before(class_rank) if cycle == full else 0

    # Partner groups: the classes, or one group of all rows.

    @property
    def groups(self) -> int:
        return 1 if self.pooled or len(self.class_sizes) == 1 else len(self.class_sizes)

    def group_slots(self, cycle: int, h: int = 0) -> int:
        """Left rows of group ``h`` in ``cycle``: the slots its permutation fills."""
        if self.groups == 1:
            return sum(self.size(cycle, g) for g in range(len(self.class_sizes)))
        return self.size(cycle, h)

    def permutation(self, h: int = 0) -> Permutation:
        size = self.n if self.groups == 1 else self.class_sizes[h]
        return Permutation(self.keys, size, () if self.groups == 1 else (h,))

    def partners(self, h: int, slots: np.ndarray | None, cycle: int | np.ndarray) -> np.ndarray:
        """Group ranks of the partners of the left rows with slot ranks ``slots`` (None:
        every slot of a full pass, in order)."""
        return self.permutation(h).forward(slots, cycle)

    def destinations(self, h: int, group_ranks: np.ndarray, cycle: int, count: int = 1):
        """Which rows of group ``h`` are partners in ``cycle``, and the slot ranks they serve.

        Returns ``(keep, slots)``: indices into ``group_ranks`` and the slot ranks of the
        left rows they are partners of (rows outside a cycle's slots are left out).
        ``count > 1``: cycles ``cycle`` to ``cycle + count - 1`` of one phase (the same
        slots, ``phases``) at once; ``keep`` then indexes ``group_ranks`` tiled ``count``
        times, cycle after cycle (``keep // len(group_ranks)`` is the cycle's offset).
        One call per cycle cost ~1 ms of set-up (keys, a table) whatever the rows: a
        class balanced up over 1,800 passes spent most of its time there.
        """
        if count > 1:
            size = len(group_ranks)
            cycles = np.repeat(np.arange(cycle, cycle + count, dtype=np.int64), size)
            slots = self.permutation(h).inverse(np.tile(group_ranks, count), cycles)
        else:
            slots = self.permutation(h).inverse(group_ranks, cycle)
        keep = np.flatnonzero(slots < self.group_slots(cycle, h))
        return keep, slots[keep]

    def phases(self, cycles: range | None = None) -> list[range]:
        """Runs of consecutive ``cycles`` (default: all) in which no class changes
        between full, partial and done: the same left rows and slots in each cycle of a
        run. A class is partial in one cycle only, so a run holding a partial class is
        one cycle long."""
        cycles = range(self.cycles) if cycles is None else cycles
        if not cycles:
            return []
        cuts = {cycles.start, cycles.stop}
        for g in range(len(self.class_sizes)):
            cuts.update((self.full(g), self.full(g) + 1))
        cuts = sorted(c for c in cuts if cycles.start <= c <= cycles.stop)
        return [range(a, b) for a, b in itertools.pairwise(cuts)]

    def weights(self, start: int, stop: int) -> np.ndarray:
        """lambda for output rows ``[start, stop)``; label-preserving keeps it >= 1/2."""
        lam = lambdas(self.keys, self.alpha, start, stop)
        if self.label_preserving:
            np.maximum(lam, 1.0 - lam, out=lam)
        return lam

"""The row plan: which left row and which partner make each output row, and its weight.

Built from ``_random``'s keyed permutations, selections and Beta blocks; the pandas
route evaluates it for all rows at once, the dask route per partition.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ._random import Keys, Permutation, Selection, class_quotas, lambdas


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
        return class_quotas(self.keys, self.class_sizes, self.m % self.n)

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

"""The order of an epoch: pure functions of the row count, the seed, the epoch and the
sizes, never of files, partitions, workers or ranks (as MosaicML Streaming's shuffles).

- **Units** are runs of ``unit`` consecutive rows (``max(1, window // UNITS_PER_WINDOW)``;
  all rows with ``window=None``); the last may be shorter.
- **Windows**: epoch ``e`` permutes the units (``Stream.EPOCH`` 0, keyed by ``e``) and
  deals them out, in that order, into ``ceil(units / per_window)`` windows of at most
  ``per_window = window // unit`` units each (so at most ``window`` rows), as evenly as
  can be. A window's rows are its units' rows in input order. One window holds every
  row when ``window=None`` or ``window >= n``.
- **Rows**: a window is mixed as ``mixup`` mixes a frame of its rows (one full pass,
  ``batch_size`` its rows) with the seed ``(seed, e)`` when it is the only window, else
  ``(seed, e, j)``; its output rows are then put in a keyed order (``Stream.EPOCH`` 1,
  keyed by ``e, j``). The epoch's rows are the windows' rows, window after window.
- **Batches** are consecutive runs of ``batch_size`` of the epoch's rows; the last is
  shorter, or dropped with ``drop_last``.
- **Ranks**: with ``world_size=W``, rank ``r``'s ``k``-th batch is global batch
  ``r + k W``. Each rank gets ``N // W`` batches with ``drop_last`` (the last ``N % W``
  global batches are dropped too), else ``ceil(N / W)``, counting global batches past
  the end from the start again (the first ``W - N % W`` batches are seen twice).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from .._core.random import Keys, keyed_permutation

#: Units per window: a window reads this many runs of consecutive rows at most. More
#: units mix the data more across epochs; fewer read longer runs.
UNITS_PER_WINDOW = 8


@dataclass(frozen=True)
class Window:
    """Window ``index`` of an epoch: its rows (global positions, ascending, as runs
    ``[start, stop)``), its place among the epoch's rows and its seed's extra keys."""

    index: int
    runs: tuple[tuple[int, int], ...]
    offset: int
    only: bool

    @property
    def rows(self) -> int:
        return sum(b - a for a, b in self.runs)

    def positions(self) -> np.ndarray:
        return np.concatenate([np.arange(a, b, dtype=np.int64) for a, b in self.runs])


@dataclass(frozen=True)
class EpochPlan:
    """The order of epoch ``epoch`` of ``n`` rows, as the module's docstring says."""

    keys: Keys
    n: int
    batch_size: int
    window: int | None
    drop_last: bool
    epoch: int

    @property
    def unit(self) -> int:
        if self.window is None:
            return self.n
        return max(1, self.window // UNITS_PER_WINDOW)

    @property
    def units(self) -> int:
        return math.ceil(self.n / self.unit)

    @property
    def windows(self) -> int:
        if self.window is None or self.n <= self.window:
            return 1
        return math.ceil(self.units / (self.window // self.unit))

    @cached_property
    def _layout(self) -> tuple[Window, ...]:
        w = self.windows
        order = np.arange(1) if w == 1 else keyed_permutation(self.keys, self.units, 0, self.epoch)
        cuts = [self.units * j // w for j in range(w + 1)]
        out, offset = [], 0
        for j in range(w):
            units = np.sort(order[cuts[j] : cuts[j + 1]]) if w > 1 else np.arange(self.units)
            runs: list[tuple[int, int]] = []
            for u in units.tolist():
                a, b = u * self.unit, min((u + 1) * self.unit, self.n)
                if runs and runs[-1][1] == a:  # neighbouring units read as one run
                    runs[-1] = (runs[-1][0], b)
                else:
                    runs.append((a, b))
            window = Window(j, tuple(runs), offset, w == 1)
            out.append(window)
            offset += window.rows
        return tuple(out)

    def window_list(self) -> tuple[Window, ...]:
        return self._layout

    def order(self, window: Window) -> np.ndarray:
        """The window's output rows (its mix's row numbers) in the epoch's order."""
        return keyed_permutation(self.keys, window.rows, 1, self.epoch, window.index)

    @property
    def global_batches(self) -> int:
        return self.n // self.batch_size if self.drop_last else -(-self.n // self.batch_size)

    def batches(self, world_size: int) -> int:
        """Batches each rank gets."""
        total = self.global_batches
        return total // world_size if self.drop_last else -(-total // world_size)

    def global_batch(self, rank: int, world_size: int, k: int) -> int:
        """The global batch that is rank ``rank``'s ``k``-th."""
        return (rank + k * world_size) % self.global_batches

    def rows_of(self, batch: int) -> list[tuple[Window, int, int]]:
        """Global batch ``batch`` as pieces ``(window, a, b)``: rows ``[a, b)`` of the
        window's ordered output."""
        start = batch * self.batch_size
        stop = min(start + self.batch_size, self.n)
        pieces = []
        for window in self._layout:
            a, b = max(start, window.offset), min(stop, window.offset + window.rows)
            if a < b:
                pieces.append((window, a - window.offset, b - window.offset))
        return pieces


def epoch_seed(keys: Keys, epoch: int, window: Window) -> Keys:
    """The seed a window is mixed with: ``(seed, epoch)`` for the only window (so that
    ``window=None`` is ``mixup(data, seed=(seed, epoch))``), else ``(seed, epoch, j)``."""
    extra = (epoch,) if window.only else (epoch, window.index)
    entropy = keys.entropy if isinstance(keys.entropy, tuple) else (keys.entropy,)
    return Keys.from_seed_sequence(
        np.random.SeedSequence(list(entropy) + list(extra), spawn_key=keys.spawn_key)
    )

"""The torch face of a ``MixupStream``: an ``IterableDataset`` whose batches come out of
a ``DataLoader(ds, batch_size=None, num_workers=k)`` in the stream's global order for
any ``k``. torch is imported here only (the ``torch`` extra)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .._core.validation import BATCHES_RULES, validate
from .formats import import_torch

_torch = import_torch()
_IterableDataset: Any = _torch.utils.data.IterableDataset


class MixupIterable(_IterableDataset):
    """One rank's batches of a ``MixupStream`` for ``torch.utils.data.DataLoader``.

    A DataLoader with ``k`` workers asks worker ``0, 1, ..., k-1, 0, 1, ...`` for its next
    batch in turn, so worker ``i`` makes the rank's batches ``start + i``,
    ``start + i + k``, ...: the loader yields them in the rank's order, and they are the
    same for every ``k``. Each worker reads the windows its batches need.

    The state is three integers: ``epoch``, ``start`` (where the epoch's iteration
    began) and ``seen`` (batches this process has yielded since). torchdata's
    ``StatefulDataLoader`` keeps one per worker and gives it back on resume; without
    it, ``load_state_dict({"epoch": e, "start": b, "seen": 0})`` resumes after ``b``
    batches of epoch ``e`` for any number of workers.
    """

    def __init__(self, stream: Any, rank: int, world_size: int) -> None:
        self.stream = stream
        self.rank = rank
        self.world_size = world_size
        self.epoch = 0
        self.start = 0
        self.seen = 0
        self._resume = 0

    def set_epoch(self, epoch: int) -> None:
        """Iterate epoch ``epoch`` next, from its first batch."""
        self.epoch = validate(BATCHES_RULES, epoch=epoch)["epoch"]
        self.start = self.seen = self._resume = 0

    def __len__(self) -> int:
        return self.stream.num_batches(self.world_size) - self.start

    def __iter__(self) -> Iterator[Any]:
        info = _torch.utils.data.get_worker_info()
        workers, worker = (info.num_workers, info.id) if info is not None else (1, 0)
        skip, self._resume = self._resume, 0
        self.seen = skip
        count = self.stream.num_batches(self.world_size)
        first = self.start + worker + skip * workers
        ks = range(min(first, count), count, workers)
        for batch in self.stream._batches(self.epoch, self.rank, self.world_size, ks, "torch"):
            self.seen += 1
            yield batch

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self.epoch, "start": self.start, "seen": self.seen}

    def load_state_dict(self, state: dict[str, int]) -> None:
        p = validate(BATCHES_RULES, epoch=state["epoch"], start=state["start"])
        seen = validate(BATCHES_RULES, start=state.get("seen", 0))["start"]
        self.epoch, self.start = p["epoch"], p["start"]
        self.seen = self._resume = seen

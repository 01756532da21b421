"""``MixupStream``: every epoch a fresh, exact mix of the data, in batches.

A window (``plan.Window``) is mixed as the in-memory route mixes a frame: its rows are
encoded once, the sampler gives every output row's left row, partner and lambda (a few
ints and floats a row), and the rows are gathered and mixed batch by batch, only for
the batches asked for. The next window is read and planned in a background thread
while the current one's batches are mixed, so reading overlaps mixing.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Hashable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

import dask.dataframe as dd
import numpy as np
import pandas as pd

from .._core.docs import MIXUP_PARAMETERS, shared_docs
from .._core.kernel import LabelKernel, label_values, left_rows
from .._core.labels import Encoders, check_onehot
from .._core.random import Keys, uniforms
from .._core.validation import (
    BATCHES_RULES,
    STREAM_MIXUP_RULES,
    STREAM_RULES,
    check_rows,
    validate,
    validates,
)
from .._frames.registry import ADAPTERS, adapter_for
from .._kernel.layout import Layout
from .._kernel.mix import mix_rows
from .._kernel.rows import Rows
from .._rows.call import RowCall, prepare
from .._rows.pandas_route import class_members, pairs
from ..errors import MixupError, MixupTypeError
from .formats import Format, check_torch_columns, format_for
from .plan import EpochPlan, Window, epoch_seed
from .sources import fixed_labels, open_rows

STREAM_PARAMETERS: dict[str, str] = {
    "data": """data : pandas.DataFrame, dask.dataframe.DataFrame or str
    The rows to mix: a frame, or a Parquet file or dataset (a path or an fsspec URL
    such as ``s3://bucket/data``), read from its footers and row groups as
    ``augment_parquet`` reads it.""",
    "batch_size": """batch_size : int
    Rows per batch (the last batch of an epoch may be shorter, see ``drop_last``).""",
    "seed": """seed : int, sequence of int or numpy.random.SeedSequence, optional
    The stream's seed ``s``; epoch ``e`` is mixed with ``seed=(s, e)`` (``(*s, e)``
    for a sequence). ``None`` draws fresh entropy once, at construction.""",
    "window": """window : int, optional
    Mix rows within windows of at most this many rows (>= 4), so memory and latency
    are O(window) however large the data; which rows share a window changes every
    epoch. ``None``: one window of all rows, held in memory.""",
    "drop_last": """drop_last : bool, default False
    Drop the epoch's last, shorter batch, and with ``world_size=W`` the last
    ``N % W`` of its ``N`` batches, so every rank gets ``N // W`` full batches.""",
    "columns": """columns : list of str, optional
    The columns to read and mix (default: all).""",
    "storage_options": """storage_options : dict, optional
    fsspec options for a Parquet ``data`` (e.g. S3 credentials); never shown.""",
    "bandwidth": """bandwidth : float, optional
    C-Mixup (as ``mixup``'s ``bandwidth``): with numeric ``labels`` and
    ``bandwidth=sigma > 0``, the partner of left row ``i`` is row ``j`` of the same
    window (``i`` itself included) with probability proportional to
    ``exp(-||y_j - y_i||^2 / (2 sigma^2))``, normalised over the window's rows (all
    rows with ``window=None``). ``None``: partners are a permutation of the window.
    Refused with a class column, ``within_class`` or ``label_preserving``.""",
}

_PLACEHOLDERS = {**MIXUP_PARAMETERS, **STREAM_PARAMETERS}

#: Rows mixed at once: batches are cut from blocks of about this many rows, so the
#: per-call costs (gathers, a frame, the format's conversion) are paid once a block.
BLOCK_ROWS = 1 << 16
#: Blocks mixed ahead of the one being cut.
BLOCKS_AHEAD = 2


@dataclass
class Mixed:
    """A window, read and planned: its encoded rows and, for each of its output rows in
    the epoch's order, the left row, the partner, lambda and the uniform draw."""

    rows: Rows
    layout: Layout
    positions: np.ndarray  # global input position of each window row
    left: np.ndarray
    partner: np.ndarray
    lam: np.ndarray
    draws: np.ndarray | None
    keys: Keys
    hard_labels: bool

    def mix(self, at: np.ndarray, provenance: bool) -> pd.DataFrame:
        """Rows ``at`` of the window's ordered output, mixed (rows are mixed one by
        one, so a block of them is bit for bit its batches put together)."""
        left, partner, lam = self.left[at], self.partner[at], self.lam[at]
        mixed = mix_rows(
            self.rows.take(left),
            self.rows.take(partner),
            lam,
            self.layout,
            self.hard_labels,
            self.keys,
            draws=None if self.draws is None else self.draws[at],
        )
        adapter = adapter_for(pd.DataFrame())
        where = (self.positions[left], self.positions[partner], lam) if provenance else None
        return adapter.from_rows(mixed, self.layout, like=None, provenance=where)


def in_pandas(data: Any) -> tuple[Any, Any]:
    """``data`` as the stream reads it, and the Polars or Arrow frame it came from (or
    None): an eager Polars or Arrow frame is read as its pandas conversion, the one
    ``mixup`` mixes it as (``FrameAdapter.to_pandas``)."""
    if isinstance(data, (str, os.PathLike, pd.DataFrame, dd.DataFrame)):
        return data, None
    for adapter in ADAPTERS:
        if adapter.accepts(data):
            return adapter.to_pandas(data), data
        if adapter.advice(data) is not None:
            raise MixupTypeError(
                f"`data` is a lazy {adapter.name} frame, which MixupStream does not take: "
                f"stream data that fits in memory as `data.collect()`; for data that does "
                f"not, write it to Parquet and give the path"
            )
    return data, None  # refused by `open_rows`, which names what is accepted


@dataclass
class Block:
    """Rows of one window mixed at once: ``pieces`` of its ordered output, ``[a, b)``
    each, one per batch (or part of a batch) they go to, in the order asked for."""

    window: Window
    pieces: list[tuple[int, int]]

    @property
    def rows(self) -> int:
        return sum(b - a for a, b in self.pieces)

    def at(self) -> np.ndarray:
        return np.concatenate([np.arange(a, b, dtype=np.int64) for a, b in self.pieces])


def blocks(pieces: list[list[tuple[Window, int, int]]], rows: int) -> list[Block]:
    """The batches' pieces, in order, grouped into blocks of one window and at most
    ``rows`` rows (or of one piece, when a batch is larger)."""
    out: list[Block] = []
    for window, a, b in (piece for batch in pieces for piece in batch):
        last = out[-1] if out else None
        if last is not None and last.window.index == window.index and last.rows + b - a <= rows:
            last.pieces.append((a, b))
        else:
            out.append(Block(window, [(a, b)]))
    return out


@shared_docs(_PLACEHOLDERS)
class MixupStream:
    """Batches of mixup rows, freshly mixed every epoch, the same everywhere.

    Epoch ``e`` mixes every input row as a left row exactly once. With ``window=None``
    its rows are exactly those of ``mixup(data, seed=(s, e), batch_size=len(data),
    ...)`` with the same options, in a keyed order that changes every epoch. With
    ``window=w`` partners come from windows of at most ``w`` rows (memory O(w)); each
    row is still a left row once and (without ``bandwidth``) a partner once per epoch;
    with ``bandwidth`` C-Mixup draws partners from the left row's window. The batches
    are a pure function of the rows, ``seed``, the epoch, ``batch_size``, ``window``
    and the options: never of partitions, files, data-loader workers or ranks. See
    ``docs/stream.md``.

    Parameters
    ----------
    {data}
    {batch_size}
    {alpha}
    {seed}
    {window}
    {drop_last}
    {columns}
    {labels}
    {within_class}
    {label_preserving}
    {categorical}
    {max_categories}
    {integers}
    {missing}
    {provenance}
    {bandwidth}
    {storage_options}

    Examples
    --------
    >>> import pandas as pd
    >>> from mixupy_dask import MixupStream, mixup
    >>> df = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0, 4.0], "y": list("aabab")})
    >>> stream = MixupStream(df, 2, seed=7, labels="y", provenance=True)
    >>> stream.num_batches()
    3
    >>> [len(b) for b in stream.batches(epoch=0)]
    [2, 2, 1]
    >>> epoch = pd.concat(stream.batches(epoch=0)).sort_values("mixup_left")
    >>> epoch.reset_index(drop=True).equals(mixup(df, seed=(7, 0), labels="y", provenance=True))
    True
    """

    @validates(STREAM_MIXUP_RULES, STREAM_RULES)
    def __init__(
        self,
        data: Any,
        batch_size: int,
        *,
        alpha: float = 4.0,
        seed: int | Sequence[int] | np.random.SeedSequence | None = None,
        window: int | None = None,
        drop_last: bool = False,
        columns: Sequence[str] | None = None,
        labels: Hashable | Sequence[Hashable] | None = None,
        within_class: bool = False,
        label_preserving: bool = False,
        categorical: str = "raise",
        max_categories: int = 64,
        integers: str = "float",
        missing: str = "raise",
        provenance: bool = False,
        bandwidth: float | None = None,
        storage_options: dict[str, Any] | None = None,
    ) -> None:
        self.batch_size = batch_size
        self.window = window
        self.drop_last = drop_last
        self.provenance = provenance
        data, self._like = in_pandas(data)
        self._data = open_rows(data, columns, storage_options, window)
        check_rows(self._data.n, None)
        # mixup's own checks, with mixup's errors, against the columns (no data read).
        self._call: RowCall = prepare(
            self._data.meta,
            alpha=alpha,
            seed=seed,
            labels=labels,
            within_class=within_class,
            label_preserving=label_preserving,
            categorical=categorical,
            max_categories=max_categories,
            integers=integers,
            missing=missing,
            provenance=provenance,
            bandwidth=bandwidth,
        )
        if window is None:
            self._data.check_fits()
        self._encoders: tuple[Any, tuple[Any, ...]] | None = None
        # Categories counted now (a pass over those columns only), so that every error
        # `mixup` gives is given here, and every window encodes classes alike.
        self._labels()
        self._whole: Mixed | None = None
        self._whole_epoch = -1

    def __getstate__(self) -> dict[str, Any]:
        # What is read or planned is read again where the copy runs (a worker process).
        return {**self.__dict__, "_whole": None}

    def __repr__(self) -> str:
        return (
            f"MixupStream(rows={self._data.n}, batch_size={self.batch_size}, "
            f"window={self.window}, drop_last={self.drop_last})"
        )

    @property
    def rows(self) -> int:
        """Input rows: each is a left row once an epoch."""
        return self._data.n

    def _plan(self, epoch: int) -> EpochPlan:
        return EpochPlan(
            self._call.keys, self._data.n, self.batch_size, self.window, self.drop_last, epoch
        )

    def num_batches(self, world_size: int = 1) -> int:
        """Batches each of ``world_size`` ranks gets in an epoch (the same every epoch)."""
        world_size = validate(BATCHES_RULES, world_size=world_size)["world_size"]
        return self._plan(0).batches(world_size)

    def _labels(self) -> tuple[Any, tuple[Any, ...]]:
        if self._encoders is None:
            labels, onehot, self._call = fixed_labels(self._data, self._call)
            if onehot:
                check_onehot(onehot, self._data.meta.columns, self._call.max_categories)
            self._encoders = (labels, onehot)
        return self._encoders

    def _mix(self, plan: EpochPlan, window: Window) -> Mixed:
        """Read a window and plan its mix (the in-memory route's steps)."""
        if window.only and self._whole is not None and self._whole_epoch == plan.epoch:
            return self._whole
        labels, onehot = self._labels()
        frame = self._data.read(window.runs)
        call = replace(self._call, keys=epoch_seed(self._call.keys, plan.epoch, window))
        adapter = adapter_for(frame)
        parts = (labels,) if labels is not None else ()
        if parts or onehot:
            encoded = adapter.encode(frame, Encoders(parts + onehot))
            names = labels.names if labels else ()
            layout = Layout.from_dtypes(adapter.schema(encoded), names, call.policy)
        else:
            assert call.features is not None
            encoded, layout = frame, call.features
        rows = adapter.to_rows(encoded, layout)
        del frame, encoded
        members = None
        if call.needs_classes:
            members = class_members(rows.blocks, layout)
            sampler = call.sampler(tuple(len(m) for m in members), labels.classes)
        else:
            sampler = call.sampler((len(rows),))
        if call.bandwidth is not None:  # C-Mixup: partners by label distance, in the window
            left = left_rows(sampler)  # as the in-memory route (one class of all rows)
            kernel = LabelKernel(
                call.keys, call.bandwidth, label_values(rows.blocks, layout.labels)
            )
            partner = kernel.partners(left, 0)
            del kernel
        else:
            left, partner = pairs(sampler, members)
        lam = sampler.weights(0, sampler.m)
        draws = None
        if layout.passengers and call.policy.categorical == "sample":
            draws = uniforms(call.keys, 0, sampler.m)
        order = plan.order(window)
        mixed = Mixed(
            rows,
            layout,
            window.positions(),
            left[order],
            partner[order],
            lam[order],
            None if draws is None else draws[order],
            call.keys,
            sampler.label_preserving,
        )
        if window.only:
            self._whole, self._whole_epoch = mixed, plan.epoch
        return mixed

    def batches(
        self,
        epoch: int,
        rank: int = 0,
        world_size: int = 1,
        start: int = 0,
        format: str = "pandas",
    ) -> Iterator[Any]:
        """The batches of ``epoch`` for rank ``rank`` of ``world_size``, from its
        ``start``-th on.

        Rank ``r`` gets global batches ``r, r + W, r + 2W, ...`` (``W = world_size``);
        ``start=k`` skips the rank's first ``k`` batches without reading or mixing
        their rows (beyond the window that the first batch yielded needs).

        ``format``: ``"pandas"`` (a DataFrame with ``mixup``'s columns and dtypes),
        ``"numpy"`` (a dict of column name to array), ``"arrow"`` (a ``pyarrow.Table``),
        ``"polars"`` (a ``polars.DataFrame``; needs the ``polars`` extra) or ``"torch"``
        (a dict of column name to tensor; numeric columns only, float32 where the
        column is float32; needs the ``torch`` extra). An Arrow or Polars ``data``
        given as ``"arrow"`` or ``"polars"`` keeps its column types, as ``mixup``
        keeps them (``docs/frames.md``).
        """
        p = validate(
            BATCHES_RULES,
            epoch=epoch,
            rank=rank,
            world_size=world_size,
            start=start,
            format=format,
        )
        if p["rank"] >= p["world_size"]:
            raise MixupError(
                f"`rank` must be below `world_size` ({p['world_size']}), got {p['rank']}"
            )
        plan = self._plan(p["epoch"])
        count = plan.batches(p["world_size"])
        if p["start"] > count:
            raise MixupError(
                f"`start` must be at most the {count} batches a rank gets in an epoch, "
                f"got {p['start']}"
            )
        return self._batches(
            p["epoch"], p["rank"], p["world_size"], range(p["start"], count), p["format"]
        )

    def _batches(
        self, epoch: int, rank: int, world_size: int, ks: range, format: str
    ) -> Iterator[Any]:
        """The rank's batches number ``ks`` (checked values)."""
        plan = self._plan(epoch)
        fmt = format_for(format, self._like)
        if format == "torch":
            check_torch_columns(self._data.meta, self._call)
        wanted = [plan.global_batch(rank, world_size, k) for k in ks]
        return self._iterate(plan, [plan.rows_of(g) for g in wanted], fmt)

    def _iterate(
        self, plan: EpochPlan, pieces: list[list[tuple[Window, int, int]]], fmt: Format
    ) -> Iterator[Any]:
        """The batches made of ``pieces``, in order.

        Three stages overlap, each in a thread of its own: one reads and plans the
        windows (``_mix``), the next while the current one is mixed; one mixes blocks
        of many batches' rows and converts each block to the format, a few blocks
        ahead; this generator cuts the batches out of the blocks.
        """
        todo = blocks(pieces, max(BLOCK_ROWS, self.batch_size))
        if not todo:
            return
        # A run is a stretch of blocks from one window (a window comes again only when
        # ranks wrap around past the epoch's end); each run reads its window once.
        runs: list[Window] = []
        run_of: list[int] = []
        for each in todo:
            if not runs or runs[-1].index != each.window.index:
                runs.append(each.window)
            run_of.append(len(runs) - 1)
        reader = ThreadPoolExecutor(1, thread_name_prefix="mixupy-stream-read")
        mixer = ThreadPoolExecutor(1, thread_name_prefix="mixupy-stream-mix")
        planned: dict[int, Future[Mixed]] = {}
        mixing: deque[tuple[Block, Future[Any]]] = deque()  # blocks submitted, in order

        def read(r: int) -> None:
            if r < len(runs) and r not in planned:
                planned[r] = reader.submit(self._mix, plan, runs[r])

        def mix(i: int) -> Future[Any]:
            r = run_of[i]
            read(r)
            read(r + 1)  # the next window is read while this one is mixed
            window = planned[r]
            if i + 1 == len(todo) or run_of[i + 1] != r:
                del planned[r]  # its last block: the window goes when that is mixed
            at = todo[i].at()
            return mixer.submit(lambda: fmt.convert(window.result().mix(at, self.provenance)))

        try:
            submitted = 0
            block: Any = None
            pending: list[tuple[int, int]] = []  # the current block's pieces not yet cut
            offset = 0
            for batch in pieces:
                parts = []
                for _ in batch:
                    if not pending:
                        while submitted < len(todo) and len(mixing) <= BLOCKS_AHEAD:
                            mixing.append((todo[submitted], mix(submitted)))
                            submitted += 1
                        next_block, future = mixing.popleft()
                        pending = list(reversed(next_block.pieces))
                        block, offset = future.result(), 0
                    a, b = pending.pop()
                    parts.append(fmt.cut(block, offset, offset + b - a))
                    offset += b - a
                yield parts[0] if len(parts) == 1 else fmt.join(parts)
        finally:
            for _, future in mixing:
                future.cancel()
            for window in planned.values():
                window.cancel()
            mixer.shutdown(wait=True, cancel_futures=True)
            reader.shutdown(wait=True, cancel_futures=True)

    def torch_dataset(self, rank: int = 0, world_size: int = 1) -> Any:
        """This stream as a ``torch.utils.data.IterableDataset`` for rank ``rank``.

        Use it with ``DataLoader(ds, batch_size=None, num_workers=k)``: the batches
        come out in the global order for any ``k``. Call ``ds.set_epoch(e)`` before
        each epoch; ``state_dict()`` / ``load_state_dict()`` resume mid-epoch.
        """
        from .torch import MixupIterable

        p = validate(BATCHES_RULES, rank=rank, world_size=world_size)
        if p["rank"] >= p["world_size"]:
            raise MixupError(
                f"`rank` must be below `world_size` ({p['world_size']}), got {p['rank']}"
            )
        check_torch_columns(self._data.meta, self._call)
        return MixupIterable(self, p["rank"], p["world_size"])

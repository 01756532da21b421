"""``MixupStream``: every epoch a fresh, exact mix of the data, in batches.

A window (``plan.Window``) is mixed as the in-memory route mixes a frame: its rows are
encoded once, the sampler gives every output row's left row, partner and lambda (a few
ints and floats a row), and the rows are gathered and mixed batch by batch, only for
the batches asked for. The next window is read and planned in a background thread
while the current one's batches are mixed, so reading overlaps mixing.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from .._core.docs import MIXUP_PARAMETERS, shared_docs
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
from .._frames.registry import adapter_for
from .._kernel.layout import Layout
from .._kernel.mix import mix_rows
from .._kernel.rows import Rows
from .._rows.call import RowCall, prepare
from .._rows.pandas_route import class_members, pairs
from ..errors import MixupError
from .formats import check_torch_columns, converter
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
}

_PLACEHOLDERS = {**MIXUP_PARAMETERS, **STREAM_PARAMETERS}


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

    def batch(self, a: int, b: int, provenance: bool) -> pd.DataFrame:
        """Rows ``[a, b)`` of the window's ordered output, mixed."""
        left, partner, lam = self.left[a:b], self.partner[a:b], self.lam[a:b]
        mixed = mix_rows(
            self.rows.take(left),
            self.rows.take(partner),
            lam,
            self.layout,
            self.hard_labels,
            self.keys,
            draws=None if self.draws is None else self.draws[a:b],
        )
        adapter = adapter_for(pd.DataFrame())
        where = (self.positions[left], self.positions[partner], lam) if provenance else None
        return adapter.from_rows(mixed, self.layout, like=None, provenance=where)


@shared_docs(_PLACEHOLDERS)
class MixupStream:
    """Batches of mixup rows, freshly mixed every epoch, the same everywhere.

    Epoch ``e`` mixes every input row as a left row exactly once. With ``window=None``
    its rows are exactly those of ``mixup(data, seed=(s, e), batch_size=len(data),
    ...)`` with the same options, in a keyed order that changes every epoch. With
    ``window=w`` partners come from windows of at most ``w`` rows (memory O(w)); each
    row is still a left row once and a partner once per epoch. The batches are a pure
    function of the rows, ``seed``, the epoch, ``batch_size``, ``window`` and the
    options: never of partitions, files, data-loader workers or ranks. See
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
        storage_options: dict[str, Any] | None = None,
    ) -> None:
        self.batch_size = batch_size
        self.window = window
        self.drop_last = drop_last
        self.provenance = provenance
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
        )
        if window is None:
            self._data.check_fits()
        self._encoders: tuple[Any, tuple[Any, ...]] | None = None
        # Categories counted now (a pass over those columns only), so that every error
        # `mixup` gives is given here, and every window encodes classes alike.
        self._labels()
        self._whole: Mixed | None = None
        self._whole_epoch = -1
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        # What is read or planned is read again where the copy runs (a worker process).
        return {**self.__dict__, "_whole": None, "_lock": None}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

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
        ``"numpy"`` (a dict of column name to array), ``"arrow"`` (a ``pyarrow.Table``)
        or ``"torch"`` (a dict of column name to tensor; numeric columns only, float32
        where the column is float32; needs the ``torch`` extra).
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
        convert = converter(format)
        if format == "torch":
            check_torch_columns(self._data.meta, self._call)
        wanted = [plan.global_batch(rank, world_size, k) for k in ks]
        return self._iterate(plan, wanted, convert)

    def _iterate(self, plan: EpochPlan, wanted: list[int], convert: Any) -> Iterator[Any]:
        # The windows in the order the batches need them; the next one is read and
        # planned in a background thread while this one's batches are mixed.
        pieces = [plan.rows_of(g) for g in wanted]
        needed: list[Window] = []
        for batch in pieces:
            for window, _, _ in batch:
                if not needed or needed[-1].index != window.index:
                    needed.append(window)
        if not needed:
            return
        pool = ThreadPoolExecutor(1, thread_name_prefix="mixupy-stream")
        try:
            futures: dict[int, Future[Mixed]] = {}
            ready: dict[int, Mixed] = {}
            step = 0  # index into `needed` of the next window to start

            def ahead() -> None:
                nonlocal step
                if step < len(needed) and len(futures) < 1:
                    w = needed[step]
                    futures[step] = pool.submit(self._mix, plan, w)
                    step += 1

            position = 0  # index into `needed` of the window in use
            for batch in pieces:
                frames = []
                for window, a, b in batch:
                    while needed[position].index != window.index:
                        ready.pop(position, None)
                        position += 1
                    if position not in ready:
                        if position not in futures:
                            ahead()
                        ready[position] = futures.pop(position).result()
                        ahead()  # the next window, while this one is mixed
                    frames.append(ready[position].batch(a, b, self.provenance))
                frame = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
                yield convert(frame)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

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

"""The lazy dask route: sampler per partition, one partner shuffle, one kernel pass.

Output partition ``q = c * P + p`` holds cycle ``c``'s left rows from input
partition ``p``, in input order, so each full cycle lines up with the input's
partitions. Within an output partition, the left rows of class ``g`` fill a
contiguous run of *slots*, so every source row computes, element-wise, the output
partition and slot of the left row it is the partner of (``Sampler.destinations``)
and travels there in a single shuffle on the output partition id (``_exchange``); the
kernel pairs left and partner partitions by position with ``map_partitions`` and
lines partners up by slot, with no sort and no lookup.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd

from ._exchange import DESTINATION, exchange, partition_numbers
from ._kernel import (
    Layout,
    classes,
    from_rows,
    mix_rows,
    to_blocks,
    to_rows,
    wire_frame,
    with_provenance,
)
from ._labels import Encoders, Labels, check_onehot
from ._sampler import Sampler
from ._source import Source

if TYPE_CHECKING:
    from ._mixup import RowCall

_SLOT = "_mixupy_slot"
#: With ``provenance``: each routed row's global input position.
_POSITION = "_mixupy_position"


def describe(
    frame: dd.DataFrame,
    labels: Labels | None,
    by_class: bool,
    lengths: tuple[int, ...] | None = None,
    onehot: tuple[Labels, ...] = (),
) -> tuple[Labels | None, np.ndarray, tuple[Labels, ...]]:
    """What the plan needs to know about the partitions, in at most one pass.

    Returns the labels with their categories fixed, ``class_starts`` (K, P + 1):
    cumulative rows per class (one class of all rows unless ``by_class``), and the
    one-hot encoded features with their categories fixed (their value counts are
    computed in the same pass).
    Parquet metadata can supply ``lengths``; then plain mixup needs no pass at all.
    The pass runs on the current scheduler: the caller makes the user's client current.
    """
    needing = [e for e in onehot if e.needs_categories]
    feature_counts = [
        dask.delayed(_value_counts)(p) for e in needing for p in frame[e.column].to_delayed()
    ]

    def compute(*tasks):  # the pass, with the one-hot features' value counts
        results = dask.compute(*tasks, *feature_counts)
        return results[: len(tasks)], results[len(tasks) :]

    counted: tuple = ()
    column = labels.column if labels is not None else None
    if labels is not None and column is not None and (by_class or labels.needs_categories):
        counts, counted = compute(
            *[dask.delayed(_value_counts)(p) for p in frame[column].to_delayed()]
        )
        labels = labels.from_counts(counts)
        per_class = np.array([c.reindex(list(labels.classes), fill_value=0) for c in counts])
        lengths = tuple(int(c.sum()) for c in counts)
    elif labels is not None and by_class:
        # The label block alone: other columns may be anything the policies mix.
        layout = Layout.from_dtypes(frame.dtypes[list(labels.names)], labels.names)
        per_class, counted = compute(
            *[dask.delayed(_class_counts)(p, layout) for p in frame.to_delayed()]
        )
        per_class = np.array(per_class)
    elif lengths is None and feature_counts:  # delayed tasks, computed with the counts
        sizes, counted = compute(*[dask.delayed(len)(p) for p in frame.to_delayed()])
        lengths = tuple(int(x) for x in sizes)
    elif lengths is None:
        lengths = tuple(int(x) for x in frame.map_partitions(len).compute())
    elif feature_counts:
        _, counted = compute()
    P = frame.npartitions
    fixed = {e.column: e.from_counts(counted[i * P : (i + 1) * P]) for i, e in enumerate(needing)}
    onehot = tuple(fixed.get(e.column, e) for e in onehot)
    if not by_class:
        per_class = np.asarray(lengths, dtype=np.int64)[:, None]
    per_class = per_class.reshape(frame.npartitions, -1).T.astype(np.int64)
    starts = np.zeros((per_class.shape[0], per_class.shape[1] + 1), dtype=np.int64)
    np.cumsum(per_class, axis=1, out=starts[:, 1:])
    return labels, starts, onehot


def _value_counts(series: pd.Series) -> pd.Series:
    return series.value_counts(dropna=False, sort=False)


def _class_counts(part: pd.DataFrame, layout: Layout) -> np.ndarray:
    blocks = to_blocks(part[list(layout.columns)], layout)
    return np.bincount(classes(blocks, layout), minlength=len(layout.labels))


@dataclass(frozen=True)
class Plan:
    """Where every left row sits, from per-partition class counts (no data needed).

    ``class_starts[g, p]`` is the class rank of class ``g``'s first row in input
    partition ``p``; ``group_starts`` the same for the partner groups (the classes, or
    one group of all rows); ``slot_starts(c)[h, p]`` the slot rank of group ``h``'s
    first left row of partition ``p`` in cycle ``c``. The plan is O(classes x
    partitions), never O(rows); only the list of output partition sizes grows with the
    cycles.
    """

    sampler: Sampler
    class_starts: np.ndarray  # (K, P + 1)

    @property
    def partitions(self) -> int:
        return self.class_starts.shape[1] - 1

    @cached_property
    def offsets(self) -> np.ndarray:
        """Input partition boundaries in rows."""
        return self.class_starts.sum(axis=0)

    @cached_property
    def group_starts(self) -> np.ndarray:
        """(G, P + 1): group ranks of each group's first row in each partition."""
        return self.class_starts if self.sampler.groups > 1 else self.offsets[None, :]

    @cached_property
    def _partial_starts(self) -> np.ndarray:
        """(K, P + 1): slot ranks in each class's partial pass."""
        sampler = self.sampler
        return np.array(
            [
                [sampler.slot_start(sampler.full(g), g, int(r)) for r in row]
                for g, row in enumerate(self.class_starts)
            ],
            dtype=np.int64,
        ).reshape(self.class_starts.shape)

    def _class_slot_starts(self, cycle: int) -> np.ndarray:
        rows = []
        for g, row in enumerate(self.class_starts):
            full = self.sampler.full(g)
            if cycle < full:
                rows.append(row)
            elif cycle == full:
                rows.append(self._partial_starts[g])
            else:
                rows.append(np.zeros_like(row))
        return np.array(rows, dtype=np.int64).reshape(self.class_starts.shape)

    def slot_starts(self, cycle: int) -> np.ndarray:
        starts = self._class_slot_starts(cycle)
        return starts if self.sampler.groups > 1 else starts.sum(axis=0, keepdims=True)

    def slot_bases(self, cycle: int) -> np.ndarray:
        """(G, P): first slot of group h's run inside output partition (cycle, p)."""
        sizes = np.diff(self.slot_starts(cycle), axis=1)
        return np.cumsum(sizes, axis=0) - sizes

    @cached_property
    def out_offsets(self) -> list[int]:
        """Output partition boundaries in output rows."""
        sizes = []
        for c in range(self.sampler.cycles):
            sizes.extend(np.diff(self.slot_starts(c), axis=1).sum(axis=0).tolist())
        return [0, *np.cumsum(sizes).tolist()] if sizes else [0]

    def class_table(self, classes: tuple, concat: bool) -> tuple[tuple, ...]:
        """(class, rows before, mixed rows made, rows written) for each class."""
        sampler = self.sampler
        table = []
        for g, c in enumerate(classes):
            before = int(self.class_starts[g, -1])
            made = sum(sampler.size(cycle, g) for cycle in range(sampler.cycles))
            table.append((c, before, made, made + (before if concat else 0)))
        return tuple(table)


def _row_classes(blocks, layout: Layout, plan: Plan) -> np.ndarray | None:
    return classes(blocks, layout) if len(plan.class_starts) > 1 else None


def _class_rows(row_classes, length: int):
    """(class, local row indices) for each class present; one class: all rows."""
    if row_classes is None:
        yield 0, np.arange(length)
        return
    order = np.argsort(row_classes, kind="stable")
    bounds = np.searchsorted(row_classes[order], np.arange(row_classes.max(initial=-1) + 2))
    for g in range(len(bounds) - 1):
        if bounds[g + 1] > bounds[g]:
            yield g, order[bounds[g] : bounds[g + 1]]


def _concat(arrays: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(arrays) if arrays else np.empty(0, dtype=np.int64)


def _originals(part: pd.DataFrame, number: pd.Series, layout: Layout, offsets, provenance=False):
    p = int(number.iloc[0])
    out = from_rows(to_rows(part, layout), layout, pd.RangeIndex(offsets[p], offsets[p + 1]))
    if not provenance:
        return out
    # The originals come from themselves: left = partner = own position, lambda 1.
    own = np.arange(offsets[p], offsets[p + 1], dtype=np.int64)
    return with_provenance(out, own, own, np.ones(len(own)))


def _route(
    part, number: pd.Series, layout: Layout, plan: Plan, cycle: int, provenance: bool = False
):
    """A source partition's rows that are partners in ``cycle``, tagged with where they go."""
    p, P, sampler = int(number.iloc[0]), plan.partitions, plan.sampler
    values = to_rows(part, layout)
    blocks = values.blocks
    starts, bases = plan.slot_starts(cycle), plan.slot_bases(cycle)
    groups = _row_classes(blocks, layout, plan) if sampler.groups > 1 else None
    rows, parts, slots = [], [], []
    for h, local in _class_rows(groups, part.shape[0]):
        if not sampler.group_slots(cycle, h):  # no left rows of this group: no partners
            continue
        ranks = plan.group_starts[h, p] + np.arange(len(local))
        keep, slot = sampler.destinations(h, ranks, cycle)
        # The partition owning slot v is the last one starting at or before v
        # ("right"), which skips empty partitions that start at the same slot.
        dest = np.searchsorted(starts[h, :-1], slot, "right") - 1
        rows.append(local[keep])
        parts.append(cycle * P + dest)
        slots.append(bases[h, dest] + slot - starts[h, dest])
    rows, parts, slots = _concat(rows), _concat(parts), _concat(slots)
    if len(rows) == part.shape[0]:
        # Every row is a partner (a full cycle): rows may travel in any order, so tag
        # them in input order rather than copying the values into routing order.
        parts[rows], slots[rows] = parts.copy(), slots.copy()
        rows = np.arange(len(rows))
    else:
        values = values.take(rows)
    frame = wire_frame(values, layout, pd.RangeIndex(len(rows)))
    positions = plan.offsets[p] + rows if provenance else None
    return _tagged(frame, parts, slots, positions)


def _tagged(frame: pd.DataFrame, parts, slots, positions=None) -> pd.DataFrame:
    """``frame`` with its routing columns added, under positional column names.

    The kernel reads partner rows by position, and positional names take the two
    routing columns whatever the user's columns are (MultiIndex columns do not).
    Strings, because the p2p shuffle converts to Arrow, whose names are strings.
    """
    tagged = frame.set_axis([f"_{i}" for i in range(frame.shape[1])], axis=1)
    tags = {DESTINATION: parts, _SLOT: slots}
    if positions is not None:
        tags[_POSITION] = positions
    if frame.shape[1] < 64:
        for name, values in tags.items():
            tagged[name] = values
        return tagged
    # Mixed types give one block per column: inserting into a frame of many blocks is
    # slow (and pandas warns), so the tags are joined at once.
    return pd.concat([tagged, pd.DataFrame(tags, index=tagged.index)], axis=1)


def _mix_partition(
    part, partners, number: pd.Series, layout: Layout, plan: Plan, provenance: bool = False
):
    q, sampler = int(number.iloc[0]), plan.sampler
    cycle, p = divmod(q, plan.partitions)
    start, stop = plan.out_offsets[q], plan.out_offsets[q + 1]
    if len(partners) != stop - start:  # the shuffle must deliver one partner per row
        raise RuntimeError(f"partition {q}: {len(partners)} partner rows for {stop - start} rows")
    values = to_rows(part, layout)
    blocks = values.blocks
    bases = plan.slot_bases(cycle)
    rows, slots = [], []
    for g, local in _class_rows(_row_classes(blocks, layout, plan), part.shape[0]):
        first = int(plan.class_starts[g, p])
        chosen = sampler.left_ranks(cycle, g, first, first + len(local)) - first
        rows.append(local[chosen])
        if sampler.groups > 1:  # each class fills its own run of slots
            slots.append(bases[g, p] + np.arange(len(chosen)))
    rows = _concat(rows)
    order = np.argsort(rows, kind="stable")  # left rows in input order
    rows = rows[order]
    # Classes fill runs of their own; one group's slots follow input order.
    slots = _concat(slots)[order] if sampler.groups > 1 else bases[0, p] + np.arange(len(rows))
    if len(rows) != part.shape[0]:
        values = values.take(rows)
    # Partner rows arrive in any order, one per slot: place them, then read by slot.
    by_slot = np.empty(len(partners), dtype=np.int64)
    by_slot[partners[_SLOT].to_numpy()] = np.arange(len(partners))
    partner_rows = by_slot[slots]
    partner_values = to_rows(partners, layout, wire=True).take(partner_rows)
    lam = sampler.weights(start, stop)
    mixed = mix_rows(
        values, partner_values, lam, layout, sampler.label_preserving, sampler.keys, start
    )
    out = from_rows(mixed, layout, pd.RangeIndex(start, stop))
    if not provenance:
        return out
    partner_positions = partners[_POSITION].to_numpy()[partner_rows]
    return with_provenance(out, plan.offsets[p] + rows, partner_positions, lam)


def _read_and_mix(
    partners,
    number: pd.Series,
    read_partition,
    labels,
    layout: Layout,
    plan: Plan,
    provenance: bool = False,
):
    """The kernel for a source that can re-read its partitions: read, encode, mix."""
    part = read_partition(int(number.iloc[0]) % plan.partitions)
    part = part if labels is None else labels.encode(part)
    return _mix_partition(part, partners, number, layout, plan, provenance)


def mixup_dask(source: Source, call: RowCall) -> dd.DataFrame:
    """The lazy mixup of ``source`` as ``call`` says.

    Counts what the plan needs (``describe``) now, on the current scheduler; the rest
    is lazy. With ``source.read``, each kernel task reads its left rows itself after
    the shuffle, instead of every input partition being held in memory (or spilled)
    across the shuffle's barrier: worker memory stays O(partition), not O(n).
    """
    return planned(source, call)[0]


def planned(
    source: Source, call: RowCall, argument: Callable[[], object] | None = None
) -> tuple[dd.DataFrame, Plan, Labels | None]:
    """``mixup_dask``, with the plan and labels it was built from (rows per class).

    A callable ``sampling_strategy`` is given ``argument()`` (default: the class counts).
    """
    frame = source.frame
    labels, class_starts, onehot = describe(
        frame, call.labels, call.by_class, source.lengths, call.onehot
    )
    check_onehot(onehot, frame.columns, call.max_categories)
    parts = (labels,) if labels is not None and labels.column is not None else ()
    encoder = Encoders(parts + onehot) if parts or onehot else None
    meta = frame._meta if encoder is None else encoder.encode(frame._meta)
    layout = Layout.from_dtypes(meta.dtypes, labels.names if labels else (), call.policy)
    sizes = tuple(int(s) for s in class_starts[:, -1])
    classes = labels.classes if labels is not None and call.by_class else None
    plan = Plan(call.sampler(sizes, classes, argument), class_starts)
    graph = _graph(frame, plan, layout, call.concat, encoder, source.read, call.provenance)
    return graph, plan, labels


def _graph(
    frame: dd.DataFrame,
    plan: Plan,
    layout: Layout,
    concat: bool,
    labels: Encoders | None = None,
    read_partition: Callable[[int], pd.DataFrame] | None = None,
    provenance: bool = False,
) -> dd.DataFrame:
    """Build the lazy mixup graph for ``frame`` laid out as ``plan`` says."""
    sampler, P = plan.sampler, plan.partitions
    # No clear_divisions(): dd.map_partitions pairs partitions by position (it does not
    # align them), and a clear_divisions node costs a task per partition.
    if labels is not None:  # encoded once per partition, shared by routing and mixing
        frame = frame.map_partitions(labels.encode, meta=labels.encode(frame._meta))
    meta = _meta(layout, provenance)
    numbers = partition_numbers(P)
    if sampler.cycles == 0:  # no mixed rows at all (rows per class, all zero)
        mixed = dd.from_pandas(meta, npartitions=1)
        if not concat:
            return mixed
        return _with_originals(mixed, frame, numbers, layout, plan, provenance)
    zero = np.int64(0)
    routed_meta = _tagged(layout.empty_wire(), zero, zero, zero if provenance else None).iloc[:0]
    routed = dd.concat(
        [
            dd.map_partitions(
                _route,
                frame,
                numbers,
                layout,
                plan,
                c,
                provenance,
                meta=routed_meta,
                clear_divisions=True,
            )
            for c in range(sampler.cycles)
        ]
    )
    Q = sampler.cycles * P
    partners = exchange(routed, Q)
    out_numbers = partition_numbers(Q)
    if read_partition is not None:
        mixed = dd.map_partitions(
            _read_and_mix,
            partners,
            out_numbers,
            read_partition,
            labels,
            layout,
            plan,
            provenance,
            meta=meta,
            clear_divisions=True,
        )
    else:
        left = dd.concat([frame] * sampler.cycles) if sampler.cycles > 1 else frame
        if left.npartitions != partners.npartitions:  # map_partitions pairs by position only
            raise RuntimeError(f"{left.npartitions} left partitions for {partners.npartitions}")
        mixed = dd.map_partitions(
            _mix_partition,
            left,
            partners,
            out_numbers,
            layout,
            plan,
            provenance,
            meta=meta,
            clear_divisions=True,
        )
    if not concat:
        return mixed
    return _with_originals(mixed, frame, numbers, layout, plan, provenance)


def _meta(layout: Layout, provenance: bool) -> pd.DataFrame:
    meta = layout.empty_frame()
    if not provenance:
        return meta
    empty = np.empty(0, dtype=np.int64)
    return with_provenance(meta, empty, empty, np.empty(0))


def _with_originals(
    mixed, frame, numbers, layout: Layout, plan: Plan, provenance: bool = False
) -> dd.DataFrame:
    """The original rows (as floats), then the mixed rows."""
    meta = _meta(layout, provenance)
    offsets = plan.offsets.tolist()
    originals = dd.map_partitions(
        _originals, frame, numbers, layout, offsets, provenance, meta=meta, clear_divisions=True
    )
    n = plan.sampler.n
    shifted = mixed.map_partitions(lambda df: df.set_axis(df.index + n), meta=meta)
    return dd.concat([originals, shifted])

"""The lazy dask route: sampler per partition, one partner shuffle, one kernel pass.

*Slot* ``k = c * P + p`` holds cycle ``c``'s left rows from input partition ``p``, in
input order; the output rows are the slots' rows one after the other. Output
partitions are runs of consecutive slots of up to the largest input partition's rows
(``Placement.bounds``): a full cycle of even partitions keeps one output partition per
input partition, while the small slots of a class balanced up over many passes share
one, so the number of output partitions follows the output rows, not cycles x
partitions. Within a slot, the left rows of class ``g`` fill a contiguous run of
*slot ranks*, so every source row computes, element-wise, the output partition and
position of the left row it is the partner of (``Sampler.destinations``) and travels
there in a single shuffle on the output partition id (``_exchange``). Left rows travel
in the same shuffle, tagged with their output position, unless the source can re-read
and the slot is its whole input partition (then the kernel reads that partition
again); the kernel places partners by slot, with no sort and no lookup.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from typing import TYPE_CHECKING

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd

from .._core.kernel import LabelKernel, label_values, left_rows
from .._core.labels import Encoders, Labels, check_onehot
from .._core.sampler import Sampler
from .._dask.exchange import (
    DESTINATION,
    exchange,
    partition_numbers,
    tag_dtype,
    without_string_conversion,
)
from .._dask.source import Source
from .._kernel.kinds import Policy
from .._kernel.layout import Layout
from .._kernel.mix import classes, mix_rows
from .._kernel.rows import (
    concat_rows,
    empty_frame,
    empty_wire,
    from_rows,
    to_blocks,
    to_rows,
    wire_frame,
    with_provenance,
)

if TYPE_CHECKING:
    from .call import RowCall

_SLOT = "_mixupy_slot"
#: Left rows that travel with their partners: their position in the output partition
#: (-1 on partner rows).
_OUTPUT = "_mixupy_output"
#: With ``provenance``: each routed row's global input position.
_POSITION = "_mixupy_position"
#: ``bandwidth``: the client's partner plan, per input partition (``_kernel_plan``).
_KERNEL_ROW = "row"
_KERNEL_OUTPUT = "output"


def count_partitions(
    frame: dd.DataFrame,
    labels: Labels | None,
    needs_classes: bool,
    lengths: tuple[int, ...] | None = None,
    onehot: tuple[Labels, ...] = (),
    categoricals: tuple[Hashable, ...] = (),
) -> tuple[Labels | None, np.ndarray, tuple[Labels, ...], dict[Hashable, pd.CategoricalDtype]]:
    """What the placement needs to know about the partitions, in at most one pass.

    Returns the labels with their categories fixed, ``class_starts`` (K, P + 1):
    cumulative rows per class (one class of all rows unless ``needs_classes``), the
    one-hot encoded features with their categories fixed (their value counts are
    computed in the same pass), and the dtypes of the ``categoricals``, features whose
    categories are unknown (read in the same pass, see ``_united``).
    Parquet metadata can supply ``lengths``; then plain mixup needs no pass at all.
    The pass runs on the current scheduler: the caller makes the user's client current.
    """
    needing = [e for e in onehot if e.needs_categories]
    feature_counts = [
        dask.delayed(_value_counts)(p) for e in needing for p in frame[e.column].to_delayed()
    ]
    feature_counts += [
        dask.delayed(_categories)(p) for name in categoricals for p in frame[name].to_delayed()
    ]

    def compute(*tasks):  # the pass, with the features' value counts and categories
        results = dask.compute(*tasks, *feature_counts)
        return results[: len(tasks)], results[len(tasks) :]

    counted: tuple = ()
    column = labels.column if labels is not None else None
    if labels is not None and column is not None and (needs_classes or labels.needs_categories):
        counts, counted = compute(
            *[dask.delayed(_value_counts)(p) for p in frame[column].to_delayed()]
        )
        labels = labels.from_counts(counts)
        per_class = np.array([c.reindex(list(labels.classes), fill_value=0) for c in counts])
        lengths = tuple(int(c.sum()) for c in counts)
    elif labels is not None and needs_classes:
        # The label block alone: other columns may be anything the policies mix, and
        # a source that can project (Parquet) reads only the block's columns.
        block = frame[list(labels.names)]
        layout = Layout.from_dtypes(block.dtypes, labels.names)
        per_class, counted = compute(
            *[dask.delayed(_class_counts)(p, layout) for p in block.to_delayed()]
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
    found = counted[len(needing) * P :]
    dtypes = {
        name: _united(found[i * P : (i + 1) * P], frame._meta[name].dtype.ordered)
        for i, name in enumerate(categoricals)
    }
    if not needs_classes:
        per_class = np.asarray(lengths, dtype=np.int64)[:, None]
    per_class = per_class.reshape(frame.npartitions, -1).T.astype(np.int64)
    starts = np.zeros((per_class.shape[0], per_class.shape[1] + 1), dtype=np.int64)
    np.cumsum(per_class, axis=1, out=starts[:, 1:])
    return labels, starts, onehot, dtypes


def _value_counts(series: pd.Series) -> pd.Series:
    return series.value_counts(dropna=False, sort=False)


def _categories(series: pd.Series) -> tuple[int, pd.Index]:
    return len(series), series.cat.categories


def _united(found: Sequence[tuple[int, pd.Index]], ordered: bool) -> pd.CategoricalDtype:
    """The dtype computing the frame gives a categorical whose partitions have these
    (rows, categories): Dask leaves out empty partitions, and pandas' concat unites
    the others' categories in partition order (``union_categoricals``)."""
    kept = [categories for rows, categories in found if rows] or [found[0][1]]
    return pd.CategoricalDtype(kept[0].append(kept[1:]).unique(), ordered)


def _class_counts(part: pd.DataFrame, layout: Layout) -> np.ndarray:
    blocks = to_blocks(part[list(layout.columns)], layout)
    return np.bincount(classes(blocks, layout), minlength=len(layout.labels))


@dataclass(frozen=True)
class Placement:
    """Where every left row sits, from per-partition class counts (no data needed).

    ``class_starts[g, p]`` is the class rank of class ``g``'s first row in input
    partition ``p``; ``group_starts`` the same for the partner groups (the classes, or
    one group of all rows); ``slot_starts(c)[h, p]`` the slot rank of group ``h``'s
    first left row of partition ``p`` in cycle ``c``. The placement is O(classes x
    partitions), never O(rows); the slot layout (``slot_offsets``, ``bounds``) is
    O(cycles x partitions), computed once on the client.
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

    @cached_property
    def _full(self) -> np.ndarray:
        """(K, 1): full passes of each class."""
        sampler = self.sampler
        return np.array([sampler.full(g) for g in range(len(self.class_starts))])[:, None]

    def _class_slot_starts(self, cycle: int) -> np.ndarray:
        # Class ranks in a full pass, the partial pass's slot ranks, none after.
        starts = np.where(cycle == self._full, self._partial_starts, 0)
        return np.where(cycle < self._full, self.class_starts, starts).astype(np.int64)

    def slot_starts(self, cycle: int) -> np.ndarray:
        starts = self._class_slot_starts(cycle)
        return starts if self.sampler.groups > 1 else starts.sum(axis=0, keepdims=True)

    def slot_bases(self, cycle: int) -> np.ndarray:
        """(G, P): first slot of group h's run inside slot (cycle, p)."""
        sizes = np.diff(self.slot_starts(cycle), axis=1)
        return np.cumsum(sizes, axis=0) - sizes

    @cached_property
    def slot_offsets(self) -> np.ndarray:
        """(cycles * P + 1,): where slot ``k = c * P + p`` starts, in output rows."""
        # The same slot sizes in every cycle of a phase.
        sizes = [
            np.tile(np.diff(self.slot_starts(run.start), axis=1).sum(axis=0), len(run))
            for run in self.sampler.phases()
        ]
        offsets = np.zeros(self.sampler.cycles * self.partitions + 1, dtype=np.int64)
        if sizes:
            np.cumsum(np.concatenate(sizes), out=offsets[1:])
        return offsets

    @cached_property
    def target(self) -> int:
        """Rows an output partition may take from several slots: the largest input
        partition's, so no output partition is larger than an input one (a slot never
        is: its left rows are some of its input partition's)."""
        return max(int(np.diff(self.offsets).max(initial=0)), 1)

    @cached_property
    def bounds(self) -> np.ndarray:
        """(Q + 1,): output partition ``q`` holds slots ``bounds[q]`` to ``bounds[q + 1]``.

        Consecutive slots are gathered greedily up to ``target`` rows, so a slot of a
        full cycle of even partitions stays alone and lines up with its input partition,
        while the small slots of a class's later passes share one output partition;
        empty slots join their neighbours. Two neighbouring output partitions together
        hold more than ``target`` rows, so there are at most ``2 m / target + 1``.
        """
        offsets, target = self.slot_offsets.tolist(), self.target
        cuts, first = [0], 0
        for k in range(len(offsets) - 1):
            held = offsets[k] - offsets[first]
            if held and held + offsets[k + 1] - offsets[k] > target:
                cuts.append(k)
                first = k
        cuts.append(len(offsets) - 1)
        return np.array(cuts if len(offsets) > 1 else [0], dtype=np.int64)

    @property
    def npartitions(self) -> int:
        """Output partitions of mixed rows."""
        return len(self.bounds) - 1

    @cached_property
    def slot_partition(self) -> np.ndarray:
        """(cycles * P,): the output partition holding each slot."""
        return np.searchsorted(self.bounds, np.arange(len(self.slot_offsets) - 1), "right") - 1

    @cached_property
    def out_offsets(self) -> list[int]:
        """Output partition boundaries in output rows."""
        return self.slot_offsets[self.bounds].tolist()

    @cached_property
    def whole(self) -> np.ndarray:
        """(cycles * P,): slots whose left rows are all of their input partition's rows
        (full passes of every class there): a kernel that can re-read reads them."""
        sizes = np.diff(self.slot_offsets)
        rows = np.tile(np.diff(self.offsets), self.sampler.cycles)
        return (sizes == rows) & (rows > 0)

    @cached_property
    def route_cycles(self) -> tuple[range, ...]:
        """Runs of consecutive cycles that one task per input partition routes.

        A run ends before its rows sent from some input partition (partners, at most
        the rows of the groups with slots in the cycle, and left rows) could exceed
        the largest input partition's rows: a class's many small later passes share a
        task, while each full cycle keeps its own. (Two partitions' rows per task
        paused 512 MiB workers at once on a 1.5 GiB balancing run.)
        """
        sampler, cycles = self.sampler, self.sampler.cycles
        group_rows = np.diff(self.group_starts, axis=1)
        sizes = np.diff(self.slot_offsets).reshape(cycles, self.partitions)
        runs, first, held = [], 0, np.zeros(self.partitions, dtype=np.int64)
        for phase in sampler.phases():  # the same rows sent in every cycle of a phase
            active = [h for h in range(len(group_rows)) if sampler.group_slots(phase.start, h)]
            sent = group_rows[active].sum(axis=0) + sizes[phase.start]
            for c in phase:
                if held.any() and (held + sent).max() > self.target:
                    runs.append(range(first, c))
                    first, held = c, np.zeros_like(held)
                held += sent
        return (*runs, range(first, cycles)) if cycles else ()

    def ships(self, reread: bool) -> bool:
        """Whether some left rows travel with the partners: all do when the kernel cannot
        re-read, those of slots that are not a whole partition when it can."""
        sizes = np.diff(self.slot_offsets)
        return not reread or bool(((sizes > 0) & ~self.whole).any())

    def slot_base(self, k):
        """Rows of slot ``k``'s output partition before the slot (element-wise)."""
        return self.slot_offsets[k] - self.slot_offsets[self.bounds[self.slot_partition[k]]]

    def partition_rows(self, concat: bool) -> list[int]:
        """Rows of each partition of the lazy result (the originals first with ``concat``)."""
        mixed = np.diff(self.out_offsets).tolist() if self.sampler.cycles else [0]
        return (np.diff(self.offsets).tolist() if concat else []) + mixed

    def class_table(self, classes: tuple, concat: bool) -> tuple[tuple, ...]:
        """(class, rows before, mixed rows made, rows written) for each class."""
        sampler = self.sampler
        table = []
        for g, c in enumerate(classes):
            before = int(self.class_starts[g, -1])
            made = sum(sampler.size(cycle, g) for cycle in range(sampler.cycles))
            table.append((c, before, made, made + (before if concat else 0)))
        return tuple(table)


def _row_classes(blocks, layout: Layout, placement: Placement) -> np.ndarray | None:
    return classes(blocks, layout) if len(placement.class_starts) > 1 else None


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
    part,
    number: pd.Series,
    layout: Layout,
    placement: Placement,
    cycles: range,
    reread: bool,
    provenance: bool = False,
    kernel: pd.DataFrame | None = None,
):
    """A source partition's rows that are partners in ``cycles``, tagged with where they
    go, and its left rows there tagged with their output position, unless the kernel
    re-reads them (``reread`` and the slot is the whole partition); with ``provenance``
    each row also carries its global input position.

    ``kernel`` (``bandwidth``): the partners were drawn on the client; its rows are
    this partition's (local row, output row) pairs, a row once per output row it is
    the partner of."""
    p, P, sampler = int(number.iloc[0]), placement.partitions, placement.sampler
    values = to_rows(part, layout)
    row_classes = _row_classes(values.blocks, layout, placement)
    by_class = list(_class_rows(row_classes, part.shape[0]))  # sorted once, not per cycle
    by_group = by_class if sampler.groups > 1 else [(0, np.arange(part.shape[0]))]
    ships = placement.ships(reread)
    rows, parts, slots, outputs = [], [], [], []
    if kernel is not None:  # one group: an output row's slot is its place in its partition
        out_offsets = np.asarray(placement.out_offsets)
        output_rows = kernel[_KERNEL_OUTPUT].to_numpy()
        q = np.searchsorted(out_offsets, output_rows, "right") - 1
        rows.append(kernel[_KERNEL_ROW].to_numpy())
        parts.append(q)
        slots.append(output_rows - out_offsets[q])
        outputs.append(np.full(len(q), -1))
    # A phase's cycles share their slot layout and left rows, so a class balanced up
    # over many passes costs a few calls per phase, not per cycle.
    for phase in sampler.phases(cycles):
        starts, bases = placement.slot_starts(phase.start), placement.slot_bases(phase.start)
        for h, local in by_group if kernel is None else ():
            if not len(local) or not sampler.group_slots(phase.start, h):  # no partners
                continue
            ranks = placement.group_starts[h, p] + np.arange(len(local))
            for first, count in _batches(phase, len(local)):
                keep, slot = sampler.destinations(h, ranks, first, count)
                cycle = first + keep // len(local)
                # The partition owning slot v is the last one starting at or before v
                # ("right"), which skips empty partitions that start at the same slot.
                dest = np.searchsorted(starts[h, :-1], slot, "right") - 1
                k = cycle * P + dest
                rows.append(local[keep % len(local)])
                parts.append(placement.slot_partition[k])
                slots.append(placement.slot_base(k) + bases[h, dest] + slot - starts[h, dest])
                outputs.append(np.full(len(keep), -1))  # a partner
        if not ships:
            continue
        k = np.arange(phase.start, phase.stop) * P + p
        if reread:
            k = k[~placement.whole[k]]
        left, left_slots = _left_rows(placement, by_class, phase.start, p)
        if not len(k) or not len(left):
            continue
        base = np.repeat(placement.slot_base(k), len(left))
        rows.append(np.tile(left, len(k)))
        parts.append(np.repeat(placement.slot_partition[k], len(left)))
        slots.append(base + np.tile(left_slots, len(k)))
        outputs.append(base + np.tile(np.arange(len(left)), len(k)))
    rows, parts, slots = _concat(rows), _concat(parts), _concat(slots)
    if kernel is None and len(cycles) == 1 and not ships and len(rows) == part.shape[0]:
        # Every row is a partner once (a full cycle): rows may travel in any order, so
        # tag them in input order rather than copying the values into routing order.
        parts[rows], slots[rows] = parts.copy(), slots.copy()
        rows = np.arange(len(rows))
    else:
        values = values.take(rows)
    frame = wire_frame(values, layout, pd.RangeIndex(len(rows)))
    positions = placement.offsets[p] + rows if provenance else None
    return _tagged(frame, placement, parts, slots, _concat(outputs) if ships else None, positions)


def _tagged(
    frame: pd.DataFrame, placement: Placement, parts, slots, outputs=None, positions=None
) -> pd.DataFrame:
    """``frame`` with its routing columns added, under positional column names.

    The kernel reads partner rows by position, and positional names take the routing
    columns whatever the user's columns are (MultiIndex columns do not). Strings,
    because the p2p shuffle converts to Arrow, whose names are strings. Tags other than
    the global positions are below the output partitions' number and rows (``tag_dtype``).
    """
    tagged = frame.set_axis([f"_{i}" for i in range(frame.shape[1])], axis=1)
    dtype = tag_dtype(max(placement.npartitions, placement.target))
    tags = {DESTINATION: parts.astype(dtype), _SLOT: slots.astype(dtype)}
    if outputs is not None:
        tags[_OUTPUT] = outputs.astype(dtype)
    if positions is not None:
        tags[_POSITION] = positions
    if frame.shape[1] < 64:
        for name, values in tags.items():
            tagged[name] = values
        return tagged
    # Mixed types give one block per column: inserting into a frame of many blocks is
    # slow (and pandas warns), so the tags are joined at once.
    return pd.concat([tagged, pd.DataFrame(tags, index=tagged.index)], axis=1)


def _left_rows(placement: Placement, by_class, cycle: int, p: int):
    """Slot ``(cycle, p)``'s left rows: local row indices in input order, and their slots
    inside the slot's run (each class fills a run of its own; one group's follow input
    order). ``by_class``: ``_class_rows`` of the partition."""
    sampler, bases = placement.sampler, placement.slot_bases(cycle)
    rows, slots = [], []
    for g, local in by_class:
        first = int(placement.class_starts[g, p])
        chosen = sampler.left_ranks(cycle, g, first, first + len(local)) - first
        rows.append(local[chosen])
        if sampler.groups > 1:
            slots.append(bases[g, p] + np.arange(len(chosen)))
    rows = _concat(rows)
    order = np.argsort(rows, kind="stable")  # left rows in input order
    if sampler.groups > 1:
        return rows[order], _concat(slots)[order]
    return rows[order], bases[0, p] + np.arange(len(rows))


#: Partner rows whose destinations one call computes for several cycles at once: a
#: call per cycle costs ~1 ms of set-up, while many cycles at once compute the network
#: per element instead of from a table (same values).
CYCLE_BATCH = 1 << 16


def _batches(phase: range, rows: int):
    """(first cycle, cycles) of ``phase`` for one ``destinations`` call each: a cycle
    per call for large groups, a batch of cycles of up to ``CYCLE_BATCH`` rows for small."""
    step = max(1, CYCLE_BATCH // max(rows, 1)) if rows < CYCLE_BATCH // 16 else 1
    for first in range(phase.start, phase.stop, step):
        yield first, min(step, phase.stop - first)


def _mix_partition(
    routed: pd.DataFrame,
    number: pd.Series,
    read_partition: Callable[[int], pd.DataFrame] | None,
    labels: Encoders | None,
    layout: Layout,
    placement: Placement,
    provenance: bool = False,
    left_part: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Output partition ``q``: its left rows mixed with the partners the shuffle brought.

    Left rows come with the partners (tagged with their output position), or, for a
    slot that is a whole input partition of a source that can re-read, from reading
    that partition again: no input partition is held across the shuffle's barrier.
    ``left_part``: output partition ``q`` is that one slot, and these are its rows
    (an in-memory frame, paired by position). Partners arrive in any order, one per
    slot, and are placed by slot.
    """
    q, P, sampler = int(number.iloc[0]), placement.partitions, placement.sampler
    start, stop = placement.out_offsets[q], placement.out_offsets[q + 1]
    pieces, outputs, slots, sources = [], [], [], []
    if _OUTPUT in routed.columns:
        is_left = routed[_OUTPUT].to_numpy() >= 0
        shipped = routed[is_left]
        pieces.append(to_rows(shipped, layout, wire=True))
        outputs.append(shipped[_OUTPUT].to_numpy())
        slots.append(shipped[_SLOT].to_numpy())
        if provenance:
            sources.append(shipped[_POSITION].to_numpy())
        routed = routed[~is_left]
    if read_partition is not None or left_part is not None:
        for k in range(placement.bounds[q], placement.bounds[q + 1]):
            if not placement.whole[k]:
                continue
            p = k % P
            # left_part is already encoded, as the frame it comes from
            part = left_part if left_part is not None else _reread(p, read_partition, labels)
            values = to_rows(part, layout)
            by_class = _class_rows(_row_classes(values.blocks, layout, placement), part.shape[0])
            _, whole_slots = _left_rows(placement, by_class, k // P, p)
            base = placement.slot_base(k)
            pieces.append(values)
            outputs.append(base + np.arange(part.shape[0]))
            slots.append(base + whole_slots)
            if provenance:
                sources.append(placement.offsets[p] + np.arange(part.shape[0]))
    if len(routed) != stop - start:  # the shuffle must deliver one partner per row
        raise RuntimeError(f"partition {q}: {len(routed)} partner rows for {stop - start} rows")
    kept = [i for i, at in enumerate(outputs) if len(at)]
    output = _concat([outputs[i] for i in kept])
    slot = _concat([slots[i] for i in kept])
    source = _concat([sources[i] for i in kept]) if provenance else None
    if not kept:  # no rows at all: the (empty) partners give the empty columns
        left = to_rows(routed, layout, wire=True)
    else:
        left = pieces[kept[0]] if len(kept) == 1 else concat_rows([pieces[i] for i in kept])
    if not (np.diff(output) == 1).all() or (len(output) and output[0] != 0):
        order = np.argsort(output)  # to output order
        left, slot = left.take(order), slot[order]
        source = source[order] if source is not None else None
    # Partner rows arrive in any order, one per slot: place them, then read by slot.
    by_slot = np.empty(len(routed), dtype=np.int64)
    by_slot[routed[_SLOT].to_numpy()] = np.arange(len(routed))
    partner_rows = by_slot[slot]
    partners = to_rows(routed, layout, wire=True).take(partner_rows)
    lam = sampler.weights(start, stop)
    mixed = mix_rows(left, partners, lam, layout, sampler.label_preserving, sampler.keys, start)
    out = from_rows(mixed, layout, pd.RangeIndex(start, stop))
    if not provenance:
        return out
    assert source is not None
    return with_provenance(out, source, routed[_POSITION].to_numpy()[partner_rows], lam)


def mixup_dask(source: Source, call: RowCall) -> dd.DataFrame:
    """The lazy mixup of ``source`` as ``call`` says.

    Counts what the placement needs (``count_partitions``) now, on the current scheduler; the rest
    is lazy. With ``source.read``, each kernel task reads its left rows itself after
    the shuffle, instead of every input partition being held in memory (or spilled)
    across the shuffle's barrier: worker memory stays O(partition), not O(n).
    """
    return place_and_mix(source, call)[0]


def place_and_mix(source: Source, call: RowCall) -> tuple[dd.DataFrame, Placement, Labels | None]:
    """``mixup_dask``, with the placement and labels it was built from (rows per class)."""
    frame = source.frame
    lengths, values = source.lengths, None
    if call.bandwidth is not None:  # the labels' pass, which counts the rows too
        values = _label_pass(frame, call.labels, call.policy)
        lengths = tuple(v.shape[1] for v in values)
    labels, class_starts, onehot, categories = count_partitions(
        frame, call.labels, call.needs_classes, lengths, call.onehot, call.categoricals
    )
    check_onehot(onehot, frame.columns, call.max_categories)
    parts = (labels,) if labels is not None and labels.column is not None else ()
    encoder = Encoders(parts + onehot) if parts or onehot else None
    # Categories found by the pass: the kernel recodes each partition's by value.
    meta = frame._meta.astype(categories) if categories else frame._meta
    meta = meta if encoder is None else encoder.encode(meta)
    layout = replace(
        Layout.from_dtypes(meta.dtypes, labels.names if labels else (), call.policy),
        onehot_labels=bool(parts),
    )
    sizes = tuple(int(s) for s in class_starts[:, -1])
    classes = labels.classes if labels is not None and call.needs_classes else None
    placement = Placement(call.sampler(sizes, classes), class_starts)
    plan = None
    if values is not None:
        assert call.bandwidth is not None
        kernel = LabelKernel(call.keys, call.bandwidth, np.concatenate(values, axis=1))
        plan = _kernel_plan(placement, kernel)
    graph = _graph(
        frame, placement, layout, call.concat, encoder, source.read, call.provenance, plan
    )
    return graph, placement, labels


def _label_pass(frame: dd.DataFrame, labels: Labels | None, policy: Policy) -> list[np.ndarray]:
    """Each partition's numeric label block as float64 (columns, rows), in one pass
    (a source that can project, Parquet, reads the label columns only)."""
    assert labels is not None
    assert labels.column is None
    block = frame[list(labels.names)]
    layout = Layout.from_dtypes(block.dtypes, labels.names, policy)  # the gate's own words
    return list(dask.compute(*[dask.delayed(_labels_of)(p, layout) for p in block.to_delayed()]))


def _labels_of(part: pd.DataFrame, layout: Layout) -> np.ndarray:
    return label_values(to_blocks(part[list(layout.columns)], layout), layout.labels)


def _kernel_plan(placement: Placement, kernel: LabelKernel) -> list[list[pd.DataFrame]]:
    """For each run of ``route_cycles`` and input partition: the output rows whose
    partner (drawn on the client from all labels) is in that partition, as (local
    row, output row). The client holds the labels and one partner per output row."""
    P, offsets = placement.partitions, placement.offsets
    partner = kernel.partners(left_rows(placement.sampler), 0)
    source = np.searchsorted(offsets, partner, "right") - 1
    plan = []
    for run in placement.route_cycles:
        a, b = (int(placement.slot_offsets[c * P]) for c in (run.start, run.stop))
        by_source = np.argsort(source[a:b], kind="stable") + a
        cuts = np.searchsorted(source[by_source], np.arange(P + 1))
        plan.append(
            [
                pd.DataFrame(
                    {
                        _KERNEL_ROW: partner[rows] - offsets[p],
                        _KERNEL_OUTPUT: rows,
                    }
                )
                for p, rows in enumerate(np.split(by_source, cuts[1:-1]))
            ]
        )
    return plan


def _graph(
    frame: dd.DataFrame,
    placement: Placement,
    layout: Layout,
    concat: bool,
    labels: Encoders | None = None,
    read_partition: Callable[[int], pd.DataFrame] | None = None,
    provenance: bool = False,
    plan: list[list[pd.DataFrame]] | None = None,
) -> dd.DataFrame:
    """Build the lazy mixup graph for ``frame`` laid out as ``placement`` says; with
    ``plan`` (``bandwidth``), partners go where the client's plan says."""
    sampler, P = placement.sampler, placement.partitions
    # No clear_divisions(): dd.map_partitions pairs partitions by position (it does not
    # align them), and a clear_divisions node costs a task per partition.
    if labels is not None:  # encoded once per partition, shared by routing and mixing
        frame = frame.map_partitions(labels.encode, meta=labels.encode(frame._meta))
    meta = _meta(layout, provenance)
    numbers = partition_numbers(P)
    if sampler.cycles == 0:  # no mixed rows at all (rows per class, all zero)
        # The output's dtypes as they are: Dask's string conversion would make `str`
        # columns `string`.
        with without_string_conversion():
            mixed = dd.from_pandas(meta, npartitions=1)
        if not concat:
            return mixed
        return _with_originals(mixed, frame, numbers, layout, placement, provenance)
    # An in-memory frame whose output partitions are its own partitions, cycle after
    # cycle (plain mixup, or a batch of whole passes), gives each kernel task its left
    # rows by position, as they are; shipping them too would double the shuffle.
    by_position = (
        read_partition is None
        and placement.npartitions == sampler.cycles * P
        and bool(placement.whole.all())
    )
    reread = read_partition is not None or by_position
    zero = np.empty(0, dtype=np.int64)
    output = zero if placement.ships(reread) else None
    # The placement (its arrays grow with cycles x P) and the reader (every partition's row
    # groups) go into the graph once, as a key each task depends on: inlined, every
    # task carried its own copy, and workers' memory grew with the tasks they held
    # (~2,000 copies, ~150 MiB per 512 MiB worker, in a paused 1.5 GiB balancing run).
    shared = dask.delayed(placement, pure=True, traverse=False)
    if read_partition is not None:
        read_partition = dask.delayed(read_partition, pure=True, traverse=False)
    position = zero if provenance else None
    routed_meta = _tagged(empty_wire(layout), placement, zero, zero, output, position)
    pieces: list[tuple] = [()] * len(placement.route_cycles)
    if plan is not None:  # each run's plan, paired with the input partitions by position
        pieces = [
            (dd.from_delayed([dask.delayed(piece) for piece in run], meta=run[0].iloc[:0]),)
            for run in plan
        ]
    routed = dd.concat(
        [
            dd.map_partitions(
                _route,
                frame,
                numbers,
                layout,
                shared,
                c,
                reread,
                provenance,
                *piece,
                meta=routed_meta,
                clear_divisions=True,
            )
            for c, piece in zip(placement.route_cycles, pieces, strict=True)
        ]
    )
    left: tuple[dd.DataFrame, ...] = ()
    if by_position:  # paired by position: output partition q = c * P + p gets partition p
        left = (dd.concat([frame] * sampler.cycles) if sampler.cycles > 1 else frame,)
    mixed = dd.map_partitions(
        _mix_partition,
        exchange(routed, placement.npartitions),
        partition_numbers(placement.npartitions),
        read_partition,
        labels,
        layout,
        shared,
        provenance,
        *left,
        meta=meta,
        clear_divisions=True,
    )
    if not concat:
        return mixed
    if read_partition is not None:
        # The originals are read again too: sharing ``frame``'s partitions with the
        # routing tasks held each one across the shuffle's barrier (spilled, at 512 MiB).
        frame = dd.map_partitions(
            _read_numbered, numbers, read_partition, labels, meta=frame._meta,
            clear_divisions=True,
        )  # fmt: skip
    return _with_originals(mixed, frame, numbers, layout, placement, provenance)


def _reread(p: int, read_partition, labels: Encoders | None) -> pd.DataFrame:
    """Input partition ``p`` read afresh, its labels encoded."""
    part = read_partition(p)
    return part if labels is None else labels.encode(part)


def _read_numbered(number: pd.Series, read_partition, labels: Encoders | None) -> pd.DataFrame:
    return _reread(int(number.iloc[0]), read_partition, labels)


def _meta(layout: Layout, provenance: bool) -> pd.DataFrame:
    meta = empty_frame(layout)
    if not provenance:
        return meta
    empty = np.empty(0, dtype=np.int64)
    return with_provenance(meta, empty, empty, np.empty(0))


def _with_originals(
    mixed, frame, numbers, layout: Layout, placement: Placement, provenance: bool = False
) -> dd.DataFrame:
    """The original rows (as floats), then the mixed rows."""
    meta = _meta(layout, provenance)
    # One key, not a copy of all P + 1 offsets in each of the P tasks.
    offsets = dask.delayed(placement.offsets.tolist(), pure=True, traverse=False)
    originals = dd.map_partitions(
        _originals, frame, numbers, layout, offsets, provenance, meta=meta, clear_divisions=True
    )
    n = placement.sampler.n
    shifted = mixed.map_partitions(lambda df: df.set_axis(df.index + n), meta=meta)
    return dd.concat([originals, shifted])

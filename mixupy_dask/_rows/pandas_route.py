"""The in-memory route: the reference semantics, vectorised over all output rows, for
any dataframe library with a ``_frames`` adapter (the route talks only to the adapter)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .._core.kernel import LabelKernel, label_values, left_rows
from .._core.labels import Encoders, check_onehot
from .._core.sampler import Sampler
from .._frames.base import FrameAdapter
from .._kernel.layout import Layout
from .._kernel.mix import classes, mix_rows
from .._kernel.rows import concat_rows

if TYPE_CHECKING:
    from .call import RowCall


def pairs(sampler: Sampler, members: list[np.ndarray] | None) -> tuple[np.ndarray, np.ndarray]:
    """Left and partner input positions of every output row, in output order.

    ``members[g]`` lists the positions of class ``g``'s rows in input order (None: one
    class of all rows, where class ranks are positions).
    """
    n, K = sampler.n, len(sampler.class_sizes)
    if members is None:
        members = [np.arange(n, dtype=np.int64)]
    lefts, partners = [], []
    for cycles in sampler.phases():
        a, b = cycles.start, cycles.stop
        full = [g for g in range(K) if a < sampler.full(g) and sampler.class_sizes[g]]
        partial = [g for g in range(K) if a == sampler.full(g) and sampler.quotas[g]]
        if not partial:
            left, partner = _full_cycles(sampler, members, full, a, b)
        else:
            left, partner = _one_cycle(sampler, members, a)
        lefts.append(left)
        partners.append(partner)
    if not lefts:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    return np.concatenate(lefts), np.concatenate(partners)


def _full_cycles(sampler: Sampler, members, full: list[int], a: int, b: int):
    """Cycles ``[a, b)``, in which the classes ``full`` make full passes and no other."""
    n, t = sampler.n, b - a
    if len(full) == len(sampler.class_sizes):
        left = np.arange(n, dtype=np.int64)  # every row: output index = cycle * n + position
        at = members
    else:
        left = np.sort(np.concatenate([members[g] for g in full]), kind="stable")
        at = {g: np.searchsorted(left, members[g]) for g in full}  # index within `left`
    width = len(left)
    if width == 0:
        return left, left
    if sampler.groups == 1:
        if t == 1 and width == n:  # the common case: every slot once, no tiled copies
            return left, sampler.partners(0, None, a)
        slots = np.tile(np.arange(width, dtype=np.int64), t)
        cycles = np.repeat(np.arange(a, b), width) if t > 1 else a
        # One group of all rows: its ranks are positions.
        return np.tile(left, t), sampler.partners(0, slots, cycles)
    partner = np.empty(t * width, dtype=np.int64)
    for g in full:
        size = sampler.class_sizes[g]
        slots = np.tile(np.arange(size, dtype=np.int64), t)
        class_cycles = np.repeat(np.arange(a, b), size) if t > 1 else a
        where = np.repeat(np.arange(t) * width, size) + np.tile(at[g], t)
        partner[where] = members[g][sampler.partners(g, slots, class_cycles)]
    return np.tile(left, t), partner


def _one_cycle(sampler: Sampler, members, cycle: int):
    """One cycle with partial passes: left rows chosen per class, then in input order."""
    K = len(sampler.class_sizes)
    lefts = [members[g][sampler.left_ranks(cycle, g, 0, sampler.class_sizes[g])] for g in range(K)]
    if sampler.groups == 1:
        left = np.sort(np.concatenate(lefts), kind="stable")
        slots = np.arange(len(left), dtype=np.int64)
        return left, sampler.partners(0, slots, cycle)
    partners = []
    for g in range(K):
        slots = np.arange(sampler.size(cycle, g), dtype=np.int64)
        partners.append(members[g][sampler.partners(g, slots, cycle)])
    left, partner = np.concatenate(lefts), np.concatenate(partners)
    order = np.argsort(left, kind="stable")  # left rows in input order
    return left[order], partner[order]


def class_members(blocks, layout: Layout) -> list[np.ndarray]:
    """Positions of each class's rows, in input order."""
    row_classes = classes(blocks, layout)
    order = np.argsort(row_classes, kind="stable")
    bounds = np.searchsorted(row_classes[order], np.arange(len(layout.labels) + 1))
    return [order[bounds[g] : bounds[g + 1]] for g in range(len(layout.labels))]


def _check_memory(adapter: FrameAdapter, frame: Any, call: RowCall, labels, onehot) -> None:
    """Refuse a one-hot result too wide for memory before anything is encoded."""
    n = adapter.rows(frame)
    rows_out = call.rows_out(n)
    if rows_out is None:  # rows per class
        assert labels is not None
        rows_out = n
        if labels.column is not None:  # a label block's classes need its values encoded
            counts = adapter.value_counts(frame, labels.column)
            sizes = tuple(int(x) for x in counts.reindex(list(labels.classes), fill_value=0))
            rows_out = call.sampler(sizes, labels.classes).m
        rows_out += n if call.concat else 0
    columns = call.output_columns(len(adapter.schema(frame)), labels, onehot)
    call.check_memory(n, rows_out, columns)


def mixup_frame(adapter: FrameAdapter, frame: Any, call: RowCall) -> Any:
    """Mix a whole in-memory frame as ``call`` says, through its library's ``adapter``;
    the result is a frame of the same kind."""
    with adapter.session(frame):
        return _mixup_frame(adapter, frame, call)


def _mixup_frame(adapter: FrameAdapter, frame: Any, call: RowCall) -> Any:
    labels = call.labels
    if labels is not None and labels.needs_categories:
        labels = labels.from_counts([adapter.value_counts(frame, labels.column)])
    onehot = tuple(
        e.from_counts([adapter.value_counts(frame, e.column)]) if e.needs_categories else e
        for e in call.onehot
    )
    if onehot:
        check_onehot(onehot, adapter.schema(frame).index, call.max_categories)
        _check_memory(adapter, frame, call, labels, onehot)
    parts = (labels,) if labels is not None else ()
    if parts or onehot:
        encoded = adapter.encode(frame, Encoders(parts + onehot))
        names = labels.names if labels else ()
        layout = Layout.from_dtypes(adapter.schema(encoded), names, call.policy)
    else:  # nothing to encode: the frame's layout is the one `prepare` checked
        assert call.features is not None
        encoded, layout = frame, call.features
    rows = adapter.to_rows(encoded, layout)  # left and right rows share dictionaries
    n = len(rows)
    blocks = rows.blocks
    members = None
    if call.needs_classes:
        members = class_members(blocks, layout)
        assert labels is not None
        sampler = call.sampler(tuple(len(m) for m in members), labels.classes)
    else:
        sampler = call.sampler((n,))
    if call.bandwidth is not None:  # C-Mixup: partners by label distance instead
        assert members is None  # one class of all rows
        left = left_rows(sampler)  # pairs' left rows, without its unused partners
        kernel = LabelKernel(call.keys, call.bandwidth, label_values(blocks, layout.labels))
        partners = kernel.partners(left, 0)
        del kernel  # its sorted copies and index go before the mixing allocates
    else:
        left, partners = pairs(sampler, members)
    lam = sampler.weights(0, sampler.m)
    lefts = rows if sampler.left_is_input else rows.take(left)
    mixed = mix_rows(
        lefts, rows.take(partners), lam, layout, sampler.label_preserving, call.keys, 0
    )
    if call.concat:
        mixed = concat_rows([rows, mixed])
        # The originals come from themselves: left = partner = own position, lambda 1.
        own = np.arange(n, dtype=np.int64)
        left, partners = np.concatenate([own, left]), np.concatenate([own, partners])
        lam = np.concatenate([np.ones(n), lam])
    provenance = (left, partners, lam) if call.provenance else None
    return adapter.from_rows(mixed, layout, like=frame, provenance=provenance)

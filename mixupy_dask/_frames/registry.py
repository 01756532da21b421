"""The adapters known, and the one for a frame."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

from ..errors import MixupTypeError
from .arrow import ArrowAdapter
from .base import FrameAdapter
from .pandas import PandasAdapter
from .polars import PolarsAdapter

#: Tried in order; the first that accepts a frame takes it. Polars is imported only by
#: its adapter, and only for a Polars object.
ADAPTERS: list[FrameAdapter] = [PandasAdapter(), PolarsAdapter(), ArrowAdapter()]


def adapter_for(data: Any, also: Sequence[str] = ()) -> FrameAdapter:
    """The adapter of ``data``'s library; else a ``MixupTypeError`` naming the kinds of
    frame accepted: the adapters', then ``also``'s (those another route takes)."""
    for adapter in ADAPTERS:
        if adapter.accepts(data):
            return adapter
    for adapter in ADAPTERS:
        advice = adapter.advice(data)
        if advice is not None:
            raise MixupTypeError(advice)
    kinds = [a.noun for a in ADAPTERS] + [f"{name} DataFrame" for name in also]
    words = kinds[0] if len(kinds) == 1 else f"{', '.join(kinds[:-1])} or {kinds[-1]}"
    kind = f"{type(data).__module__}.{type(data).__qualname__}"
    raise MixupTypeError(f"`data` must be a {words}, not {kind}")


def session_for(data: Any) -> AbstractContextManager[None]:
    """The session (``FrameAdapter.session``) of the adapter that takes ``data``; none
    (and no error: the call's validation refuses) for anything else."""
    for adapter in ADAPTERS:
        if adapter.accepts(data):
            return adapter.session(data)
    return nullcontext()


@contextmanager
def registered(adapter: FrameAdapter) -> Iterator[FrameAdapter]:
    """``adapter`` known while the block runs (tried after the others): for tests."""
    ADAPTERS.append(adapter)
    try:
        yield adapter
    finally:
        ADAPTERS.remove(adapter)

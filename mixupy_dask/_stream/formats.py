"""What a batch is given as: a pandas frame, a dict of numpy arrays, an Arrow table, a
Polars frame or a dict of torch tensors (Polars and torch imported only when asked for).

The stream mixes blocks of many batches at once and converts each block once; a
``Format`` then cuts batches out of a converted block (views where the library has
them) and joins the pieces of a batch that spans two blocks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .._frames.registry import adapter_for
from .._rows.call import RowCall
from ..errors import MixupError


@dataclass(frozen=True)
class Format:
    """A batch format: ``convert`` a mixed pandas block, ``cut`` rows ``[a, b)`` of a
    converted block, ``join`` converted pieces in order."""

    convert: Callable[[pd.DataFrame], Any]
    cut: Callable[[Any, int, int], Any]
    join: Callable[[list[Any]], Any]


def _columns(frame: pd.DataFrame) -> dict[Any, np.ndarray]:
    return {c: frame[c].to_numpy() for c in frame.columns}


def _cut_columns(columns: dict[Any, Any], a: int, b: int) -> dict[Any, Any]:
    return {c: v[a:b] for c, v in columns.items()}


def format_for(format: str, like: Any = None) -> Format:
    """The ``Format`` named ``format`` (checked by ``BATCHES_RULES``). ``like``: the
    stream's input frame when it is a Polars or Arrow one, whose column types an output
    of its own kind keeps (as ``mixup`` keeps them)."""
    if format == "pandas":
        return Format(
            lambda frame: frame,
            lambda frame, a, b: frame.iloc[a:b].reset_index(drop=True),
            lambda parts: pd.concat(parts, ignore_index=True),
        )
    if format == "numpy":
        return Format(
            _columns,
            _cut_columns,
            lambda parts: {c: np.concatenate([p[c] for p in parts]) for c in parts[0]},
        )
    if format == "arrow":
        import pyarrow as pa

        def to_arrow(frame: pd.DataFrame) -> pa.Table:
            if isinstance(like, pa.Table):
                return adapter_for(like).from_pandas(frame, like)
            return pa.Table.from_pandas(frame, preserve_index=False)

        return Format(to_arrow, lambda t, a, b: t.slice(a, b - a), pa.concat_tables)
    if format == "polars":
        pl = import_extra("polars", "polars")

        def to_polars(frame: pd.DataFrame) -> Any:
            if isinstance(like, pl.DataFrame):
                return adapter_for(like).from_pandas(frame, like)
            return pl.from_pandas(frame)

        return Format(to_polars, lambda df, a, b: df.slice(a, b - a), pl.concat)
    torch = import_extra("torch", "torch")

    # pandas' arrays are read-only (copy on write); a tensor wants its own, writable
    # one, and a tensor per batch (``from_numpy`` of a slice) owns just its rows, so a
    # DataLoader worker sends only those.
    def writable(frame: pd.DataFrame) -> dict[Any, np.ndarray]:
        return {c: np.require(v, requirements="W") for c, v in _columns(frame).items()}

    return Format(
        writable,
        lambda columns, a, b: {c: torch.from_numpy(v[a:b]) for c, v in columns.items()},
        lambda parts: {c: torch.cat([p[c] for p in parts]) for c in parts[0]},
    )


def import_extra(module: str, extra: str) -> Any:
    """``module``, or an error naming the extra that installs it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MixupError(
            f"`format={module!r}` needs {module}: install the extra, "
            f"`pip install mixupy_dask[{extra}]`"
        ) from exc


def import_torch() -> Any:
    return import_extra("torch", "torch")


def check_torch_columns(meta: pd.DataFrame, call: RowCall) -> None:
    """Tensors hold numbers: refuse columns that come out as strings, categoricals or
    times (kept as they are by the column policies)."""
    import_torch()
    features = call.features
    if features is None or not features.passengers:
        return
    names = [repr(features.columns[p.position]) for p in features.passengers]
    raise MixupError(
        f"`format='torch'` needs numeric columns; {', '.join(names)} come out as "
        f"strings, categoricals or times: use `categorical='onehot'`, leave them out with "
        f"`columns`, or take format='numpy'"
    )

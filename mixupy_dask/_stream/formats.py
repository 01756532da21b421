"""What a batch is given as: a pandas frame, a dict of numpy arrays, an Arrow table or
a dict of torch tensors (torch imported only when asked for)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .._rows.call import RowCall
from ..errors import MixupError


def converter(format: str) -> Any:
    if format == "pandas":
        return lambda frame: frame
    if format == "numpy":
        return lambda frame: {c: frame[c].to_numpy() for c in frame.columns}
    if format == "arrow":
        import pyarrow as pa

        return lambda frame: pa.Table.from_pandas(frame, preserve_index=False)
    torch = import_torch()
    # pandas' arrays are read-only (copy on write); a tensor wants its own, writable one.
    return lambda frame: {
        c: torch.from_numpy(np.require(frame[c].to_numpy(), requirements="W"))
        for c in frame.columns
    }


def import_torch() -> Any:
    try:
        import torch
    except ImportError as exc:
        raise MixupError(
            "`format='torch'` needs torch: install the extra, `pip install mixupy_dask[torch]`"
        ) from exc
    return torch


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

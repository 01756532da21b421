"""The provenance record written into every output file and the manifest: which
function, source, options, seed and library versions made it (never storage options)."""

from __future__ import annotations

import json
from typing import Any

import dask
import numpy as np
import pandas as pd
import pyarrow as pa

from .._version import __version__
from .parquet import ParquetSource


def metadata(function: str, source: ParquetSource, options: dict[str, Any]) -> dict[str, Any]:
    """The provenance record written into every output file (no storage options)."""
    seed = options["seed"]
    if isinstance(seed, np.random.SeedSequence):
        seed = {"entropy": jsonable(seed.entropy), "spawn_key": list(seed.spawn_key)}
    elif not isinstance(seed, (int, np.integer)):
        seed = [int(s) for s in seed]
    return {
        "function": function,
        "source": source.url,
        "options": {k: jsonable(v) for k, v in options.items() if k != "seed"},
        "seed": int(seed) if isinstance(seed, (int, np.integer)) else seed,
        # A different numpy may change numpy's Beta sampler: record what made the output.
        "versions": versions(),
    }


def jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
    except TypeError:
        return repr(value)
    return value


def versions() -> dict[str, str]:
    return {
        "mixupy_dask": __version__,
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "dask": dask.__version__,
        "pyarrow": pa.__version__,
    }

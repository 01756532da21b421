"""The in-memory route: ``mixupy_dask.mixup`` on pandas vs mixupy vs a plain numpy floor."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .timing import measure_interleaved

__all__ = ["make_frame", "numpy_floor", "run"]

ALPHA = 4.0
COLUMNS = 10
#: Each timing lasts at least this long: at 1e4 rows a figure is the mean of a loop of
#: calls (``timing.calls_for``), from 1e6 rows one call.
MIN_SECONDS = 0.05


def make_frame(rows: int, columns: int = COLUMNS, seed: int = 0) -> pd.DataFrame:
    """``rows`` x ``columns`` standard normal float64 values, held as pandas holds them.

    Generated as (columns, rows) and transposed, so the frame's single block is
    C-contiguous per column, as after ``read_parquet`` or a column-wise construction.
    """
    values = np.random.default_rng(seed).standard_normal((columns, rows))
    return pd.DataFrame(values.T, columns=[f"x{i}" for i in range(columns)], copy=False)


def numpy_floor(frame: pd.DataFrame, alpha: float = ALPHA, seed: int = 0) -> pd.DataFrame:
    """Mixup with nothing but numpy: the lowest time a pandas-in, pandas-out mixup can take.

    One permutation, one Beta draw per row, one gather of the partners and an
    in-place multiply-add, on pandas' own (columns, rows) block. No validation, no
    keyed randomness, no dtype handling.
    """
    rng = np.random.default_rng(seed)
    x = frame.to_numpy().T  # a view of the block: shape (columns, rows), rows contiguous
    n = x.shape[1]
    partners = rng.permutation(n)
    lam = rng.beta(alpha, alpha, n)
    out = x * lam
    right = x.take(partners, axis=1)
    right *= 1.0 - lam
    out += right
    return pd.DataFrame(out.T, columns=frame.columns, copy=False)


def _mixupy(frame: pd.DataFrame) -> pd.DataFrame:
    from mixupy import mixup as mixupy_mixup  # the peer: PyPI mixupy 0.1.2

    return mixupy_mixup(frame, alpha=ALPHA)


def _ours(frame: pd.DataFrame) -> pd.DataFrame:
    from mixupy_dask import mixup

    return mixup(frame, alpha=ALPHA, seed=0)


METHODS = {"numpy floor": lambda f: numpy_floor(f), "mixupy": _mixupy, "mixupy_dask": _ours}


def run(
    sizes: list[int], repeats: int, log=print, widths: tuple[tuple[int, int], ...] = ()
) -> list[dict[str, Any]]:
    """One row per (method, rows, columns): the timing and its ratios to the floor and
    to mixupy; ``sizes`` are rows of ``COLUMNS`` columns, ``widths`` other shapes."""
    rows = []
    for n, columns in [(n, COLUMNS) for n in sizes] + list(widths):
        frame = make_frame(n, columns)
        for method in METHODS.values():
            method(frame.iloc[:1000])  # warm imports and caches outside the timing
        stats = measure_interleaved(
            {name: (lambda m=m, f=frame: m(f)) for name, m in METHODS.items()},
            repeats,
            MIN_SECONDS,
        )
        for name, s in stats.items():
            log(f"in-memory  n={n:>10,} x {columns:<3} {name:<12} median {s.median:8.4f} s")
        for name, s in stats.items():
            rows.append(
                {
                    "method": name,
                    "rows": n,
                    "columns": columns,
                    "input_bytes": int(frame.memory_usage(index=False).sum()),
                    **s.to_dict(),
                    "vs_floor": s.median / stats["numpy floor"].median,
                    "mixupy_over_this": stats["mixupy"].median / s.median,
                    # The same ratios from the fastest runs: less sensitive to load bursts.
                    "vs_floor_of_min": s.min / stats["numpy floor"].min,
                    "mixupy_over_this_of_min": stats["mixupy"].min / s.min,
                }
            )
    return rows

"""Within-class and series mixup, timed as ratios to plain ``mixup`` on the same rows.

- ``labels``: ``mixup(frame, labels="label")`` on the features plus a categorical
  class column (the cost of one-hot soft labels).
- ``within_class``: the same with ``within_class=True`` (per-class permutations).
- ``series``: ``mixup_series`` on the same number of rows in long format, as series of
  ``SERIES_LENGTH`` steps with an id and a time column (k=2 series per output series).

A variant that the installed mixupy_dask does not have yet is reported as skipped.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np
import pandas as pd

from .in_memory import ALPHA, COLUMNS, make_frame
from .timing import measure_interleaved

__all__ = ["available", "run"]

CLASSES = 3
SERIES_LENGTH = 100


def available() -> dict[str, str | None]:
    """Each variant's name mapped to None when available, else why it is skipped."""
    import mixupy_dask

    params = inspect.signature(mixupy_dask.mixup).parameters
    labels = None if "labels" in params else "skipped: not available (mixup has no `labels`)"
    within = (
        None if "within_class" in params else "skipped: not available (mixup has no `within_class`)"
    )
    series = (
        None
        if hasattr(mixupy_dask, "mixup_series")
        else "skipped: not available (no mixupy_dask.mixup_series)"
    )
    return {"labels": labels, "within_class": within, "series": series}


def _labelled(rows: int) -> pd.DataFrame:
    frame = make_frame(rows)
    codes = np.random.default_rng(1).integers(0, CLASSES, rows)
    frame["label"] = pd.Categorical.from_codes(codes, categories=[f"c{k}" for k in range(CLASSES)])
    return frame


def _long(rows: int) -> pd.DataFrame:
    """``rows`` rows of series of ``SERIES_LENGTH`` steps: id, time, then the features."""
    frame = make_frame(rows)
    step = np.arange(rows)
    frame.insert(0, "t", step % SERIES_LENGTH)
    frame.insert(0, "id", step // SERIES_LENGTH)
    return frame


def run(rows: int, repeats: int, log=print) -> list[dict[str, Any]]:
    import mixupy_dask

    skipped = available()
    plain_frame = make_frame(rows)
    calls = {"plain": (plain_frame, lambda f: mixupy_dask.mixup(f, alpha=ALPHA, seed=0))}
    if skipped["labels"] is None:
        calls["labels"] = (
            _labelled(rows),
            lambda f: mixupy_dask.mixup(f, alpha=ALPHA, seed=0, labels="label"),
        )
    if skipped["within_class"] is None:
        calls["within_class"] = (
            _labelled(rows),
            lambda f: mixupy_dask.mixup(f, alpha=ALPHA, seed=0, labels="label", within_class=True),
        )
    if skipped["series"] is None:
        calls["series"] = (
            _long(rows),
            lambda f: mixupy_dask.mixup_series(f, series="id", time="t", k=2, seed=0),
        )
    for frame, call in calls.values():
        call(frame.iloc[: 10 * SERIES_LENGTH])  # warm imports outside the timing
    timed = measure_interleaved(
        {name: (lambda c=call, f=frame: c(f)) for name, (frame, call) in calls.items()}, repeats
    )
    results, plain = [], timed["plain"]
    for name, stats in timed.items():
        log(f"variants   n={rows:>10,}  {name:<12} median {stats.median:8.4f} s")
        results.append(
            {
                "variant": name,
                "rows": rows,
                "columns": COLUMNS,
                **stats.to_dict(),
                "vs_plain": stats.median / plain.median,
                "vs_plain_of_min": stats.min / plain.min,
                "skipped": None,
            }
        )
    for name, reason in skipped.items():
        if reason is not None:
            log(f"variants   {name}: {reason}")
            results.append({"variant": name, "rows": rows, "skipped": reason})
    return results

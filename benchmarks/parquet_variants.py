"""Variants on the Parquet route, as ratios to plain ``augment_parquet`` of the same rows.

One labelled data set (``make_data`` with 3 classes) of the 1x size and one long-format
data set of the same rows (series of ``SERIES_LENGTH`` steps: an id, a time, the
features), every run of every variant on a fresh cluster like the Parquet route's (2 workers x 512
MiB), the variants taking turns:

- ``plain``: ``augment_parquet(src, dst, columns=features)``, the baseline;
- ``labels``: the features and the class column, ``labels="label"``;
- ``plain, labels' width``: plain mixup of as many rows of ``COLUMNS + CLASSES`` float
  columns, the width of the labels' output (its one-hot columns are mixed and written
  like features): not a target, the floor that says how much of ``labels`` is width;
- ``within_class``: the same with ``within_class=True``;
- ``within_class, label block``: ``within_class=True`` on the labels' width data set,
  whose last ``CLASSES`` columns are a one-hot label block (``labels=BLOCK``), not a
  class column: its class counts come from the block's columns;
- ``concat``: ``concat=True`` (2n rows out) and ``batch_size 2n`` (2n mixed rows
  out): their bound is the proportional cost, (rows out / n) x plain;
- ``series``: ``augment_series_parquet(k=2)`` against ``series plain``, plain row
  mixup of the same long-format rows (``columns=features``).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from .parquet_route import fresh_client, layout
from .timing import Stats, measure, take_turns

__all__ = ["run"]

COLUMNS = 10
CLASSES = 3
SERIES_LENGTH = 100
FEATURES = [f"x{i}" for i in range(COLUMNS)]
#: The one-hot label block of the labels' width data set.
BLOCK = [f"y{i}" for i in range(CLASSES)]


def _series_partition(start: int, rows: int) -> pd.DataFrame:
    """Rows ``start`` to ``start + rows`` of the long-format data set."""
    step = np.arange(start, start + rows)
    values = np.random.default_rng(start).standard_normal((COLUMNS, rows))
    frame = pd.DataFrame(values.T, columns=FEATURES, copy=False)
    frame.insert(0, "t", step % SERIES_LENGTH)
    frame.insert(0, "id", step // SERIES_LENGTH)
    return frame


def _wide_partition(start: int, rows: int) -> pd.DataFrame:
    """Rows ``start`` to ``start + rows`` of the labels' width data set: the features,
    then a one-hot class block."""
    rng = np.random.default_rng(start)
    frame = pd.DataFrame(rng.standard_normal((COLUMNS, rows)).T, columns=FEATURES, copy=False)
    onehot = np.eye(CLASSES)[rng.integers(0, CLASSES, rows)]
    return frame.join(pd.DataFrame(onehot, columns=BLOCK))


def _write(client, make: Callable[[int, int], pd.DataFrame], path: str, rows: int, per_file: int):
    """Write ``rows`` rows as files of ``make(start, per_file)``, the last one shorter."""
    import dask.dataframe as dd

    starts = range(0, rows, per_file)
    frame = dd.from_map(
        make,
        starts,
        [min(per_file, rows - start) for start in starts],
        meta=make(0, 0),
        enforce_metadata=False,
    )
    client.compute(frame.to_parquet(path, compute=False, write_index=False)).result()


def _generate(client, root: str, rows: int, files: int) -> dict[str, str]:
    from mixupy_dask import make_data

    labelled, long = os.path.join(root, "labelled"), os.path.join(root, "series")
    wide = os.path.join(root, "wide")
    make_data(labelled, rows, COLUMNS, classes=CLASSES, partitions=files, client=client)
    # Files as large as the labelled ones, so more of them: partitions of the same bytes.
    _write(client, _wide_partition, wide, rows, rows // files * COLUMNS // (COLUMNS + CLASSES))
    # Files no larger than the labelled ones (two more columns: fewer rows), of whole
    # series: a row group larger than the blocksize would be read as slices, which
    # costs more than whole row groups and is not what this compares.
    per_file = rows // files * COLUMNS // (COLUMNS + 2) // SERIES_LENGTH * SERIES_LENGTH
    _write(client, _series_partition, long, rows, per_file)
    return {"labelled": labelled, "series": long, "wide": wide}


def _calls(paths: dict[str, str], rows: int) -> dict[str, Callable[[Any, str], Any]]:
    from mixupy_dask import augment_parquet, augment_series_parquet

    labelled, long, wide = paths["labelled"], paths["series"], paths["wide"]
    common = {"alpha": 4.0, "seed": 0}

    def rows_of(src: str, **options: Any) -> Callable[[Any, str], Any]:
        return lambda client, dst: augment_parquet(src, dst, client=client, **common, **options)

    return {
        "plain": rows_of(labelled, columns=FEATURES),
        "labels": rows_of(labelled, labels="label"),
        "plain, labels' width": rows_of(wide),
        "within_class": rows_of(labelled, labels="label", within_class=True),
        "within_class, label block": rows_of(wide, labels=BLOCK, within_class=True),
        "concat": rows_of(labelled, columns=FEATURES, concat=True),
        "batch_size 2n": rows_of(labelled, columns=FEATURES, batch_size=2 * rows),
        "series plain": rows_of(long, columns=FEATURES),
        "series": lambda client, dst: augment_series_parquet(
            long, dst, series="id", time="t", k=2, client=client, **common
        ),
    }


#: A bound that is none: the ratio is reported beside the targets, not held to one.
REPORT_ONLY = "report only"
#: Each variant's baseline and the bound on its ratio to it (None: proportional cost).
BOUNDS: dict[str, tuple[str, float | str | None]] = {
    "plain, labels' width": ("plain", REPORT_ONLY),
    "labels": ("plain", 1.1),
    "within_class": ("plain", 1.3),
    "within_class, label block": ("plain", 1.3),
    "concat": ("plain", None),
    "batch_size 2n": ("plain", None),
    "series": ("series plain", 1.5),
}
#: Variants also reported against their floor (``REPORT_ONLY``): where their time goes.
FLOORS = {"labels": "plain, labels' width", "within_class, label block": "plain, labels' width"}


def run(base_bytes: int, repeats: int, workdir: str, log=print) -> list[dict[str, Any]]:
    """Time every variant on the Parquet route's 1x size; one result row each."""
    dst = os.path.join(workdir, "variant-out")

    def clean() -> None:
        shutil.rmtree(dst, ignore_errors=True)

    with fresh_client() as client:
        rows, files = layout(client, base_bytes)
        log(f"pq-variant generating {rows:,} labelled rows and as many in series")
        calls = _calls(_generate(client, workdir, rows, files), rows)
    times: dict[str, list[float]] = {name: [] for name in calls}
    rows_out: dict[str, int] = {}
    for name in take_turns(list(calls), repeats):
        done: list[Any] = []
        with fresh_client() as client:  # nothing left behind by the run before
            run = partial(calls[name], client, dst)
            times[name] += measure(lambda r=run, d=done: d.append(r()), 1, clean).runs
        rows_out[name] = done[-1].rows_out
        log(f"pq-variant {name:<26} {rows_out[name]:>11,} rows out  "
            f"{times[name][-1]:8.2f} s")  # fmt: skip
    stats = {name: Stats(tuple(runs)) for name, runs in times.items()}
    clean()
    found = []
    pairs = [(name, *BOUNDS.get(name, (name, None))) for name in stats]
    pairs += [(name, base, REPORT_ONLY) for name, base in FLOORS.items()]
    for name, base, bound in pairs:
        s = stats[name]
        found.append(
            {
                "variant": name,
                "rows_in": rows_out[base],
                "rows_out": rows_out[name],
                **s.to_dict(),
                "baseline": base,
                "vs_baseline": s.median / stats[base].median,
                "bound": rows_out[name] / rows_out[base] if bound is None else bound,
                "bound_is_proportional": bound is None,
            }
        )
    return found

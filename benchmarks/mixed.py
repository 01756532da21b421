"""Mixed-type tables against all-numeric ones of the same width, in the same run.

The mixed table has 10 float64 columns, 3 categorical ones (a pandas ``Categorical``
of 12 categories, a pyarrow string column of 50 values, a column of 5 values built from
python strings, which pandas >= 3 stores as its Arrow-backed ``str`` dtype, not as
objects), one timestamp column, and missing values in two of its columns (a float and
the string column). The all-numeric table has 14 float64 columns and as many rows
(pandas >= 3 copies its row-major array into a column-contiguous block, as the mixed
table's floats are: the two gather the same way).

- ``in memory``: ``mixup(table)`` against ``mixup(numeric)``, taking turns.
- ``parquet``: ``augment_parquet`` of both, written as Parquet files of the same row
  groups, on one ``local_cluster`` of two 512 MiB workers.

The mixed call is ``categorical="sample", integers="round", missing="available"``: the
policy with a random draw per row and the most work per missing value.
"""

from __future__ import annotations

import os
import shutil
from typing import Any

import numpy as np
import pandas as pd

from .in_memory import ALPHA
from .timing import Stats, measure, measure_interleaved

__all__ = ["make_tables", "run"]

NUMERIC = 10
#: Share of missing values in each of the two columns that have some.
MISSING = 0.05
MIXED_OPTIONS = {"categorical": "sample", "integers": "round", "missing": "available"}
ROWS_PER_FILE = 500_000


def make_tables(rows: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The mixed table and the all-numeric table of the same shape."""
    rng = np.random.default_rng(seed)
    values = rng.standard_normal((NUMERIC, rows))
    mixed = pd.DataFrame(values.T, columns=[f"x{i}" for i in range(NUMERIC)], copy=False)
    mixed.loc[rng.random(rows) < MISSING, "x0"] = np.nan
    mixed["colour"] = pd.Categorical.from_codes(
        rng.integers(0, 12, rows), categories=[f"colour{k:02d}" for k in range(12)]
    )
    cities = np.array([f"city{k:02d}" for k in range(50)], dtype=object)
    city = pd.Series(cities[rng.integers(0, 50, rows)], dtype="string[pyarrow]")
    city[rng.random(rows) < MISSING] = pd.NA
    mixed["city"] = city
    mixed["grade"] = np.array(list("ABCDE"), dtype=object)[rng.integers(0, 5, rows)]
    start = np.datetime64("2024-01-01T00:00:00", "ns").astype(np.int64)
    mixed["when"] = pd.to_datetime(start + rng.integers(0, 365 * 86400 * 10**9, rows))
    numeric = pd.DataFrame(
        rng.standard_normal((rows, mixed.shape[1])),
        columns=[f"x{i}" for i in range(mixed.shape[1])],
    )
    return mixed, numeric


def _in_memory(rows: int, repeats: int, log) -> list[dict[str, Any]]:
    from mixupy_dask import mixup

    mixed, numeric = make_tables(rows)
    calls = {
        "all-numeric": lambda: mixup(numeric, alpha=ALPHA, seed=0),
        "mixed": lambda: mixup(mixed, alpha=ALPHA, seed=0, **MIXED_OPTIONS),
    }
    mixup(mixed.iloc[:1000], alpha=ALPHA, seed=0, **MIXED_OPTIONS)  # warm imports
    timed = measure_interleaved(calls, repeats)
    return _rows("in memory", rows, timed, log)


def _write(frame: pd.DataFrame, path: str) -> None:
    os.makedirs(path)
    for i, start in enumerate(range(0, len(frame), ROWS_PER_FILE)):
        part = frame.iloc[start : start + ROWS_PER_FILE]
        part.to_parquet(os.path.join(path, f"part.{i}.parquet"), index=False)


def _parquet(rows: int, repeats: int, workdir: str, log) -> list[dict[str, Any]]:
    from distributed import Client

    from mixupy_dask import augment_parquet, local_cluster

    mixed, numeric = make_tables(rows)
    sources = {name: os.path.join(workdir, name) for name in ("all-numeric", "mixed")}
    _write(numeric, sources["all-numeric"])
    _write(mixed, sources["mixed"])
    del mixed, numeric
    dst = os.path.join(workdir, "out")
    options = {"all-numeric": {}, "mixed": MIXED_OPTIONS}

    def clean() -> None:
        shutil.rmtree(dst, ignore_errors=True)

    timed: dict[str, Stats] = {}
    with (
        local_cluster(workers=2, threads_per_worker=1, memory_limit="512MiB") as cluster,
        Client(cluster) as client,
    ):
        for name, src in sources.items():
            timed[name] = measure(
                lambda s=src, o=options[name]: augment_parquet(
                    s, dst, alpha=ALPHA, seed=0, client=client, **o
                ),
                repeats,
                before=clean,
            )
        clean()
    return _rows("parquet", rows, timed, log)


def _rows(route: str, rows: int, timed: dict[str, Stats], log) -> list[dict[str, Any]]:
    base = timed["all-numeric"]
    found = []
    for name, stats in timed.items():
        log(f"mixed      {route:<9} n={rows:>10,}  {name:<12} median {stats.median:8.3f} s")
        found.append(
            {
                "route": route,
                "table": name,
                "rows": rows,
                "columns": NUMERIC + 4,
                **stats.to_dict(),
                "vs_numeric": stats.median / base.median,
            }
        )
    return found


def run(
    rows: int, parquet_rows: int, repeats: int, workdir: str, log=print
) -> list[dict[str, Any]]:
    """Rows of results: each route, each table, its time and its ratio to all-numeric."""
    found = _in_memory(rows, repeats, log)
    found += _parquet(parquet_rows, repeats, workdir, log)
    return found

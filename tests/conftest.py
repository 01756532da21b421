"""Shared fixtures: the routes every behaviour test runs on, and a real local cluster."""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Sequence

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest

#: Partition layouts, as cut points into the rows; "irregular" has empty partitions
#: first, in the middle and last, where integer divisions would collide.
ROUTES = ["pandas", "dask-1", "dask-3", "dask-irregular", "distributed"]


def split_frame(df: pd.DataFrame, lengths: Sequence[int]) -> dd.DataFrame:
    """A dask frame whose partitions hold exactly ``lengths`` rows (zeros allowed)."""
    assert sum(lengths) == len(df)
    cuts = np.concatenate([[0], np.cumsum(lengths)])
    parts = [dask.delayed(df.iloc[a:b]) for a, b in itertools.pairwise(cuts)]
    return dd.from_delayed(parts, meta=df.iloc[:0], verify_meta=False)


def irregular_lengths(n: int) -> list[int]:
    """Empty partitions at the start, middle and end, and uneven sizes between."""
    a = n // 3
    return [0, a, 0, 0, 1 if n - a > 0 else 0, n - a - (1 if n - a > 0 else 0), 0]


def on_cluster(client, lazy):
    """``lazy`` computed on ``client`` as users compute it: with the client current, so
    that Dask lowers the graph for it (with the p2p shuffle, not the local disk one)."""
    with client.as_current():
        return client.compute(lazy).result()


@pytest.fixture(scope="session")
def cluster_client():
    """A real LocalCluster with two worker processes (started once per session)."""
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            host="127.0.0.1",
        ) as cluster,
        distributed.Client(cluster, set_as_default=False) as client,
    ):
        # pytest turns warnings into errors here, not in the worker processes: do the
        # same there, so a warning raised inside a task fails the test that ran it.
        client.run(warnings.simplefilter, "error")
        yield client


@pytest.fixture(params=ROUTES)
def route(request):
    """A function ``run(mixup_call, df)`` computing ``mixup_call`` on one route."""
    name = request.param
    client = request.getfixturevalue("cluster_client") if name == "distributed" else None

    def run(call, df: pd.DataFrame) -> pd.DataFrame:
        if name == "pandas":
            return call(df)
        if name == "dask-irregular":
            data = split_frame(df, irregular_lengths(len(df)))
        else:
            data = dd.from_pandas(df, npartitions=1 if name == "dask-1" else 3, sort=False)
        out = call(data)
        assert isinstance(out, dd.DataFrame)
        return on_cluster(client, out) if client else out.compute(scheduler="threads")

    run.name = name
    return run

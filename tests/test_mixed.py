"""Mixed-type tables: categorical, string, integer, datetime columns and missing values.

Every policy (``categorical``, ``integers``, ``missing``, ``provenance``) gives the
pandas route's bits on every Dask partitioning, empty partitions included, and on a
distributed cluster; the values obey each policy's rule, checked row by row through
the provenance columns.
"""

from __future__ import annotations

from fractions import Fraction

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mixupy_dask import MixupError, MixupTypeError, NonFiniteError, mixup
from mixupy_dask._kernel.times import NAT, mix_times

from .helpers import irregular_lengths, on_cluster, split_frame

assert_exact = pd.testing.assert_frame_equal
I64 = np.iinfo(np.int64)
CATEGORIES = ["z", "a", "b", "unused"]


def mixed_frame(n: int, seed: int = 0, missing: bool = False) -> pd.DataFrame:
    """Every kind of column; with ``missing``, missing values in six of them."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2013-01-01", tz="America/New_York")
    df = pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "f32": rng.random(n).astype(np.float32),
            "i": rng.integers(-50, 50, n),
            "u8": rng.integers(0, 255, n).astype(np.uint8),
            "flag": rng.random(n) > 0.5,
            "ni": pd.array(rng.integers(-5, 5, n), dtype="Int64"),
            "c": pd.Categorical.from_codes(rng.integers(0, 3, n), categories=CATEGORIES),
            "s": pd.array(rng.choice(["JFK", "LGA", "EWR"], n), dtype="string[pyarrow]"),
            "t": start + pd.to_timedelta(rng.integers(0, 10**9, n), unit="s"),
            "t_us": pd.to_datetime(rng.integers(0, 2**40, n), unit="us"),
            "dt": pd.to_timedelta(rng.integers(-(10**6), 10**6, n), unit="ms"),
        }
    )
    if missing:
        for name in ["x", "ni", "c", "s", "t", "dt"]:
            df.loc[rng.random(n) < 0.2, name] = None
    return df


def with_classes(df: pd.DataFrame) -> pd.DataFrame:
    return df.assign(y=np.where(np.arange(len(df)) % 3 == 0, "p", "q"))


@st.composite
def cases(draw):
    """A mixed frame, a split of its rows into partitions (empty ones allowed), options."""
    n = draw(st.integers(2, 40))
    k = draw(st.integers(1, 6))
    cuts = sorted(draw(st.lists(st.integers(0, n), min_size=k - 1, max_size=k - 1)))
    lengths = np.diff([0, *cuts, n]).tolist()
    missing = draw(st.sampled_from(["raise", "propagate", "available"]))
    options = {
        "alpha": draw(st.sampled_from([0.0, 0.3, 1.0, 4.0])),
        "concat": draw(st.booleans()),
        "batch_size": draw(st.one_of(st.none(), st.integers(1, 2 * n + 5))),
        "seed": draw(st.integers(0, 2**32)),
        "categorical": draw(st.sampled_from(["dominant", "sample", "onehot"])),
        "integers": draw(st.sampled_from(["float", "round"])),
        "missing": missing,
        "provenance": draw(st.booleans()),
    }
    df = mixed_frame(n, draw(st.integers(0, 1000)), missing=missing != "raise")
    if draw(st.booleans()):
        df = with_classes(df)
        options["labels"] = "y"
        options["within_class"] = draw(st.booleans())
    return df, lengths, options


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases())
def test_every_policy_is_exact_on_any_partitioning(case):
    df, lengths, options = case
    expected = mixup(df, **options)
    lazy = mixup(split_frame(df, lengths), **options)
    assert lazy._meta.dtypes.to_dict() == expected.dtypes.to_dict()  # meta decided up front
    assert_exact(lazy.compute(scheduler="threads"), expected, check_exact=True)


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases())
def test_every_policy_is_exact_on_a_cluster(case, cluster_client):
    df, lengths, options = case
    expected = mixup(df, **options)
    assert_exact(
        on_cluster(cluster_client, mixup(split_frame(df, lengths), **options)),
        expected,
        check_exact=True,
    )


@pytest.mark.parametrize("storage", ["object", "str", "string[python]"])
def test_string_storage_is_kept_on_every_route(route, storage):
    df = mixed_frame(30, seed=2, missing=True)
    with dask.config.set({"dataframe.convert-string": False}):  # keep the storage on dask
        df = df.assign(s=df["s"].astype(storage))
        out = route(lambda d: mixup(d, seed=3, categorical="sample", missing="available"), df)
    expected = mixup(df, seed=3, categorical="sample", missing="available")
    assert out["s"].dtype == df["s"].dtype
    assert_exact(out, expected, check_exact=True)


# --- what each policy does to the values ----------------------------------------------


def _parents(df: pd.DataFrame, out: pd.DataFrame, name: str):
    left = df[name].iloc[out["mixup_left"].to_numpy()].reset_index(drop=True)
    partner = df[name].iloc[out["mixup_partner"].to_numpy()].reset_index(drop=True)
    return left, partner


def test_values_obey_their_policy():
    df = mixed_frame(500, seed=5)
    out = mixup(df, seed=1, categorical="dominant", integers="round", provenance=True)
    assert out.columns.tolist() == [*df.columns, "mixup_left", "mixup_partner", "mixup_lambda"]
    assert out.dtypes.drop(["mixup_left", "mixup_partner", "mixup_lambda"]).equals(df.dtypes)
    assert out["c"].cat.categories.tolist() == CATEGORIES  # unused category kept, in order
    lam = out["mixup_lambda"]
    for name in ["c", "s", "flag"]:  # the dominant parent's value
        left, partner = _parents(df, out, name)
        assert out[name].equals(left.where(lam >= 0.5, partner).astype(df[name].dtype))
    for name in ["i", "u8", "ni", "t", "t_us", "dt"]:  # between the parents
        left, partner = _parents(df, out, name)
        low, high = np.minimum(left, partner), np.maximum(left, partner)
        assert ((out[name] >= low) & (out[name] <= high)).all(), name
    left, partner = _parents(df, out, "i")
    float_mix = lam * left + (1 - lam) * partner  # the numeric kernel's formula
    assert out["i"].equals(np.clip(np.rint(float_mix), np.minimum(left, partner),
                                   np.maximum(left, partner)).astype(np.int64))  # fmt: skip


def test_times_are_exact_in_their_unit():
    df = mixed_frame(300, seed=6)
    out = mixup(df, seed=2, categorical="dominant", provenance=True)
    lam = out["mixup_lambda"].to_numpy()
    for name in ["t", "t_us", "dt"]:
        left, partner = (s.array.asi8 for s in _parents(df, out, name))
        expected = [
            a + round(Fraction(1.0 - w) * (b - a))
            for a, b, w in zip(left.tolist(), partner.tolist(), lam.tolist(), strict=True)
        ]
        assert out[name].array.asi8.tolist() == expected
        assert out[name].dtype == df[name].dtype  # unit and timezone


def test_sample_takes_the_left_value_with_probability_lambda():
    # Every row's value is its own, so each output row shows which parent it took. Two
    # columns: one draw per row is shared by both. Fixed seed; the share of left values
    # is within 0.02 of the mean lambda (about 6 standard errors at n = 20000) and
    # within 0.05 of each lambda decile's middle (about 4 standard errors).
    n = 20_000
    ids = [f"r{i}" for i in range(n)]
    df = pd.DataFrame({"x": np.arange(n, dtype=float), "a": ids, "b": pd.Categorical(ids)})
    out = mixup(df, alpha=1.0, seed=2024, categorical="sample", provenance=True)
    left, _ = _parents(df, out, "a")
    took_left = (out["a"] == left).to_numpy()
    assert np.array_equal(took_left, (out["b"].astype(str) == left).to_numpy())
    lam = out["mixup_lambda"].to_numpy()
    assert abs(took_left.mean() - lam.mean()) < 0.02
    deciles = np.minimum((lam * 10).astype(int), 9)
    for d in range(10):
        assert abs(took_left[deciles == d].mean() - (d + 0.5) / 10) < 0.05, d


def test_missing_values_propagate_or_are_filled():
    df = mixed_frame(400, seed=7, missing=True)
    for missing in ["propagate", "available"]:
        out = mixup(df, seed=3, categorical="dominant", integers="round", missing=missing,
                    provenance=True)  # fmt: skip
        lam = out["mixup_lambda"]
        for name in ["x", "ni", "t", "dt"]:  # mixed: missing when either (both) parents are
            left, partner = (s.isna().to_numpy() for s in _parents(df, out, name))
            expected = left | partner if missing == "propagate" else left & partner
            assert np.array_equal(out[name].isna().to_numpy(), expected), (missing, name)
        for name in ["c", "s"]:  # chosen: the chosen parent's value, missing or not
            left, partner = _parents(df, out, name)
            if missing == "available":
                left, partner = left.fillna(partner), partner.fillna(left)
            chosen = left.where(lam >= 0.5, partner)
            assert out[name].isna().equals(chosen.isna()), (missing, name)
        assert out["ni"].dtype == "Int64"
    float_out = mixup(df, seed=3, categorical="dominant", missing="propagate")
    assert float_out["ni"].dtype == np.float64  # integers="float": NaN in float output


def test_provenance_with_concat_and_copies(route):
    df = mixed_frame(20, seed=8)
    out = route(lambda d: mixup(d, 0.0, True, 25, seed=4, categorical="sample",
                                provenance=True), df)  # fmt: skip
    own = np.arange(20)
    assert out["mixup_left"][:20].tolist() == own.tolist()
    assert out["mixup_partner"][:20].tolist() == own.tolist()
    assert (out["mixup_lambda"] == 1.0).all()  # alpha=0: copies of the left rows
    copies = out.iloc[20:].reset_index(drop=True)
    expected = df.iloc[copies["mixup_left"].to_numpy()].reset_index(drop=True)
    mixed = copies[df.columns]
    assert_exact(mixed, expected.astype(mixed.dtypes.to_dict()), check_exact=True)


def test_onehot_encodes_like_labels(route):
    df = mixed_frame(40, seed=13, missing=True)
    options = {"seed": 6, "categorical": "onehot", "missing": "propagate", "provenance": True}
    out = route(lambda d: mixup(d, **options), df)
    assert_exact(out, mixup(df, **options), check_exact=True)
    names = [f"c_{c}" for c in CATEGORIES] + ["s_EWR", "s_JFK", "s_LGA"]  # own order; sorted
    assert [c for c in out.columns if c[:2] in ("c_", "s_")] == names
    lam = out["mixup_lambda"].to_numpy()
    for column in ["c", "s"]:
        dummies = pd.get_dummies(df[column], prefix=column, dtype=float)
        dummies[df[column].isna()] = np.nan  # a missing category: missing in every column
        left = dummies.iloc[out["mixup_left"]].to_numpy()
        partner = dummies.iloc[out["mixup_partner"]].to_numpy()
        expected = lam[:, None] * left + (1 - lam[:, None]) * partner
        got = out[dummies.columns].to_numpy()
        assert np.array_equal(got, expected, equal_nan=True)


def test_default_policies_refuse_as_before():
    df = mixed_frame(10)
    with pytest.raises(MixupTypeError, match=r"'c' \(category\), 's' \(string\).*`categorical="):
        mixup(df, seed=0)
    with pytest.raises(NonFiniteError, match=r"'x' \(\d+\).*`missing="):
        mixup(mixed_frame(20, missing=True), seed=0, categorical="dominant")


# --- the exact time formula ------------------------------------------------------------

extreme_ints = st.one_of(
    st.integers(I64.min + 1, I64.max),
    st.integers(-(2**50), 2**50),  # differences below 2**52: the float fast path
    st.integers(-1000, 1000),  # small ones, where halves are frequent
    st.sampled_from([I64.min + 1, I64.max, 0, 1, -1, 2**53, -(2**62)]),
)
weights = st.one_of(
    st.floats(0.0, 1.0),
    st.sampled_from([0.0, 1.0, 0.5, 0.25, 2.0**-60, 5e-324, np.nextafter(1.0, 0.0)]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(extreme_ints, extreme_ints, weights), min_size=1, max_size=20))
def test_mix_times_equals_exact_rational_arithmetic(triples):
    left, right, w = (np.array(v) for v in zip(*triples, strict=True))
    out = mix_times(left.astype(np.int64), right.astype(np.int64), w.astype(np.float64))
    expected = [a + round(Fraction(c) * (b - a)) for a, b, c in triples]  # half to even
    assert out.tolist() == expected
    assert ((out >= np.minimum(left, right)) & (out <= np.maximum(left, right))).all()


def test_long_time_columns_equal_exact_rational_arithmetic():
    # Long columns are mixed in chunks; check a column spanning several of them, with
    # nanosecond differences that need the exact integer path, against Fraction.
    rng = np.random.default_rng(7)
    n = 70_001
    left = rng.integers(-(2**62), 2**62, n)
    right = rng.integers(-(2**62), 2**62, n)
    w = rng.random(n)
    out = mix_times(left, right, w)
    picks = np.r_[0:50, 32_740:32_800, 65_500:65_560, n - 50 : n]
    expected = [
        int(left[i]) + round(Fraction(float(w[i])) * (int(right[i]) - int(left[i]))) for i in picks
    ]
    assert out[picks].tolist() == expected


def test_times_at_the_edges_of_the_remainder_path_equal_exact_rational_arithmetic():
    # Differences below 2**59 and weights of 2**-9 or more take a float estimate and
    # its exact remainder; the others the 117-bit product. Rows on both sides of both
    # edges, in one column so that they share chunks, against Fraction.
    rng = np.random.default_rng(11)
    edges = np.array([2**52, 2**53, 2**59], dtype=np.int64)
    difference = np.repeat(edges, 400) + rng.integers(-64, 64, 1200)
    left = rng.integers(-(2**61), 2**61, 1200)
    right = left + difference * rng.choice([-1, 1], 1200)
    w = np.concatenate(
        [
            rng.random(300),  # any weight
            rng.integers(0, 2**10, 300) / 2**10,  # dyadic: exact halves are frequent
            np.nextafter(2.0**-9, rng.choice([0.0, 1.0], 300)),  # either side of 2**-9
            rng.choice([0.0, 2.0**-9, 1.0, np.nextafter(1.0, 0.0), 5e-324], 300),
        ]
    )
    out = mix_times(left, right, w)
    expected = [
        int(a) + round(Fraction(float(c)) * (int(b) - int(a)))
        for a, b, c in zip(left, right, w, strict=True)
    ]
    assert out.tolist() == expected


def test_nat_is_missing_in_times():
    t = pd.Series(pd.to_datetime([0, 10**9, None, 3 * 10**9]))
    df = pd.DataFrame({"t": t, "x": [0.0, 1.0, 2.0, 3.0]})
    out = mixup(df, seed=0, missing="propagate", provenance=True)
    left, partner = _parents(df, out, "t")
    assert out["t"].isna().equals(left.isna() | partner.isna())
    assert (out["t"].array.asi8[out["t"].isna().to_numpy()] == NAT).all()


def test_labels_with_missing_values_are_refused():
    df = mixed_frame(12).assign(y=[1.0, None] * 6, z=[0.0, 1.0] * 6)
    with pytest.raises(NonFiniteError, match=r"label columns.*'y' \(6\)"):
        mixup(df, seed=0, categorical="dominant", missing="propagate", labels=["y", "z"])
    df = mixed_frame(12).assign(y=["a", None] * 6)
    with pytest.raises(NonFiniteError, match=r"label column 'y' has missing values \(6\)"):
        mixup(df, seed=0, categorical="dominant", missing="propagate", labels="y")


def test_provenance_names_must_be_free():
    df = mixed_frame(6).assign(mixup_lambda=1.0)
    with pytest.raises(MixupError, match=r"'mixup_lambda'.*rename"):
        mixup(df, seed=0, categorical="dominant", provenance=True)


def test_irregular_partitions_with_every_policy_and_missing_values():
    df = mixed_frame(37, seed=9, missing=True)
    options = {"seed": 5, "categorical": "sample", "integers": "round", "missing": "available",
               "provenance": True, "concat": True, "batch_size": 50}  # fmt: skip
    out = mixup(split_frame(df, irregular_lengths(len(df))), **options)
    assert_exact(out.compute(scheduler="threads"), mixup(df, **options), check_exact=True)


# --- Parquet and the CLI ---------------------------------------------------------------

PARQUET_POLICIES = [
    {"categorical": "dominant", "integers": "round", "missing": "propagate"},
    {"categorical": "sample", "integers": "float", "missing": "available", "provenance": True,
     "concat": True, "batch_size": 70},
]  # fmt: skip


def _write_files(df: pd.DataFrame, path) -> None:
    path.mkdir()
    for i, part in enumerate(np.array_split(np.arange(len(df)), 3)):
        df.iloc[part].to_parquet(path / f"{i}.parquet", row_group_size=7)


@pytest.mark.parametrize("options", PARQUET_POLICIES)
def test_parquet_keeps_the_schema_and_the_bits(tmp_path, options):
    from mixupy_dask import augment_parquet

    df = mixed_frame(60, seed=11, missing=True)
    _write_files(df, tmp_path / "src")
    augment_parquet(tmp_path / "src", tmp_path / "dst", seed=9, blocksize=1, **options)
    out = pd.read_parquet(tmp_path / "dst")
    assert_exact(out, mixup(df, seed=9, **options), check_exact=True)
    assert_exact(out, mixup(pd.read_parquet(tmp_path / "src"), seed=9, **options),
                 check_exact=True)  # fmt: skip
    import pyarrow.parquet as pq

    schema = pq.read_schema(next((tmp_path / "dst").glob("*.parquet")))
    assert str(schema.field("c").type) == "dictionary<values=string, indices=int8, ordered=0>"
    unit = df["t"].dtype.unit
    assert str(schema.field("t").type) == f"timestamp[{unit}, tz=America/New_York]"
    assert str(schema.field("t_us").type) == "timestamp[us]"
    assert str(schema.field("s").type) in ("string", "large_string")
    assert out["c"].cat.categories.tolist() == CATEGORIES
    assert out["ni"].dtype == ("Int64" if options["integers"] == "round" else np.float64)


@pytest.mark.slow
def test_cli_takes_every_policy(tmp_path):
    from .helpers import run_cli

    df = mixed_frame(40, seed=12, missing=True)
    _write_files(df, tmp_path / "src")
    result = run_cli(
        "augment", tmp_path / "src", tmp_path / "dst", "--seed", 3, "--categorical", "sample",
        "--integers", "round", "--missing", "available", "--provenance", "--workers", 1,
        "--threads-per-worker", 1, "--quiet", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    expected = mixup(df, seed=3, categorical="sample", integers="round", missing="available",
                     provenance=True)  # fmt: skip
    assert_exact(pd.read_parquet(tmp_path / "dst"), expected, check_exact=True)


def test_accessors_take_the_policies():
    df = mixed_frame(12, seed=14)
    options = {"seed": 7, "categorical": "sample", "integers": "round", "provenance": True}
    expected = mixup(df, **options)
    assert_exact(df.mixup(**options), expected, check_exact=True)
    lazy = split_frame(df, [5, 0, 7]).mixup(**options)
    assert_exact(lazy.compute(scheduler="threads"), expected, check_exact=True)


@pytest.mark.parametrize("categorical", ["dominant", "sample"])
def test_unknown_categories_on_dask_are_found(categorical):
    """A categorical feature whose categories dask has not read (as ``dd.read_parquet``
    leaves them) takes those computing the frame gives: the partitions' united in
    partition order, empty partitions left out (Dask drops them before concatenating),
    unused categories kept. Found in the one counting pass, on every policy."""
    df = mixed_frame(12)
    lengths = [0, 5, 0, 7, 0]
    cuts = np.cumsum([0, *lengths])
    # Each partition its own categories: some of them, in its own order, an unused one,
    # and the empty partitions categories no row has (left out of the result).
    own = [["gone"], ["b", "z", "a"], ["also gone"], ["a", "z", "b", "unused"], ["late"]]
    parts = [
        dask.delayed(df.iloc[a:b].assign(c=df["c"].iloc[a:b].cat.set_categories(cats)))
        for a, b, cats in zip(cuts[:-1], cuts[1:], own, strict=True)
    ]
    data = dd.from_delayed(parts, meta=df.iloc[:0], verify_meta=False)
    data["c"] = data["c"].cat.as_unknown()
    assert not data["c"].cat.known
    computed = data.compute(scheduler="threads")
    assert list(computed["c"].cat.categories) == ["b", "z", "a", "unused"]
    for options in [
        {"seed": 0, "categorical": categorical},
        {"seed": 1, "categorical": categorical, "concat": True, "provenance": True,
         "integers": "round", "batch_size": 30, "labels": "flag", "within_class": True},
    ]:  # fmt: skip
        out = mixup(data, **options)
        assert out["c"].dtype == computed["c"].dtype  # the meta is exact
        expected = mixup(computed, **options)
        assert_exact(out.compute(scheduler="threads"), expected, check_exact=True)


def test_partitions_with_values_outside_the_dtype_are_refused():
    """A partition holding a value outside the column's categories (a meta that lies)
    is refused by name, not mixed with that value made missing; categories a partition
    has but no row uses are fine."""
    df = mixed_frame(12)
    second = df.iloc[6:].assign(c=df["c"].iloc[6:].cat.add_categories(["new", "spare"]))
    second.loc[second.index[2], "c"] = "new"
    data = dd.from_delayed(
        [dask.delayed(df.iloc[:6]), dask.delayed(second)], meta=df.iloc[:0], verify_meta=False
    )
    with pytest.raises(MixupError, match=r"column 'c' has values \['new'\] in one part.*not among"):
        mixup(data, seed=0, categorical="dominant").compute(scheduler="threads")
    second.loc[second.index[2], "c"] = "a"  # "new" and "spare" unused: recoded by value
    data = dd.from_delayed(
        [dask.delayed(df.iloc[:6]), dask.delayed(second)], meta=df.iloc[:0], verify_meta=False
    )
    expected = mixup(pd.concat([df.iloc[:6], second.astype({"c": df["c"].dtype})]),
                     seed=0, categorical="dominant")  # fmt: skip
    out = mixup(data, seed=0, categorical="dominant").compute(scheduler="threads")
    assert_exact(out, expected, check_exact=True)


@pytest.mark.parametrize("missing", ["propagate", "available"])
@pytest.mark.parametrize("categorical", ["dominant", "sample"])
def test_alpha_zero_copies_the_rows_missing_values_included(route, missing, categorical):
    """``alpha=0`` (every ``lam`` 1) gives the input back, missing values as they were:
    a partner of weight 0 neither blanks a value ("propagate": ``0 * NaN`` is NaN) nor
    fills one ("available")."""
    df = mixed_frame(60, seed=12, missing=True)
    options = dict(seed=5, categorical=categorical, integers="round", missing=missing)
    out = route(lambda d: mixup(d, 0.0, **options), df)
    assert_exact(out, df, check_exact=True)


@pytest.mark.parametrize("missing", ["propagate", "available"])
def test_a_weight_of_exactly_zero_takes_no_part(route, missing):
    """Small ``alpha`` gives many ``lam`` of exactly 1: those rows are their left rows,
    bit for bit and missing values included, on every route; the other rows follow
    the policy."""
    df = mixed_frame(400, seed=7, missing=True)
    options = dict(seed=3, categorical="dominant", integers="round", missing=missing,
                   provenance=True)  # fmt: skip
    out = route(lambda d: mixup(d, 0.01, **options), df)
    lam = out["mixup_lambda"].to_numpy()
    whole = lam == 1
    assert 0 < whole.sum() < len(out)
    copies = out[df.columns][whole].reset_index(drop=True)
    lefts = df.iloc[out["mixup_left"].to_numpy()[whole]].reset_index(drop=True)
    assert_exact(copies, lefts, check_exact=True)
    left, partner = (s.isna().to_numpy() for s in _parents(df, out, "x"))
    either = left | partner if missing == "propagate" else left & partner
    assert np.array_equal(out["x"].isna().to_numpy(), np.where(whole, left, either))


def test_a_weight_of_exactly_zero_in_the_kernel():
    """``mix_rows`` with ``lam`` of 0, 1 and 1/2: the rows of weight 0 and 1 are the
    partner's and the left row's, NaN and NaT included; under "available" the row of
    1/2 takes the present value; float32 blocks judge the weight in float32."""
    from mixupy_dask._kernel.kinds import Policy
    from mixupy_dask._kernel.layout import Layout
    from mixupy_dask._kernel.mix import mix_rows
    from mixupy_dask._kernel.rows import from_rows, to_rows

    t = pd.Timestamp("2020-01-01")
    left = pd.DataFrame(
        {
            "x": [np.nan, 1.0, np.nan, 2.0],
            "f": np.float32([np.nan, 1, 1, 2]),
            "t": [pd.NaT, t, pd.NaT, t],
            "s": pd.array([None, "a", None, "b"]),
        }
    )
    right = pd.DataFrame(
        {
            "x": [5.0, np.nan, 7.0, 3.0],
            "f": np.float32([5, np.nan, 7, np.nan]),
            "t": [t, pd.NaT, t, t],
            "s": pd.array(["p", None, "q", "r"]),
        }
    )
    lam = np.array([0.0, 1.0, 0.5, 1 - 2.0**-40])  # the last: 1 in float32, not in float64
    for missing in ["propagate", "available"]:
        policy = Policy("dominant", "float", missing)
        layout = Layout.from_dtypes(left.dtypes, [], policy)
        partners = to_rows(right, layout).take(np.arange(4))  # a fresh gather, as routes pass
        rows = mix_rows(to_rows(left, layout), partners, lam, layout)
        out = from_rows(rows, layout, pd.RangeIndex(4))
        expected = pd.concat([right.iloc[[0]], left.iloc[[1]]])
        assert_exact(out.iloc[:2], expected.reset_index(drop=True), check_exact=True)
        assert out["f"][3] == np.float32(2)  # lam rounds to 1 in float32: the left value
        half = out.iloc[2]
        if missing == "propagate":
            assert half.isna()[["x", "t", "s"]].all()
        else:
            assert half[["x", "t", "s"]].tolist() == [7.0, t, "q"]

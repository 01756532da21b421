"""Series mixup: route equality, Dirichlet weights, time order, scaling, labels, errors.

Statistical tests use fixed seeds; their significance level is ``P_MIN`` and every
moment check is a stated number of standard errors.
"""

from __future__ import annotations

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats

from mixupy_dask import (
    MixupError,
    MixupTypeError,
    NonFiniteError,
    augment_series_parquet,
    mixup_series,
)
from mixupy_dask._core.validation import MAX_K

from .helpers import HANG_GUARD, irregular_lengths, split_frame

assert_exact = pd.testing.assert_frame_equal
P_MIN = 1e-3  # significance level of the fixed-seed tests below


def _long(lengths, seed: int = 0, shuffle: bool = True) -> pd.DataFrame:
    """Long-format series ``s0, s1, ...`` of the given lengths, rows in random order."""
    rng = np.random.default_rng(seed)
    ids = np.repeat([f"s{i}" for i in range(len(lengths))], lengths)
    n = len(ids)
    steps = np.concatenate([np.arange(length) for length in lengths])
    df = pd.DataFrame(
        {
            "value": rng.normal(size=n) * 10,
            "id": ids,
            # irregular, per-series times: only their order matters
            "t": steps * 3 + rng.integers(0, 3, n),
            "f32": rng.random(n).astype(np.float32),
            "count": rng.integers(-5, 5, n),
            "flag": rng.random(n) > 0.5,
            "label": np.repeat(np.arange(len(lengths)) % 2, lengths).astype(float),
        }
    )
    return df.sample(frac=1.0, random_state=seed).reset_index(drop=True) if shuffle else df


def _indicators(lengths) -> pd.DataFrame:
    """Series ``i`` is constant, one-hot of ``i`` on columns ``e0, e1, ...``."""
    frames = [
        pd.DataFrame(
            {"id": i, "t": np.arange(length)}
            | {f"e{j}": float(i == j) for j in range(len(lengths))}
        )
        for i, length in enumerate(lengths)
    ]
    return pd.concat(frames, ignore_index=True)


def _weights_by_series(out: pd.DataFrame, n_series: int) -> np.ndarray:
    """(output series, input series) weights read off the first step of each."""
    first = out[out["t"] == 0].sort_values("id")
    return first[[f"e{j}" for j in range(n_series)]].to_numpy()


# ----------------------------------------------------------------- route equality


@st.composite
def series_cases(draw):
    """Series of random lengths, rows shuffled, cut into 1..5 partitions (empties allowed)."""
    lengths = draw(st.lists(st.integers(1, 8), min_size=1, max_size=7))
    df = _long(lengths, seed=draw(st.integers(0, 1000)))
    columns = draw(st.sets(st.sampled_from(["value", "f32", "count", "flag"]), min_size=1))
    with_label = draw(st.booleans())
    df = df[["id", "t", *sorted(columns), *(["label"] if with_label else [])]]
    parts = draw(st.integers(1, 5))
    cuts = sorted(draw(st.lists(st.integers(0, len(df)), min_size=parts - 1, max_size=parts - 1)))
    options = {
        "k": draw(st.integers(1, min(len(lengths), 4))),
        "alpha": draw(st.sampled_from([0.05, 0.5, 1.5, 10.0])),
        "batch_size": draw(st.one_of(st.none(), st.integers(1, 30))),
        "scale": draw(st.sampled_from(["mean", None])),
        "seed": draw(st.integers(0, 2**32)),
        "labels": "label" if with_label else None,
    }
    return df, np.diff([0, *cuts, len(df)]).tolist(), options


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=series_cases())
def test_dask_equals_pandas_for_any_partitioning(case):
    df, lengths, options = case
    expected = mixup_series(df, series="id", time="t", **options)
    lazy = mixup_series(split_frame(df, lengths), series="id", time="t", **options)
    assert isinstance(lazy, dd.DataFrame)
    assert_exact(lazy.compute(scheduler="sync"), expected, check_exact=True)


def test_selected_partitions_hold_their_own_rows():
    """``partitions[q]`` and ``tail``: Dask renumbers the tasks it keeps from 0."""
    df = _long([5, 8, 3, 6, 7, 4], seed=2)
    expected = mixup_series(df, series="id", time="t", seed=3)
    lazy = mixup_series(split_frame(df, [10, 0, 13, 10]), series="id", time="t", seed=3)
    parts = [lazy.partitions[q].compute(scheduler="sync") for q in range(lazy.npartitions)]
    assert lazy.npartitions > 1
    assert_exact(pd.concat(parts), expected, check_exact=True)
    assert_exact(lazy.tail(5, compute=False).compute(), expected.tail(5), check_exact=True)


@pytest.mark.parametrize("batch_size", [None, 3, 40])
def test_every_route_equals_pandas(route, batch_size):
    df = _long([5, 9, 1, 12, 7, 7], seed=4)
    options = {"k": 3, "alpha": 0.8, "batch_size": batch_size, "seed": 21, "labels": "label"}
    expected = mixup_series(df, series="id", time="t", **options)
    out = route(lambda d: mixup_series(d, series="id", time="t", **options), df)
    assert_exact(out, expected, check_exact=True)


def test_output_is_long_format_with_new_ids_and_steps():
    df = _long([4, 6, 5])
    out = mixup_series(df, series="id", time="t", k=2, batch_size=5, seed=0, labels="label")
    assert list(out.columns) == ["id", "t", "value", "f32", "count", "flag", "label"]
    assert out["id"].dtype == np.int64
    assert out["t"].dtype == np.int64
    assert out["f32"].dtype == np.float32
    assert (out[["value", "count", "flag", "label"]].dtypes == np.float64).all()
    assert out.index.equals(pd.RangeIndex(len(out)))
    assert out["id"].unique().tolist() == list(range(5))
    for _, group in out.groupby("id"):
        assert group["t"].tolist() == list(range(len(group)))


def test_dask_graph_has_exactly_one_shuffle_and_several_output_partitions():
    df = _long([30] * 40, shuffle=True)
    out = mixup_series(dd.from_pandas(df, npartitions=4), series="id", time="t", seed=1)
    names = [type(e).__name__ for e in out.expr.optimize().walk()]
    assert len([n for n in names if n.endswith("Shuffle")]) == 1, names
    assert out.npartitions > 1


def test_draws_of_an_output_series_do_not_depend_on_batch_size():
    df = _long([6, 8, 7, 9], shuffle=False)
    big = mixup_series(df, series="id", time="t", batch_size=2100, seed=8)
    small = mixup_series(df, series="id", time="t", batch_size=7, seed=8)
    assert_exact(big.iloc[: len(small)], small, check_exact=True)
    assert not mixup_series(df, series="id", time="t", seed=9).equals(small.iloc[:0])


def test_seed_forms_and_lazy_recompute():
    df = _long([6, 8, 7, 9])
    a = mixup_series(df, series="id", time="t", seed=(3, 1))
    assert_exact(a, mixup_series(df, series="id", time="t", seed=(3, 1)), check_exact=True)
    assert not a.equals(mixup_series(df, series="id", time="t", seed=(3, 2)))
    lazy = mixup_series(dd.from_pandas(df, npartitions=3), series="id", time="t")  # seed drawn now
    assert_exact(lazy.compute(scheduler="sync"), lazy.compute(scheduler="threads"))


def test_the_input_index_is_ignored():
    df = _long([4, 6, 5])
    odd = df.set_axis(pd.Index(["x"] * len(df)))  # duplicated string labels
    options = {"series": "id", "time": "t", "seed": 2}
    assert_exact(mixup_series(odd, **options), mixup_series(df, **options), check_exact=True)


def test_does_not_modify_its_input():
    df = _long([3, 4, 5])
    before = df.copy()
    mixup_series(df, series="id", time="t", seed=1)
    mixup_series(dd.from_pandas(df, npartitions=2), series="id", time="t", seed=1).compute()
    assert_exact(df, before, check_exact=True)


# ----------------------------------------------------------------- weights


@pytest.mark.parametrize(("k", "alpha"), [(2, 0.4), (2, 1.5), (3, 0.7), (5, 4.0)])
def test_weights_are_dirichlet(k, alpha):
    n_series, m = 6, 4000
    out = mixup_series(
        _indicators([3] * n_series), series="id", time="t", k=k, alpha=alpha, batch_size=m, seed=k
    )
    w = _weights_by_series(out, n_series)
    assert np.allclose(w.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    assert ((w >= 0) & (w <= 1)).all()
    assert ((w > 0).sum(axis=1) <= k).all()
    # The weight of the lowest-numbered chosen series: any fixed rule for picking one
    # of the k exchangeable weights gives the Beta(alpha, (k-1)alpha) marginal.
    chosen = w > 0
    first = w[np.arange(m), chosen.argmax(axis=1)]
    a, b = alpha, (k - 1) * alpha
    assert stats.kstest(first, stats.beta(a, b).cdf).pvalue > P_MIN
    # Moments: mean 1/k, variance (k-1) / (k^2 (k alpha + 1)); 4 standard errors.
    var = (k - 1) / (k**2 * (k * alpha + 1))
    assert abs(first.mean() - 1 / k) < 4 * np.sqrt(var / m)
    assert abs(first.var() - var) < 4 * var * np.sqrt(2 / (m - 1)) * 2  # loose: non-normal
    # Series are chosen uniformly: each is in a given output series with prob k/S.
    freq = (w > 0).sum(axis=0)
    assert stats.chisquare(freq).pvalue > P_MIN


def test_k_distinct_series_per_output_series():
    n_series, k = 5, 5  # k = S: every output series uses every series exactly once
    out = mixup_series(
        _indicators([2] * n_series), series="id", time="t", k=k, alpha=50.0, batch_size=300, seed=0
    )
    w = _weights_by_series(out, n_series)
    assert (w > 0).all()
    assert np.allclose(w.sum(axis=1), 1.0, rtol=0, atol=1e-12)


def test_k1_scale_none_copies_one_series_in_time_order():
    df = _long([5, 9, 3, 7])
    out = mixup_series(df, series="id", time="t", k=1, batch_size=20, scale=None, seed=3)
    originals = {
        tuple(g.sort_values("t")["value"]): len(g) for _, g in df.groupby("id")
    }  # each series' values in time order
    for _, group in out.groupby("id"):
        assert tuple(group["value"]) in originals


def test_time_order_is_preserved_and_length_is_the_shortest():
    lengths = [4, 10, 7, 2, 9, 6]
    df = _indicators(lengths)
    df["trend"] = df["t"] * 2.0 + df["id"] + 1.0  # increasing in time in every series
    df = df.sample(frac=1.0, random_state=1)
    out = mixup_series(df, series="id", time="t", k=3, batch_size=200, scale=None, seed=5)
    w = _weights_by_series(out, len(lengths))
    expected_lengths = [min(np.asarray(lengths)[row > 0]) for row in w]
    assert out.groupby("id").size().tolist() == expected_lengths
    for _, group in out.groupby("id"):
        assert (np.diff(group["trend"].to_numpy()) > 0).all()


def test_datetime_time_orders_like_its_integer_steps():
    df = _long([5, 6, 4], seed=2)
    as_dates = df.assign(t=pd.Timestamp("2024-01-01") + pd.to_timedelta(df["t"], unit="D"))
    assert_exact(
        mixup_series(as_dates, series="id", time="t", seed=2),
        mixup_series(df, series="id", time="t", seed=2),
        check_exact=True,
    )


@pytest.mark.parametrize("lazy", [False, True])
def test_only_the_order_of_times_within_a_series_matters(lazy):
    df = _long([5, 6, 4, 8], seed=5)
    offsets = df["id"].map({"s0": 0, "s1": -(2**62), "s2": 2**62, "s3": 7})
    variants = [
        df.assign(t=df["t"] * 0.5 - 3.25),  # float times
        df.assign(t=df["t"] * 1000 + offsets),  # spans too wide for one sort key
        df.assign(t=df["t"] * 86_400),  # a common step
    ]
    expected = mixup_series(df, series="id", time="t", k=2, seed=3)
    for variant in variants:
        data = dd.from_pandas(variant, npartitions=3) if lazy else variant
        out = mixup_series(data, series="id", time="t", k=2, seed=3)
        assert_exact(out.compute() if lazy else out, expected, check_exact=True)


# ----------------------------------------------------------------- scaling and labels


def test_mean_scaling_ignores_the_magnitude_of_each_series():
    df = _long([6, 8, 5, 7], seed=3)[["id", "t", "value"]]
    # Powers of two scale exactly, so the scaled series are bit-identical.
    factors = df["id"].map({"s0": 1.0, "s1": 2.0**10, "s2": 2.0**-7, "s3": 4.0})
    scaled = df.assign(value=df["value"] * factors)
    options = {"series": "id", "time": "t", "k": 3, "batch_size": 30, "seed": 6}
    assert_exact(mixup_series(scaled, **options), mixup_series(df, **options), check_exact=True)
    raw = mixup_series(scaled, **options, scale=None)
    assert not raw.equals(mixup_series(df, **options, scale=None))


def test_mean_scaling_divides_by_mean_absolute_value():
    df = pd.DataFrame({"id": [0, 0, 1, 1], "t": [0, 1, 0, 1], "x": [2.0, -6.0, 0.0, 0.0]})
    out = mixup_series(df, series="id", time="t", k=1, batch_size=30, seed=0)
    for _, group in out.groupby("id"):
        # series 0 has mean |x| = 4; all-zero series 1 keeps scale 1 and stays zero
        assert group["x"].tolist() in ([0.5, -1.5], [0.0, 0.0])
    assert {tuple(g["x"]) for _, g in out.groupby("id")} == {(0.5, -1.5), (0.0, 0.0)}


def test_labels_mix_with_the_same_weights_and_are_not_scaled():
    df = _indicators([4, 5, 6])
    for j in range(3):  # one-hot class labels, big values on e* so scaling would show
        df[f"y{j}"] = df[f"e{j}"]
        df[f"e{j}"] *= 100.0
    labels = ["y0", "y1", "y2"]
    out = mixup_series(df, series="id", time="t", k=2, batch_size=100, seed=2, labels=labels)
    w = _weights_by_series(out, 3)  # e* were scaled back to one-hot by their mean
    first = out[out["t"] == 0].sort_values("id")
    assert np.allclose(first[labels].to_numpy(), w, rtol=0, atol=1e-12)
    assert np.allclose(out[labels].sum(axis=1), 1.0, rtol=0, atol=1e-12)
    per_series = out.groupby("id")[labels]
    assert (per_series.max() == per_series.min()).all().all()  # constant per series


# ----------------------------------------------------------------- errors


def _good() -> pd.DataFrame:
    return _long([3, 4, 5], shuffle=False)[["id", "t", "value", "label"]]


def _with(**changes) -> pd.DataFrame:
    return _good().assign(**changes)


ERRORS = [
    (MixupError, r"`series` must name a column of `data`; 'nope'", {"series": "nope"}),
    (MixupError, r"`time` must name a column of `data`; 'nope'", {"time": "nope"}),
    (MixupError, r"`series` and `time` must be different", {"time": "id"}),
    (MixupError, r"`labels` must name columns of `data`; not found: 'z'", {"labels": ["z"]}),
    (MixupError, r"`labels` cannot include the series or time column: 't'", {"labels": "t"}),
    (MixupTypeError, r"`alpha` must be a finite real number > 0", {"alpha": "1"}),
    (MixupError, r"`alpha` must be a finite real number > 0 \(the Dirichlet", {"alpha": 0}),
    (MixupError, r"`alpha` must be a finite real number > 0 \(the Dirichlet", {"alpha": -1.0}),
    (
        MixupError,
        r"`alpha` must be a finite real number > 0 \(the Dirichlet",
        {"alpha": float("inf")},
    ),
    (MixupTypeError, r"`k` must be an int", {"k": 2.0}),
    (MixupTypeError, r"`k` must be an int", {"k": True}),
    (MixupError, r"`k` must be an int between 1 and 16, got 0", {"k": 0}),
    (MixupError, rf"`k` must be an int between 1 and {MAX_K}, got 17", {"k": MAX_K + 1}),
    (MixupError, r"`k` \(4\) must not exceed the number of series in `data` \(3\)", {"k": 4}),
    (MixupError, r"`scale` must be 'mean' or None, got 'max'", {"scale": "max"}),
    (
        MixupTypeError,
        r"`batch_size` must be None or an int between 1 and 2\*\*53 - 1, not",
        {"batch_size": 1.5},
    ),
    (
        MixupError,
        r"`batch_size` must be None or an int between 1 and 2\*\*53 - 1, got 0",
        {"batch_size": 0},
    ),
    (MixupTypeError, r"`seed` must be None", {"seed": "x"}),
]


@pytest.mark.parametrize("lazy", [False, True])
@pytest.mark.parametrize(("exc", "match", "kwargs"), ERRORS)
def test_bad_parameters(exc, match, kwargs, lazy):
    df = _good()
    data = dd.from_pandas(df, npartitions=2) if lazy else df
    with pytest.raises(exc, match=match):
        mixup_series(data, **({"series": "id", "time": "t"} | kwargs))


BAD_FRAMES = [
    (MixupTypeError, r"not so: 'word' \((str|string|object)\)", lambda: _with(word="a")),
    (MixupTypeError, r"`time` column 't' must be integer, float, datetime", lambda: _with(t="x")),
    (MixupError, r"`series` column 'id' has 5 missing ids", lambda: _good().replace("s2", None)),
    (
        MixupError,
        r"`time` column 't' has 2 missing values",
        lambda: _with(t=[np.nan, np.nan, *range(10)]),
    ),
    (
        MixupError,
        r"series must have at least one row; length 0: 'unused'",
        lambda: _with(id=pd.Categorical(_good()["id"], categories=["s0", "s1", "s2", "unused"])),
    ),
    (
        MixupError,
        r"`labels` columns \['label'\] must be constant within each series; .* 's1'",
        lambda: _with(label=np.arange(12.0)),
    ),
    (MixupError, r"no value columns", lambda: _good()[["id", "t"]]),
    (
        MixupError,
        r"column names must be unique",
        lambda: _good().set_axis(["id", "t", "label", "label"], axis=1),
    ),
]


@pytest.mark.parametrize(("exc", "match", "make"), BAD_FRAMES)
def test_bad_frames(exc, match, make):
    with pytest.raises(exc, match=match):
        mixup_series(make(), series="id", time="t", labels="label")


@pytest.mark.parametrize(("exc", "match", "make"), BAD_FRAMES)
def test_bad_frames_dask(exc, match, make):
    data = dd.from_pandas(make(), npartitions=2)
    with pytest.raises(exc, match=match):
        mixup_series(data, series="id", time="t", labels="label").compute(scheduler="sync")


def test_series_ids_must_sort():
    # pandas only: dask turns mixed object columns into strings, which sort.
    mixed = _with(id=np.array(["a", 1, "b", 2] * 3, dtype=object))
    with pytest.raises(MixupTypeError, match=r"`series` column 'id' must hold ids of one sortable"):
        mixup_series(mixed, series="id", time="t")


def test_duplicate_time_steps_are_named():
    df = _with(t=[0, 1, 1, 0, 1, 2, 3, 0, 1, 2, 3, 3])
    with pytest.raises(MixupError, match=r"\(series, time\) pair must appear once; .* 's0', 's2'"):
        mixup_series(df, series="id", time="t")
    lazy = mixup_series(dd.from_pandas(df, npartitions=3), series="id", time="t", k=3)
    with pytest.raises(MixupError, match=r"`time` column 't' repeats within series"):
        lazy.compute(scheduler="sync")  # on dask: found by the task that mixes them


def test_non_finite_values_are_named():
    df = _with(value=[np.nan, *range(10), np.inf])
    with pytest.raises(NonFiniteError, match=r"'value' \(2\)"):
        mixup_series(df, series="id", time="t")
    lazy = mixup_series(dd.from_pandas(df, npartitions=3), series="id", time="t")
    with pytest.raises(NonFiniteError, match=r"'value' \(1\)"):  # counted per partition
        lazy.compute(scheduler="sync")


@pytest.mark.parametrize("lazy", [False, True])
def test_missing_labels_are_non_finite_not_varying(lazy):
    df = _with(label=[np.nan] * 3 + [1.0] * 9)  # series s0 has no label at all
    data = dd.from_pandas(df, npartitions=2) if lazy else df
    out = None if not lazy else mixup_series(data, series="id", time="t", labels="label")
    with pytest.raises(NonFiniteError, match=r"'label' \(\d\)"):
        out.compute() if lazy else mixup_series(data, series="id", time="t", labels="label")


@pytest.mark.parametrize("data", [None, [1, 2], np.zeros((3, 3))])
def test_data_must_be_a_frame(data):
    accepted = r"`data` must be a pandas DataFrame, polars DataFrame, pyarrow Table or dask"
    with pytest.raises(MixupTypeError, match=accepted):
        mixup_series(data, series="id", time="t")


# ----------------------------------------------------------------- Parquet


def test_augment_series_parquet_writes_what_the_pandas_route_computes(tmp_path):
    df = _long([20, 35, 5, 17, 40], seed=7)
    src = tmp_path / "src"
    dd.from_pandas(df, npartitions=3, sort=False).to_parquet(src, write_index=False)
    options = {"series": "id", "time": "t", "k": 2, "alpha": 0.5, "seed": 4, "labels": "label"}
    with dask.config.set(scheduler="threads"):
        summary = augment_series_parquet(str(src), str(tmp_path / "dst"), batch_size=12, **options)
    expected = mixup_series(df, batch_size=12, **options)
    assert (summary.rows_in, summary.rows_out, summary.seed) == (len(df), len(expected), 4)
    assert_exact(pd.read_parquet(tmp_path / "dst"), expected, check_exact=True)
    with pytest.raises(MixupError, match=r"`dst` already exists"):
        augment_series_parquet(str(src), str(tmp_path / "dst"), **options)
    augment_series_parquet(str(src), str(tmp_path / "dst"), overwrite=True, batch_size=3, **options)
    assert pd.read_parquet(tmp_path / "dst")["id"].nunique() == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dst", "src"]  # no temporaries left


def test_augment_series_parquet_keeps_pandas_default_strings(tmp_path):
    """A string column as pandas 3 reads it (``str``, NaN missing) comes out ``str``, as
    ``mixup_series(pd.read_parquet(src))`` gives it, not Dask's ``string``."""
    df = pd.DataFrame({"id": np.repeat(np.arange(6), 4), "t": np.tile(np.arange(4), 6),
                       "y": np.arange(24.0),
                       "kind": np.repeat(["a", "b", None, "c", "b", "a"], 4)})  # fmt: skip
    assert df["kind"].dtype == pd.StringDtype("pyarrow", na_value=np.nan)
    df.to_parquet(tmp_path / "src.parquet", row_group_size=8)
    options = {"series": "id", "time": "t", "seed": 1, "categorical": "dominant", "batch_size": 5}
    augment_series_parquet(str(tmp_path / "src.parquet"), str(tmp_path / "dst"), blocksize=1,
                           **options)  # fmt: skip
    expected = mixup_series(pd.read_parquet(tmp_path / "src.parquet"), **options)
    assert expected["kind"].dtype == df["kind"].dtype
    assert_exact(pd.read_parquet(tmp_path / "dst"), expected, check_exact=True)


def test_augment_series_parquet_on_a_real_cluster(tmp_path, cluster_client):
    df = _long([9, 14, 3, 11], seed=2)
    df.to_parquet(tmp_path / "src.parquet", row_group_size=7)  # series split over row groups
    options = {"series": "id", "time": "t", "k": 3, "seed": 1}
    calls = []
    augment_series_parquet(
        str(tmp_path / "src.parquet"),
        str(tmp_path / "dst"),
        client=cluster_client,
        progress=calls.append,
        blocksize=1,  # one row group per partition
        **options,
    )
    expected = mixup_series(df, **options)
    assert_exact(pd.read_parquet(tmp_path / "dst"), expected, check_exact=True)
    assert len(calls) == 2  # the counting pass and the write


def test_parquet_options_and_columns_are_checked_before_reading_data(tmp_path):
    _good().to_parquet(tmp_path / "src.parquet")
    src, dst = str(tmp_path / "src.parquet"), str(tmp_path / "dst")
    with pytest.raises(MixupError, match=r"`time` must name a column of `data`; 'when'"):
        augment_series_parquet(src, dst, series="id", time="when")
    with pytest.raises(MixupError, match=r"`k` must be an int between 1 and 16"):
        augment_series_parquet(src, dst, series="id", time="t", k=0)
    with pytest.raises(MixupError, match=r"`src` does not exist"):
        augment_series_parquet(str(tmp_path / "nope"), dst, series="id", time="t")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["src.parquet"]


def test_failed_parquet_run_leaves_no_destination(tmp_path):
    df = _with(value=[np.nan, *range(11)])
    df.to_parquet(tmp_path / "src.parquet")
    with pytest.raises(NonFiniteError):
        augment_series_parquet(
            str(tmp_path / "src.parquet"), str(tmp_path / "dst"), series="id", time="t"
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["src.parquet"]


# ----------------------------------------------------------------- notebook


@pytest.mark.slow
def test_cli_augment_series_equals_the_pandas_route(tmp_path):
    import subprocess
    import sys

    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {
            "sid": np.repeat(np.arange(12), 20),
            "t": np.tile(np.arange(20), 12),
            "v": rng.normal(size=240),
        }
    ).sample(frac=1, random_state=1)
    df.to_parquet(tmp_path / "ts.parquet")
    cli = [sys.executable, "-m", "mixupy_dask.cli", "augment-series", "ts.parquet"]
    options = ["--series", "sid", "--time", "t", "--k", "3", "--seed", "7", "--workers", "1"]
    done = subprocess.run(
        [*cli, "out", *options, "--quiet"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=HANG_GUARD,
    )
    assert done.returncode == 0, done.stderr
    expected = mixup_series(df, series="sid", time="t", k=3, seed=7)
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "out").reset_index(drop=True),
        expected.reset_index(drop=True),
        check_exact=True,
    )
    refused = subprocess.run(
        [*cli, "out2", *options, "--k", "99"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=HANG_GUARD,
    )
    assert refused.returncode == 2
    assert "--k" in refused.stderr
    assert not (tmp_path / "out2").exists()


def _sensors(n_series: int = 9, steps: int = 12) -> pd.DataFrame:
    """Sensors of three types, in scrambled row order; the type is constant per series."""
    rng = np.random.default_rng(4)
    ids = np.repeat([f"s{i}" for i in range(n_series)], steps)
    kinds = {f"s{i}": ["temp", "hum", "wind"][i % 3] for i in range(n_series)}
    df = pd.DataFrame(
        {
            "id": ids,
            "t": np.tile(np.arange(steps), n_series),
            "kind": pd.Categorical(
                [kinds[i] for i in ids], categories=["wind", "temp", "hum", "x"]
            ),
            "y": rng.normal(size=len(ids)),
            "site": pd.array([kinds[i] + "-1" for i in ids], dtype="string[pyarrow]"),
        }
    )
    return df.sample(frac=1.0, random_state=2).reset_index(drop=True)


def test_categorical_dominant_takes_the_heaviest_series_value(tmp_path):
    df = _sensors()
    options = {"series": "id", "time": "t", "k": 3, "batch_size": 7, "seed": 3,
               "categorical": "dominant"}  # fmt: skip
    out = mixup_series(df, **options)
    assert out.columns.tolist() == df.columns.tolist()
    assert out.dtypes.drop(["id", "t"]).equals(df.dtypes.drop(["id", "t"]))
    assert out["kind"].cat.categories.tolist() == ["wind", "temp", "hum", "x"]
    # Each output series has one kind, and its site matches it (values stay together).
    per_series = out.groupby("id")[["kind", "site"]].nunique()
    assert (per_series == 1).all().all()
    assert (out["site"] == out["kind"].astype(str) + "-1").all()
    lazy = mixup_series(split_frame(df, irregular_lengths(len(df))), **options)
    assert lazy._meta.dtypes.to_dict() == out.dtypes.to_dict()
    assert_exact(lazy.compute(scheduler="threads"), out, check_exact=True)
    df.to_parquet(tmp_path / "src.parquet", row_group_size=20)
    augment_series_parquet(tmp_path / "src.parquet", tmp_path / "dst", blocksize=1, **options)
    assert_exact(pd.read_parquet(tmp_path / "dst"), out, check_exact=True)


def test_categorical_must_be_constant_within_a_series():
    df = _sensors()
    df.loc[df["id"] == "s1", "site"] = pd.array(["a", "b"] * 6, dtype="string[pyarrow]")
    with pytest.raises(MixupError, match=r"constant within each series; they vary in series 's1'"):
        mixup_series(df, series="id", time="t", seed=0, categorical="dominant")
    with pytest.raises(MixupTypeError, match=r"'kind' \(category\).*`categorical='dominant'`"):
        mixup_series(df, series="id", time="t", seed=0)


def test_datetime_value_columns_are_refused():
    df = _sensors().drop(columns=["kind", "site"]).assign(w=pd.Timestamp("2024-01-01"))
    with pytest.raises(MixupTypeError, match=r"value columns.*not so: 'w' \(datetime64"):
        mixup_series(df, series="id", time="t", seed=0)

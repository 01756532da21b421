"""``MixupStream(..., bandwidth=sigma)``: C-Mixup within a window. With ``window=None`` an
epoch is ``mixup(data, seed=(s, e), bandwidth=sigma)`` bit for bit; with windows the kernel
is normalised over the window's rows, each window mixed as ``mixup`` mixes its rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mixupy_dask import MixupError, MixupStream, MixupTypeError, mixup

from .helpers import split_frame
from .test_stream import epoch_of, make_source


def regression_frame(n: int, seed: int = 0) -> pd.DataFrame:
    """Features of several kinds and two numeric targets, with ties in ``t``."""
    rng = np.random.default_rng(seed)
    t = rng.normal(size=n)
    t[::5] = np.round(t[::5], 1)  # tied targets: the kernel's sort breaks ties by position
    return pd.DataFrame(
        {
            "a": rng.normal(size=n),
            "b": rng.normal(size=n).astype(np.float32),
            "k": rng.integers(0, 100, n),
            "city": pd.array(rng.choice(["Oslo", "Rome", "Lima"], n), dtype="str"),
            "t": t,
            "t2": 2 * t + rng.normal(size=n),
        }
    )


#: Option sets: one target, a block of two, a column policy with keyed draws.
OPTIONS = {
    "one": {"columns": ["a", "b", "t"], "labels": "t", "bandwidth": 0.3},
    "block": {"columns": ["a", "k", "t", "t2"], "labels": ["t", "t2"], "bandwidth": 0.7},
    "sample": {"labels": "t", "bandwidth": 0.05, "categorical": "sample", "integers": "round"},
}


def reference(df: pd.DataFrame, seed, epoch: int, options: dict) -> pd.DataFrame:
    options = dict(options)
    columns = options.pop("columns", None)
    data = df if columns is None else df[columns]
    return mixup(data, seed=(seed, epoch), provenance=True, **options)


@pytest.mark.parametrize("batch_size", [1, 8, 53, 64])
@pytest.mark.parametrize("name", sorted(OPTIONS))
@pytest.mark.parametrize("source", ["pandas", "dask", "parquet"])
def test_window_none_epoch_is_c_mixup(source, name, batch_size, tmp_path):
    df = regression_frame(53)
    options = OPTIONS[name]
    data = make_source(source, df, tmp_path, [20, 0, 13, 20])
    stream = MixupStream(data, batch_size, seed=5, provenance=True, **options)
    for epoch in (0, 3):
        got = epoch_of(stream, epoch)
        expected = reference(df, 5, epoch, options)
        pd.testing.assert_frame_equal(got, expected, check_exact=True)
    # Not a permutation: the kernel draws with replacement, the left row included.
    assert got.mixup_partner.nunique() < len(df)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(2, 60),
    batch_size=st.integers(1, 70),
    parts=st.lists(st.integers(0, 25), min_size=1, max_size=5),
    seed=st.integers(0, 2**32),
    epoch=st.integers(0, 5),
    bandwidth=st.sampled_from([1e-3, 0.2, 1.0, 1e3]),
)
def test_window_none_over_partitionings(n, batch_size, parts, seed, epoch, bandwidth):
    df = regression_frame(n, seed % 7)[["a", "b", "t"]]
    cuts = sorted({min(p, n) for p in np.cumsum(parts)} | {0, n})
    lengths = list(np.diff(cuts))
    stream = MixupStream(
        split_frame(df, lengths),
        batch_size,
        seed=seed,
        labels="t",
        bandwidth=bandwidth,
        provenance=True,
    )
    batches = list(stream.batches(epoch))
    assert [len(b) for b in batches[:-1]] == [batch_size] * (len(batches) - 1)
    assert len(batches) == stream.num_batches() == -(-n // batch_size)
    got = pd.concat(batches, ignore_index=True).sort_values("mixup_left").reset_index(drop=True)
    expected = mixup(df, seed=(seed, epoch), labels="t", bandwidth=bandwidth, provenance=True)
    pd.testing.assert_frame_equal(got, expected, check_exact=True)


@pytest.mark.parametrize(
    ("n", "window", "batch_size"), [(1000, 100, 64), (997, 64, 50), (50, 7, 3)]
)
def test_window_is_c_mixup_of_its_rows(n, window, batch_size):
    df = regression_frame(n)[["a", "b", "t"]]
    stream = MixupStream(
        df, batch_size, seed=3, window=window, labels="t", bandwidth=0.2, provenance=True
    )
    seen = []
    for epoch in range(3):
        out = epoch_of(stream, epoch)
        # Every row a left row once (partners are drawn, with replacement).
        np.testing.assert_array_equal(out.mixup_left, np.arange(n))
        windows = [w.positions() for w in stream._plan(epoch).window_list()]
        assert max(len(w) for w in windows) <= window
        where = np.empty(n, dtype=np.int64)
        for j, rows in enumerate(windows):
            where[rows] = j
        # Partners come from the left row's window.
        np.testing.assert_array_equal(where[out.mixup_left], where[out.mixup_partner])
        seen.append(where)
        # Each window is mixed as mixup mixes its rows: the kernel normalised over them.
        for j, rows in enumerate(windows):
            expected = mixup(
                df.iloc[rows].reset_index(drop=True),
                seed=(3, epoch, j),
                labels="t",
                bandwidth=0.2,
                provenance=True,
            )
            got = out.set_index("mixup_left").loc[rows].reset_index()
            pd.testing.assert_frame_equal(
                got[["a", "b", "t"]], expected[["a", "b", "t"]], check_exact=True
            )
            np.testing.assert_array_equal(got.mixup_partner, rows[expected.mixup_partner])
            np.testing.assert_array_equal(got.mixup_lambda, expected.mixup_lambda)
    assert not all((seen[0] == s).all() for s in seen[1:]), "windows must change by epoch"


def test_window_partners_have_close_labels():
    # A tiny bandwidth keeps partners at (nearly) the left row's label, window or not.
    df = regression_frame(600)[["a", "t"]]
    stream = MixupStream(df, 64, seed=1, window=100, labels="t", bandwidth=1e-3, provenance=True)
    out = epoch_of(stream, 0)
    y = df.t.to_numpy()
    gap = np.abs(y[out.mixup_left] - y[out.mixup_partner])
    assert np.quantile(gap, 0.9) < 0.01
    plain = epoch_of(MixupStream(df, 64, seed=1, window=100, labels="t", provenance=True), 0)
    assert np.median(np.abs(y[plain.mixup_left] - y[plain.mixup_partner])) > 0.3


@pytest.mark.parametrize("source", ["dask", "parquet"])
def test_windows_are_the_same_from_every_source(source, tmp_path):
    df = regression_frame(300)
    options = {
        "labels": ["t", "t2"],
        "bandwidth": 0.5,
        "categorical": "sample",
        "window": 50,
        "provenance": True,
    }
    expected = list(MixupStream(df, 32, seed=8, **options).batches(1))
    data = make_source(source, df, tmp_path, [17, 0, 150, 133])
    got = list(MixupStream(data, 32, seed=8, **options).batches(1))
    assert len(got) == len(expected)
    for a, b in zip(got, expected, strict=True):
        pd.testing.assert_frame_equal(a, b, check_exact=True)


def test_resume_and_ranks_with_bandwidth():
    df = regression_frame(250)[["a", "t"]]
    stream = MixupStream(df, 16, seed=6, window=40, labels="t", bandwidth=0.3)
    full = list(stream.batches(4))
    for a, b in zip(stream.batches(4, start=5), full[5:], strict=True):
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    rank = list(stream.batches(4, rank=1, world_size=3))
    for k, batch in enumerate(rank):
        pd.testing.assert_frame_equal(batch, full[(1 + 3 * k) % len(full)], check_exact=True)


BAD = [
    (MixupError, r"^`bandwidth` must be None or a finite real number > 0, got 0$",
     {"bandwidth": 0}),
    (MixupError, r"`bandwidth` must be None or a finite real number > 0, got nan",
     {"bandwidth": float("nan")}),
    (MixupTypeError, r"`bandwidth` must be None or a finite real number > 0", {"bandwidth": "1"}),
    (MixupError, r"^`bandwidth` needs `labels`", {"labels": None, "bandwidth": 1.0}),
    (MixupError, r"`bandwidth` needs numeric labels .*'y' is a class column",
     {"labels": "y", "bandwidth": 1.0}),
    (MixupError, r"^`within_class` cannot be combined with `bandwidth`",
     {"bandwidth": 1.0, "within_class": True}),
    (MixupError, r"^`label_preserving` cannot be combined with `bandwidth`",
     {"bandwidth": 1.0, "label_preserving": True}),
]  # fmt: skip


@pytest.mark.parametrize(("error", "match", "options"), BAD)
def test_bad_bandwidth_fails_at_construction_as_in_mixup(error, match, options):
    df = regression_frame(20)[["a", "t"]].assign(y=list("uv") * 10)
    options = {"labels": "t", **options}
    with pytest.raises(error, match=match):
        MixupStream(df, 4, **options)
    with pytest.raises(error, match=match):
        mixup(df, **options)


def test_missing_label_values_are_refused_as_in_mixup():
    df = regression_frame(12)[["a", "t"]]
    df.loc[3, "t"] = np.nan
    options = {"labels": "t", "bandwidth": 1.0, "missing": "available"}
    with pytest.raises(MixupError, match="label columns must not have missing values") as mixed:
        mixup(df, **options)
    with pytest.raises(type(mixed.value), match="label columns must not have missing values"):
        list(MixupStream(df, 4, **options).batches(0))

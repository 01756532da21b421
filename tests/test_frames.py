"""Inputs users have: any index, bool/int/float columns, tiny frames, mixupy's calls."""

from __future__ import annotations

import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest

from mixupy_dask import mixup

assert_exact = pd.testing.assert_frame_equal


def _data(n: int = 12) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    return pd.DataFrame({"a": rng.normal(size=n), "b": rng.integers(0, 9, n)})


# mixupy's own tests, ported: shapes for default, concat and batch 2n.
def test_mixupy_shapes(route):
    df = pd.DataFrame(np.random.default_rng(0).uniform(-16, 16, size=(5, 5)))
    assert route(lambda d: mixup(d, seed=1), df).shape == df.shape
    assert route(lambda d: mixup(d, concat=True, seed=1), df).shape == (10, 5)
    assert route(lambda d: mixup(d, batch_size=10, seed=1), df).shape == (10, 5)


def test_mixupy_positional_arguments():
    df = _data(150)
    out = mixup(df, 2.0, True, 300, seed=3)
    assert out.shape == (450, 2)
    assert_exact(out, mixup(df, alpha=2.0, concat=True, batch_size=300, seed=3), check_exact=True)
    assert mixup(df).shape == df.shape


@pytest.mark.parametrize("batch_size", [1, 5, 12, 13, 40])
def test_batch_size_below_equal_and_above_n(route, batch_size):
    out = route(lambda d: mixup(d, batch_size=batch_size, seed=0), _data())
    assert out.shape == (batch_size, 2)
    assert_exact(out, mixup(_data(), batch_size=batch_size, seed=0), check_exact=True)


INDEXES = {
    "strings": pd.Index([f"row{i}" for i in range(12)]),
    "datetimes": pd.date_range("2024-01-01", periods=12, freq="h"),
    "duplicates": pd.Index([3, 3, 1, 1, 0, 0, 7, 7, 7, 2, 2, 2]),
    "multiindex": pd.MultiIndex.from_product([["a", "b", "c"], [1, 2, 3, 4]]),
    "descending": pd.RangeIndex(100, 88, -1),
}


@pytest.mark.parametrize("kind", INDEXES)
def test_any_index_gives_a_fresh_range_index(route, kind):
    df = _data().set_axis(INDEXES[kind])
    if kind == "multiindex" and route.name != "pandas":
        pytest.skip("dask has no MultiIndex")
    out = route(lambda d: mixup(d, concat=True, seed=2), df)
    assert_exact(out, mixup(_data(), concat=True, seed=2), check_exact=True)
    assert isinstance(out.index, pd.RangeIndex) or out.index.equals(pd.RangeIndex(len(out)))


def test_bool_dummies_int_and_float32_columns(route):
    species = pd.Series(list("abcabcabcaab"))
    df = pd.concat([_data(), pd.get_dummies(species, prefix="species")], axis=1)
    df["f32"] = np.linspace(0, 1, 12, dtype=np.float32)
    out = route(lambda d: mixup(d, seed=4), df)
    assert out.columns.tolist() == df.columns.tolist()
    assert out.dtypes.tolist() == [np.float64] * 5 + [np.float32]
    dummies = out.filter(like="species_").to_numpy()
    assert np.allclose(dummies.sum(axis=1), 1.0)


def test_float32_is_mixed_in_float32():
    df = pd.DataFrame({"a": np.linspace(0, 1, 10, dtype=np.float32)})
    out = mixup(df, seed=0)
    assert out["a"].dtype == np.float32


def test_two_rows_and_one_column_are_enough(route):
    # mixupy refuses one column; one numeric column mixes just as well.
    df = pd.DataFrame({"only": [1.0, 3.0]})
    out = route(lambda d: mixup(d, batch_size=5, seed=0), df)
    assert out.shape == (5, 1)
    assert out["only"].between(1, 3).all()


def test_accessors():
    df = _data()
    assert_exact(df.mixup(1.0, seed=5), mixup(df, 1.0, seed=5), check_exact=True)
    ddf = dd.from_pandas(df, npartitions=2)
    assert isinstance(ddf.mixup(seed=5), dd.DataFrame)
    assert_exact(ddf.mixup(1.0, seed=5).compute(), mixup(df, 1.0, seed=5), check_exact=True)

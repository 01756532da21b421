"""Labels: soft one-hot labels, mixing within a class, label-preserving mixup."""

from __future__ import annotations

import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mixupy_dask import MixupError, MixupTypeError, NonFiniteError, mixup

from .helpers import split_frame

assert_exact = pd.testing.assert_frame_equal
OPTIONS = [
    {},
    {"within_class": True},
    {"label_preserving": True},
    {"within_class": True, "label_preserving": True},
]


def _iris_like(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    species = rng.choice(["setosa", "versicolor", "virginica"], n, p=[0.6, 0.3, 0.1])
    species[n // 2] = "lonely"  # a class of size one
    return pd.DataFrame({"petal": rng.normal(size=n), "species": species, "sepal": rng.random(n)})


def _row_ids(species: pd.Series) -> pd.DataFrame:
    n = len(species)
    ids = pd.DataFrame(np.eye(n), columns=[f"r{i}" for i in range(n)])
    return ids.assign(species=species.to_numpy())


@st.composite
def labelled_cases(draw):
    n = draw(st.integers(2, 50))
    k = draw(st.integers(1, 6))
    cuts = sorted(draw(st.lists(st.integers(0, n), min_size=k - 1, max_size=k - 1)))
    df = _iris_like(n, draw(st.integers(0, 100)))
    if draw(st.booleans()):  # a label block instead of a class column
        block = pd.get_dummies(df.pop("species"), prefix="y").astype(float)
        df, labels = pd.concat([df, block], axis=1), list(block.columns)
    else:
        labels = "species"
    options = {
        **draw(st.sampled_from(OPTIONS)),
        "alpha": draw(st.sampled_from([0.0, 0.5, 2.0])),
        "concat": draw(st.booleans()),
        "batch_size": draw(st.one_of(st.none(), st.integers(1, 3 * n))),
        "seed": draw(st.integers(0, 2**32)),
    }
    if options.get("within_class") and labels != "species" and len(labels) < 2:
        options.pop("within_class")
    return df, np.diff([0, *cuts, n]).tolist(), labels, options


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=labelled_cases())
def test_dask_equals_pandas_with_labels_for_any_partitioning(case):
    df, lengths, labels, options = case
    expected = mixup(df, labels=labels, **options)
    out = mixup(split_frame(df, lengths), labels=labels, **options).compute(scheduler="threads")
    assert_exact(out, expected, check_exact=True)


@pytest.mark.parametrize("options", OPTIONS)
def test_every_route_equals_pandas_with_labels(route, options):
    df = _iris_like(80, seed=2)

    def call(d):
        return mixup(d, 1.0, True, 130, seed=9, labels="species", **options)

    assert_exact(route(call, df), call(df), check_exact=True)


def test_soft_labels_are_named_like_get_dummies_in_place_and_sum_to_one():
    df = _iris_like(60)
    out = mixup(df, seed=1, labels="species")
    dummies = pd.get_dummies(df["species"], prefix="species").columns.tolist()
    assert out.columns.tolist() == ["petal", *dummies, "sepal"]
    soft = out[dummies].to_numpy()
    assert np.allclose(soft.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    assert ((soft >= 0) & (soft <= 1)).all()
    assert (soft.max(axis=1) < 1).any()  # really soft


def test_categorical_order_and_unused_categories_are_kept(route):
    df = _iris_like(30)
    order = ["virginica", "lonely", "setosa", "versicolor", "unseen"]
    df["species"] = pd.Categorical(df["species"], categories=order)
    out = route(lambda d: mixup(d, seed=1, labels="species"), df)
    assert out.columns.tolist() == ["petal", *[f"species_{c}" for c in order], "sepal"]
    assert (out["species_unseen"] == 0).all()


def test_integer_and_bool_class_columns_are_one_hot_encoded():
    df = pd.DataFrame({"x": np.arange(8.0), "y": [0, 1, 2, 1, 0, 2, 2, 1]})
    assert mixup(df, seed=0, labels="y").columns.tolist() == ["x", "y_0", "y_1", "y_2"]
    df["y"] = df["y"] > 0
    assert mixup(df, seed=0, labels="y").columns.tolist() == ["x", "y_False", "y_True"]
    # without labels, mixupy's behaviour: every column mixed as a number
    assert mixup(df, seed=0).columns.tolist() == ["x", "y"]


def test_within_class_partners_are_always_same_class_and_each_used_once(route):
    species = _iris_like(45)["species"]
    n, classes = len(species), species.to_numpy()
    out = route(
        lambda d: mixup(d, 1.0, False, 2 * n + 7, seed=5, labels="species", within_class=True),
        _row_ids(species),
    )
    ids = out.filter(regex=r"^r\d+$").to_numpy()
    for row in ids:
        support = np.flatnonzero(row)
        assert len(set(classes[support])) == 1
    # in each full cycle, the left row is row k % n; the rest of the weight is its partner
    for cycle in range(2):
        block = ids[cycle * n : (cycle + 1) * n].copy()
        left = np.arange(n)
        self_weight = block[left, left].copy()
        block[left, left] = 0
        partner = np.where(block.max(axis=1) > 0, block.argmax(axis=1), left)
        assert sorted(partner) == list(range(n))
        assert (classes[partner] == classes).all()
        assert (self_weight > 0).all()


def test_a_class_of_one_row_mixes_with_itself():
    df = _iris_like(20)
    out = mixup(df, 1.0, False, None, seed=2, labels="species", within_class=True)
    lonely = df.index[df["species"] == "lonely"][0]
    assert out.loc[lonely, "petal"] == df.loc[lonely, "petal"]
    assert out.loc[lonely, "species_lonely"] == 1.0


def test_label_preserving_weights_at_least_half_and_labels_hard():
    species = _iris_like(40)["species"]
    n = len(species)
    out = mixup(
        _row_ids(species), 0.4, False, 3 * n, seed=3, labels="species", label_preserving=True
    )
    ids = out.filter(regex=r"^r\d+$").to_numpy()
    left = np.arange(3 * n) % n
    weights = ids[np.arange(3 * n), left]
    assert (weights >= 0.5).all()
    labels = out.filter(like="species_")
    assert set(np.unique(labels.to_numpy())) <= {0.0, 1.0}
    assert (
        labels.columns[labels.to_numpy().argmax(axis=1)].str.removeprefix("species_")
        == species.to_numpy()[left]
    ).all()


def test_label_block_classes_are_the_argmax():
    probs = np.array([[0.7, 0.3], [0.2, 0.8], [0.6, 0.4], [0.1, 0.9], [0.9, 0.1], [0.4, 0.6]])
    ids = pd.DataFrame(np.eye(6), columns=[f"r{i}" for i in range(6)])
    df = ids.assign(p0=probs[:, 0], p1=probs[:, 1])
    out = mixup(df, 1.0, False, 60, seed=0, labels=["p0", "p1"], within_class=True)
    row_class = probs.argmax(axis=1)
    for row in out.filter(like="r").to_numpy():
        assert len(set(row_class[np.flatnonzero(row)])) == 1
    hard = mixup(df, 1.0, False, 12, seed=0, labels=["p0", "p1"], label_preserving=True)
    assert set(np.unique(hard[["p0", "p1"]])) <= {0.0, 1.0}


LABEL_ERRORS = [
    (MixupError, r"`labels`: no column named 'nope'", {"labels": "nope"}),
    (MixupError, r"`labels`: no column named 'nope'", {"labels": ["petal", "nope"]}),
    (MixupError, r"`within_class=True` needs `labels`", {"within_class": True}),
    (MixupError, r"`label_preserving=True` needs `labels`", {"label_preserving": True}),
    (
        MixupTypeError,
        r"`within_class` must be True or False",
        {"within_class": "yes", "labels": "species"},
    ),
    (
        MixupError,
        r"`within_class=True` needs class labels: a class column \(bool, integer, string, "
        r"object or categorical\).*'petal' is float64, a numeric label mixed as it is",
        {"labels": "petal", "within_class": True},
    ),
    (
        MixupError,
        r"`sampling_strategy` needs class labels.*'petal' is float64",
        {"labels": "petal", "label_preserving": True, "sampling_strategy": "auto"},
    ),
    (
        MixupTypeError,
        r"several label columns must all be numeric.*'species'",
        {"labels": ["petal", "species"]},
    ),
]


@pytest.mark.parametrize("lazy", [False, True], ids=["pandas", "dask"])
@pytest.mark.parametrize(("exc", "match", "kwargs"), LABEL_ERRORS)
def test_label_errors(exc, match, kwargs, lazy):
    df = _iris_like(10)
    data = dd.from_pandas(df, npartitions=2) if lazy else df
    with pytest.raises(exc, match=match):
        mixup(data, **kwargs)


def test_features_other_than_labels_must_still_be_numeric():
    df = _iris_like(10).assign(note="x")
    with pytest.raises(MixupTypeError, match=r"'note'"):
        mixup(df, labels="species")


@pytest.mark.parametrize("lazy", [False, True], ids=["pandas", "dask"])
def test_missing_labels_are_refused_with_a_count(lazy):
    df = _iris_like(12)
    df.loc[[3, 7], "species"] = None
    data = dd.from_pandas(df, npartitions=3) if lazy else df
    with pytest.raises(NonFiniteError, match=r"label column 'species' has missing values \(2\)"):
        mixup(data, labels="species")


def test_unsortable_class_values_ask_for_a_categorical():
    df = pd.DataFrame({"x": np.arange(4.0), "y": pd.Series([1, "a", 2, "b"], dtype=object)})
    with pytest.raises(MixupTypeError, match=r"categorical dtype"):
        mixup(df, labels="y")


def test_dask_categoricals_with_unknown_categories_are_discovered():
    df = _iris_like(40)
    df["species"] = df["species"].astype("category")
    lazy = dd.from_pandas(df, npartitions=3).assign(species=lambda d: d.species.cat.as_unknown())
    assert not lazy.species.cat.known
    for options in ({}, {"within_class": True}):
        out = mixup(lazy, seed=4, labels="species", **options).compute()
        assert_exact(out, mixup(df, seed=4, labels="species", **options), check_exact=True)

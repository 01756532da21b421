"""MixupOverSampler: imbalanced-learn's own checks, a pipeline, and the same bits on
numpy, pandas and dask."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest

pytest.importorskip("imblearn")

from imblearn.pipeline import make_pipeline
from imblearn.utils._test_common.instance_generator import (
    _get_check_estimator_ids,
)
from imblearn.utils.estimator_checks import (
    _yield_sampler_checks,
    estimator_checks_generator,
)
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score

from mixupy_dask import MixupError, MixupOverSampler, NonFiniteError

from .helpers import split_frame

assert_exact = pd.testing.assert_frame_equal

#: imbalanced-learn's sampler checks this estimator does not get, and why (its tags).
NOT_RUN = {
    "check_samplers_sparse": "scipy sparse matrices are refused (tags: sparse=False)",
    "check_samplers_string": "non-numeric features are refused, categorical='raise'",
    "check_samplers_nan": "NaN is refused, as by mixup (tags: allow_nan=False)",
}


CHECKED = [
    MixupOverSampler(random_state=0),
    MixupOverSampler(within_class=False, label_preserving=True, alpha=0.4, random_state=1),
]


# imbalanced-learn's parametrize_with_checks, as a list: pytest refuses its generator.
@pytest.mark.parametrize(
    ("estimator", "check"),
    [pair for est in CHECKED for pair in estimator_checks_generator(est)],
    ids=_get_check_estimator_ids,
)
def test_imbalanced_learn_checks(estimator, check):
    check(estimator)


def test_the_checks_left_out_are_exactly_the_declared_ones():
    every = {
        "check_target_type",
        "check_samplers_one_label",
        "check_samplers_fit",
        "check_samplers_fit_resample",
        "check_samplers_sampling_strategy_fit_resample",
        "check_samplers_sparse",
        "check_samplers_pandas",
        "check_samplers_pandas_sparse",
        "check_samplers_string",
        "check_samplers_nan",
        "check_samplers_list",
        "check_samplers_multiclass_ova",
        "check_samplers_preserve_dtype",
        "check_samplers_sample_indices",
        "check_samplers_2d_target",
        "check_sampler_get_feature_names_out",
        "check_sampler_get_feature_names_out_pandas",
    }
    run = {check.__name__ for check in _yield_sampler_checks(MixupOverSampler())}
    assert run <= every
    assert every - run == set(NOT_RUN)


def test_importing_the_package_imports_neither_sklearn_nor_imblearn():
    code = (
        "import sys, mixupy_dask; "
        "assert not {'sklearn', 'imblearn'} & set(sys.modules), sorted(sys.modules); "
        "mixupy_dask.MixupOverSampler; assert 'imblearn' in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def _data(n=600, seed=0):
    X, y = make_classification(
        n_samples=n,
        n_features=6,
        n_informative=4,
        n_classes=3,
        weights=[0.8, 0.15, 0.05],
        random_state=seed,
    )
    return X, y


@pytest.mark.parametrize(
    "options",
    [{}, {"within_class": False, "label_preserving": True}, {"label_preserving": True}],
    ids=["within", "preserving", "within-preserving"],
)
def test_numpy_pandas_and_dask_give_the_same_bits(options):
    X, y = _data()
    sampler = MixupOverSampler(alpha=0.7, random_state=5, **options)
    X_np, y_np = sampler.fit_resample(X, y)
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    X_pd, y_pd = sampler.fit_resample(frame, pd.Series(y, name="target"))
    np.testing.assert_array_equal(X_pd.to_numpy(), X_np)
    np.testing.assert_array_equal(y_pd.to_numpy(), y_np)
    assert y_pd.name == "target"
    lazy_X, lazy_y = sampler.fit_resample(
        split_frame(frame, [0, 250, 0, 1, 349]),
        split_frame(pd.DataFrame({"target": y}), [0, 250, 0, 1, 349])["target"],
    )
    assert isinstance(lazy_X, dd.DataFrame)
    assert isinstance(lazy_y, dd.Series)
    got_X, got_y = dask.compute(lazy_X, lazy_y, scheduler="sync")
    assert_exact(got_X, X_pd, check_exact=True)
    np.testing.assert_array_equal(got_y.to_numpy(), y_np)


def test_originals_first_then_convex_pairs_of_two_rows_of_the_class():
    # Row-id features: a synthetic row lam * e_i + (1 - lam) * e_j shows its two rows.
    y = np.array([0] * 40 + [1] * 12 + [2] * 5 + [3])  # a class of a single row too
    X = np.eye(len(y))
    X_res, y_res = MixupOverSampler(random_state=2).fit_resample(X, y)
    n = len(y)
    np.testing.assert_array_equal(X_res[:n], X)
    np.testing.assert_array_equal(y_res[:n], y)
    assert Counter(y_res) == {0: 40, 1: 40, 2: 40, 3: 40}
    synthetic = X_res[n:]
    assert np.allclose(synthetic.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    assert (synthetic >= 0).all()
    for row, label in zip(synthetic, y_res[n:], strict=True):
        support = np.flatnonzero(row)
        assert 1 <= len(support) <= 2
        assert (y[support] == label).all()


def test_dtypes_columns_and_sparse_columns_are_kept():
    X, y = _data(200)
    frame = pd.DataFrame({"a": X[:, 0].astype(np.float32), "b": X[:, 1], "c": np.arange(200)})
    X_res, _ = MixupOverSampler(random_state=0).fit_resample(frame, y)
    assert X_res.columns.tolist() == ["a", "b", "c"]
    assert X_res.dtypes.tolist() == [np.float32, np.float64, np.float64]
    sparse = frame[["b"]].astype(pd.SparseDtype(float, 0.0))
    X_sparse, _ = MixupOverSampler(random_state=0).fit_resample(sparse, y)
    assert isinstance(X_sparse["b"].dtype, pd.SparseDtype)
    np.testing.assert_array_equal(X_sparse["b"].sparse.to_dense(), X_res["b"])


@pytest.mark.parametrize("categorical", ["dominant", "sample"])
def test_categorical_features_keep_their_dtype_and_come_from_a_parent(categorical):
    X, y = _data(300)
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "x": X[:, 0],
            "colour": pd.Categorical.from_codes(rng.integers(0, 3, 300), ["red", "green", "blue"]),
            "city": pd.array(rng.choice(["Oslo", "Lima", "Pune"], 300), dtype="string[pyarrow]"),
        }
    )
    sampler = MixupOverSampler(categorical=categorical, random_state=3)
    X_res, y_res = sampler.fit_resample(frame, y)
    assert X_res.dtypes.tolist() == frame.dtypes.tolist()
    assert Counter(y_res) == {c: max(Counter(y).values()) for c in set(y)}
    assert_exact(X_res.iloc[:300], frame, check_exact=True)  # the originals, first
    # Each synthetic row's codes are one class-mate's (within_class): values of its class.
    synthetic, classes = X_res.iloc[300:], y_res[300:]
    for column in ("colour", "city"):
        seen = {c: set(frame[column][y == c]) for c in set(y)}
        assert all(v in seen[c] for v, c in zip(synthetic[column], classes, strict=True))
    lazy_X, _ = sampler.fit_resample(
        split_frame(frame, [0, 120, 0, 180]),
        split_frame(pd.DataFrame({"y": y}), [0, 120, 0, 180])["y"],
    )
    assert_exact(lazy_X.compute(scheduler="sync"), X_res, check_exact=True)
    with pytest.raises(TypeError, match=r"'colour' \(category\).*categorical="):
        MixupOverSampler(random_state=3).fit_resample(frame, y)


def test_random_state_int_seedsequence_none_and_randomstate():
    X, y = _data(200)

    def run(state):
        return MixupOverSampler(random_state=state).fit_resample(X, y)[0]

    np.testing.assert_array_equal(run(3), run(3))
    np.testing.assert_array_equal(run(np.random.SeedSequence(9)), run(np.random.SeedSequence(9)))
    assert not np.array_equal(run(None), run(None))
    # A RandomState gives each call a seed drawn from it: reproducible from its state.
    first, again = np.random.RandomState(4), np.random.RandomState(4)
    np.testing.assert_array_equal(run(first), run(again))
    assert not np.array_equal(run(first), run(np.random.RandomState(4)))


def test_refusals_are_clear():
    X, y = _data(200)
    with pytest.raises(MixupError, match="needs within_class=True or label_preserving=True"):
        MixupOverSampler(within_class=False).fit_resample(X, y)
    with pytest.raises(ValueError, match=r"Originally, there is 157 samples and 10 samples"):
        MixupOverSampler(sampling_strategy={0: 10}).fit_resample(X, y)
    with pytest.raises(ValueError, match=r"The 'categorical' parameter"):
        MixupOverSampler(categorical="onehot").fit_resample(X, y)
    with pytest.raises(ValueError, match=r"The 'alpha' parameter"):
        MixupOverSampler(alpha=-1).fit_resample(X, y)
    frame = dd.from_pandas(pd.DataFrame(X), npartitions=2)
    floats = dd.from_pandas(pd.Series(y * 1.0), npartitions=2)
    with pytest.raises(TypeError, match=r"a dask y must hold classes"):
        MixupOverSampler().fit_resample(frame, floats)


def test_callable_strategy_gets_y_on_every_route():
    X, y = _data(300)
    seen = []

    def strategy(target):
        seen.append(type(target))
        return {2: 100}

    frame = pd.DataFrame(X)
    sampler = MixupOverSampler(sampling_strategy=strategy, random_state=0)
    _, y_np = sampler.fit_resample(X, y)
    _, y_dd = sampler.fit_resample(
        dd.from_pandas(frame, npartitions=3), dd.from_pandas(pd.Series(y), npartitions=3)
    )
    assert Counter(y_np)[2] == 100
    assert Counter(y_dd.compute())[2] == 100
    assert seen[0] is np.ndarray
    assert issubclass(seen[1], dd.Series)


def test_in_an_imblearn_pipeline_resampling_only_at_fit():
    X, y = _data(900, seed=1)
    pipe = make_pipeline(MixupOverSampler(random_state=0), LogisticRegression(max_iter=500))
    folds = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)
    scores = cross_val_score(pipe, X, y, cv=folds, scoring="balanced_accuracy")
    assert len(scores) == 3
    assert (scores > 0.4).all()  # well above chance (1/3): the model learnt the classes
    # predict sees the test rows only: no resampling outside fit.
    fitted = clone(pipe).fit(X, y)
    assert fitted.predict(X[:7]).shape == (7,)
    counts = Counter(y)
    most = max(counts.values())
    assert fitted[0].sampling_strategy_ == {c: most - k for c, k in counts.items() if k < most}


@pytest.mark.parametrize("lazy", [False, True], ids=["pandas", "dask"])
def test_missing_values_are_refused_in_the_samplers_words(lazy):
    """The sampler has no ``missing=``: its refusal names the columns and says what to
    do (impute, or ``mixup(missing=...)``), not a parameter it lacks."""
    import dask

    X = pd.DataFrame({"a": np.arange(12.0), "b": np.arange(12.0)})
    X.loc[[0, 9], "a"] = np.nan
    y = pd.Series([0] * 9 + [1] * 3)
    if lazy:
        X, y = split_frame(X, [5, 0, 7]), split_frame(y.to_frame("y"), [5, 0, 7])["y"]
    with pytest.raises(NonFiniteError) as raised:
        dask.compute(*MixupOverSampler(random_state=0).fit_resample(X, y))
    message = str(raised.value)
    assert message.startswith("MixupOverSampler takes no missing values; X has them in: 'a'")
    assert "SimpleImputer" in message
    assert "mixupy_dask.mixup(..., missing='propagate' or 'available')" in message

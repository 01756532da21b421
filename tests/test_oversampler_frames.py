"""``MixupOverSampler`` and ``mixup_series`` with Polars and Arrow input.

imbalanced-learn's estimator checks run on numpy and pandas (``test_oversampler.py``);
these are checks in their spirit for Polars and Arrow: the same bits as numpy and
pandas (``check_samplers_pandas``), the input's kinds back with y's type kept, the
targets of every ``sampling_strategy`` reached (``check_samplers_fit_resample``,
``check_samplers_sampling_strategy_fit_resample``), float32 kept
(``check_samplers_preserve_dtype``), feature names and counts recorded, NaN refused
(``check_samplers_nan``), binary and multiclass, fit before fit_resample.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

pytest.importorskip("imblearn")
pl = pytest.importorskip("polars")

from sklearn.datasets import make_classification  # noqa: E402

from mixupy_dask import MixupOverSampler, NonFiniteError, mixup_series  # noqa: E402

from .test_polars_arrow import reference  # noqa: E402

KINDS = ["polars", "pyarrow"]
NAMES = [f"f{i}" for i in range(5)]


def _data(n=300, classes=3, seed=0):
    weights = [0.7, 0.2, 0.1][:classes] if classes == 3 else [0.8, 0.2]
    X, y = make_classification(
        n_samples=n,
        n_features=5,
        n_informative=3,
        n_classes=classes,
        weights=weights,
        random_state=seed,
    )
    return X, y


def _as(kind, X, y, labels=None):
    labels = np.asarray(["cat", "dog", "eel"])[y] if labels is None else labels
    frame = pd.DataFrame(X, columns=NAMES)
    if kind == "polars":
        return pl.from_pandas(frame), pl.Series("target", labels)
    return pa.Table.from_pandas(frame, preserve_index=False), pa.array(labels)


def _numpy(X):
    if isinstance(X, pa.Table):
        return np.column_stack([c.to_numpy() for c in X.columns])
    return X.to_numpy()


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "options",
    [{}, {"within_class": False, "label_preserving": True}, {"sampling_strategy": "all"}],
)
def test_same_bits_as_numpy_and_pandas_and_the_input_kinds_back(kind, options):
    X, y = _data()
    sampler = MixupOverSampler(alpha=0.7, random_state=5, **options)
    X_np, y_np = sampler.fit_resample(X, y)
    X_in, y_in = _as(kind, X, y)
    X_res, y_res = sampler.fit_resample(X_in, y_in)
    assert type(X_res) is type(X_in)
    assert type(y_res) is type(y_in)
    assert _numpy(X_res).tobytes() == X_np.tobytes()
    labels = np.asarray(["cat", "dog", "eel"])[y_np]
    if kind == "polars":
        assert X_res.columns == NAMES
        assert y_res.name == "target"
        assert y_res.dtype == pl.String
        assert y_res.to_list() == labels.tolist()
    else:
        assert X_res.column_names == NAMES
        assert y_res.type == pa.string()
        assert y_res.to_pylist() == labels.tolist()
    assert sampler.n_features_in_ == 5
    assert sampler.feature_names_in_.tolist() == NAMES
    assert sampler.classes_.tolist() == ["cat", "dog", "eel"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("strategy", "counts"),
    [
        ("auto", [210, 210, 210]),
        ("minority", [210, 60, 210]),
        ("not majority", [210, 210, 210]),
        ({"dog": 100, "eel": 90}, [210, 100, 90]),
    ],
)
def test_every_sampling_strategy_reaches_its_targets(kind, strategy, counts):
    X, y = _data()
    X_in, y_in = _as(kind, X, y)
    sampler = MixupOverSampler(sampling_strategy=strategy, random_state=0)
    _, y_res = sampler.fit_resample(X_in, y_in)
    values = y_res.to_list() if kind == "polars" else y_res.to_pylist()
    assert [values.count(c) for c in ("cat", "dog", "eel")] == counts
    assert sampler.fit(X_in, y_in).sampling_strategy_ == sampler.sampling_strategy_


@pytest.mark.parametrize("kind", KINDS)
def test_binary_integer_and_categorical_targets_keep_their_type(kind):
    X, y = _data(classes=2)
    if kind == "polars":
        X_in, _ = _as(kind, X, y)
        for y_in in (
            pl.Series("y", y, dtype=pl.Int16),
            pl.Series("y", y.astype(str)).cast(pl.Categorical),
        ):
            _, y_res = MixupOverSampler(random_state=1).fit_resample(X_in, y_in)
            assert y_res.dtype == y_in.dtype
            assert y_res.value_counts()["count"].to_list() == [240, 240]
    else:
        X_in, _ = _as(kind, X, y)
        for y_in in (pa.array(y, pa.int16()), pa.chunked_array([y[:100], y[100:]])):
            _, y_res = MixupOverSampler(random_state=1).fit_resample(X_in, y_in)
            assert y_res.type == y_in.type
            assert np.bincount(y_res.to_numpy()).tolist() == [240, 240]


@pytest.mark.parametrize("kind", KINDS)
def test_float32_kept_and_nan_refused(kind):
    X, y = _data()
    frame = pd.DataFrame(X.astype(np.float32), columns=NAMES)
    X_in = pl.from_pandas(frame) if kind == "polars" else pa.Table.from_pandas(frame)
    X_res, _ = MixupOverSampler(random_state=0).fit_resample(X_in, y)
    expected, _ = MixupOverSampler(random_state=0).fit_resample(frame, y)
    assert _numpy(X_res).dtype == np.float32
    assert _numpy(X_res).tobytes() == expected.to_numpy().tobytes()
    frame.iloc[3, 1] = np.nan
    X_in = pl.from_pandas(frame) if kind == "polars" else pa.Table.from_pandas(frame)
    with pytest.raises(NonFiniteError, match="'f1'"):
        MixupOverSampler(random_state=0).fit_resample(X_in, y)


def test_categorical_features_of_a_polars_x():
    X, y = _data()
    X_in, y_in = _as("polars", X, y)
    X_in = X_in.with_columns(
        pl.Series("city", np.array(["Oslo", "Rome"])[y % 2]).cast(pl.Categorical)
    )
    sampler = MixupOverSampler(categorical="sample", random_state=3)
    X_res, _ = sampler.fit_resample(X_in, y_in)
    assert X_res.schema["city"] == pl.Categorical
    expected, _ = sampler.fit_resample(reference(X_in), y)
    assert X_res["city"].to_list() == expected["city"].astype(object).tolist()


@pytest.mark.parametrize("kind", KINDS)
def test_mixup_series_takes_polars_and_arrow(kind):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "id": np.repeat(["a", "b", "c", "d"], 6),
            "t": np.tile(np.arange(6), 4),
            "v": rng.normal(size=24),
            "sensor": pd.Categorical(np.repeat(["x", "y", "x", "z"], 6)),
        }
    )
    data = pl.from_pandas(frame) if kind == "polars" else pa.Table.from_pandas(frame)
    options = {"series": "id", "time": "t", "k": 3, "seed": 2, "categorical": "dominant"}
    out = mixup_series(data, **options)
    expected = mixup_series(reference(data), **options)
    assert type(out) is type(data)
    table = out.to_arrow() if kind == "polars" else out
    assert table.column_names == list(expected.columns)
    assert table.column("v").to_numpy().tobytes() == expected["v"].to_numpy().tobytes()
    assert table.column("id").to_pylist() == expected["id"].tolist()
    assert table.column("sensor").to_pylist() == expected["sensor"].astype(object).tolist()
    if kind == "polars":
        assert out.schema["sensor"] == pl.Categorical
    else:
        assert out.schema.field("sensor").type == data.schema.field("sensor").type

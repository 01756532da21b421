"""Golden outputs of class balancing: today's seeded results, pinned as hashes.

What ``test_golden.py`` does for plain mixup, this does for every public way of asking
for rows per class: ``mixup`` with a dict ``batch_size`` and with each form of
``sampling_strategy`` (pandas, dask and Parquet), ``MixupOverSampler.fit_resample`` on
numpy, pandas and dask, ``make_data``, and the command line's ``--batch-size a:500`` and
``--sampling-strategy``. Each case is one public call with a fixed seed; its output is
hashed with ``test_golden.digest`` and compared with the hash recorded when the case was
added. Where another route must give the same bits (dask, Parquet, the command line),
it is held to the same hash, not to one of its own.

A change here is a change of users' results: it needs a real bug behind it and a line
in the README's changelog saying which output changed and why, never a silent update
of the table. As in ``test_golden.py``, the data are a pure function of the row number
(``make_data``'s are numpy's normal draws), so only mixupy_dask's own randomness and
numpy's samplers decide the hashes.
"""

from __future__ import annotations

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest

from mixupy_dask import augment_parquet, make_data, mixup

from .helpers import run_cli
from .test_golden import N, digest, rows


def two_class_rows() -> pd.DataFrame:
    """``rows()`` with two classes (about 80/20 %): a float strategy needs two."""
    i = np.arange(N)
    return rows().assign(y=pd.Categorical.from_codes((i % 10 >= 8).astype(int), ["p", "q"]))


def _to_half_the_majority(counts: pd.Series) -> dict:
    """A callable strategy: every class to at least half the majority's rows."""
    half = int(counts.max()) // 2
    return {c: max(int(k), half) for c, k in counts.items()}


# rows(): p 6301, q 1800, r 900 rows.
CASES = {
    # A dict batch_size: rows per class; absent classes make none.
    "batch-dict": dict(seed=20, labels="y", batch_size={"q": 2500, "r": 1234}),
    "batch-dict-within": dict(
        seed=21, labels="y", within_class=True, batch_size={"p": 100, "q": 1800, "r": 2121}
    ),
    "batch-dict-preserving": dict(
        seed=22, labels="y", label_preserving=True, batch_size={"p": 6301, "r": 77}
    ),
    "batch-dict-both-concat": dict(
        seed=23,
        alpha=0.4,
        labels="y",
        within_class=True,
        label_preserving=True,
        batch_size={"q": 3000, "r": 3000},
        concat=True,
    ),
    # sampling_strategy, each form (the synthetic rows only, concat=False).
    "strategy-auto": dict(seed=30, labels="y", within_class=True, sampling_strategy="auto"),
    "strategy-minority": dict(seed=31, labels="y", within_class=True, sampling_strategy="minority"),
    "strategy-not-minority": dict(
        seed=32, labels="y", within_class=True, sampling_strategy="not minority"
    ),
    "strategy-not-majority": dict(
        seed=33, labels="y", within_class=True, sampling_strategy="not majority"
    ),
    "strategy-all": dict(seed=34, labels="y", within_class=True, sampling_strategy="all"),
    "strategy-float": dict(seed=35, labels="y", within_class=True, sampling_strategy=0.6),
    "strategy-dict": dict(
        seed=36, labels="y", within_class=True, sampling_strategy={"q": 5000, "r": 2000}
    ),
    "strategy-callable": dict(
        seed=37, labels="y", within_class=True, sampling_strategy=_to_half_the_majority
    ),
    "strategy-preserving-concat": dict(
        seed=38,
        alpha=0.2,
        labels="y",
        label_preserving=True,
        sampling_strategy="auto",
        concat=True,
    ),
}

GOLDEN = {
    "batch-dict": "913d6e9f3e37301a9711",
    "batch-dict-within": "e4bc576c90199fc1028f",
    "batch-dict-preserving": "7bef5e4ad90bd4a6e640",
    "batch-dict-both-concat": "05a8638611cc022e397f",
    "strategy-auto": "13c1718df15673cbf14f",
    "strategy-minority": "68718d71c479572be242",
    "strategy-not-minority": "79d9c482d9188e472063",
    "strategy-not-majority": "ebf8c2b6fb4509d931c7",
    "strategy-all": "3fbead2cd2d5a62c9d05",
    "strategy-float": "d40cf095caf5eec4523e",
    "strategy-dict": "ba0fa373a1f7a55d102c",
    "strategy-callable": "bdd71f7ad8697e6d8c45",
    "strategy-preserving-concat": "583fd20cab175646482b",
}


def _input(case: str) -> pd.DataFrame:
    return two_class_rows() if case == "strategy-float" else rows()


@pytest.mark.parametrize("case", CASES)
def test_balancing_is_unchanged(case):
    out = mixup(_input(case), **CASES[case])
    assert digest(out) == GOLDEN[case]


@pytest.mark.parametrize("case", ["batch-dict-within", "strategy-auto"])
def test_dask_balancing_hashes_the_same(case):
    lazy = mixup(dd.from_pandas(_input(case), npartitions=4, sort=False), **CASES[case])
    assert digest(lazy.compute(scheduler="sync")) == GOLDEN[case]


@pytest.mark.parametrize("case", ["batch-dict-preserving", "strategy-preserving-concat"])
def test_parquet_balancing_hashes_the_same(case, tmp_path):
    _input(case).to_parquet(tmp_path / "src.parquet", row_group_size=1500)
    augment_parquet(tmp_path / "src.parquet", tmp_path / "dst", **CASES[case])
    assert digest(pd.read_parquet(tmp_path / "dst")) == GOLDEN[case]


# --- MixupOverSampler --------------------------------------------------------------------


def features() -> tuple[pd.DataFrame, pd.Series]:
    """``rows()``'s features (float64, int64, float32, bool) and its classes as 0, 1, 2."""
    frame = rows()
    return frame.drop(columns="y"), frame["y"].cat.codes.astype(np.int64).rename("y")


def resampled(X, y) -> pd.DataFrame:
    """``X_res`` and ``y_res`` as one frame for ``digest`` (a numpy ``X`` as it is)."""
    return pd.DataFrame(X).assign(y=np.asarray(y))


#: Builders, not instances: a RandomState changes with each fit.
SAMPLERS = {
    "default": lambda: _over_sampler(random_state=0),
    "dict-alpha": lambda: _over_sampler(
        sampling_strategy={1: 4000, 2: 2500}, alpha=0.4, random_state=1
    ),
    "pooled-preserving-all": lambda: _over_sampler(
        within_class=False, label_preserving=True, sampling_strategy="all", random_state=2
    ),
    "minority-randomstate": lambda: _over_sampler(
        sampling_strategy="minority", alpha=2.0, random_state=np.random.RandomState(3)
    ),
}


def _over_sampler(**options):
    pytest.importorskip("imblearn")
    from mixupy_dask import MixupOverSampler

    return MixupOverSampler(**options)


SAMPLER_GOLDEN = {
    "default-numpy": "c4b0879dfd520592aa65",
    "default-pandas": "77ddc1b556c09c27f9f8",
    "dict-alpha-numpy": "65952994254d1e105774",
    "dict-alpha-pandas": "4d5701f37b82e26fc43c",
    "pooled-preserving-all-numpy": "d6fb5e71b494a5149bb3",
    "pooled-preserving-all-pandas": "9ca0175c926decb8ac27",
    "minority-randomstate-numpy": "f0a42c8ddf50ad3b8d9b",
    "minority-randomstate-pandas": "2c1f78546b54a347d307",
}


@pytest.mark.parametrize("kind", ["numpy", "pandas"])
@pytest.mark.parametrize("case", SAMPLERS)
def test_over_sampler_is_unchanged(case, kind):
    X, y = features()
    if kind == "numpy":
        X, y = X.to_numpy(np.float64), y.to_numpy()
    out = resampled(*SAMPLERS[case]().fit_resample(X, y))
    assert digest(out) == SAMPLER_GOLDEN[f"{case}-{kind}"]


@pytest.mark.parametrize("case", ["default", "minority-randomstate"])
def test_dask_over_sampler_hashes_as_pandas(case):
    X, y = features()
    lazy = SAMPLERS[case]().fit_resample(
        dd.from_pandas(X, npartitions=3, sort=False), dd.from_pandas(y, npartitions=3, sort=False)
    )
    out = resampled(*dask.compute(*lazy, scheduler="sync"))
    assert digest(out) == SAMPLER_GOLDEN[f"{case}-pandas"]


# --- make_data ---------------------------------------------------------------------------

DATA_CASES = {
    "features": dict(rows=3000, columns=4, partitions=3, seed=0),
    "classes": dict(rows=2500, columns=3, classes=4, partitions=7, seed=5),
}

DATA_GOLDEN = {
    "features": "52d011ec12e9a9012cba",
    "classes": "50a206cabab180436b30",
}


@pytest.mark.parametrize("case", DATA_CASES)
def test_make_data_is_unchanged(case, tmp_path):
    make_data(str(tmp_path / "data"), **DATA_CASES[case])
    files = sorted((tmp_path / "data").glob("*.parquet"))
    frame = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
    if "label" in frame:  # categorical: hash the codes (an object array hashes pointers)
        assert list(frame["label"].cat.categories) == [f"class_{k}" for k in range(4)]
        frame["label"] = frame["label"].cat.codes
    assert digest(frame) == DATA_GOLDEN[case]


# --- the command line --------------------------------------------------------------------

#: ``mixupy-dask augment`` options, and the library case whose bits they must write.
CLI_CASES = {
    "sampling-strategy": (
        ["--label-preserving", "--sampling-strategy", "auto", "--alpha", "0.2", "--seed", "38"],
        "strategy-preserving-concat",
    ),
    "strategy-dict-synthetic-only": (
        [
            "--within-class",
            "--sampling-strategy",
            "q:5000,r:2000",
            "--synthetic-only",
            "--seed",
            "36",
        ],
        "strategy-dict",
    ),
    "batch-size-per-class": (
        ["--within-class", "--batch-size", "p:100,q:1800,r:2121", "--seed", "21"],
        "batch-dict-within",
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", CLI_CASES)
def test_cli_balancing_hashes_the_same(case, tmp_path):
    args, same_as = CLI_CASES[case]
    rows().to_parquet(tmp_path / "src.parquet", row_group_size=1500)
    done = run_cli("augment", tmp_path / "src.parquet", tmp_path / "dst", "--labels", "y",
                   *args, "--workers", "1", "--quiet", cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert digest(pd.read_parquet(tmp_path / "dst")) == GOLDEN[same_as]

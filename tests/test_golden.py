"""Golden outputs: today's seeded results, pinned as hashes, so no refactor changes a bit.

Users rely on ``seed=`` across upgrades. Each case below is one public call with a
fixed seed; its output is hashed (column names, dtypes and value bytes) and compared
with the hash recorded when the case was added. A change here is a change of users'
results: it needs a real bug behind it and a line in docs/changelog.md saying
which output changed and why, never a silent update of the table.

The data need no random generator (their values are a pure function of the row
number), so only mixupy_dask's own randomness and numpy's Beta/Dirichlet samplers
decide the hashes. A different numpy may change those samplers (docs/guarantees.md says so).
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

from mixupy_dask import augment_parquet, augment_series_parquet, mixup, mixup_series

from .helpers import split_frame

#: Rows: more than one Beta block (4096) and one selection leaf (4096), so partial
#: cycles walk the selection tree and lambdas cross block boundaries.
N = 9_001


def rows() -> pd.DataFrame:
    i = np.arange(N)
    return pd.DataFrame(
        {
            "a": np.sin(i * 0.37) * 100,
            "b": (i % 97).astype(np.int64),
            "c": np.cos(i * 0.11).astype(np.float32),
            "flag": i % 5 == 0,
            # Imbalanced classes (about 70/20/10 %), in runs and interleaved.
            "y": pd.Categorical.from_codes(
                np.where(i % 10 < 7, 0, np.where(i % 10 < 9, 1, 2)), ["p", "q", "r"]
            ),
        }
    )


def onehot_rows() -> pd.DataFrame:
    frame = rows()
    return pd.get_dummies(frame, columns=["y"], dtype=float)


def long_series() -> pd.DataFrame:
    """40 series of 20 to 59 steps, rows in a scrambled (but fixed) order."""
    lengths = 20 + (np.arange(40) * 7) % 40
    ids = np.repeat([f"s{j:02d}" for j in range(40)], lengths)
    steps = np.concatenate([np.arange(length) for length in lengths])
    k = np.arange(len(ids))
    frame = pd.DataFrame(
        {
            "id": ids,
            "t": steps * 2,
            "v": np.sin(k * 0.05) * 10 + np.repeat(np.arange(40), lengths),
            "w": np.cos(k * 0.3).astype(np.float32),
            "label": np.repeat(np.arange(40) % 2, lengths).astype(float),
        }
    )
    order = (k * 7919) % len(k)  # a fixed permutation: 7919 is prime to the length
    return frame.iloc[np.argsort(order)].reset_index(drop=True)


def digest(frame: pd.DataFrame) -> str:
    """sha256 of the column names, dtypes, index and values, column by column."""
    h = hashlib.sha256()
    h.update(repr(list(frame.columns)).encode())
    h.update(repr(frame.index).encode())
    for name in frame.columns:
        column = frame[name]
        h.update(f"{name!r}:{column.dtype}".encode())
        h.update(np.ascontiguousarray(column.to_numpy()).tobytes())
    return h.hexdigest()[:20]


ROW_CASES = {
    "plain": dict(seed=0),
    "alpha0": dict(alpha=0, seed=1),
    "alpha-small": dict(alpha=0.2, seed=2),
    "alpha-default": dict(seed=3),
    "concat": dict(seed=4, concat=True),
    "batch-below-n": dict(seed=5, batch_size=1234),
    "batch-above-n": dict(seed=6, batch_size=2 * N + 777),
    "base-epoch": dict(seed=(42, 3)),
    "seed-sequence": dict(seed=np.random.SeedSequence(11, spawn_key=(2,))),
    "labels": dict(seed=7, labels="y"),
    "labels-block": dict(seed=8, labels=["y_p", "y_q", "y_r"]),
    "within-class": dict(seed=9, labels="y", within_class=True),
    "within-class-partial": dict(seed=10, labels="y", within_class=True, batch_size=N + 4321),
    "label-preserving": dict(seed=11, labels="y", label_preserving=True),
    "within-preserving": dict(
        seed=12, labels="y", within_class=True, label_preserving=True, batch_size=5000
    ),
}

ROW_GOLDEN = {
    "plain": "2740b6922b39e612c3ff",
    "alpha0": "41a90dbd78b4cfd3f235",
    "alpha-small": "9d8c1c825da038913f77",
    "alpha-default": "f6d4e76b9523c609a47b",
    "concat": "c37184ea5fff82b1b598",
    "batch-below-n": "870f31e6065be281491f",
    "batch-above-n": "d9bdc727d5233eb3e455",
    "base-epoch": "7d79c3c698b6b394a6df",
    "seed-sequence": "6e240e88f4375d0263f8",
    "labels": "fe1a0970a06abe104cff",
    "labels-block": "61931670cc562db31fe7",
    "within-class": "a553e12d7c61052d2419",
    "within-class-partial": "b9b05072cf26bd745b77",
    "label-preserving": "b0ff962e52b0d5aa995a",
    "within-preserving": "9e346189aa973faae67a",
}

SERIES_CASES = {
    "k2": dict(seed=0),
    "k3": dict(seed=1, k=3, alpha=0.5),
    "scale-none": dict(seed=2, scale=None),
    "batch": dict(seed=3, batch_size=97),
    "labels": dict(seed=4, labels="label"),
    "base-epoch": dict(seed=(5, 1), k=3),
}

SERIES_GOLDEN = {
    "k2": "a3f6fc00513a3a0e553d",
    "k3": "3f98354b037a768f8d99",
    "scale-none": "c62f7c92909516c41981",
    "batch": "583e078da74c8071664a",
    "labels": "5f0266cef771eaecd54a",
    "base-epoch": "7727e6159bec4b714a35",
}


def _row_input(case: str) -> pd.DataFrame:
    if case == "labels-block":
        return onehot_rows()
    return rows() if "labels" in ROW_CASES[case] else rows().drop(columns="y")


@pytest.mark.parametrize("case", ROW_CASES)
def test_row_mixup_is_unchanged(case):
    out = mixup(_row_input(case), **ROW_CASES[case])
    assert digest(out) == ROW_GOLDEN[case]


@pytest.mark.parametrize("case", SERIES_CASES)
def test_series_mixup_is_unchanged(case):
    out = mixup_series(long_series(), series="id", time="t", **SERIES_CASES[case])
    assert digest(out) == SERIES_GOLDEN[case]


@pytest.mark.parametrize("case", ["plain", "batch-above-n", "within-class-partial"])
def test_dask_route_hashes_the_same(case):
    """The golden bits hold on the lazy route too (the route tests check it widely)."""
    frame = _row_input(case)
    lazy = mixup(split_frame(frame, [0, 2000, 3001, 0, 4000]), **ROW_CASES[case])
    assert digest(lazy.compute(scheduler="sync")) == ROW_GOLDEN[case]


@pytest.mark.parametrize("case", ["labels", "within-class-partial"])
def test_parquet_route_hashes_the_same(case, tmp_path):
    _row_input(case).to_parquet(tmp_path / "src.parquet", row_group_size=1500)
    augment_parquet(tmp_path / "src.parquet", tmp_path / "dst", **ROW_CASES[case])
    assert digest(pd.read_parquet(tmp_path / "dst")) == ROW_GOLDEN[case]


def test_series_parquet_route_hashes_the_same(tmp_path):
    long_series().to_parquet(tmp_path / "src.parquet", row_group_size=300)
    options = SERIES_CASES["k3"]
    augment_series_parquet(
        tmp_path / "src.parquet", tmp_path / "dst", series="id", time="t", **options
    )
    assert digest(pd.read_parquet(tmp_path / "dst")) == SERIES_GOLDEN["k3"]

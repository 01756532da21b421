"""Golden outputs of C-Mixup (``bandwidth``): seeded results pinned as hashes, as
``tests/test_golden.py`` pins the rest (same rules: a change needs a real bug and a
line in docs/changelog.md). The data need no random generator."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mixupy_dask import augment_parquet, mixup

from .helpers import split_frame
from .test_golden import digest

#: Rows: more than one lambda block (4096) and selection leaf, as in test_golden.py.
N = 9_001


def table() -> pd.DataFrame:
    i = np.arange(N)
    return pd.DataFrame(
        {
            "a": np.sin(i * 0.37) * 100,
            "b": (i % 97).astype(np.int64),
            "c": np.cos(i * 0.11).astype(np.float32),
            # A target with ties (rounded) and a second, float32 target.
            "y": np.round(np.sin(i * 0.013) * 3 + np.cos(i * 0.7), 2),
            "y2": (np.cos(i * 0.05) * 2).astype(np.float32),
        }
    )


CASES = {
    "bandwidth": dict(seed=0, labels="y", bandwidth=0.1),
    "bandwidth-small": dict(seed=1, labels="y", bandwidth=1e-3),
    "bandwidth-large": dict(seed=2, labels="y", bandwidth=1e3),
    "bandwidth-block": dict(seed=3, labels=["y", "y2"], bandwidth=0.3),
    "bandwidth-batch-concat-provenance": dict(
        seed=4, labels="y", bandwidth=0.05, batch_size=2 * N + 777, concat=True, provenance=True
    ),
}

GOLDEN = {
    "bandwidth": "9868d875eebc82d9f0c6",
    "bandwidth-small": "e44053679e5b5f5c17a3",
    "bandwidth-large": "b0545b00e78269fd40d6",
    "bandwidth-block": "efe1fb04486515059555",
    "bandwidth-batch-concat-provenance": "caca1aa41585b37c2c30",
}


@pytest.mark.parametrize("case", CASES)
def test_c_mixup_is_unchanged(case):
    assert digest(mixup(table(), **CASES[case])) == GOLDEN[case]


@pytest.mark.parametrize("case", ["bandwidth", "bandwidth-batch-concat-provenance"])
def test_dask_route_hashes_the_same(case):
    lazy = mixup(split_frame(table(), [0, 2000, 3001, 0, 4000]), **CASES[case])
    assert digest(lazy.compute(scheduler="sync")) == GOLDEN[case]


@pytest.mark.parametrize("case", ["bandwidth-block"])
def test_parquet_route_hashes_the_same(case, tmp_path):
    table().to_parquet(tmp_path / "src.parquet", row_group_size=1500)
    augment_parquet(tmp_path / "src.parquet", tmp_path / "dst", **CASES[case])
    assert digest(pd.read_parquet(tmp_path / "dst")) == GOLDEN[case]

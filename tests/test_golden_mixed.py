"""Golden outputs of the mixed-type policies (``categorical``, ``integers``, ``missing``,
``provenance``), pinned as hashes like ``test_golden.py`` pins the numeric ones: a
change here changes users' seeded results and needs a real bug and a changelog line.

The data are a pure function of the row number. The digest hashes categorical codes
and categories, strings as UTF-8 text, times as int64 and nullable values with their
mask, so that it depends on values only (object arrays would hash pointers).
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

from mixupy_dask import mixup, mixup_series

from .helpers import split_frame

N = 5_003  # more than one 4096-row block of lambdas and of the SAMPLE stream


def rows() -> pd.DataFrame:
    i = np.arange(N)
    start = pd.Timestamp("2013-01-01", tz="America/New_York")
    frame = pd.DataFrame(
        {
            "a": np.sin(i * 0.37) * 100,
            "n": (i % 97).astype(np.int64),
            "ni": pd.array(i % 13, dtype="Int64"),
            "flag": i % 5 == 0,
            "c": pd.Categorical.from_codes(i % 3, ["z", "a", "b", "unused"]),
            "s": pd.array([f"k{j % 7}" for j in i], dtype="string[pyarrow]"),
            "t": start + pd.to_timedelta(i * 3_607, unit="s"),
            "d": pd.to_timedelta((i * 7919) % 100_003, unit="ms"),
        }
    )
    for name, every in [("a", 11), ("ni", 7), ("c", 17), ("s", 19), ("t", 23)]:
        frame.loc[i % every == 3, name] = None
    return frame


def digest(frame: pd.DataFrame) -> str:
    h = hashlib.sha256()
    h.update(repr(list(frame.columns)).encode())
    h.update(repr(frame.index).encode())
    for name in frame.columns:
        column = frame[name]
        h.update(f"{name!r}:{column.dtype}".encode())
        h.update(column.isna().to_numpy().tobytes())
        if isinstance(column.dtype, pd.CategoricalDtype):
            h.update(repr(list(column.cat.categories)).encode())
            values = column.cat.codes.to_numpy()
        elif pd.api.types.is_string_dtype(column.dtype):
            values = "\0".join(column.fillna("").astype(str)).encode()
        elif hasattr(column.array, "asi8"):
            values = column.array.asi8
        else:
            values = column.to_numpy(dtype=np.float64, na_value=np.nan)
        h.update(values if isinstance(values, bytes) else np.ascontiguousarray(values).tobytes())
    return h.hexdigest()[:20]


CASES = {
    "dominant-round-propagate": dict(
        seed=0, categorical="dominant", integers="round", missing="propagate"
    ),
    "sample-available-provenance": dict(
        seed=1, categorical="sample", missing="available", provenance=True, batch_size=6000
    ),
    "onehot-concat": dict(seed=2, categorical="onehot", missing="propagate", concat=True),
}

GOLDEN = {
    "dominant-round-propagate": "803c693da33971c5a5f7",
    "sample-available-provenance": "37a036b1e30600f90a04",
    "onehot-concat": "168f53384c3b0406fcb0",
}


@pytest.mark.parametrize("case", CASES)
def test_pandas_and_dask_hash_the_same(case):
    out = mixup(rows(), **CASES[case])
    assert digest(out) == GOLDEN[case]
    lazy = mixup(split_frame(rows(), [1000, 0, 2500, 1503]), **CASES[case])
    assert digest(lazy.compute(scheduler="threads")) == GOLDEN[case]


def test_series_dominant_hashes_the_same():
    i = np.arange(600)
    frame = pd.DataFrame(
        {
            "id": [f"s{j:02d}" for j in i // 20],
            "t": i % 20,
            "v": np.sin(i * 0.05) * 10,
            "kind": pd.Categorical.from_codes((i // 20) % 3, ["temp", "hum", "wind"]),
        }
    )
    out = mixup_series(frame, series="id", time="t", k=3, seed=4, categorical="dominant")
    assert digest(out) == "6a65a55da3030bc7f9e7"

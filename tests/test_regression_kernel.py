"""C-Mixup's kernel at sizes the statistical and golden tests do not reach: its
bucket search index and its bucketed sort give numpy's exact answers, and partners
do not depend on the search path, the chunk size or when pending rows are deferred
(which the golden hashes pin at small sizes only)."""

from __future__ import annotations

import numpy as np
import pytest

from mixupy_dask._core import kernel
from mixupy_dask._core.kernel import BucketIndex, LabelKernel, stable_argsort
from mixupy_dask._core.random import Keys

N = 50_000  # above INDEX_MIN and SORT_MIN


def labels_of(case: str) -> np.ndarray:
    rng = np.random.default_rng(17)
    if case == "normal":
        return rng.normal(size=N)
    if case == "uniform":
        return rng.random(N)
    if case == "signed-zeros":  # -0.0 == 0.0: the same bucket, neither before the other
        return np.concatenate([rng.normal(size=N - 200), np.zeros(100), -np.zeros(100)])
    if case == "narrow-far":  # a range far narrower than the values' magnitude
        return 1000.0 + 1e-9 * rng.normal(size=N)
    if case == "exponential":
        return rng.exponential(size=N)
    if case == "ties":  # every value four times
        return np.repeat(rng.normal(size=N // 4), 4)
    raise KeyError(case)


@pytest.mark.parametrize(
    "case", ["normal", "uniform", "signed-zeros", "narrow-far", "exponential", "ties"]
)
def test_bucket_index_searches_as_numpy(case):
    key = np.sort(labels_of(case), kind="stable")
    index = BucketIndex.build(np.append(key, np.nan))
    assert index is not None
    spread = key[-1] - key[0]
    queries = np.concatenate(
        [
            key,
            np.nextafter(key, np.inf),
            np.nextafter(key, -np.inf),
            key - 0.01 * spread,
            key + 0.3 * spread,
            np.random.default_rng(3).uniform(key[0] - spread, key[-1] + spread, 5000),
            [-np.inf, np.inf, -1e308, 1e308, key[0], key[-1], 0.0, -0.0],
        ]
    )
    for side in ("left", "right"):
        for q in (queries, np.sort(queries)):
            np.testing.assert_array_equal(index.search(q, side), np.searchsorted(key, q, side))


@pytest.mark.parametrize(
    "labels",
    [
        np.arange(100.0),  # too few keys to pay
        np.append(np.random.default_rng(1).normal(size=N), 1e12),  # one outlier
        np.round(np.random.default_rng(1).normal(size=N), 1),  # crowded ties
        np.full(N, 2.5),  # no range
        np.append(np.random.default_rng(1).normal(size=N), np.inf),
    ],
)
def test_bucket_index_declines_where_it_does_not_pay(labels):
    assert BucketIndex.build(np.append(np.sort(labels), np.nan)) is None


@pytest.mark.parametrize(
    "case",
    ["normal", "ties", "signed-zeros", "float32", "constant", "nan", "inf", "lognormal"],
)
def test_stable_argsort_is_numpys(case):
    rng = np.random.default_rng(5)
    key = {
        "normal": lambda: rng.normal(size=N),
        "ties": lambda: np.round(rng.normal(size=N), 2),
        "signed-zeros": lambda: rng.choice([-0.0, 0.0, 1.5, -2.0], size=N),
        "float32": lambda: rng.normal(size=N).astype(np.float32),
        "constant": lambda: np.full(N, 7.0),
        "nan": lambda: np.append(rng.normal(size=N), [np.nan, 0.0, np.nan]),
        "inf": lambda: np.append(rng.normal(size=N), [np.inf, -np.inf]),
        "lognormal": lambda: rng.lognormal(0, 2, size=N),
    }[case]()
    np.testing.assert_array_equal(stable_argsort(key), np.argsort(key, kind="stable"))


@pytest.mark.parametrize("columns", [1, 2])
def test_partners_do_not_depend_on_the_search_the_chunks_or_the_deferral(monkeypatch, columns):
    rng = np.random.default_rng(8)
    base = rng.normal(size=N)  # a second column close to the first: attempts stay few
    labels = np.stack([base, base + 0.03 * rng.normal(size=N)][:columns])
    # Two full cycles, a partial one, and a range starting inside a cycle.
    left = np.concatenate([np.tile(np.arange(N), 2), np.sort(rng.choice(N, N // 3, False))])

    def partners() -> tuple[np.ndarray, np.ndarray]:
        k = LabelKernel(Keys(11), 0.05, labels)
        return k.partners(left, 0), k.partners(left[N + 123 :], N + 123)

    assert LabelKernel(Keys(11), 0.05, labels)._index is not None  # the index's path
    whole, part = partners()
    np.testing.assert_array_equal(part, whole[N + 123 :])
    for name, value in [
        ("INDEX_MIN", 10 * N),  # binary searches instead of the index
        ("SCAN", 0),  # every scan left to the binary search
        ("CHUNK", 1000),  # many chunks
        ("FIRST_ATTEMPTS", 1),  # most pending rows deferred
        ("FIRST_ATTEMPTS", 10**6),  # none deferred
    ]:
        with monkeypatch.context() as m:
            m.setattr(kernel, name, value)
            again, again_part = partners()
        np.testing.assert_array_equal(again, whole, err_msg=name)
        np.testing.assert_array_equal(again_part, part, err_msg=name)

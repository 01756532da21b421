"""What the numbers mean: convex pairs, partners as permutations, Beta weights.

Recovered from one-hot row-id data: output row k is lam * e_i + (1 - lam) * e_j.
All seeds fixed; tolerances stated where a test is statistical.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mixupy_dask import mixup
from mixupy_dask._core.random import Keys, Permutation, Selection

P_MIN = 1e-3  # significance level for the fixed-seed tests below


def _row_ids(n: int) -> pd.DataFrame:
    return pd.DataFrame(np.eye(n), columns=[f"r{i}" for i in range(n)])


def _decompose(out: pd.DataFrame, left: np.ndarray):
    """Partner positions and weights of output rows whose left rows are ``left``."""
    values = out.to_numpy()
    rows = np.arange(len(values))
    lam = values[rows, left].copy()
    rest = values.copy()
    rest[rows, left] = 0
    partner = np.where(rest.max(axis=1) > 0, rest.argmax(axis=1), left)
    return partner, lam, values


def test_every_row_is_a_convex_pair_and_full_cycles_use_each_partner_once(route):
    n, m = 30, 75  # two full cycles and a partial one
    out = route(lambda d: mixup(d, 1.0, False, m, seed=2), _row_ids(n))
    values = out.to_numpy()
    assert np.allclose(values.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    assert ((values >= 0) & (values <= 1)).all()
    assert ((values > 0).sum(axis=1) <= 2).all()
    left = np.arange(2 * n) % n
    partner, _, _ = _decompose(out.iloc[: 2 * n], left)
    for cycle in range(2):
        assert sorted(partner[cycle * n : (cycle + 1) * n]) == list(range(n))


def test_partial_cycle_rows_are_distinct_in_input_order_with_distinct_partners():
    n, r = 50, 17
    out = mixup(_row_ids(n), 1.0, False, n + r, seed=8).iloc[n:]
    support = [np.flatnonzero(row) for row in out.to_numpy()]
    assert all(1 <= len(s) <= 2 for s in support)
    # the left row of each output row is pinned down by the order; recover it by
    # trying the candidates in order: left rows must be strictly increasing.
    previous, lefts = -1, []
    for s in support:
        left = min(c for c in s if c > previous) if any(c > previous for c in s) else None
        assert left is not None
        lefts.append(left)
        previous = left
    partner, _, _ = _decompose(out, np.array(lefts))
    assert len(set(lefts)) == r
    assert len(set(partner)) == r


def test_alpha_zero_copies_the_left_rows():
    df = pd.DataFrame({"a": np.arange(10.0), "b": np.arange(10) % 3})
    out = mixup(df, alpha=0, batch_size=25, seed=1)
    pd.testing.assert_frame_equal(
        out.iloc[:20], pd.concat([df, df], ignore_index=True).astype(float), check_exact=True
    )


@pytest.mark.parametrize("alpha", [0.2, 1.0, 4.0])
def test_weights_follow_beta(alpha):
    n = 100
    out = mixup(_row_ids(n), alpha, False, 100 * n, seed=12)
    left = np.arange(len(out)) % n
    partner, lam, _ = _decompose(out, left)
    lam = lam[partner != left]
    assert len(lam) > 9000
    assert stats.kstest(lam, stats.beta(alpha, alpha).cdf).pvalue > P_MIN


def test_label_free_weights_are_symmetric_and_in_unit_interval():
    out = mixup(_row_ids(40), 0.5, False, 4000, seed=4)
    _, lam, _ = _decompose(out, np.arange(4000) % 40)
    assert ((lam >= 0) & (lam <= 1)).all()
    assert abs(lam.mean() - 0.5) < 4 * np.sqrt(0.125 / len(lam))  # mean 1/2, var 1/8 for a=0.5


def test_partial_cycle_selects_every_row_equally_often():
    n, k, seeds = 20, 5, 2000
    counts = np.zeros(n)
    for seed in range(seeds):
        counts[Selection(Keys(seed), n, k).members(0, n)] += 1
    assert counts.sum() == k * seeds
    assert stats.chisquare(counts).pvalue > P_MIN


def test_selection_splits_between_tree_leaves_like_a_uniform_sample():
    n, k, cut, seeds = 10_000, 3_000, 5_000, 300  # several tree leaves
    below = [Selection(Keys(s), n, k).count_before(cut) for s in range(seeds)]
    dist = stats.hypergeom(n, k, cut)
    assert abs(np.mean(below) - dist.mean()) < 4 * dist.std() / np.sqrt(seeds)
    assert abs(np.std(below) / dist.std() - 1) < 0.2


def test_partners_are_not_correlated_with_positions():
    n = 10_000
    perm = Permutation(Keys(1), n)
    x = np.arange(n)
    for cycle in range(3):
        y = perm.forward(x, cycle)
        assert abs(np.corrcoef(x, y)[0, 1]) < 4 / np.sqrt(n)
        assert abs(np.corrcoef(y[:-1], y[1:])[0, 1]) < 4 / np.sqrt(n)
    assert not np.array_equal(perm.forward(x, 0), perm.forward(x, 1))

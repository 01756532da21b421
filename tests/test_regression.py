"""C-Mixup (``bandwidth``): the partners follow the dense kernel's distribution, and
every route gives the pandas reference's bits.

Statistical tests use fixed seeds and a stated significance level (``P_MIN``): the
empirical partner counts of each left row are compared with the dense C-Mixup
probabilities ``w_ij / sum_k w_ik`` by a chi-square test (cells of expected count
below 5 pooled per row), summed over rows; partners of probability 0.0 in float64
must never appear.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats

from mixupy_dask import augment_parquet, mixup
from mixupy_dask._core.kernel import EDGES, LabelKernel
from mixupy_dask._core.random import Keys

from .helpers import on_cluster, run_cli, split_frame

P_MIN = 1e-3  # significance level of every fixed-seed test below

assert_exact = pd.testing.assert_frame_equal


def dense(labels: np.ndarray, sigma: float) -> np.ndarray:
    """C-Mixup's sampling matrix, as the paper's code builds it: N x N weights."""
    y = labels.T  # (rows, columns)
    distance = ((y[:, None, :] - y[None, :, :]) ** 2).sum(axis=2)
    w = np.exp(-distance / (2 * sigma**2))
    return w / w.sum(axis=1, keepdims=True)


def chi_square(left: np.ndarray, partner: np.ndarray, P: np.ndarray):
    """Chi-square statistic and degrees of freedom of the partners of each left row
    against the rows of ``P``: cells of expected count >= 5, the rest of a row pooled
    (into its smallest cell if the pool expects fewer than 5). Also the rare cells'
    observed and expected totals over all rows, for a Poisson test of the tails."""
    n = len(P)
    counts = np.zeros((n, n))
    np.add.at(counts, (left, partner), 1)
    total, dof, rare_seen, rare_expected = 0.0, 0, 0.0, 0.0
    for i in range(n):
        draws = counts[i].sum()
        if not draws:
            continue
        expected = draws * P[i]
        big = expected >= 5
        observed, wanted = counts[i, big], expected[big]
        rest_seen, rest = counts[i, ~big].sum(), expected[~big].sum()
        rare_seen, rare_expected = rare_seen + rest_seen, rare_expected + rest
        if rest >= 5:
            observed, wanted = np.append(observed, rest_seen), np.append(wanted, rest)
        elif len(wanted):
            smallest = np.argmin(wanted)
            observed[smallest] += rest_seen
            wanted[smallest] += rest
        total += ((observed - wanted) ** 2 / wanted).sum()
        dof += max(len(wanted) - 1, 0)
    return total, dof, rare_seen, rare_expected


def check_partners(left, partner, P) -> None:
    assert (P[left, partner] > 0).all(), "a partner of probability 0 was drawn"
    statistic, dof, rare_seen, rare_expected = chi_square(left, partner, P)
    if dof:
        assert stats.chi2.sf(statistic, dof) > P_MIN, (statistic, dof)
    # The tails (cells expecting fewer than 5 draws), together: Poisson, two-sided.
    tails = stats.poisson(rare_expected)
    assert tails.sf(rare_seen - 1) > P_MIN / 2, (rare_seen, rare_expected)
    assert tails.cdf(rare_seen) > P_MIN / 2, (rare_seen, rare_expected)


def labels_of(case: str) -> tuple[np.ndarray, float]:
    rng = np.random.default_rng(5)
    if case == "ties-and-duplicates":  # many equal labels, a few apart
        return np.round(rng.normal(size=(1, 60)), 1), 0.3
    if case == "sigma-below-spacing":  # neighbours 2.5 sigma apart: rings 2 to 3
        return np.arange(40.0)[None, :], 0.4
    if case == "sigma-far-below-spacing":  # only the row itself (weights 1e-87 apart)
        return np.arange(30.0)[None, :], 0.05
    if case == "sigma-far-above-spacing":  # about uniform over all rows
        return rng.random((1, 50)), 100.0
    if case == "rings-crowded-at-edges":  # clusters just beyond each edge of the rings
        edges = np.array([0.0, *EDGES[:-1]])
        return np.concatenate([edges + 1e-3, -edges - 2e-3, [0.0] * 5])[None, :], 1.0
    if case == "multi-column-block":  # three correlated columns
        base = rng.normal(size=40)
        return np.stack([base, base + 0.3 * rng.normal(size=40), rng.normal(size=40)]), 0.7
    raise KeyError(case)


CASES = [
    "ties-and-duplicates",
    "sigma-below-spacing",
    "sigma-far-below-spacing",
    "sigma-far-above-spacing",
    "rings-crowded-at-edges",
    "multi-column-block",
]


@pytest.mark.parametrize("case", CASES)
def test_partners_follow_the_dense_kernel(case):
    """Through ``mixup`` on pandas: 800 draws per left row, from 4 seeds."""
    labels, sigma = labels_of(case)
    n = labels.shape[1]
    names = [f"y{c}" for c in range(len(labels))]
    df = pd.DataFrame(dict(zip(names, labels, strict=True))).assign(x=np.arange(n, dtype=float))
    lefts, partners = [], []
    for seed in range(4):
        out = mixup(df, seed=seed, labels=names, bandwidth=sigma, batch_size=200 * n,
                    provenance=True)  # fmt: skip
        lefts.append(out.mixup_left.to_numpy())
        partners.append(out.mixup_partner.to_numpy())
    check_partners(np.concatenate(lefts), np.concatenate(partners), dense(labels, sigma))


@pytest.mark.parametrize("sigma", [0.002, 0.05, 1.0])
def test_partners_follow_the_dense_kernel_at_2000_rows(sigma):
    """The kernel alone at N = 2,000 (normal labels, every ring populated for some
    rows), 300 draws per row; also pooled: how often each distance ring is drawn."""
    labels = np.random.default_rng(9).normal(size=(1, 2000))
    kernel = LabelKernel(Keys(3), sigma, labels)
    left = np.tile(np.arange(2000), 300)
    partner = kernel.partners(left, 0)
    P = dense(labels, sigma)
    check_partners(left, partner, P)


def test_partners_depend_on_the_output_row_only():
    """Any range of output rows draws the same partners: keyed by global row."""
    labels = np.random.default_rng(1).normal(size=(2, 500))
    kernel = LabelKernel(Keys(7), 0.2, labels)
    left = np.tile(np.arange(500), 3)
    whole = kernel.partners(left, 0)
    for a, b in [(0, 1), (499, 501), (100, 1400), (1200, 1500)]:
        np.testing.assert_array_equal(kernel.partners(left[a:b], a), whole[a:b])


def test_labels_mix_with_lambda_and_left_rows_are_mixups():
    """Left rows, lambda, the labels' soft targets: as plain mixup's, partners aside."""
    rng = np.random.default_rng(2)
    df = pd.DataFrame({"x": rng.normal(size=100), "y": rng.normal(size=100)})
    out = mixup(df, seed=4, labels="y", bandwidth=0.5, provenance=True, batch_size=150)
    plain = mixup(df, seed=4, labels="y", provenance=True, batch_size=150)
    np.testing.assert_array_equal(out.mixup_left, plain.mixup_left)
    np.testing.assert_array_equal(out.mixup_lambda, plain.mixup_lambda)
    lam, i, j = out.mixup_lambda.to_numpy(), out.mixup_left, out.mixup_partner
    for column in ("x", "y"):
        values = df[column].to_numpy()
        np.testing.assert_array_equal(out[column], lam * values[i] + (1 - lam) * values[j])


# --- every route, bit for bit -----------------------------------------------------------


@st.composite
def partitionings(draw):
    n = draw(st.integers(2, 60))
    k = draw(st.integers(1, 7))
    cuts = sorted(draw(st.lists(st.integers(0, n), min_size=k - 1, max_size=k - 1)))
    rng = np.random.default_rng(draw(st.integers(0, 1000)))
    df = pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "i": rng.integers(-5, 5, n),
            "y": np.round(rng.normal(size=n), draw(st.sampled_from([0, 1, 3]))),
            "z": rng.normal(size=n).astype(np.float32),
        }
    )
    options = {
        "alpha": draw(st.sampled_from([0.0, 0.4, 2.0])),
        "concat": draw(st.booleans()),
        "batch_size": draw(st.one_of(st.none(), st.integers(1, 3 * n + 5))),
        "seed": draw(st.integers(0, 2**32)),
        "labels": draw(st.sampled_from(["y", ["y", "z"]])),
        "bandwidth": draw(st.sampled_from([1e-3, 0.1, 1.0, 1e3])),
        "provenance": draw(st.booleans()),
    }
    return df, np.diff([0, *cuts, n]).tolist(), options


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=partitionings())
def test_dask_equals_pandas_for_any_partitioning(case):
    df, lengths, options = case
    expected = mixup(df, **options)
    out = mixup(split_frame(df, lengths), **options).compute(scheduler="threads")
    assert_exact(out, expected, check_exact=True)


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=partitionings())
def test_distributed_equals_pandas(case, cluster_client):
    df, lengths, options = case
    expected = mixup(df, **options)
    out = on_cluster(cluster_client, mixup(split_frame(df, lengths), **options))
    assert_exact(out, expected, check_exact=True)


def _table(n: int = 3000) -> pd.DataFrame:
    rng = np.random.default_rng(11)
    return pd.DataFrame(
        {"a": rng.normal(size=n), "b": rng.integers(0, 9, n), "y": rng.gamma(2.0, size=n)}
    )


@pytest.mark.parametrize(
    "options",
    [
        {"bandwidth": 0.2},
        {"bandwidth": 0.05, "batch_size": 7001, "concat": True, "provenance": True},
    ],
)
def test_parquet_equals_pandas(options, tmp_path):
    df = _table()
    df.to_parquet(tmp_path / "src.parquet", row_group_size=400)
    augment_parquet(tmp_path / "src.parquet", tmp_path / "dst", seed=3, labels="y",
                    blocksize=1, **options)  # fmt: skip
    expected = mixup(df, seed=3, labels="y", **options)
    assert_exact(pd.read_parquet(tmp_path / "dst"), expected, check_exact=True)


@pytest.mark.slow
def test_cli_equals_pandas(tmp_path):
    df = _table(1000)
    df.to_parquet(tmp_path / "src.parquet", row_group_size=300)
    result = run_cli("augment", "src.parquet", "dst", "--labels", "y", "--bandwidth", "0.3",
                     "--seed", "5", "--workers", "1", "--threads-per-worker", "1", "-q",
                     cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    expected = mixup(df, seed=5, labels="y", bandwidth=0.3)
    assert_exact(pd.read_parquet(tmp_path / "dst"), expected, check_exact=True)

"""Properties of the counter-based sampler, which every route relies on."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from mixupy_dask._core.random import (
    LAMBDA_BLOCK,
    Keys,
    Permutation,
    Selection,
    Stream,
    lambdas,
    uniforms,
)


@settings(max_examples=80, deadline=None)
@given(n=st.integers(2, 5000), seed=st.integers(0, 2**64 - 1), cycle=st.integers(0, 10**6))
def test_permutation_is_a_bijection_with_an_elementwise_inverse(n, seed, cycle):
    perm = Permutation(Keys(seed), n)
    x = np.arange(n)
    y = perm.forward(x, cycle)
    assert np.array_equal(np.sort(y), x)
    assert np.array_equal(perm.inverse(y, cycle), x)
    # element-wise: any subset, in any order, maps the same way
    subset = x[::-3]
    assert np.array_equal(perm.forward(subset, cycle), y[subset])


@settings(max_examples=5, deadline=None)
@given(n=st.integers(140_000, 300_000), seed=st.integers(0, 2**64 - 1))
def test_long_arrays_map_as_their_pieces_do(n, seed):
    # Long arrays go through the network in chunks: every element, whichever chunk it
    # falls in, must map as it does alone, with scalar and per-element cycles.
    perm = Permutation(Keys(seed), n)
    x = np.arange(n)
    cycles = x % 7
    assert np.array_equal(np.sort(perm.forward(x, 3)), x)
    for cycle in (3, cycles):
        y = perm.forward(x, cycle)
        picks = np.r_[0:5, 65_530:65_540, n - 5 : n]
        c = cycle if np.ndim(cycle) == 0 else cycles[picks]
        assert np.array_equal(perm.forward(x[picks], c), y[picks])
        assert np.array_equal(perm.inverse(y, cycle), x)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(2, 3000), cycles=st.lists(st.integers(0, 99), min_size=1, max_size=40))
def test_per_element_cycles_match_scalar_cycles(n, cycles):
    perm = Permutation(Keys(5), n)
    x = np.arange(len(cycles)) % n
    c = np.array(cycles)
    got = perm.forward(x, c)
    assert [int(v) for v in got] == [
        int(perm.forward(x[i : i + 1], int(c[i]))[0]) for i in range(len(x))
    ]
    assert np.array_equal(perm.inverse(got, c), x)


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 20_000),
    frac=st.floats(0, 1),
    cuts=st.lists(st.floats(0, 1), max_size=6),
    seed=st.integers(0, 2**32),
)
def test_selection_is_exact_and_consistent_over_any_ranges(n, frac, cuts, seed):
    k = int(frac * n)
    sel = Selection(Keys(seed), n, k)
    everything = sel.members(0, n)
    assert len(everything) == k == len(np.unique(everything))
    assert np.all(np.diff(everything) > 0)
    assert k == 0 or (everything[0] >= 0 and everything[-1] < n)
    bounds = sorted({0, n, *(int(c * n) for c in cuts)})
    pieces = [sel.members(a, b) for a, b in itertools.pairwise(bounds)]
    assert np.array_equal(np.concatenate(pieces), everything)
    assert [sel.count_before(b) for b in bounds] == [int((everything < b).sum()) for b in bounds]


@settings(max_examples=40, deadline=None)
@given(start=st.integers(0, 3 * LAMBDA_BLOCK), length=st.integers(0, 2 * LAMBDA_BLOCK))
def test_weights_of_a_range_do_not_depend_on_how_it_is_cut(start, length):
    keys = Keys(3)
    stop = start + length
    whole = lambdas(keys, 2.0, 0, 6 * LAMBDA_BLOCK)
    assert np.array_equal(lambdas(keys, 2.0, start, stop), whole[start:stop])
    assert np.array_equal(uniforms(keys, start, stop), uniforms(keys, 0, stop)[start:])


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**64 - 1),
    alpha=st.floats(0.01, 1e4),
    k=st.integers(1, LAMBDA_BLOCK),
)
def test_a_short_last_block_is_the_prefix_of_the_full_block(seed, alpha, k):
    # The last block of a range draws only up to its stop; that relies on numpy's
    # generators filling an array in order, so a draw of k values is the first k
    # values of the draw of a whole block (Beta's rejection loops included).
    def block(stream, size):
        rng = Keys(seed).generator(stream, 0)
        return rng.beta(alpha, alpha, size) if stream == Stream.LAMBDA else rng.random(size)

    for stream in (Stream.LAMBDA, Stream.SAMPLE):
        assert np.array_equal(block(stream, k), block(stream, LAMBDA_BLOCK)[:k])


@settings(max_examples=30, deadline=None)
@given(n=st.integers(64, 200_000), seed=st.integers(0, 2**64 - 1), cycle=st.integers(0, 99))
def test_tabulated_round_functions_equal_computed_ones(n, seed, cycle):
    # One cycle over at least 2 ** w values looks the round functions up in tables;
    # a few values compute them. Both must give the same permutation.
    perm = Permutation(Keys(seed), n)
    x = np.arange(n)
    y = perm.forward(x, cycle)
    few = np.unique(np.r_[0, n // 3, n - 1])
    assert len(few) < 1 << max(perm._widths) <= n
    assert np.array_equal(perm.forward(few, cycle), y[few])
    assert np.array_equal(perm.inverse(y[few], cycle), few)

"""The mixing formula: ``combine`` is the plain in-order weighted sum, bit for bit."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from mixupy_dask._kernel.mix import PRODUCT_SLICE, combine


def _in_order(terms: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """``w1 * t1 + w2 * t2 + ...`` added left to right, with block-sized temporaries."""
    out = terms[0][0] * terms[0][1]
    for term, weight in terms[1:]:
        out = out + term * weight
    return out


@settings(max_examples=60, deadline=None)
@given(
    columns=st.sampled_from([1, 3, 10, 33]),
    # Up to several slices of rows (PRODUCT_SLICE // columns each), and a ragged last one.
    rows=st.integers(0, PRODUCT_SLICE + 7),
    k=st.integers(1, 4),
    per_column=st.booleans(),
    dtype=st.sampled_from([np.float64, np.float32]),
    seed=st.integers(0, 2**32 - 1),
)
def test_combine_is_the_in_order_sum_bit_for_bit(columns, rows, k, per_column, dtype, seed):
    rng = np.random.default_rng(seed)
    terms = []
    for _ in range(k):
        term = rng.standard_normal((columns, rows)).astype(dtype)
        term.flat[:: max(1, term.size // 5)] = -0.0  # signed zeros must keep their sign
        shape = (columns, rows) if per_column else (rows,)
        weight = rng.choice([0.0, 1.0, 0.25, rng.random()], size=shape).astype(dtype)
        terms.append((term, weight))
    expected = _in_order(terms)
    first = terms[0][0].copy()
    # Every term but the first is the caller's fresh gather, so combine may overwrite it.
    got = combine([terms[0]] + [(t.copy(), w) for t, w in terms[1:]])
    assert got.shape == expected.shape
    assert got.dtype == expected.dtype
    bits = np.uint64 if dtype == np.float64 else np.uint32
    np.testing.assert_array_equal(got.view(bits), expected.view(bits))
    np.testing.assert_array_equal(terms[0][0], first)  # the first term is not overwritten

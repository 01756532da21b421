"""Exact mixing of datetimes and timedeltas in integers of their unit."""

from __future__ import annotations

import numpy as np

#: int64 of NaT: a time passenger's missing value.
NAT = np.iinfo(np.int64).min

_M32 = np.uint64(0xFFFFFFFF)


def _shift_left(x: np.ndarray, s: np.ndarray) -> np.ndarray:
    """``x << s`` for shifts in [0, 63] (numpy leaves larger shifts undefined)."""
    return np.left_shift(x, s.astype(np.uint64))


def _quotient_high(hi: np.ndarray, lo: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """``round_half_even((hi * 2**64 + lo) / 2**shift)`` for shifts >= 64."""
    one = np.ones_like(lo)
    # The product is below 2**117: shifts from 118 on round to zero like 120 does.
    t = (np.minimum(shift, 120) - 64).astype(np.uint64)  # 0..56
    q = hi >> t
    r_hi = hi & (_shift_left(one, t) - one)
    half_hi = np.where(t > 0, _shift_left(one, np.maximum(t, one) - one), 0).astype(np.uint64)
    half_lo = np.where(t > 0, 0, np.uint64(1) << np.uint64(63)).astype(np.uint64)
    above = (r_hi > half_hi) | ((r_hi == half_hi) & (lo > half_lo))
    tie = (r_hi == half_hi) & (lo == half_lo)
    return q + (above | (tie & (q & one).astype(bool)))


def mix_times(left: np.ndarray, right: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``left + round(w * (right - left))``, exactly, for int64 times and float64
    weights ``w`` in [0, 1]; rounding half to even.

    The difference can need 65 bits, so it is held as its sign and magnitude (uint64).
    Below 2**59 (and for weights >= 2**-9) the float product's nearest integer is
    corrected by its exact remainder (``_near_quotient``); elsewhere
    ``w = mantissa * 2**(exponent - 53)`` with an integer mantissa below 2**53, so
    ``mantissa * |difference|`` is a 117-bit integer, formed from 32-bit limbs whose
    partial products fit uint64, and shifted right with round-half-even. The result
    lies between ``left`` and ``right``, so int64 holds it (wrapping arithmetic in
    uint64 gives it exactly).
    """
    left = np.asarray(left, dtype=np.int64)
    right = np.asarray(right, dtype=np.int64)
    w = np.asarray(w, dtype=np.float64)
    if left.size > _TIME_CHUNK:
        # ~40 element-wise passes with temporaries: over cache-sized chunks they run
        # about twice as fast as over a whole column.
        out = np.empty_like(left)
        for start in range(0, left.size, _TIME_CHUNK):
            part = slice(start, start + _TIME_CHUNK)
            out[part] = _mix_times(left[part], right[part], w[part])
        return out
    return _mix_times(left, right, w)


#: Rows per pass of ``mix_times``: its dozen uint64 temporaries stay in cache.
_TIME_CHUNK = 32768


def _mix_times(left: np.ndarray, right: np.ndarray, w: np.ndarray) -> np.ndarray:
    ul, ur = left.view(np.uint64), right.view(np.uint64)
    up = right >= left
    magnitude = np.where(up, ur - ul, ul - ur)  # |right - left| < 2**64, mod 2**64
    q, near = _near_quotient(magnitude, w)
    # The rest (huge differences, weights below 2**-9) in the 117-bit integer product.
    rows = np.flatnonzero(~near)
    if len(rows):
        q[rows] = _exact_quotient(magnitude[rows], w[rows])
    return np.where(up, ul + q, ul - q).view(np.int64)


#: ``_near_quotient`` is exact for differences below this (and weights >= 2**-9).
_NEAR_LIMIT = np.uint64(2**59)


def _near_quotient(magnitude: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``round_half_even(w * magnitude)`` and where it is exact: where
    ``magnitude < 2**59`` and ``w`` is 0 or >= 2**-9 (other rows get any value). A
    float estimate corrected by its exact remainder.

    With ``w = mantissa / 2**shift`` (``mantissa < 2**53``, ``shift <= 61``) the float
    product ``p`` is within ``2**-50 * w * magnitude`` of the exact one (two roundings
    of 2**-53 each, with room to spare), so ``q = rint(p)`` leaves a remainder
    ``r = mantissa * magnitude - q * 2**shift`` with ``|r| < 2**(shift - 1) +
    8 * magnitude < 5 * 2**60``. It fits int64, so wrapping uint64 arithmetic gives it
    exactly, and ``q + round(r / 2**shift)`` is the exact quotient.
    """
    fraction, exponent = np.frexp(w)
    shift = 53 - exponent.astype(np.int64)
    mantissa = np.ldexp(fraction, 53).astype(np.uint64)  # exact: 53 significant bits
    # Rows outside the range may overflow the casts; they are recomputed, so no warning.
    with np.errstate(invalid="ignore", over="ignore"):
        q = np.rint(w * magnitude.astype(np.float64)).astype(np.uint64)
    remainder = (mantissa * magnitude - _shift_left(q, shift)).view(np.int64)
    half = np.left_shift(1, shift - 1)
    up = remainder + half  # floor(up / 2**shift) rounds r / 2**shift half up
    q += (up >> shift).view(np.uint64)  # -1, 0 or more: wraps as it should
    tie = (up & ((half << 1) - 1)) == 0
    q -= tie & (q & np.uint64(1)).astype(bool)  # a half: to the even neighbour
    return q, (magnitude < _NEAR_LIMIT) & (shift <= 61)


def _exact_quotient(magnitude: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``round_half_even(w * magnitude)`` exactly, in integer arithmetic (``mix_times``)."""
    fraction, exponent = np.frexp(w)
    mantissa = np.ldexp(fraction, 53).astype(np.uint64)  # exact: 53 significant bits
    shift = (53 - exponent).astype(np.int64)  # >= 52, as w <= 1
    mh, ml = mantissa >> np.uint64(32), mantissa & _M32
    dh, dl = magnitude >> np.uint64(32), magnitude & _M32
    ll, lh, hl, hh = ml * dl, ml * dh, mh * dl, mh * dh
    middle = (lh & _M32) + (hl & _M32) + (ll >> np.uint64(32))
    lo = (ll & _M32) | ((middle & _M32) << np.uint64(32))
    hi = hh + (lh >> np.uint64(32)) + (hl >> np.uint64(32)) + (middle >> np.uint64(32))
    # Most weights are >= 2**-10, so the shift is 52..63 and the quotient takes bits
    # of hi and lo; larger shifts (tiny weights) are done apart, on their rows only.
    one = np.ones_like(lo)
    low = shift < 64
    sa = np.where(low, shift, 63).astype(np.uint64)
    q = _shift_left(hi, 64 - sa) | (lo >> sa)
    remainder = lo & (_shift_left(one, sa) - one)
    half = _shift_left(one, sa - one)
    q += (remainder > half) | ((remainder == half) & (q & one).astype(bool))
    high = np.flatnonzero(~low)
    if len(high):
        q[high] = _quotient_high(hi[high], lo[high], shift[high])
    return q

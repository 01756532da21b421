"""Argument checks shared by every route: backends only ever see clean arguments."""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .errors import MixupError, MixupTypeError
from .sampler import Keys

__all__ = [
    "MAX_ROWS",
    "Params",
    "check_batch_size",
    "check_params",
    "check_rows",
    "is_int",
    "seed_keys",
]

#: Output positions stay exact as int64 and float64 below this many rows.
MAX_ROWS = 2**53

SeedLike = int | Sequence[int] | np.random.SeedSequence | None


@dataclass(frozen=True)
class Params:
    alpha: float
    concat: bool
    batch_size: int | None
    keys: Keys
    label_preserving: bool = False


def is_int(value) -> bool:
    """An integer, and not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def seed_keys(seed: SeedLike) -> Keys:
    """Fix the seed now: ``None`` draws fresh entropy once, at the call."""
    if isinstance(seed, np.random.SeedSequence):
        return Keys.from_seed_sequence(seed)
    if seed is None:
        return Keys.from_seed_sequence(np.random.SeedSequence())
    if is_int(seed):
        values = [seed]
    elif isinstance(seed, Sequence) and not isinstance(seed, (str, bytes)) and seed:
        values = list(seed)
    else:
        values = None
    if values is None or not all(is_int(v) for v in values):
        raise MixupTypeError(
            f"`seed` must be None, a non-negative int, a sequence of them or a "
            f"numpy SeedSequence, not {seed!r}"
        )
    if any(v < 0 for v in values):
        raise MixupError(f"`seed` must be non-negative, got {seed!r}")
    return Keys.from_seed_sequence(np.random.SeedSequence([int(v) for v in values]))


def check_params(
    alpha, concat, batch_size, seed, within_class=False, label_preserving=False, labels=None
) -> Params:
    """Validate mixup's parameters; raise naming the parameter and what is allowed."""
    if not isinstance(alpha, numbers.Real) or isinstance(alpha, (bool, np.bool_)):
        raise MixupTypeError(f"`alpha` must be a real number >= 0, not {alpha!r}")
    if not (np.isfinite(alpha) and alpha >= 0):
        raise MixupError(f"`alpha` must be a finite number >= 0, got {alpha!r}")
    if not isinstance(concat, (bool, np.bool_)):
        raise MixupTypeError(f"`concat` must be True or False, not {concat!r}")
    for name, flag in (("within_class", within_class), ("label_preserving", label_preserving)):
        if not isinstance(flag, (bool, np.bool_)):
            raise MixupTypeError(f"`{name}` must be True or False, not {flag!r}")
        if flag and labels is None:
            raise MixupError(f"`{name}=True` needs `labels`: the label column(s) to use")
    batch_size = check_batch_size(batch_size)
    return Params(float(alpha), bool(concat), batch_size, seed_keys(seed), bool(label_preserving))


def check_batch_size(batch_size) -> int | None:
    """None, or an int in [1, 2**53): how many rows (or series) to make."""
    if batch_size is None:
        return None
    if not is_int(batch_size):
        raise MixupTypeError(f"`batch_size` must be None or a positive int, not {batch_size!r}")
    if not 0 < batch_size < MAX_ROWS:
        raise MixupError(f"`batch_size` must be between 1 and 2**53 - 1, got {batch_size!r}")
    return int(batch_size)


def check_rows(n: int, batch_size: int | None) -> int:
    """Check the number of input rows; return the number of mixed rows to make."""
    if n < 2:
        raise MixupError(f"`data` must have at least 2 rows to mix, it has {n}")
    m = n if batch_size is None else batch_size
    if n + m >= MAX_ROWS:
        raise MixupError("`data` and `batch_size` together must stay below 2**53 rows")
    return m

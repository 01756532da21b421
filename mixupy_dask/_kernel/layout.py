"""Which columns are mixed and how: the mixing policy and the ``Layout`` of a frame's
columns into float blocks and passengers."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from .._core.dtypes import is_categorical_like, is_time, output_dtype
from ..errors import MixupTypeError


@dataclass(frozen=True)
class Policy:
    """How columns other than floats are mixed (``mixup``'s ``categorical``,
    ``integers`` and ``missing``); the defaults are today's behaviour."""

    categorical: str = "raise"
    integers: str = "float"
    missing: str = "raise"


DEFAULT_POLICY = Policy()


@dataclass(frozen=True)
class Passenger:
    """A column that is not mixed in the float blocks: its output position, its dtype
    (the same in and out) and how it is mixed.

    ``kind`` is ``"codes"`` (a categorical, by its integer codes), ``"values"``
    (strings, object strings or bools, as they are) — both take one parent's value
    — or ``"time"`` (datetime/timedelta as int64 in the column's unit, mixed exactly).
    """

    position: int
    kind: str
    dtype: Any  # numpy or pandas dtype


@dataclass(frozen=True)
class Layout:
    """Which columns are mixed, and the output dtype of each, grouped into blocks.

    Float blocks hold the numeric columns (``groups``); ``passengers`` the columns
    that travel beside them (categoricals, strings, times; bools under
    ``integers="round"``); ``rounded`` the integer columns mixed as floats and then
    rounded back into their own dtype.
    """

    columns: pd.Index
    groups: tuple[tuple[np.dtype, tuple[int, ...]], ...]
    #: (group, row within the group's block) of each label column, in label order
    labels: tuple[tuple[int, int], ...] = ()
    passengers: tuple[Passenger, ...] = ()
    #: (group, row within the group's block, dtype) of each rounded integer column
    rounded: tuple[tuple[int, int, object], ...] = ()
    policy: Policy = DEFAULT_POLICY
    #: The labels are a class column's one-hot columns, exactly 0 or 1 in every input
    #: row: they cross the shuffle as uint8 (``wire_frame``), an eighth of the bytes.
    onehot_labels: bool = False

    @classmethod
    def from_dtypes(
        cls,
        dtypes: pd.Series,
        labels: Sequence = (),
        policy: Policy = DEFAULT_POLICY,
        accepted: str = "`categorical='dominant'`, 'sample' or 'onehot'",
    ) -> Layout:
        """Check that every column can be mixed under ``policy``; raise naming the ones
        that cannot.

        ``labels`` names the (encoded) label columns, whose argmax is a row's class;
        they are always mixed as floats.
        """
        label_set = set(labels)
        # Plain lists: iterating pandas' (Arrow-backed) column index costs ~3 us a name.
        names, types = dtypes.index.tolist(), dtypes.tolist()
        kinds: list[str | np.dtype | None] = []
        for name, dt in zip(names, types, strict=True):
            kinds.append(_kind(dt, policy if name not in label_set else DEFAULT_POLICY))
        bad = [(name, dt) for name, dt, k in zip(names, types, kinds, strict=True) if k is None]
        if bad:
            shown = ", ".join(f"{name!r} ({dt})" for name, dt in bad)
            message = (
                f"columns must be bool, integer, float, datetime or timedelta to be mixed; "
                f"not so: {shown}"
            )
            if policy.categorical == "raise" and any(is_categorical_like(dt) for _, dt in bad):
                message += (
                    f"; categorical, string and object (string) columns are taken by {accepted}"
                )
            raise MixupTypeError(message)
        groups: dict[np.dtype, list[int]] = {}
        passengers = []
        for position, (dt, kind) in enumerate(zip(types, kinds, strict=True)):
            if isinstance(kind, str):
                passengers.append(Passenger(position, kind, dt))
            else:
                assert kind is not None  # refused above
                groups.setdefault(kind, []).append(position)
        where = {
            names[p]: (g, i)
            for g, positions in enumerate(groups.values())
            for i, p in enumerate(positions)
        }
        rounded = tuple(
            (*where[name], dt)
            for name, dt in zip(names, types, strict=True)
            if name in where
            and name not in label_set
            and policy.integers == "round"
            and ptypes.is_integer_dtype(dt)
        )
        return cls(
            dtypes.index,
            tuple((dt, tuple(pos)) for dt, pos in groups.items()),
            tuple(where[name] for name in labels),
            tuple(passengers),
            rounded,
            policy,
        )

    @property
    def plain(self) -> bool:
        """Float blocks only, as before mixed types: the fast paths apply."""
        return not self.passengers and not self.rounded


def _kind(dtype, policy: Policy) -> str | np.dtype | None:
    """How a column of ``dtype`` is mixed: a float dtype (in a block), a passenger
    kind, or None (refused)."""
    if isinstance(dtype, np.dtype):
        return _numpy_kind(dtype, policy)
    return _dtype_kind(dtype, policy)


@functools.lru_cache(maxsize=256)
def _numpy_kind(dtype: np.dtype, policy: Policy) -> str | np.dtype | None:
    # Numpy dtypes are few and cheap to hash; pandas' checks cost ~20 us a column,
    # a tenth of a 10-column, 1e4-row mixup.
    return _dtype_kind(dtype, policy)


def _dtype_kind(dtype, policy: Policy) -> str | np.dtype | None:
    if is_time(dtype):
        return "time" if isinstance(dtype, (np.dtype, pd.DatetimeTZDtype)) else None
    if is_categorical_like(dtype):
        if policy.categorical not in ("dominant", "sample"):
            return None
        return "codes" if isinstance(dtype, pd.CategoricalDtype) else "values"
    if ptypes.is_bool_dtype(dtype) and policy.integers == "round":
        return "values"
    return output_dtype(dtype)

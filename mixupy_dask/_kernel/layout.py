"""Which columns are mixed and how: the ``Layout`` of a frame's columns into float
blocks and passengers, each passenger of a registered ``Kind`` (``kinds``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from .._core.dtypes import is_categorical_like
from ..errors import MixupTypeError
from .kinds import DEFAULT_POLICY, Kind, Policy, kind_of


@dataclass(frozen=True)
class Passenger:
    """A column that is not mixed in the float blocks: its output position, its dtype
    (the same in and out) and its ``Kind``, which holds, mixes and carries it."""

    position: int
    kind: Kind
    dtype: Any  # numpy or pandas dtype


@dataclass(frozen=True)
class Layout:
    """Which columns are mixed, and the output dtype of each, grouped into blocks.

    Float blocks hold the numeric columns (``block_columns``: each block's dtype and
    column positions); ``passengers`` the columns that travel beside them, one
    ``Kind`` each (categoricals, strings, times; bools under ``integers="round"``);
    ``rounded`` the integer columns mixed as floats and then rounded back into their
    own dtype.
    """

    columns: pd.Index
    block_columns: tuple[tuple[np.dtype, tuple[int, ...]], ...]
    #: (block, row within the block) of each label column, in label order
    labels: tuple[tuple[int, int], ...] = ()
    passengers: tuple[Passenger, ...] = ()
    #: (block, row within the block, dtype) of each rounded integer column
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
        kinds: list[Kind | np.dtype | None] = []
        for name, dt in zip(names, types, strict=True):
            kinds.append(kind_of(dt, policy if name not in label_set else DEFAULT_POLICY))
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
        blocks: dict[np.dtype, list[int]] = {}
        passengers = []
        for position, (dt, kind) in enumerate(zip(types, kinds, strict=True)):
            if isinstance(kind, Kind):
                passengers.append(Passenger(position, kind, dt))
            else:
                assert kind is not None  # refused above
                blocks.setdefault(kind, []).append(position)
        where = {
            names[p]: (g, i)
            for g, positions in enumerate(blocks.values())
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
            tuple((dt, tuple(pos)) for dt, pos in blocks.items()),
            tuple(where[name] for name in labels),
            tuple(passengers),
            rounded,
            policy,
        )

    @property
    def plain(self) -> bool:
        """Float blocks only (no passenger, no rounded integer): the fast paths apply."""
        return not self.passengers and not self.rounded

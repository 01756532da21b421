"""Which input series and weights make each output series: drawn on the client,
O(series), nothing per row."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from .._core.random import SERIES_BLOCK, Keys, choose_series, dirichlet_weights


@dataclass(frozen=True)
class Plan:
    """Which input series (``chosen``) and weights make each output series.

    Metadata built on the client: a length per input series, ``k`` series numbers
    and weights per output series; nothing per row. Whole blocks are always drawn,
    so output series ``b`` gets the same draws whatever ``batch_size`` is.
    """

    ids: pd.Index  # sorted input series ids; position = series number
    lengths: np.ndarray  # (S,) rows per input series
    chosen: np.ndarray  # (m, k) series numbers
    weights: np.ndarray  # (m, k)
    #: The constant columns' value in each input series (rows in ``ids`` order).
    constants: pd.DataFrame | None = None

    def dominant_values(self, first: int, last: int, out_lengths: np.ndarray) -> pd.DataFrame:
        """Each output row's constant columns: its output series' series of largest
        weight (the first on ties), for output series ``[first, last)``."""
        assert self.constants is not None
        weights = self.weights[first:last]
        dominant = self.chosen[first:last][np.arange(len(weights)), weights.argmax(axis=1)]
        return self.constants.iloc[np.repeat(dominant, out_lengths)].reset_index(drop=True)

    @classmethod
    def draw(
        cls, keys: Keys, ids: pd.Index, lengths: np.ndarray, m: int, k: int, alpha: float
    ) -> Plan:
        blocks = range(-(-m // SERIES_BLOCK))
        chosen = np.concatenate([choose_series(keys, len(ids), k, b) for b in blocks])[:m]
        weights = np.concatenate([dirichlet_weights(keys, k, alpha, b) for b in blocks])[:m]
        return cls(ids, lengths, chosen, weights)

    @property
    def m(self) -> int:
        return len(self.chosen)

    @property
    def k(self) -> int:
        return self.chosen.shape[1]

    @cached_property
    def out_lengths(self) -> np.ndarray:
        """Each output series is as long as the shortest series it mixes."""
        return self.lengths[self.chosen].min(axis=1)

    @cached_property
    def out_offsets(self) -> np.ndarray:
        return np.concatenate([[0], np.cumsum(self.out_lengths)])

    @cached_property
    def uses(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For each input series, the (output series, slot) pairs using it, as CSR."""
        flat = self.chosen.ravel()
        order = np.argsort(flat, kind="stable")
        ptr = np.concatenate([[0], np.cumsum(np.bincount(flat, minlength=len(self.ids)))])
        return ptr, order // self.k, order % self.k

    def partition_bounds(self, target_rows: float) -> np.ndarray:
        """Output series boundaries so that each output partition receives about
        ``target_rows`` input rows (its ``k`` copies), never splitting a series."""
        incoming = np.cumsum(self.lengths[self.chosen].sum(axis=1))
        q = int(np.clip(np.ceil(incoming[-1] / max(target_rows, 1.0)), 1, self.m))
        edges = np.searchsorted(incoming, incoming[-1] * np.arange(1, q) / q) + 1
        return np.unique(np.concatenate([[0], np.clip(edges, 1, self.m), [self.m]]))

"""The pandas adapter: the kernel's own frame type, so every step is the kernel's."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .._core.labels import Encoders
from .._kernel.layout import Layout
from .._kernel.rows import Rows, from_rows, to_rows, with_provenance
from .base import FrameAdapter


class PandasAdapter(FrameAdapter):
    name = "pandas"

    def accepts(self, data: Any) -> bool:
        return isinstance(data, pd.DataFrame)

    def schema(self, data: pd.DataFrame) -> pd.Series:
        return data.dtypes

    def value_counts(self, data: pd.DataFrame, column: Any) -> pd.Series:
        return data[column].value_counts(dropna=False)

    def encode(self, data: pd.DataFrame, encoders: Encoders) -> pd.DataFrame:
        return encoders.encode(data)

    def to_rows(self, data: pd.DataFrame, layout: Layout) -> Rows:
        # Arrow-backed passengers as dictionary codes: these rows are only mixed with
        # each other, so left and partner rows share one dictionary.
        return to_rows(data, layout, coded=True)

    def from_rows(
        self,
        rows: Rows,
        layout: Layout,
        like: pd.DataFrame,
        provenance: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    ) -> pd.DataFrame:
        out = from_rows(rows, layout, pd.RangeIndex(len(rows)))
        return out if provenance is None else with_provenance(out, *provenance)

    def to_pandas(self, data: pd.DataFrame) -> pd.DataFrame:
        return data

    def from_pandas(self, frame: pd.DataFrame, like: pd.DataFrame) -> pd.DataFrame:
        return frame

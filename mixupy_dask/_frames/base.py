"""The frame adapter: what the in-memory route needs of a dataframe library.

The route never looks inside a frame: it asks the adapter for the columns' dtypes, a
class column's value counts and the kernel's ``Rows``, mixes the rows, and asks the
adapter for a frame of the input's kind back. Dtypes are given in the kernel's
vocabulary (numpy and pandas dtypes, as ``Layout.from_dtypes`` reads them), so an
adapter maps its library's types onto those; the values themselves need not pass
through pandas.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from contextlib import AbstractContextManager, nullcontext
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from .._core.labels import Encoders
from .._kernel.layout import Layout
from .._kernel.rows import Rows
from ..errors import MixupError


class FrameAdapter(ABC):
    """One dataframe library's frames, as the in-memory route reads and writes them."""

    #: The library, as errors name the kinds of ``data`` accepted ("pandas").
    name: ClassVar[str]

    @property
    def noun(self) -> str:
        """The frame type as errors name it ("pandas DataFrame")."""
        return f"{self.name} DataFrame"

    @abstractmethod
    def accepts(self, data: Any) -> bool:
        """Whether ``data`` is a frame of this library."""

    @abstractmethod
    def schema(self, data: Any) -> pd.Series:
        """The columns' dtypes, indexed by column name in column order (duplicates
        kept, so they can be refused), in the kernel's vocabulary."""

    @abstractmethod
    def value_counts(self, data: Any, column: Any) -> pd.Series:
        """``column``'s rows per distinct value, missing values counted too, as
        pandas' ``value_counts(dropna=False)`` gives them (a categorical's with a
        ``CategoricalIndex`` of all its categories): ``Labels.from_counts`` reads it."""

    def rows(self, data: Any) -> int:
        """Rows of ``data`` (``len(data)`` unless overridden)."""
        return len(data)

    @abstractmethod
    def encode(self, data: Any, encoders: Encoders) -> Any:
        """``data`` with each of ``encoders``' columns replaced, in place, by its
        float64 one-hot columns ``Labels.names`` (NaN in all of them where missing)."""

    @abstractmethod
    def to_rows(self, data: Any, layout: Layout) -> Rows:
        """The values as the kernel's ``Rows`` (float blocks and passengers as
        ``layout`` groups them), checked as ``_kernel.rows.to_rows`` checks them."""

    @abstractmethod
    def from_rows(
        self,
        rows: Rows,
        layout: Layout,
        like: Any,
        provenance: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    ) -> Any:
        """A frame of ``like``'s kind with ``layout``'s columns and output dtypes and a
        fresh row numbering, holding ``rows``; then, if given, the provenance columns
        (left rows, partners, lambdas) as ``PROVENANCE`` names them."""

    def session(self, data: Any) -> AbstractContextManager[None]:
        """A context for one call's work on ``data`` (which nothing changes meanwhile):
        an adapter may convert ``data`` once in it for all its methods (Polars)."""
        return nullcontext()

    def advice(self, data: Any) -> str | None:
        """For a frame of this library that ``accepts`` refuses (a lazy one), the
        error to raise instead of the generic one: what to do with it."""
        return None

    def to_pandas(self, data: Any) -> pd.DataFrame:
        """``data`` as a pandas frame, for routes without an adapter of their own
        (``mixup_series``): the dtypes ``schema`` gives."""
        raise NotImplementedError(f"{self.name} frames do not convert to pandas")

    def from_pandas(self, frame: pd.DataFrame, like: Any) -> Any:
        """A pandas result as a frame of ``like``'s kind, columns that come from
        ``like``'s keeping their types."""
        raise NotImplementedError(f"{self.name} frames do not convert from pandas")


def check_columns(columns: pd.Index) -> None:
    """A frame's columns: at least one, uniquely named."""
    if len(columns) == 0:
        raise MixupError("`data` has no columns to mix")
    if columns.has_duplicates:
        dups = sorted({repr(c) for c in columns[columns.duplicated()]})
        raise MixupError(f"column names must be unique; repeated: {', '.join(dups)}")

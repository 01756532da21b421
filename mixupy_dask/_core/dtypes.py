"""What a column's dtype is, as the mixing rules see it: numeric output dtypes,
times, and categorical-like (categorical, string or object) columns."""

from __future__ import annotations

import numpy as np
import pandas as pd
from pandas.api import types as ptypes


def output_dtype(dtype) -> np.dtype | None:
    """float32 for floats of 32 bits or less, float64 for other bool/int/float, else None."""
    if isinstance(dtype, pd.CategoricalDtype) or ptypes.is_complex_dtype(dtype):
        return None
    if ptypes.is_float_dtype(dtype):
        return (
            np.dtype(np.float32)
            if np.dtype(_numpy_type(dtype)).itemsize <= 4
            else np.dtype(np.float64)
        )
    if ptypes.is_bool_dtype(dtype) or ptypes.is_integer_dtype(dtype):
        return np.dtype(np.float64)
    return None


def _numpy_type(dtype):
    """The numpy type behind a numpy, pandas-nullable or pyarrow-backed numeric dtype."""
    return getattr(dtype, "numpy_dtype", dtype)


def is_time(dtype) -> bool:
    return ptypes.is_datetime64_any_dtype(dtype) or ptypes.is_timedelta64_dtype(dtype)


def is_categorical_like(dtype) -> bool:
    """A categorical, string or object column: mixed by choosing a parent's value."""
    return (
        isinstance(dtype, pd.CategoricalDtype)
        or ptypes.is_string_dtype(dtype)
        or ptypes.is_object_dtype(dtype)
    ) and not is_time(dtype)

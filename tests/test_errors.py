"""Bad input: one table, every route, an exception naming the problem (never sys.exit)."""

from __future__ import annotations

import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest

from mixupy_dask import MixupError, MixupTypeError, NonFiniteError, mixup


def _good(n: int = 6) -> pd.DataFrame:
    return pd.DataFrame({"x": np.linspace(0, 1, n), "y": np.arange(n) % 2})


PARAMETER_ERRORS = [
    # (exception, message regex, keyword arguments)
    (MixupTypeError, r"`alpha`.*real number", {"alpha": "one"}),
    (MixupTypeError, r"`alpha`", {"alpha": True}),
    (MixupTypeError, r"`alpha`", {"alpha": None}),
    (MixupError, r"`alpha`.*>= 0.*-1", {"alpha": -1}),
    (MixupError, r"`alpha`.*finite", {"alpha": float("nan")}),
    (MixupError, r"`alpha`.*finite", {"alpha": float("inf")}),
    (MixupTypeError, r"`concat`.*True or False", {"concat": "True"}),
    (MixupTypeError, r"`concat`", {"concat": 1}),
    (MixupTypeError, r"`batch_size`.*int", {"batch_size": "one"}),
    (MixupTypeError, r"`batch_size`.*int", {"batch_size": 2.0}),
    (MixupTypeError, r"`batch_size`.*int", {"batch_size": True}),
    (MixupError, r"`batch_size`.*between 1", {"batch_size": 0}),
    (MixupError, r"`batch_size`.*between 1", {"batch_size": -1}),
    (MixupError, r"`batch_size`.*2\*\*53", {"batch_size": 2**63}),
    (MixupTypeError, r"`seed`", {"seed": 1.5}),
    (MixupTypeError, r"`seed`", {"seed": "7"}),
    (MixupTypeError, r"`seed`", {"seed": True}),
    (MixupTypeError, r"`seed`", {"seed": []}),
    (MixupError, r"`seed`.*non-negative", {"seed": -3}),
]


@pytest.mark.parametrize("lazy", [False, True], ids=["pandas", "dask"])
@pytest.mark.parametrize(("exc", "match", "kwargs"), PARAMETER_ERRORS)
def test_bad_parameters(exc, match, kwargs, lazy):
    data = dd.from_pandas(_good(), npartitions=2) if lazy else _good()
    with pytest.raises(exc, match=match):
        mixup(data, **kwargs)


@pytest.mark.parametrize("data", [np.ones((4, 2)), [[1.0, 2.0], [3.0, 4.0]], pd.Series([1.0, 2.0])])
def test_data_must_be_a_frame(data):
    with pytest.raises(MixupTypeError, match=r"`data` must be a pandas DataFrame, .* or dask"):
        mixup(data)


def test_dask_series_is_not_a_frame():
    with pytest.raises(MixupTypeError, match=r"`data`"):
        mixup(dd.from_pandas(pd.Series([1.0, 2.0, 3.0]), npartitions=1))


def _with_bad_values() -> pd.DataFrame:
    df = _good(12).assign(z=1.0)
    df.loc[9, "x"] = np.nan
    df.loc[10, "x"] = np.inf
    df.loc[11, "z"] = -np.inf
    return df


def test_non_finite_values_in_one_partition_surface_at_compute_time(route):
    # on dask the graph builds fine; the task that reads the bad partition raises
    with pytest.raises(NonFiniteError, match=r"'x' \(2\), 'z' \(1\)"):
        route(lambda d: mixup(d, seed=0), _with_bad_values())

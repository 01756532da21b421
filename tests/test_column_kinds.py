"""The column-kind registry as an extension point, used the way its recipe says.

A toy kind for ``pd.PeriodDtype`` columns (refused today) takes the dominant parent's
period; registered for the test only, it mixes the same bits on pandas and on dask,
keeps the period dtype, and is gone again afterwards.
"""

from __future__ import annotations

from typing import Any

import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest

from mixupy_dask import MixupTypeError, mixup
from mixupy_dask._kernel import kinds
from mixupy_dask._kernel.kinds import CHOOSING, Kind, Mixing, Policy, choose, kind_of, registered

PERIODS = pd.PeriodDtype("D")


class DominantPeriods(Kind):
    """Periods under ``categorical="dominant"`` / "sample": the dominant parent's
    (under ``missing="available"``, the other parent's where just one is missing).

    Held as the column's own ``PeriodArray`` (``Kind``'s defaults), so only which
    dtypes it takes and how it mixes are its own."""

    name = "periods"

    def takes(self, dtype: Any, policy: Policy) -> bool:
        return isinstance(dtype, pd.PeriodDtype) and policy.categorical in CHOOSING

    def mix(self, left: Any, right: Any, dtype: Any, how: Mixing) -> Any:
        take = how.dominant
        if how.missing == "available":  # where just one parent is missing, the other's
            lmiss, rmiss = self.missing(left), self.missing(right)
            take = np.where(lmiss != rmiss, rmiss, take)
        return choose(take, left, right)


def frame(n: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    days = pd.period_range("2024-01-01", periods=400, freq="D")
    picked = days[rng.integers(0, 400, n)].array.copy()
    picked[rng.random(n) < 0.2] = pd.NaT
    return pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "day": pd.Series(picked, dtype=PERIODS),
            "s": pd.array(rng.choice(["a", "b"], n), dtype="string[pyarrow]"),
        }
    )


@pytest.mark.parametrize("missing", ["propagate", "available"])
def test_a_registered_kind_mixes_the_same_bits_on_pandas_and_dask(missing):
    df = frame()
    options = {"alpha": 0.4, "seed": 7, "categorical": "dominant", "missing": missing}
    with pytest.raises(MixupTypeError, match="'day'"):  # no kind takes it yet
        mixup(df, **options)
    with registered(DominantPeriods()) as kind:
        assert kinds.KINDS[0] is kind
        assert kind_of(PERIODS, Policy(categorical="dominant")) is kind
        expected = mixup(df, provenance=True, **options)
        lazy = mixup(dd.from_pandas(df, npartitions=3), provenance=True, **options)
        assert lazy._meta.dtypes.to_dict() == expected.dtypes.to_dict()
        got = lazy.compute(scheduler="sync")
    assert kind not in kinds.KINDS
    assert kind_of(PERIODS, Policy(categorical="dominant")) is None
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    assert expected["day"].dtype == PERIODS
    # The rule itself: the dominant parent's period; under "available", the other
    # parent's where just the dominant one is missing.
    left = df["day"].to_numpy()[expected["mixup_left"].to_numpy()]
    right = df["day"].to_numpy()[expected["mixup_partner"].to_numpy()]
    dominant = expected["mixup_lambda"].to_numpy() >= 0.5
    want = pd.Series(np.where(dominant, left, right), dtype=PERIODS)
    if missing == "available":
        lmiss, rmiss = pd.isna(left), pd.isna(right)
        want = pd.Series(np.where(lmiss != rmiss, np.where(lmiss, right, left), want))
    pd.testing.assert_series_equal(
        expected["day"].reset_index(drop=True), want.astype(PERIODS), check_names=False
    )


def test_every_passenger_dtype_has_exactly_its_registered_kind():
    """One registry decides: the kinds are tried in order, the float block is the rest."""
    policy = Policy(categorical="sample", integers="round")
    assert [type(k).__name__ for k in kinds.KINDS] == [
        "ExactTimes",
        "CategoryCodes",
        "ChosenValues",
    ]
    found = {
        str(dt): kind_of(dt, policy)
        for dt in [
            np.dtype("M8[ns]"),
            pd.CategoricalDtype(["a"]),
            pd.StringDtype("pyarrow"),
            np.dtype(bool),
            np.dtype(np.int32),
        ]
    }
    assert [getattr(k, "name", k) for k in found.values()] == [
        "time",
        "codes",
        "values",
        "values",
        np.dtype(np.float64),
    ]

"""``df.mixup(...)`` and ``ddf.mixup(...)``, registered when the package is imported."""

from __future__ import annotations

import dask.dataframe as dd
import pandas as pd

from ._rows.mixup import mixup


class MixupAccessor:
    """``frame.mixup(...)`` is ``mixupy_dask.mixup(frame, ...)``."""

    def __init__(self, frame):
        self._frame = frame

    def __call__(self, *args, **kwargs):
        return mixup(self._frame, *args, **kwargs)

    __call__.__doc__ = mixup.__doc__


pd.api.extensions.register_dataframe_accessor("mixup")(MixupAccessor)
dd.extensions.register_dataframe_accessor("mixup")(MixupAccessor)

"""mixupy_dask: exact, partition-invariant mixup data augmentation for pandas and Dask.

The public API is what ``__all__`` lists; every module whose name starts with an
underscore is internal and may change without notice.
"""

from typing import Any

from . import _accessors  # noqa: F401  (registers df.mixup / ddf.mixup)
from ._dask.cluster import local_cluster
from ._datasets import load_iris, make_data
from ._io.job import AugmentSummary, augment_parquet, augment_series_parquet
from ._rows.mixup import mixup
from ._series.mixup import mixup_series
from ._stream.stream import MixupStream
from ._version import __version__
from .errors import DestinationBusyError, MixupError, MixupTypeError, NonFiniteError

__all__ = [
    "AugmentSummary",
    "DestinationBusyError",
    "MixupError",
    "MixupOverSampler",
    "MixupStream",
    "MixupTypeError",
    "NonFiniteError",
    "__version__",
    "augment_parquet",
    "augment_series_parquet",
    "load_iris",
    "local_cluster",
    "make_data",
    "mixup",
    "mixup_series",
]


def __getattr__(name: str) -> Any:
    # Loaded on first use: scikit-learn and imbalanced-learn are an optional extra
    # ("balance"), and importing mixupy_dask must not import them.
    if name == "MixupOverSampler":
        from ._oversampler import MixupOverSampler

        return MixupOverSampler
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

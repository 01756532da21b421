"""mixupy_dask: exact, partition-invariant mixup data augmentation for pandas and Dask."""

from importlib.metadata import PackageNotFoundError, version

from . import accessors as _accessors  # noqa: F401  (registers df.mixup / ddf.mixup)
from .api import mixup
from .errors import MixupError, MixupTypeError, NonFiniteError
from .parquet import augment_parquet as augment_parquet  # re-export (issue 4)
from .series import mixup_series as mixup_series  # re-export (issue 6)

try:
    __version__ = version("mixupy_dask")
except PackageNotFoundError:  # running from a source tree
    __version__ = "0+unknown"

__all__ = ["MixupError", "MixupTypeError", "NonFiniteError", "__version__", "mixup", "mixup_series"]

"""The installed package's version, for ``__version__`` and output metadata."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("mixupy_dask")
except PackageNotFoundError:  # running from a source tree
    __version__ = "0+unknown"

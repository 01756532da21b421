"""The exceptions raised for bad input, shared by every route and the CLI."""

from __future__ import annotations

__all__ = ["DestinationBusyError", "MixupError", "MixupTypeError", "NonFiniteError"]


class MixupError(ValueError):
    """A parameter, column or value that mixup cannot work with.

    The message names the parameter or the columns and says what is allowed.
    Catch this (or ``ValueError``) to handle every user error of the package.
    """


class MixupTypeError(MixupError, TypeError):
    """An argument of the wrong type (also a ``TypeError``)."""


class NonFiniteError(MixupError):
    """Data with NaN, missing or infinite values, found when the values are read.

    On the dask route this is raised by the task that reads the offending
    partition, at compute time.
    """


class DestinationBusyError(MixupError):
    """Another run has claimed the destination (``dst``) this run was to write.

    Raised before this run writes anything, so it leaves nothing behind. A claim left
    by a run that was killed is released by ``overwrite=True`` (``--overwrite``).
    """

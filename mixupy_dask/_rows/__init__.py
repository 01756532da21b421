"""Row mixup: the validated call, the in-memory (pandas) route, the dask route and the
public ``mixup``. Imports ``_core``, ``_kernel``, ``_dask``; never ``_series`` or ``_io``."""

"""Series mixup: the call, its plan, the in-memory and dask routes and the public
``mixup_series``. Imports ``_core``, ``_kernel``, ``_dask``; never ``_rows`` or ``_io``."""

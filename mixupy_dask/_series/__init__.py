"""Series mixup: column roles, the drawn plan, the shared series kernel, the call, the
in-memory and dask routes and the public ``mixup_series``. Imports ``_core``, ``_kernel``,
``_dask``; never ``_rows`` or ``_io``."""

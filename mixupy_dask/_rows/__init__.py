"""Row mixup: the validated call, the in-memory route (through a frame adapter), the dask
route and the public ``mixup``. Imports ``_core``, ``_kernel``, ``_frames``, ``_dask``;
never ``_series`` or ``_io``."""

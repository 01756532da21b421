"""Dataframe engines: the small interface the in-memory route talks to
(``FrameAdapter``: columns and dtypes in, column blocks out, a frame back), one adapter
per in-memory dataframe library (pandas today) and the registry that picks the adapter
for a frame. Imports ``_core``, ``_kernel`` and ``errors``; nothing of dask, rows,
series or I/O."""

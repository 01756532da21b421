"""Dask plumbing: a route's input (``Source``), the one partner exchange and clusters.
Imports ``_core``, ``_kernel`` and ``errors``; nothing of rows, series or I/O."""

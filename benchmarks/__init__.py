"""The benchmark suite of mixupy_dask: ``python -m benchmarks [--quick | --large]``.

Every figure is measured against peers in the same run, on the same machine, and
reported as a ratio: the in-memory route against a plain numpy floor and against
mixupy, the Parquet route against a plain Parquet copy and a plain Dask shuffle of
the same data. The suite reports; it asserts nothing about speed.

Modules, one per thing measured:

- ``timing``: repetitions (median, min, max) and the machine facts.
- ``in_memory``: ``mixup`` on pandas vs mixupy vs the numpy floor.
- ``peak_memory``: peak memory of the in-memory route, in a fresh subprocess.
- ``variants``: within-class and series mixup as ratios to plain mixup.
- ``parquet_route``: Parquet to Parquet on a two-worker ``LocalCluster``.
- ``report``: ``results.json``, ``results.md`` and ``results.png``.
"""

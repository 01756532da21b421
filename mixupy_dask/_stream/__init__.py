"""``MixupStream``: a fresh, exact mix every epoch, cut into batches for training loops.

``plan.py`` (the epoch's order: units, windows, batches, ranks; pure functions of the
row count, seed, epoch and sizes), ``sources.py`` (the rows of a pandas frame, a Dask
frame or a Parquet dataset, read by global row ranges), ``stream.py`` (``MixupStream``:
each window mixed by the in-memory route's pairs, batches gathered and mixed, the next
window read in a background thread) and ``torch.py`` (the torch ``IterableDataset``;
torch is imported there only). Imports every layer below it: ``_rows`` for the row
semantics, ``_io`` for Parquet sources."""

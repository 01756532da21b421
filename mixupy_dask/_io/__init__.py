"""Out-of-core input and output: Parquet sources, the output's provenance record, the
commit protocol and the job behind ``augment_parquet``. Imports every layer below it."""

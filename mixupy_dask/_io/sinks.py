"""Sinks: how a lazy frame's partitions become files of one format.

A sink only writes. The commit protocol (``commit.py``) names the files, chooses the
directory they go to (a staging directory or the destination itself), counts their
rows, lists them in the ``_SUCCESS`` manifest, moves them into place and removes them
after a failure; it knows nothing of the format. Another format is another sink,
passed to ``Destination.write``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Protocol

import dask.dataframe as dd
from pandas.api.types import is_float_dtype

#: Key of the provenance record written into every Parquet file's schema metadata.
METADATA_KEY = b"mixupy_dask"


class Sink(Protocol):
    """A file format the commit protocol can write."""

    #: The data files' suffix: the protocol names them ``part.N{suffix}``.
    suffix: str

    def write(
        self,
        frame: dd.DataFrame,
        url: str,
        names: Sequence[str],
        metadata: dict[str, Any] | None,
        storage_options: dict[str, Any],
    ) -> Any:
        """The lazy write of partition ``i`` of ``frame`` to the file ``url/names[i]``.

        ``url`` is a directory URL, opened with ``storage_options``; ``metadata`` is
        the job's provenance record, for formats that can carry it. Write those files
        and no others (the manifest refuses a directory holding others). Return one
        dask DataFrame collection (a Scalar or a Series, not a ``Delayed``: it is
        computed together with each partition's row count, and the partitions are
        computed once) whose final task waits on the tasks writing the files: a
        failed run waits for those before it removes what they wrote.
        """
        ...


class ParquetSink:
    """Snappy-compressed Parquet through pyarrow, the provenance in each file's schema
    metadata (``METADATA_KEY``), no ``_metadata`` file and no index."""

    suffix = ".parquet"

    def write(
        self,
        frame: dd.DataFrame,
        url: str,
        names: Sequence[str],
        metadata: dict[str, Any] | None,
        storage_options: dict[str, Any],
    ) -> Any:
        custom = {METADATA_KEY: json.dumps(metadata).encode()} if metadata else None
        return frame.to_parquet(
            url,
            engine="pyarrow",
            compression="snappy",
            write_index=False,
            write_metadata_file=False,
            name_function=lambda i: names[i],
            custom_metadata=custom,
            storage_options=storage_options,
            # Mixed values are all distinct, so a dictionary never pays for float
            # columns: trying one made writing 2.6x slower and files 20 % larger (8 MiB
            # of float64, pyarrow 26). Other columns (make-data's labels) keep it: a
            # categorical's categories round-trip through it in their order.
            use_dictionary=[str(c) for c, t in frame.dtypes.items() if not is_float_dtype(t)],
            compute=False,
        )


#: The library's output format.
PARQUET = ParquetSink()

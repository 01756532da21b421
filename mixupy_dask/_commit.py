"""Writing a result: all or nothing at the destination, and the one destination check.

Every writer (``augment_parquet``, ``augment_series_parquet``, ``make_data``) checks
its destination with ``Destination.check`` before anything runs, and writes through
``Destination.write``: pyarrow writes the files into a hidden directory beside the
destination, which is renamed into place only once every file is complete, so a
failed or interrupted run leaves nothing at the destination.
"""

from __future__ import annotations

import contextlib
import json
import posixpath
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import dask.dataframe as dd
import fsspec
from pandas.api.types import is_float_dtype

from ._cluster import as_current
from ._source import ParquetSource, strip
from .errors import MixupError

#: Key of the provenance record written into every output file's schema metadata.
METADATA_KEY = b"mixupy_dask"


@dataclass(frozen=True)
class Destination:
    """A checked destination: a new dataset directory (or one to replace)."""

    fs: fsspec.AbstractFileSystem
    path: str
    url: str
    overwrite: bool
    storage_options: dict[str, Any]

    @classmethod
    def check(
        cls,
        dst: str,
        storage_options: dict[str, Any],
        overwrite: bool,
        source: ParquetSource | None = None,
    ) -> Destination:
        """Refuse a destination that is not a new directory in an existing one, or that
        is (or holds, or lies inside) the source."""
        fs, path = fsspec.core.url_to_fs(str(dst), **storage_options)
        path = strip(fs, path)
        if not path or path == "/" or posixpath.basename(path) in ("", ".", ".."):
            raise MixupError(f"`dst` must name a new dataset directory, not {dst!r}")
        if source is not None and type(fs) is type(source.fs):
            src = source.path.rstrip("/")
            if path == src or path.startswith(src + "/"):
                raise MixupError(f"`dst` must not be `src` or inside it: {dst}")
            if overwrite and src.startswith(path.rstrip("/") + "/"):
                raise MixupError(
                    f"`dst` contains `src`; overwriting it would delete the source: {dst}"
                )
        if fs.exists(path) and not overwrite:
            raise MixupError(f"`dst` already exists: {dst} (use overwrite=True / --overwrite)")
        parent = posixpath.dirname(path)
        if parent and not fs.isdir(parent):
            raise MixupError(f"the directory of `dst` does not exist: {parent}")
        return cls(fs, path, str(dst), overwrite, storage_options)

    def write(
        self,
        frame: dd.DataFrame,
        metadata: dict[str, Any] | None = None,
        client: Any = None,
        progress: Callable[[Any], None] | None = None,
    ) -> int:
        """Write ``frame`` here as a Parquet dataset, all or nothing; return the file count.

        The files go to a hidden directory beside the destination (same parent, so the
        final move is a rename on local disks) that is removed if anything fails,
        interrupts included. An existing destination is replaced only after the new
        dataset is complete.
        """
        return _write(frame, self, metadata, client, progress)


def _write(
    frame: dd.DataFrame,
    destination: Destination,
    metadata: dict[str, Any] | None,
    client: Any,
    progress: Callable[[Any], None] | None,
) -> int:
    fs, dst, overwrite = destination.fs, destination.path, destination.overwrite
    parent, name = posixpath.split(dst)
    tag = uuid.uuid4().hex[:12]
    tmp = posixpath.join(parent, f".{name}.mixupy-tmp-{tag}")
    width = len(str(frame.npartitions - 1))
    custom = {METADATA_KEY: json.dumps(metadata).encode()} if metadata else None
    future = None
    try:
        write = frame.to_parquet(
            fs.unstrip_protocol(tmp),
            engine="pyarrow",
            compression="snappy",
            write_index=False,
            write_metadata_file=False,
            # Zero-padded so that every reader (pandas/pyarrow sort names as strings)
            # reads the files back in output order.
            name_function=lambda i: f"part.{i:0{width}d}.parquet",
            custom_metadata=custom,
            storage_options=destination.storage_options,
            # Mixed values are all distinct, so a dictionary never pays for float columns:
            # trying one made writing 2.6x slower and files 20 % larger (8 MiB of float64,
            # pyarrow 26). Other columns (make-data's labels) keep it: a categorical's
            # categories round-trip through it in their order.
            use_dictionary=[str(c) for c, t in frame.dtypes.items() if not is_float_dtype(t)],
            compute=False,
        )
        if client is not None:
            # As the current client, so that Dask picks its p2p shuffle for this cluster
            # (for a client that is not the default one it would pick the disk shuffle).
            with as_current(client):
                future = client.compute(write)
            if progress is not None:
                progress(future)
            future.result()
        else:
            write.compute()
        files = [p for p in fs.ls(tmp, detail=False) if p.endswith(".parquet")]
        _move_into_place(fs, tmp, dst, overwrite, tag)
    except BaseException:
        # Also on KeyboardInterrupt: never leave a partial dataset behind. Release the
        # job so no further write starts; a write already running may still create a
        # file while the directory is being removed, so removal is tried again.
        if future is not None:
            with contextlib.suppress(Exception):
                future.release()
        for attempt in range(3):
            try:
                if fs.exists(tmp):
                    fs.rm(tmp, recursive=True)
                break
            except OSError:
                if attempt == 2:
                    raise
        raise
    return len(files)


def _move_into_place(fs, tmp: str, dst: str, overwrite: bool, tag: str) -> None:
    if not fs.exists(dst):
        fs.mv(tmp, dst, recursive=True)
        return
    if not overwrite:  # appeared while we were writing
        raise MixupError(f"`dst` already exists: {dst} (use overwrite=True / --overwrite)")
    parent, name = posixpath.split(dst)
    old = posixpath.join(parent, f".{name}.mixupy-old-{tag}")
    try:
        fs.mv(dst, old, recursive=True)
        fs.mv(tmp, dst, recursive=True)
    except BaseException:
        # Interrupted (or failed) between the two renames: put the old dataset back,
        # so `dst` is always either the old dataset or the complete new one.
        if not fs.exists(dst) and fs.exists(old):
            fs.mv(old, dst, recursive=True)
        raise
    fs.rm(old, recursive=True)

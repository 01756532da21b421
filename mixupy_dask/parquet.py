"""Parquet in, Parquet out, out of core: the route behind ``augment_parquet`` and the CLI.

The source is cut into partitions along its row groups, whose row counts come from the
Parquet footers, so the dask route never has to count rows by reading data. The result
is written by pyarrow into a hidden directory beside the destination and renamed into
place only once every file is complete: a failed or interrupted run leaves nothing at
the destination, and the source is only ever read.
"""

from __future__ import annotations

import contextlib
import json
import posixpath
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

import dask
import dask.dataframe as dd
import fsspec
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq
from pandas.api.types import is_float_dtype

from .api import check_call, mixup
from .errors import MixupError, MixupTypeError
from .validation import check_rows

__all__ = ["AugmentSummary", "augment_parquet"]

#: Default target of uncompressed bytes per partition. Partitions are whole row
#: groups, so a single larger row group still makes one (larger) partition.
DEFAULT_BLOCKSIZE = 64 * 2**20

#: Key of the provenance record written into every output file's schema metadata.
METADATA_KEY = b"mixupy_dask"


@dataclass(frozen=True)
class AugmentSummary:
    """What ``augment_parquet`` did.

    Attributes
    ----------
    rows_in, rows_out : int
        Rows read from the source and written to the destination.
    files_written : int
        Parquet files in the destination dataset.
    seconds : float
        Wall-clock time of the whole run.
    seed : int or sequence of int or numpy.random.SeedSequence
        The seed used; when none was given, the fresh entropy drawn for this run,
        so passing it back as ``seed`` reproduces the output bit for bit.
    dst : str
        The destination dataset.
    """

    rows_in: int
    rows_out: int
    files_written: int
    seconds: float
    seed: Any
    dst: str


@dataclass(frozen=True)
class _Piece:
    """Some row groups of one file, with their row count and size from the footer."""

    path: str
    row_groups: tuple[int, ...]
    rows: int
    nbytes: int


@dataclass(frozen=True)
class _Source:
    fs: fsspec.AbstractFileSystem
    path: str
    columns: tuple[str, ...]
    pieces: tuple[_Piece, ...]
    meta: pd.DataFrame
    blocksize: int | None = None

    @property
    def rows(self) -> int:
        return sum(piece.rows for piece in self.pieces)

    @property
    def partitions(self) -> tuple[tuple[_Piece, ...], ...]:
        """The pieces grouped by the ``blocksize`` given to ``_open_source`` (or 64 MiB)."""
        return _group(self.pieces, self.blocksize or DEFAULT_BLOCKSIZE)

    @property
    def lengths(self) -> list[int]:
        """Rows per partition of ``partitions``."""
        return [sum(piece.rows for piece in part) for part in self.partitions]

    def frame(self, blocksize: int) -> tuple[dd.DataFrame, list[int], Callable]:
        """The lazy source, partitions of ~``blocksize`` bytes, their row counts, and a
        function that reads partition ``p`` again (so mixing tasks can read their own
        rows after the shuffle instead of holding them across it)."""
        partitions = _group(self.pieces, blocksize)
        reader = partial(_read_nth, partitions, self.fs, self.columns)
        frame = dd.from_map(
            _read_partition,
            partitions,
            args=(self.fs, self.columns),
            meta=self.meta,
            label="read-parquet-rowgroups",
            enforce_metadata=False,
        )
        return frame, [sum(piece.rows for piece in part) for part in partitions], reader


@dataclass(frozen=True)
class _Plan:
    """A validated run, not started yet: the source, the options and where it goes."""

    source: _Source
    options: dict[str, Any]
    blocksize: int | None
    fs: fsspec.AbstractFileSystem
    dst: str
    dst_url: str
    overwrite: bool
    rows_out: int
    seed: Any
    metadata: dict[str, Any]
    storage_options: dict[str, Any]

    def frame(self, blocksize: int) -> dd.DataFrame:
        """The lazy mixed output, reading the source in partitions of ~``blocksize``."""
        frame, lengths, reader = self.source.frame(blocksize)
        return mixup(frame, _lengths=lengths, _read_partition=reader, **self.options)


def _strip(fs: fsspec.AbstractFileSystem, path: str) -> str:
    path = fs._strip_protocol(path)
    return posixpath.normpath(path) if path else path


def _open_source(
    src: str,
    columns: Sequence[str] | None,
    storage_options: dict[str, Any],
    blocksize: int | None = None,
) -> _Source:
    """Read the footers of ``src``: its columns and the row counts of its row groups."""
    fs, path = fsspec.core.url_to_fs(str(src), **storage_options)
    path = _strip(fs, path)
    if not fs.exists(path):
        raise MixupError(f"`src` does not exist: {src}")
    try:
        # The same discovery as pandas.read_parquet (pyarrow), so files come in its
        # order and hidden or underscore files (_metadata, .crc) are skipped alike.
        dataset = pads.dataset(path, filesystem=fs, format="parquet", partitioning="hive")
        fragments = list(dataset.get_fragments())
        for fragment in fragments:
            fragment.ensure_complete_metadata()
    except (pa.ArrowInvalid, OSError) as exc:
        _check_unique_names(fs, path, src)
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise MixupError(
            f"`src` is not a readable Parquet file or dataset: {src} ({reason})"
        ) from exc
    if not fragments:
        raise MixupError(f"`src` holds no Parquet files: {src}")

    schema = dataset.schema
    index_columns = {
        c for c in (schema.pandas_metadata or {}).get("index_columns", []) if isinstance(c, str)
    }
    available = [name for name in schema.names if name not in index_columns]
    given = columns
    if columns is None:
        columns = available
    else:
        columns = [columns] if isinstance(columns, str) else list(columns)
        if not columns or not all(isinstance(c, str) for c in columns):
            raise MixupTypeError(f"`columns` must be a non-empty list of names, not {columns!r}")
        missing = [c for c in columns if c not in available]
        if missing:
            raise MixupError(
                f"`columns` not in {src}: {', '.join(map(repr, missing))}; "
                f"it has: {', '.join(map(repr, available))}"
            )
    partition_fields = set(schema.names) - set(fragments[0].physical_schema.names)
    hive = [c for c in columns if c in partition_fields]
    if hive:
        # pandas reads directory keys back as categoricals, which cannot be mixed.
        raise MixupTypeError(
            f"columns must be bool, integer or float to be mixed; not so: "
            f"{', '.join(map(repr, hive))} (directory partition keys); leave them out "
            f"with `columns`"
        )
    _check_same_columns(src, fragments, columns, every_column=given is None)
    meta = schema.empty_table().select(columns).to_pandas()

    pieces = [
        _Piece(fragment.path, (i,), rg.num_rows, rg.total_byte_size)
        for fragment in fragments
        for i, rg in enumerate(fragment.row_groups)
        if rg.num_rows > 0
    ]
    return _Source(fs, path, tuple(columns), tuple(pieces), meta, blocksize)


def _own_columns(fragment: pads.ParquetFileFragment) -> dict[str, pa.DataType]:
    """A file's columns and their Parquet types, without pandas' stored index columns."""
    schema = fragment.physical_schema
    index = {
        c for c in (schema.pandas_metadata or {}).get("index_columns", []) if isinstance(c, str)
    }
    return {field.name: field.type for field in schema if field.name not in index}


def _same_type(a: pa.DataType, b: pa.DataType) -> bool:
    # Older and newer pandas write strings as string or large_string: same values.
    strings = (pa.string(), pa.large_string())
    return a == b or (a in strings and b in strings)


def _check_same_columns(
    src: str,
    fragments: Sequence[pads.ParquetFileFragment],
    columns: Sequence[str],
    every_column: bool,
) -> None:
    """Refuse files that disagree on the columns read: a missing column or another type.

    pandas and pyarrow read such a dataset with the first file's schema, casting or
    filling the other files with nulls as that order dictates; refusing is the only
    answer that cannot silently change values. Files may order their columns
    differently, and with ``every_column`` (no ``columns`` given) must have the same
    set of them.
    """
    first = fragments[0]
    reference = _own_columns(first)
    for fragment in fragments[1:]:
        if fragment.physical_schema.equals(first.physical_schema):
            continue  # the common case, cheaply
        own = _own_columns(fragment)
        problems = [f"lacks {c!r}" for c in columns if c in reference and c not in own]
        problems += [
            f"has {c!r} as {own[c]} where {first.path} has {reference[c]}"
            for c in columns
            if c in reference and c in own and not _same_type(own[c], reference[c])
        ]
        if every_column:
            problems += [f"has {c!r}, which {first.path} lacks" for c in own if c not in reference]
        if problems:
            raise MixupError(
                f"the files of `src` {src} disagree on their columns: {fragment.path} "
                f"{'; '.join(problems)}. Rewrite them with one schema, or choose the "
                f"columns they share with `columns`"
            )


def _check_unique_names(fs: fsspec.AbstractFileSystem, path: str, src: str) -> None:
    """Name repeated column names, which pyarrow only reports as a failed schema merge."""
    files = [path] if fs.isfile(path) else sorted(fs.find(path))
    for file in files:
        if posixpath.basename(file).startswith(("_", ".")):
            continue
        try:
            with fs.open(file, "rb") as f:
                names = pq.read_schema(f).names
        except (pa.ArrowInvalid, OSError):
            continue  # not Parquet: reported as unreadable by the caller
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise MixupError(
                f"column names must be unique; {file} repeats: {', '.join(map(repr, repeated))}"
            )


def _group(pieces: Sequence[_Piece], blocksize: int) -> tuple[tuple[_Piece, ...], ...]:
    """Consecutive pieces into partitions of at most ``blocksize`` bytes (at least one each).

    Row groups of the same file in one partition are read together.
    """
    partitions: list[list[_Piece]] = []
    size = 0
    for piece in pieces:
        if partitions and size + piece.nbytes <= blocksize:
            last = partitions[-1][-1]
            if last.path == piece.path:
                partitions[-1][-1] = _Piece(
                    last.path,
                    last.row_groups + piece.row_groups,
                    last.rows + piece.rows,
                    last.nbytes + piece.nbytes,
                )
            else:
                partitions[-1].append(piece)
            size += piece.nbytes
        else:
            partitions.append([piece])
            size = piece.nbytes
    return tuple(tuple(part) for part in partitions)


def _read_partition(
    pieces: tuple[_Piece, ...], fs: fsspec.AbstractFileSystem, names: tuple[str, ...]
) -> pd.DataFrame:
    """One partition: its row groups, read with pyarrow and converted as pandas would."""
    tables = []
    for piece in pieces:
        with fs.open(piece.path, "rb") as f:
            try:
                table = pq.ParquetFile(f).read_row_groups(piece.row_groups, columns=list(names))
            except OSError as exc:
                # pyarrow reports undecodable pages (bad headers, corrupt compression)
                # as a plain OSError; its subclasses (connection, timeout, file gone)
                # are failures of the system, not of the data, and pass unchanged.
                if type(exc) is not OSError:
                    raise
                reason = str(exc).strip().splitlines()[0] if str(exc).strip() else "OSError"
                first, last = piece.row_groups[0], piece.row_groups[-1]
                groups = f"row group {first}" if first == last else f"row groups {first}-{last}"
                raise MixupError(
                    f"`src` has a corrupt Parquet file: {piece.path} ({groups}: {reason})"
                ) from exc
        tables.append(table)
    # Files may store strings as string or large_string (see _same_type).
    table = (
        tables[0] if len(tables) == 1 else pa.concat_tables(tables, promote_options="permissive")
    )
    return table.to_pandas()


def _read_nth(partitions, fs: fsspec.AbstractFileSystem, names: tuple[str, ...], p: int):
    return _read_partition(partitions[p], fs, names)


def _check_destination(
    source: _Source, dst: str, storage_options: dict[str, Any], overwrite: bool
) -> tuple[fsspec.AbstractFileSystem, str]:
    fs, path = fsspec.core.url_to_fs(str(dst), **storage_options)
    path = _strip(fs, path)
    if not path or path == "/" or posixpath.basename(path) in ("", ".", ".."):
        raise MixupError(f"`dst` must name a new dataset directory, not {dst!r}")
    if type(fs) is type(source.fs):
        src = source.path.rstrip("/")
        if path == src or path.startswith(src + "/"):
            raise MixupError(f"`dst` must not be `src` or inside it: {dst}")
        if overwrite and src.startswith(path.rstrip("/") + "/"):
            raise MixupError(f"`dst` contains `src`; overwriting it would delete the source: {dst}")
    if fs.exists(path) and not overwrite:
        raise MixupError(f"`dst` already exists: {dst} (use overwrite=True / --overwrite)")
    parent = posixpath.dirname(path)
    if parent and not fs.isdir(parent):
        raise MixupError(f"the directory of `dst` does not exist: {parent}")
    return fs, path


def _plan(
    src: str,
    dst: str,
    *,
    alpha: float = 4.0,
    concat: bool = False,
    batch_size: int | None = None,
    seed: Any = None,
    columns: Sequence[str] | None = None,
    overwrite: bool = False,
    storage_options: dict[str, Any] | None = None,
    blocksize: int | None = None,
    **mixup_options: Any,
) -> _Plan:
    """Validate everything and build the lazy graph; touch nothing and start nothing."""
    storage_options = dict(storage_options or {})
    if not isinstance(overwrite, (bool, np.bool_)):
        raise MixupTypeError(f"`overwrite` must be True or False, not {overwrite!r}")
    if blocksize is not None and (
        isinstance(blocksize, bool) or not isinstance(blocksize, int) or blocksize < 1
    ):
        raise MixupError(f"`blocksize` must be a positive number of bytes, got {blocksize!r}")
    source = _open_source(src, columns, storage_options)
    fs, path = _check_destination(source, dst, storage_options, bool(overwrite))
    check_rows(source.rows, None)
    _check_object_columns(source, mixup_options.get("labels"))
    if seed is None:
        # Draw the entropy here rather than inside mixup so it can be reported and
        # written into the output: passing it back as `seed` reproduces the run.
        seed = np.random.SeedSequence().entropy
    options = {"alpha": alpha, "concat": concat, "batch_size": batch_size, "seed": seed}
    options.update(mixup_options)
    n = source.rows
    # Check mixup's options against the columns now, before anything is written or any
    # cluster is started, and without reading data: a label pass, if needed, runs once,
    # when the graph is built for the run.
    params, _ = check_call(source.meta, **options)
    check_rows(n, params.batch_size)
    rows_out = (n if concat else 0) + (n if batch_size is None else int(batch_size))
    metadata = {
        "source": str(src),
        "alpha": alpha,
        "concat": bool(concat),
        "batch_size": batch_size,
        "seed": _jsonable_seed(seed),
        "options": {k: _jsonable(v) for k, v in mixup_options.items()},
        "versions": _versions(),
    }
    plan = _Plan(
        source,
        options,
        blocksize,
        fs,
        path,
        str(dst),
        bool(overwrite),
        rows_out,
        seed,
        metadata,
        storage_options,
    )
    return plan


def _check_object_columns(source: _Source, labels: Any) -> None:
    """Refuse columns pandas reads as Python objects (decimal, date, binary, ...), by
    their Parquet type: dask shows such columns as strings, which would mislead."""
    if isinstance(labels, str):
        labels = [labels]
    exempt = set(labels) if isinstance(labels, (list, tuple)) else set()
    objects = [c for c in source.columns if c not in exempt and source.meta[c].dtype == object]
    if not objects:
        return
    with source.fs.open(source.pieces[0].path, "rb") as f:
        schema = pq.read_schema(f)
    raise MixupTypeError(
        f"columns must be bool, integer or float to be mixed; not so: "
        f"{', '.join(f'{c!r} ({schema.field(c).type})' for c in objects)}"
    )


def auto_blocksize(client: Any = None) -> int:
    """A partition size the cluster's workers hold comfortably.

    A task briefly holds several copies of its partition (Arrow table, frame, value
    blocks, partner rows, shuffle shards, output), on top of the ~240 MiB a worker
    uses for pandas, pyarrow and distributed alone. Partitions are kept to 1/64 of the
    memory per worker thread, between 1 MiB and 64 MiB: on two 512 MiB workers, 1/32
    (16 MiB) peaked at 431 MiB per worker, past the 80 % at which Dask pauses a
    worker, and 1/64 at 374 MiB.
    """
    if client is None:
        return DEFAULT_BLOCKSIZE
    workers = client.scheduler_info(n_workers=-1)["workers"].values()
    per_thread = [w["memory_limit"] / max(w["nthreads"], 1) for w in workers if w["memory_limit"]]
    if not per_thread:
        return DEFAULT_BLOCKSIZE
    return int(min(max(min(per_thread) / 64, 2**20), DEFAULT_BLOCKSIZE))


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
    except TypeError:
        return repr(value)
    return value


def _jsonable_seed(seed: Any) -> Any:
    if isinstance(seed, np.random.SeedSequence):
        return {"entropy": _jsonable(seed.entropy), "spawn_key": list(seed.spawn_key)}
    if isinstance(seed, (int, np.integer)):
        return int(seed)
    return [int(s) for s in seed]


def _versions() -> dict[str, str]:
    # A different numpy may change numpy's Beta sampler: record what made the output.
    from . import __version__

    return {
        "mixupy_dask": __version__,
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "dask": dask.__version__,
        "pyarrow": pa.__version__,
    }


def _run(
    plan: _Plan,
    client: Any = None,
    *,
    progress: Callable[[Any], None] | None = None,
) -> AugmentSummary:
    """Run a plan: write its output beside ``dst`` and move it into place when complete."""
    start = time.perf_counter()
    files = write_dataset(
        plan.frame(plan.blocksize or auto_blocksize(client)),
        plan.fs,
        plan.dst,
        overwrite=plan.overwrite,
        client=client,
        progress=progress,
        metadata=plan.metadata,
        storage_options=plan.storage_options,
    )
    return AugmentSummary(
        rows_in=plan.source.rows,
        rows_out=plan.rows_out,
        files_written=files,
        seconds=time.perf_counter() - start,
        seed=plan.seed,
        dst=plan.dst_url,
    )


def write_dataset(
    frame: dd.DataFrame,
    fs: fsspec.AbstractFileSystem,
    dst: str,
    *,
    overwrite: bool,
    client: Any = None,
    progress: Callable[[Any], None] | None = None,
    metadata: dict[str, Any] | None = None,
    storage_options: dict[str, Any] | None = None,
    compression: str = "snappy",
) -> int:
    """Write ``frame`` as a Parquet dataset at ``dst``, all or nothing; return the file count.

    The files go to a hidden directory beside ``dst`` (same parent, so the final move
    is a rename on local disks) that is removed if anything fails, interrupts included.
    An existing ``dst`` is replaced only after the new dataset is complete.
    """
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
            compression=compression,
            write_index=False,
            write_metadata_file=False,
            # Zero-padded so that every reader (pandas/pyarrow sort names as strings)
            # reads the files back in output order.
            name_function=lambda i: f"part.{i:0{width}d}.parquet",
            custom_metadata=custom,
            storage_options=storage_options,
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
            with client.as_current():
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


def augment_parquet(
    src: str,
    dst: str,
    *,
    alpha: float = 4.0,
    concat: bool = False,
    batch_size: int | None = None,
    seed: int | Sequence[int] | np.random.SeedSequence | None = None,
    columns: Sequence[str] | None = None,
    overwrite: bool = False,
    client: Any = None,
    storage_options: dict[str, Any] | None = None,
    blocksize: int | None = None,
    **mixup_options: Any,
) -> AugmentSummary:
    """Mixup a Parquet dataset into a new Parquet dataset, out of core.

    Reads ``src`` one group of row groups at a time, mixes it exactly as
    ``mixup(pandas.read_parquet(src), ...)`` would, bit for bit for the same seed,
    and writes the result with pyarrow (snappy-compressed) to the dataset directory
    ``dst``. Workers hold about one partition at a time, so the data may be many
    times larger than the cluster's memory.

    Parameters
    ----------
    src : str
        A Parquet file or dataset directory; any fsspec URL (``s3://...``) or path.
    dst : str
        The output dataset directory, which must not exist (see ``overwrite``) and
        must not be ``src`` or inside it.
    alpha, concat, batch_size, seed
        As for :func:`mixupy_dask.mixup`. With ``seed=None`` fresh entropy is drawn
        and reported in the summary and the output's metadata.
    columns : list of str, optional
        Columns to read and mix (default: all).
    overwrite : bool, default False
        Replace an existing ``dst``, only once the new output is complete.
    client : distributed.Client, optional
        Run on this cluster; by default dask's current scheduler.
    storage_options : dict, optional
        fsspec options for ``src`` and ``dst`` (credentials, endpoints).
    blocksize : int, optional
        Target uncompressed bytes per partition; partitions are whole row groups.
        Default: 1/64 of the memory per worker thread of ``client``, at most 64 MiB.
    **mixup_options
        Further keyword arguments of :func:`mixupy_dask.mixup` (e.g. ``labels``).

    Returns
    -------
    AugmentSummary
        Rows in and out, files written, seconds taken and the seed used.

    Raises
    ------
    MixupError
        Missing or unreadable ``src``, existing ``dst``, bad option values, or
        non-finite values found while running (``NonFiniteError``).
    MixupTypeError
        Non-numeric columns or wrongly typed options.

    Examples
    --------
    >>> import pandas as pd, tempfile, os
    >>> from mixupy_dask import augment_parquet, mixup
    >>> tmp = tempfile.mkdtemp()
    >>> df = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0], "y": [1, 0, 1, 0]})
    >>> df.to_parquet(os.path.join(tmp, "in.parquet"))
    >>> summary = augment_parquet(os.path.join(tmp, "in.parquet"), os.path.join(tmp, "out"),
    ...                           alpha=1.0, batch_size=6, seed=0)
    >>> summary.rows_in, summary.rows_out
    (4, 6)
    >>> out = pd.read_parquet(os.path.join(tmp, "out"))
    >>> out.equals(mixup(df, alpha=1.0, batch_size=6, seed=0))
    True
    """
    start = time.perf_counter()
    plan = _plan(
        src,
        dst,
        alpha=alpha,
        concat=concat,
        batch_size=batch_size,
        seed=seed,
        columns=columns,
        overwrite=overwrite,
        storage_options=storage_options,
        blocksize=blocksize,
        **mixup_options,
    )
    summary = _run(plan, client)
    return replace(summary, seconds=time.perf_counter() - start)

"""Parquet datasets as inputs: a ``ParquetSource`` reads a dataset's footers only
(columns, types, row groups and their row counts) and cuts it into partitions along
its row groups, so planning reads no data, and mixing tasks can re-read their own left
rows after the shuffle instead of holding them across it. A row group larger than the
blocksize is cut into several partitions of consecutive rows, so that no writer's
choice of row group size decides how much memory a task needs.
"""

from __future__ import annotations

import itertools
import math
import posixpath
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

import dask.dataframe as dd
import fsspec
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq
from fsspec.implementations.local import LocalFileSystem

from .._dask.exchange import without_string_conversion
from .._dask.source import Source
from ..errors import MixupError, MixupTypeError
from .redact import redact, refuse_credentials

#: Slicing takes a blocksize below this as this: a slice is read by decoding its row
#: group from the start (see ``_read_slice``), so ever smaller slices of one row group
#: would cost ever more decoding for little memory.
MIN_SLICE_BYTES = 2**20

#: A row group of up to this many times the blocksize stays whole (a partition may be
#: that much larger than the blocksize). Files sized to the blocksize land a little
#: over it (an 8 MiB target gave row groups of 8.0044 MiB); cut in two, each such row
#: group was decoded one and a half times and made two partitions and two output files:
#: Parquet 1x on 2 x 512 MiB took 1.8x a hash shuffle of the same files, 1.3x whole.
SLICE_SLACK = 1.25

#: Files whose footers or dictionaries planning reads at once on a remote filesystem:
#: each file costs a round trip or two, and these overlap. 300 files on a local S3 API
#: server behind 20 ms of added latency: footers 9.5 s one after another, 1.9 s 16 at
#: once, no faster at 32. On local disk one after another is fastest.
REMOTE_READS = 16

#: Rows per record batch when reading a slice: a few MB of float64 columns at a time.
SLICE_BATCH_ROWS = 65536

#: Read-ahead buffer per column when reading a slice. With a buffer, pyarrow streams
#: the column chunks page by page instead of loading them whole: reading 10 slices of
#: one 80 MB row group peaked at 48 MiB of Arrow memory this way, 117 MiB without the
#: buffer and 161 MiB with ``read_row_group(i).slice``.
SLICE_BUFFER_BYTES = 2**20


@dataclass(frozen=True)
class Piece:
    """Some row groups of one file, with their row count and size from the footer.

    A *slice* is rows ``start`` to ``start + rows`` of a single row group, for a row
    group larger than the blocksize.
    """

    path: str
    row_groups: tuple[int, ...]
    rows: int
    nbytes: int
    start: int | None = None

    @property
    def sliced(self) -> bool:
        return self.start is not None


@dataclass(frozen=True)
class ParquetSource:
    """A Parquet file or dataset, known from its footers: nothing of its data is read."""

    fs: fsspec.AbstractFileSystem
    path: str
    url: str
    columns: tuple[str, ...]
    pieces: tuple[Piece, ...]
    meta: pd.DataFrame
    #: The files' columns that ``columns=`` leaves out, for errors naming one of them.
    left_out: tuple[str, ...] = ()

    @classmethod
    def open(
        cls, src: str, columns: Sequence[str] | None, storage_options: dict[str, Any]
    ) -> ParquetSource:
        """Read the footers of ``src``: its columns and the row counts of its row groups."""
        return _open(src, columns, storage_options)

    def check_named(self, **names: Any) -> None:
        """Refuse a column option (``labels="y"``, ``series=["id"]``) naming a column that
        the files have but ``columns=`` left out, in those words: "no column named"
        would send the user looking for a column that is there."""
        for option, value in names.items():
            given = [value] if isinstance(value, str) else value
            if not isinstance(given, (list, tuple)):
                continue
            out = [n for n in given if isinstance(n, str) and n in self.left_out]
            if out:
                raise MixupError(
                    f"`{option}`: {', '.join(map(repr, out))} left out by `columns`; add "
                    f"{'it' if len(out) == 1 else 'them'} to `columns` (read: "
                    f"{', '.join(map(repr, self.columns))})"
                )

    @property
    def rows(self) -> int:
        return sum(piece.rows for piece in self.pieces)

    @property
    def row_bytes(self) -> float:
        """Uncompressed bytes of a row, on average, as the footers count them (the
        measure ``blocksize`` is in)."""
        return sum(piece.nbytes for piece in self.pieces) / max(self.rows, 1)

    def source(self, blocksize: int) -> Source:
        """Partitions of about ``blocksize`` uncompressed bytes each: whole row groups, or
        slices of consecutive rows of a row group larger than that."""
        partitions = self._partitions(blocksize)
        # `columns=` lets Dask project: a pass over some columns (class counts) reads
        # only those. Without Dask's string conversion, which would make pandas' default
        # `str` columns (NaN missing) `string` (pd.NA) in the meta, the partitions and
        # so the output: strings keep the dtype pandas.read_parquet gives them.
        with without_string_conversion():
            frame = dd.from_map(
                _read_partition,
                partitions,
                args=(self.fs,),
                columns=list(self.columns),
                meta=self.meta,
                label="read-parquet-rowgroups",
                enforce_metadata=False,
            )
        lengths = tuple(sum(piece.rows for piece in part) for part in partitions)
        return Source(frame, lengths, partial(_read_nth, partitions, self.fs, self.columns))

    def _partitions(self, blocksize: int) -> tuple[tuple[Piece, ...], ...]:
        return _group(_split(self.pieces, blocksize), blocksize)

    def table_reader(self, blocksize: int) -> Callable[[int], pa.Table]:
        """``read(p)``: partition ``p`` of ``source(blocksize)`` as the Arrow table it
        is converted from, for a reader that puts several together before converting
        them once (``MixupStream``)."""
        return partial(_read_nth_table, self._partitions(blocksize), self.fs, self.columns)

    def with_categories(self, columns: Collection[str] | None = None) -> ParquetSource:
        """This source with the categories of its categorical columns known (of all of
        them, or of those in ``columns``): the dictionary of each file's first row group,
        which pandas writes whole (unused categories too, in order), united in file
        order as ``pandas.read_parquet`` unites them. A file's rows are recoded by value
        to the united categories when they are read (``CategoryCodes``, ``Labels``).
        """
        names = [
            c
            for c in self.columns
            if (columns is None or c in columns)
            and isinstance(self.meta[c].dtype, pd.CategoricalDtype)
        ]
        if not names:
            return self

        def first_batch(path: str) -> pa.RecordBatch:
            # No read-ahead, and the reader closed before its file. A CLI that refused
            # the data once aborted at exit ("terminate called without an active
            # exception", status -6 instead of 2), most likely because a threaded
            # reader left behind with one batch taken still had Arrow threads running;
            # this reader leaves none.
            with self.fs.open(path, "rb") as f:
                file = pq.ParquetFile(f, pre_buffer=False)
                batches = file.iter_batches(batch_size=1, columns=names, use_threads=False)
                try:
                    return next(batches)
                finally:
                    batches.close()

        paths = list(dict.fromkeys(piece.path for piece in self.pieces))
        found: dict[str, pd.CategoricalDtype] = {}
        for batch in _each_file(self.fs, first_batch, paths):
            for name in names:
                column = batch.column(name)
                dtype = pd.CategoricalDtype(column.dictionary.to_pylist(), column.type.ordered)
                first = found.setdefault(name, dtype)
                if list(first.categories) != list(dtype.categories):
                    united = first.categories.union(dtype.categories, sort=False)
                    found[name] = pd.CategoricalDtype(united, first.ordered)
        meta = self.meta.astype(found)
        return replace(self, meta=meta)

    def check_object_columns(self, exempt: set) -> None:
        """Refuse columns pandas reads as Python objects (decimal, date, binary, ...), by
        their Parquet type: dask shows such columns as strings, which would mislead."""
        objects = [c for c in self.columns if c not in exempt and self.meta[c].dtype == object]
        if not objects:
            return
        with self.fs.open(self.pieces[0].path, "rb") as f:
            schema = pq.read_schema(f)
        raise MixupTypeError(
            f"columns must be bool, integer or float to be mixed; not so: "
            f"{', '.join(f'{c!r} ({schema.field(c).type})' for c in objects)}"
        )


def is_local(fs: fsspec.AbstractFileSystem) -> bool:
    """Whether ``fs`` is local disk, where a directory rename is atomic and O(1) and a
    read costs no round trip.

    Everything else is treated as an object store: committed in place or by swapping,
    read many files at once. That is correct (if not the fastest) on filesystems that
    could rename, such as HDFS.
    """
    return isinstance(fs, LocalFileSystem)


def _each_file(fs: fsspec.AbstractFileSystem, read: Callable[[Any], Any], files: Sequence) -> list:
    """``[read(f) for f in files]``, several at once on a remote filesystem; the first
    file (in order) that fails raises, as one after another."""
    if is_local(fs) or len(files) < 2:
        return [read(f) for f in files]
    with ThreadPoolExecutor(min(REMOTE_READS, len(files))) as pool:
        return list(pool.map(read, files))


def strip(fs: fsspec.AbstractFileSystem, path: str) -> str:
    path = fs._strip_protocol(path)
    if "://" in path:
        # A filesystem whose paths are URLs (HTTP, e.g. a presigned URL): normpath
        # would fold the scheme's "//" and name another file.
        return path
    return posixpath.normpath(path) if path else path


def _open(
    src: str, columns: Sequence[str] | None, storage_options: dict[str, Any]
) -> ParquetSource:
    fs, path = fsspec.core.url_to_fs(str(src), **storage_options)
    refuse_credentials("src", src, fs, path)
    src = redact(src)  # as shown in errors and recorded in the provenance record
    path = strip(fs, path)
    if not fs.exists(path):
        raise MixupError(f"`src` does not exist: {src}")
    try:
        # The same discovery as pandas.read_parquet (pyarrow), so files come in its
        # order and hidden or underscore files (_metadata, .crc) are skipped alike.
        dataset = pads.dataset(path, filesystem=fs, format="parquet", partitioning="hive")
        fragments = list(dataset.get_fragments())
        _each_file(fs, pads.ParquetFileFragment.ensure_complete_metadata, fragments)
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
    else:  # a non-empty list of names (JOB_RULES)
        columns = list(columns)
        missing = [c for c in columns if c not in available]
        if missing:
            raise MixupError(
                f"`columns` not in {src}: {', '.join(map(repr, missing))}; "
                f"it has: {', '.join(map(repr, available))}"
            )
    partition_fields = set(schema.names) - set(fragments[0].physical_schema.names)
    hive = [c for c in columns if c in partition_fields]
    if hive:
        # Directory keys are not stored in the files, and the job reads files row group
        # by row group; pandas would make them categoricals of the directory names.
        raise MixupTypeError(
            f"columns must be bool, integer or float to be mixed; not so: "
            f"{', '.join(map(repr, hive))} (directory partition keys); leave them out "
            f"with `columns`"
        )
    _check_same_columns(src, fragments, columns, every_column=given is None)
    meta = schema.empty_table().select(columns).to_pandas()

    pieces = [
        Piece(fragment.path, (i,), rg.num_rows, rg.total_byte_size)
        for fragment in fragments
        for i, rg in enumerate(fragment.row_groups)
        if rg.num_rows > 0
    ]
    left_out = tuple(c for c in available if c not in columns)
    return ParquetSource(fs, path, str(src), tuple(columns), tuple(pieces), meta, left_out)


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
    shown = redact(first.path)  # a presigned URL's query is a credential
    for fragment in fragments[1:]:
        if fragment.physical_schema.equals(first.physical_schema):
            continue  # the common case, cheaply
        own = _own_columns(fragment)
        problems = [f"lacks {c!r}" for c in columns if c in reference and c not in own]
        problems += [
            f"has {c!r} as {own[c]} where {shown} has {reference[c]}"
            for c in columns
            if c in reference and c in own and not _same_type(own[c], reference[c])
        ]
        if every_column:
            problems += [f"has {c!r}, which {shown} lacks" for c in own if c not in reference]
        if problems:
            raise MixupError(
                f"the files of `src` {src} disagree on their columns: {redact(fragment.path)} "
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
                f"column names must be unique; {redact(file)} repeats: "
                f"{', '.join(map(repr, repeated))}"
            )


def _split(pieces: Sequence[Piece], blocksize: int) -> list[Piece]:
    """Row groups of more than ``SLICE_SLACK`` times ``blocksize`` bytes (a blocksize of
    at least ``MIN_SLICE_BYTES``) cut into slices of at most that many.

    Slices have equal row counts (within one), so each holds more than half that many.
    """
    target = max(blocksize, MIN_SLICE_BYTES) * SLICE_SLACK
    out: list[Piece] = []
    for piece in pieces:
        count = min(piece.rows, math.ceil(piece.nbytes / target))
        if count <= 1:
            out.append(piece)
            continue
        cuts = [piece.rows * k // count for k in range(count + 1)]
        out.extend(
            Piece(
                piece.path,
                piece.row_groups,
                b - a,
                piece.nbytes * (b - a) // piece.rows,
                a,
            )
            for a, b in itertools.pairwise(cuts)
        )
    return out


def _group(pieces: Sequence[Piece], blocksize: int) -> tuple[tuple[Piece, ...], ...]:
    """Consecutive pieces into partitions of at most ``blocksize`` bytes (at least one each).

    Whole row groups of the same file in one partition are read together.
    """
    partitions: list[list[Piece]] = []
    size = 0
    for piece in pieces:
        if partitions and size + piece.nbytes <= blocksize:
            last = partitions[-1][-1]
            if last.path == piece.path and not last.sliced and not piece.sliced:
                partitions[-1][-1] = Piece(
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
    pieces: tuple[Piece, ...], fs: fsspec.AbstractFileSystem, columns: Sequence[str]
) -> pd.DataFrame:
    """One partition's ``columns``: its row groups, read with pyarrow and converted as
    pandas would."""
    frame = _read_table(pieces, fs, columns).to_pandas()
    # Arrow's allocator (mimalloc) keeps freed pages for reuse; a worker's memory then
    # reads as unmanaged and creeps up with each task. Measured on 2 x 512 MiB workers,
    # ~60 MiB per worker stayed held after a job; releasing after each read returns it.
    pa.default_memory_pool().release_unused()
    return frame


def _read_table(
    pieces: tuple[Piece, ...], fs: fsspec.AbstractFileSystem, columns: Sequence[str]
) -> pa.Table:
    """One partition's ``columns``: its row groups, read with pyarrow."""
    names = tuple(columns)
    tables = []
    for piece in pieces:
        with fs.open(piece.path, "rb") as f:
            try:
                if piece.sliced:
                    table = _read_slice(f, piece, names)
                else:
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
                    f"`src` has a corrupt Parquet file: {redact(piece.path)} ({groups}: {reason})"
                ) from exc
        tables.append(table)
    return concat_tables(tables)


def concat_tables(tables: Sequence[pa.Table]) -> pa.Table:
    """Tables of one dataset's columns as one (no copy). Files may store strings as
    string or large_string (see _same_type)."""
    if len(tables) == 1:
        return tables[0]
    return pa.concat_tables(tables, promote_options="permissive")


def _read_slice(f: Any, piece: Piece, names: tuple[str, ...]) -> pa.Table:
    """Rows ``piece.start`` to ``piece.start + piece.rows`` of one row group.

    A row group is Parquet's unit of decoding (pages carry no row offsets without a
    page index), so the slice is found by streaming the row group's record batches
    from its first row and keeping those that overlap it: a slice costs decoding its
    row group up to its last row, while memory holds only the slice and one batch.
    """
    start = piece.start or 0
    stop = start + piece.rows
    file = pq.ParquetFile(f, buffer_size=SLICE_BUFFER_BYTES, pre_buffer=False)
    kept, offset = [], 0
    for batch in file.iter_batches(
        batch_size=SLICE_BATCH_ROWS,
        row_groups=list(piece.row_groups),
        columns=list(names),
        use_threads=False,
    ):
        end = offset + batch.num_rows
        if end > start:
            kept.append(batch.slice(max(start - offset, 0), min(stop, end) - max(start, offset)))
        offset = end
        if offset >= stop:
            break
    return pa.Table.from_batches(kept)


def _read_nth(partitions, fs: fsspec.AbstractFileSystem, names: tuple[str, ...], p: int):
    return _read_partition(partitions[p], fs, names)


def _read_nth_table(partitions, fs: fsspec.AbstractFileSystem, names: tuple[str, ...], p: int):
    return _read_table(partitions[p], fs, names)

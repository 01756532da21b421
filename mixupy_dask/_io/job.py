"""Parquet in, Parquet out, out of core: the one job behind both Parquet functions.

A job goes source -> plan -> run -> commit, the same for rows and for series:

- *source*: ``ParquetSource.open`` reads the footers (columns, types, row groups and
  their row counts) and refuses files that disagree; no data is read.
- *plan*: the function's own checks against the schema (``_rows.call.prepare`` or
  ``_series.call.prepare``) and the one destination check. Nothing is read, written or
  started, so the CLI plans before it starts a cluster, and bad input fails fast.
- *run*: on the user's client (``client=None``: the current default client), with it
  current, partitions sized for its workers; the lazy result is built there, so a
  counting pass (labels, series lengths) runs on the cluster too.
- *commit*: ``Destination.write``, all or nothing.

Only building the lazy result differs between rows and series: ``Job.build``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import dask.dataframe as dd
import numpy as np
from dask.utils import format_bytes

from .._core.docs import MIXUP_PARAMETERS, shared_docs
from .._core.validation import (
    JOB_RULES,
    MIXUP_RULES,
    SEED,
    SERIES_RULES,
    arguments,
    check_rows,
    validate,
    validates,
)
from .._dask.cluster import (
    as_current,
    auto_blocksize,
    progress_bar,
    resolve_client,
    thread_memory,
)
from .._dask.source import Source
from .._rows.call import VALUE_BYTES
from .._rows.call import prepare as prepare_rows
from .._rows.dask_route import place_and_mix
from .._rows.mixup import mixup
from .._series.call import prepare as prepare_series
from .._series.call import run_dask as mix_series_dask
from .._series.mixup import mixup_series
from ..errors import MixupError
from .commit import Destination
from .metadata import metadata as provenance
from .parquet import ParquetSource

SeedLike = int | Sequence[int] | np.random.SeedSequence | None
Progress = Callable[[Any], None]

#: An output partition may take at most this share of a worker thread's memory: a task
#: holds several copies of it (partners, mixed blocks, the frame, Parquet buffers).
#: ``auto_blocksize`` aims at 1/64; the flights job one-hot encoded 10x wider than its
#: 16 MiB input partitions (1/6) killed 1 GiB workers.
WIDE_SHARE = 16


@dataclass(frozen=True)
class AugmentSummary:
    """What ``augment_parquet`` or ``augment_series_parquet`` did.

    Attributes
    ----------
    rows_in, rows_out : int
        Rows read from the source and written to the destination.
    files_written : int
        Parquet files in the destination dataset.
    seconds : float
        Wall-clock time of the run, from start to commit.
    seed : int or sequence of int or numpy.random.SeedSequence
        The seed used; when none was given, the fresh entropy drawn for this run,
        so passing it back as ``seed`` reproduces the output bit for bit.
    dst : str
        The destination dataset.
    classes : tuple of (class, rows in, mixed rows, rows out), optional
        Rows per class, when rows were made per class (a dict ``batch_size`` or a
        ``sampling_strategy``); rows out count the originals too with ``concat``.
    """

    rows_in: int
    rows_out: int
    files_written: int
    seconds: float
    seed: Any
    dst: str
    classes: tuple[tuple[Any, int, int, int], ...] | None = None


#: Builds the lazy result from the source on the (current) client:
#: (frame, rows out, rows per class or None, rows per partition if known).
Built = tuple[dd.DataFrame, int, Any, Any]
Build = Callable[[Source, Any, Progress | None], Built]


@dataclass(frozen=True)
class Job:
    """A planned run: checked, not started."""

    source: ParquetSource
    destination: Destination
    build: Build
    seed: Any
    metadata: dict[str, Any]
    blocksize: int | None
    #: ``categorical="onehot"``: bytes of an output row at most, and `max_categories`
    wide: tuple[int, int] | None = None

    def run(self, client: Any = None, progress: Progress | bool | None = None) -> AugmentSummary:
        """Build the result on ``client`` (or the default client) and commit it;
        ``progress`` as ``JOB_RULES`` allows it."""
        start = time.perf_counter()
        client = resolve_client(client)
        progress = progress_bar(validate(JOB_RULES, progress=progress)["progress"], client)
        source = self.source.source(self._blocksize(client))
        if self.wide is not None:
            self._check_width(source, client)
        with as_current(client):
            frame, rows_out, classes, lengths = self.build(source, client, progress)
        files = self.destination.write(frame, self.metadata, client, progress, lengths)
        return AugmentSummary(
            rows_in=self.source.rows,
            rows_out=rows_out,
            files_written=files,
            seconds=time.perf_counter() - start,
            seed=self.seed,
            dst=self.destination.url,
            classes=classes,
        )

    def _blocksize(self, client: Any) -> int:
        """The blocksize given, else one for the workers (``auto_blocksize``) sized for
        the output's rows: one-hot encoding can make a row many times wider than the
        footers' bytes say, and the output partitions hold as many rows as the input's."""
        if self.blocksize:
            return self.blocksize
        blocksize = auto_blocksize(client)
        if self.wide is not None:
            widening = self.wide[0] / max(self.source.row_bytes, 1.0)
            blocksize = max(int(blocksize / max(widening, 1.0)), 1)
        return blocksize

    def _check_width(self, source: Source, client: Any) -> None:
        """Refuse output partitions a worker thread cannot hold: larger than
        1/``WIDE_SHARE`` of its memory (``auto_blocksize`` aims at 1/64)."""
        assert self.wide is not None
        assert source.lengths is not None
        row_bytes, max_categories = self.wide
        rows = max(source.lengths, default=0)
        memory = thread_memory(client)
        if rows * row_bytes * WIDE_SHARE <= memory:
            return
        given = f"now {format_bytes(self.blocksize)}" if self.blocksize else "1 MiB at the least"
        raise MixupError(
            f"`categorical='onehot'` makes output rows of up to {format_bytes(row_bytes)}: "
            f"a partition of {rows:,} rows would be {format_bytes(rows * row_bytes)}, more "
            f"than 1/{WIDE_SHARE} of the {format_bytes(memory)} a worker thread has; lower "
            f"`max_categories` (now {max_categories}) or `blocksize` ({given}), or give "
            f"the workers more memory"
        )


def _open(
    src: str,
    dst: str,
    columns: Any,
    overwrite: Any,
    storage_options: Any,
    blocksize: Any,
    progress: Any = None,
    dst_storage_options: Any = None,
) -> tuple[ParquetSource, Destination, int | None]:
    """The job's own parameters, the source's footers and the destination, checked."""
    p = validate(
        JOB_RULES,
        columns=columns,
        overwrite=overwrite,
        blocksize=blocksize,
        storage_options=storage_options,
        progress=progress,
        dst_storage_options=dst_storage_options,
    )
    options = dict(p["storage_options"] or {})
    # The destination's own options, if given, else the source's.
    given = p["dst_storage_options"]
    dst_options = options if given is None else dict(given)
    source = ParquetSource.open(src, p["columns"], options)
    destination = Destination.check(dst, dst_options, p["overwrite"], source)
    return source, destination, p["blocksize"]


def _fixed(seed: Any) -> Any:
    """The seed to use and report: fresh entropy when none is given, drawn now, so the
    summary and the output's metadata can say it and passing it back reproduces the run."""
    seed = SEED("seed", seed)  # a Generator's draw, once: the ints are what is recorded
    return np.random.SeedSequence().entropy if seed is None else seed


def plan(
    function: str,
    src: str,
    dst: str,
    *,
    columns: Sequence[str] | None = None,
    overwrite: bool = False,
    storage_options: dict[str, Any] | None = None,
    blocksize: int | None = None,
    progress: Progress | bool | None = None,
    dst_storage_options: dict[str, Any] | None = None,
    **options: Any,
) -> Job:
    """The job of ``augment_parquet`` (``function="mixup"``) or ``augment_series_parquet``
    (``"mixup_series"``), checked against the source's schema, not started.

    ``options`` are the keywords of that function's in-memory twin (``mixup`` or
    ``mixup_series``); its defaults fill the rest.
    """
    source, destination, blocksize = _open(
        src, dst, columns, overwrite, storage_options, blocksize, progress, dst_storage_options
    )
    options["seed"] = _fixed(options.get("seed"))
    source.check_named(**{k: options.get(k) for k in ("labels", "series", "time")})
    build: Build
    wide = None
    if function == "mixup":
        # "Too few rows" first, then columns pandas would read as objects, then mixup's
        # own checks against the (empty) frame the schema gives.
        check_rows(source.rows, None)
        labels = options.get("labels")
        names = [labels] if isinstance(labels, str) else labels
        names = list(names) if isinstance(names, (list, tuple)) else None
        source.check_object_columns(set(names or ()))
        # A categorical's categories, in its dtype's order as pandas reads it (files
        # united in file order), come from the files' dictionaries: no pass has to
        # count a class column's classes or find a feature's categories. Categorical
        # features are only mixed under these policies (refused otherwise).
        classes = set(names or ())
        mixed = options.get("categorical") in ("dominant", "sample", "onehot")
        source = source.with_categories(None if mixed else classes)
        row_call = prepare_rows(source.meta, **options)
        rows_out = row_call.rows_out(source.rows)  # None until the label pass counts classes
        if row_call.onehot:
            columns = row_call.output_columns(len(source.meta.columns))
            wide = (columns * VALUE_BYTES, row_call.max_categories)

        def build(data: Source, client: Any, progress: Progress | None) -> Built:
            frame, row_plan, resolved = place_and_mix(data, row_call)
            lengths = row_plan.partition_rows(row_call.concat)
            if not row_call.per_class:
                assert rows_out is not None
                return frame, rows_out, None, lengths
            assert resolved is not None
            table = row_plan.class_table(resolved.classes, row_call.concat)
            return frame, sum(row[3] for row in table), table, lengths

        twin: Callable[..., Any] = mixup
    else:
        if options.get("categorical") == "dominant":
            source = source.with_categories()
        series_call = prepare_series(source.meta, **options)

        def build(data: Source, client: Any, progress: Progress | None) -> Built:
            return (*mix_series_dask(data, series_call, client, progress), None, None)

        twin = mixup_series
    recorded = arguments(twin, source.meta, **options)
    del recorded["data"]
    record = provenance(function, source, recorded)
    return Job(source, destination, build, options["seed"], record, blocksize, wide)


@validates(MIXUP_RULES, JOB_RULES)
@shared_docs(MIXUP_PARAMETERS)
def augment_parquet(
    src: str,
    dst: str,
    *,
    alpha: float = 4.0,
    concat: bool = False,
    batch_size: int | Mapping[Hashable, int] | None = None,
    seed: SeedLike = None,
    labels: Hashable | Sequence[Hashable] | None = None,
    within_class: bool = False,
    label_preserving: bool = False,
    sampling_strategy: Any = None,
    categorical: str = "raise",
    max_categories: int = 64,
    integers: str = "float",
    missing: str = "raise",
    provenance: bool = False,
    bandwidth: float | None = None,
    columns: Sequence[str] | None = None,
    overwrite: bool = False,
    client: Any = None,
    storage_options: dict[str, Any] | None = None,
    blocksize: int | None = None,
    progress: Progress | bool | None = None,
    dst_storage_options: dict[str, Any] | None = None,
) -> AugmentSummary:
    """Mixup a Parquet dataset into a new Parquet dataset, out of core.

    Reads ``src`` one group of row groups at a time, mixes it exactly as
    ``mixup(pandas.read_parquet(src), ...)`` would, bit for bit for the same seed,
    and writes the result with pyarrow (snappy-compressed) to the dataset directory
    ``dst``. Workers hold about one partition at a time, so the data may be many
    times larger than the cluster's memory. Everything is checked (options, the
    source's footers and columns, the destination) before anything runs.

    Parameters
    ----------
    src : str
        A Parquet file or dataset directory; any fsspec URL (``s3://...``) or path.
    dst : str
        The output dataset directory, which must not exist (see ``overwrite``) and
        must not be ``src`` or inside it; its parent directory (on an object store:
        its bucket) must exist. Its ``_SUCCESS`` manifest (files, row counts, seed,
        versions) is written last: without it the dataset is incomplete.
    {alpha}
    {concat}
    {batch_size}
    {seed}

        The seed drawn for ``seed=None`` is reported in the summary and the output's
        metadata.
    {labels}
    {within_class}
    {label_preserving}
    {sampling_strategy}

        The class counts come from one pass over the label column, which runs on
        ``client``; the summary's ``classes`` gives the rows per class before and after.
    {categorical}

        A categorical column's categories are read from the dictionary of each file's
        first row group when the job is planned; files whose categories differ have
        them united in file order, as ``pandas.read_parquet`` does. String columns
        keep the dtype ``pandas.read_parquet`` gives them (pandas 3: ``str``).
    {max_categories}
    {integers}
    {missing}
    {provenance}
    {bandwidth}

        The labels are read once (one pass over the label columns) and the partners
        drawn on the client, which holds 8 bytes per label value and row and 8 per
        output row; workers hold about one partition, as without it.
    columns : list of str, optional
        Columns to read and mix (default: all).
    overwrite : bool, default False
        Replace an existing ``dst``, only once the new output is complete.
    client : distributed.Client, optional
        Run on this cluster; by default on the current default client, and without
        one on Dask's local threaded scheduler.
    storage_options : dict, optional
        fsspec options for ``src``, and for ``dst`` unless ``dst_storage_options`` is
        given: credentials, endpoints, e.g. ``{"key": ..., "secret": ...,
        "client_kwargs": {"endpoint_url": "http://127.0.0.1:9000"}}`` for S3. Without
        them the filesystem reads its own configuration (for S3 the ``AWS_*``
        environment variables, ``AWS_ENDPOINT_URL`` included). They reach the workers
        inside the task graph; they are never written into the output, the manifest,
        the summary or an error message.
    blocksize : int, optional
        Target uncompressed bytes per partition: whole row groups, or slices of a
        larger row group.
        Default: 1/64 of the memory per worker thread of the cluster, at most 64 MiB
        (64 MiB without a cluster); under ``categorical="onehot"`` divided by how many
        times wider the output's rows are than the input's. A one-hot job whose
        partitions would be more than 1/16 of a worker thread's memory out is refused.
    progress : bool or callable, optional
        ``True`` shows Dask's progress bar (``distributed.progress``) for the job's
        passes on a cluster (the mixing and writing pass; for series also the counting
        pass; a row job's label-counting pass shows none); ``None`` or ``False``, none;
        a callable is called with the futures of those passes, as
        ``distributed.progress`` is.
    dst_storage_options : dict, optional
        fsspec options for ``dst`` when they differ from ``storage_options`` (another
        store, other credentials); default: ``storage_options``.

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
    given = {k: v for k, v in locals().items() if k != "client"}  # passed on as they are
    return plan("mixup", **given).run(client, progress)


@validates(SERIES_RULES, JOB_RULES)
def augment_series_parquet(
    src: str,
    dst: str,
    *,
    series: Hashable,
    time: Hashable,
    alpha: float = 1.5,
    k: int = 2,
    batch_size: int | None = None,
    scale: str | None = "mean",
    seed: SeedLike = None,
    labels: Hashable | Sequence[Hashable] | None = None,
    categorical: str = "raise",
    columns: Sequence[str] | None = None,
    overwrite: bool = False,
    client: Any = None,
    storage_options: dict[str, Any] | None = None,
    blocksize: int | None = None,
    progress: Progress | bool | None = None,
    dst_storage_options: dict[str, Any] | None = None,
) -> AugmentSummary:
    """Mix the series of a long-format Parquet dataset into a new Parquet dataset.

    The Parquet edge of :func:`mixupy_dask.mixup_series`, out of core, on the same
    job as :func:`mixupy_dask.augment_parquet`: the source is read by row groups
    (twice: once to count each series' rows, once to mix), the output is committed
    to ``dst`` all or nothing with its ``_SUCCESS`` manifest last, and the source is
    never touched. Output rows equal ``mixup_series(pandas.read_parquet(src), ...)`` bit
    for bit for the same seed.

    Parameters
    ----------
    src, dst : str
        Source file or dataset, and the new dataset directory (paths or fsspec URLs).
    series, time, alpha, k, batch_size, scale, seed, labels, categorical
        As for :func:`mixupy_dask.mixup_series`. With ``seed=None`` fresh entropy is
        drawn and reported in the summary and the output's metadata.
    columns : list of str, optional
        Columns to read (default: all); must include ``series`` and ``time``.
    overwrite, client, storage_options, blocksize, progress, dst_storage_options
        As for :func:`mixupy_dask.augment_parquet`.

    Returns
    -------
    AugmentSummary
        Rows in and out, files written, seconds taken and the seed used.

    Raises
    ------
    MixupError
        As for :func:`mixupy_dask.augment_parquet`, and the series' own errors
        (see :func:`mixupy_dask.mixup_series`).
    MixupTypeError
        Non-numeric value columns, unusable time or id columns, wrongly typed options.

    Examples
    --------
    >>> import os, tempfile
    >>> import pandas as pd
    >>> from mixupy_dask import augment_series_parquet, mixup_series
    >>> tmp = tempfile.mkdtemp()
    >>> df = pd.DataFrame({"id": [0, 0, 0, 1, 1, 2, 2], "t": [0, 1, 2, 0, 1, 0, 1],
    ...                    "y": [1.0, 2.0, 3.0, 5.0, 6.0, 7.0, 9.0]})
    >>> df.to_parquet(os.path.join(tmp, "in.parquet"))
    >>> summary = augment_series_parquet(os.path.join(tmp, "in.parquet"),
    ...     os.path.join(tmp, "out"), series="id", time="t", batch_size=4, seed=0)
    >>> summary.rows_in, summary.rows_out
    (7, 8)
    >>> pd.read_parquet(os.path.join(tmp, "out")).equals(
    ...     mixup_series(df, series="id", time="t", batch_size=4, seed=0))
    True
    """
    given = dict(locals())  # this call's keywords, passed on as they are
    return plan("mixup_series", **{k: v for k, v in given.items() if k != "client"}).run(
        client, progress
    )

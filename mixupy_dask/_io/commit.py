"""Writing a result: the commit protocol, and the one destination check.

Every writer (``augment_parquet``, ``augment_series_parquet``, ``make_data``) checks
its destination with ``Destination.check`` before anything runs, and writes through
``Destination.write``: the protocol below, around a sink (``sinks.py``: the format's
writer, Parquet by default), knowing nothing of the format. A dataset is complete
when, and only when, its ``_SUCCESS`` manifest exists: a JSON record of its files
(name, rows, bytes), the rows in all, the job's provenance (function, options, seed)
and the library versions, written after every file is in place. Readers skip names
starting with ``_`` or ``.``, so ``pandas.read_parquet(dst)`` reads the data files only.

How the files get there depends on the filesystem:

- **Local disk**: the files and the manifest go to a hidden directory beside the
  destination (``.NAME.mixupy-tmp-TAG``), renamed into place once complete: the
  dataset appears whole or not at all. ``overwrite`` renames the old dataset aside,
  the new one in, then deletes the old one.
- **Object stores** (``s3://``, ``gs://``, ... every other filesystem): a "rename" is a
  copy of every object followed by deletes, neither atomic nor cheap, so none is
  made for a new destination: the files are written straight to their final keys
  ``DST/part.N.parquet`` and the manifest last, a commit of O(files) requests. With
  ``overwrite`` over an existing ``DST`` the new dataset is staged complete (with its
  manifest) under the hidden prefix ``.NAME.mixupy-tmp-TAG/``; then the old manifest
  is deleted (the commit point), the old objects are deleted, the new ones copied in
  server-side and the manifest copied last. Before the commit point a failure leaves
  the old dataset as it was; after it the commit is finished (rolled forward) rather
  than abandoned, since the old dataset is already gone.

Before any of this a run claims ``dst`` (``_Claim``: an exclusive create of
``.NAME.mixupy-claim`` beside it); a run that cannot raises ``DestinationBusyError``
having written nothing. Where the store has no exclusive create a new ``dst`` is staged
and swapped in too, and the commit refused if the claim changed hands.

A failed or interrupted write (``KeyboardInterrupt`` and the CLI's SIGTERM included)
cancels its tasks, waits for the ones already running (a task writing to an object
store would otherwise add an object after the clean-up), then removes what it wrote.
"""

from __future__ import annotations

import contextlib
import datetime
import glob
import json
import logging
import os
import posixpath
import socket
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import dask
import dask.dataframe as dd
import fsspec
import pandas as pd

from .._dask.cluster import as_current
from ..errors import DestinationBusyError, MixupError
from .metadata import versions
from .parquet import ParquetSource, is_local, strip
from .redact import redact, refuse_credentials
from .sinks import PARQUET, Sink

#: The manifest, written last: a dataset without it is incomplete by definition.
MANIFEST = "_SUCCESS"
#: Identifies the manifest's layout, for readers that check it.
MANIFEST_FORMAT = "mixupy_dask-manifest/1"
#: The claim: a small object beside ``dst`` (``.NAME.mixupy-claim``), created exclusively
#: before the run writes anything and removed when it ends; it names its owner.
CLAIM_SUFFIX = ".mixupy-claim"
CLAIM_FORMAT = "mixupy_dask-claim/1"
#: Filesystems whose ``pipe_file(mode="create")`` is one conditional request to the
#: store (S3 ``If-None-Match: *``, GCS ``ifGenerationMatch=0``, Azure ``If-None-Match``);
#: local disks use ``O_EXCL``. Other fsspec stores check and then write, which is no
#: exclusion; a server that ignores the condition is found by a second create.
EXCLUSIVE_PROTOCOLS = frozenset({"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss"})
#: How long a failed write waits for its tasks already running before it removes its
#: files (a bound: a partition's write takes seconds).
QUIESCE_SECONDS = 120.0
#: Worker task states from which a task may still run and write.
_BUSY = frozenset(
    {"waiting", "ready", "constrained", "executing", "long-running", "cancelled", "resumed"}
)

log = logging.getLogger("mixupy_dask.commit")


@dataclass(frozen=True)
class Destination:
    """A checked destination: a new dataset directory (or one to replace)."""

    fs: fsspec.AbstractFileSystem
    path: str
    url: str
    overwrite: bool
    # Credentials: kept out of the repr (of this and of every Job holding it).
    storage_options: dict[str, Any] = field(repr=False)
    #: The token of the claim found on ``dst`` when it was checked (``overwrite`` only):
    #: made before this run, so a killed run's, which this run may release.
    stale_claim: str | None = None

    @classmethod
    def check(
        cls,
        dst: str,
        storage_options: dict[str, Any],
        overwrite: bool,
        source: ParquetSource | None = None,
    ) -> Destination:
        """Refuse a destination that is not a new directory in an existing one (on an
        object store: a new prefix in an existing bucket), or that is (or holds, or lies
        inside) the source. ``storage_options`` are checked already (``JOB_RULES``)."""
        fs, path = fsspec.core.url_to_fs(str(dst), **storage_options)
        refuse_credentials("dst", dst, fs, path)
        dst = redact(dst)  # as shown in errors, logs, the manifest and the summary
        path = strip(fs, path)
        if not path or path == "/" or posixpath.basename(path) in ("", ".", ".."):
            raise MixupError(f"`dst` must name a new dataset directory, not {dst!r}")
        local = is_local(fs)
        bucket = path.lstrip("/").split("/")[0]
        if not local and path.strip("/") == bucket:
            raise MixupError(f"`dst` must name a dataset inside a bucket, not a bucket: {dst}")
        if source is not None and type(fs) is type(source.fs):
            src = source.path.rstrip("/")
            if path == src or path.startswith(src + "/"):
                raise MixupError(f"`dst` must not be `src` or inside it: {dst}")
            if overwrite and src.startswith(path.rstrip("/") + "/"):
                raise MixupError(
                    f"`dst` contains `src`; overwriting it would delete the source: {dst}"
                )
        fs.invalidate_cache()  # listings cached by an earlier call may be stale
        exists = fs.exists(path)
        held = _read_claim(fs, claim_path(path))
        if held is not None and not overwrite:
            raise DestinationBusyError(_claimed(dst, held))
        if exists and not overwrite:
            raise MixupError(_exists(fs, path, dst))
        if local:
            parent = posixpath.dirname(path)
            if parent and not fs.isdir(parent):
                raise MixupError(f"the directory of `dst` does not exist: {parent}")
        elif not fs.exists(bucket):
            raise MixupError(f"the bucket of `dst` does not exist or is not readable: {bucket}")
        stale = None if held is None else str(held.get("token"))
        return cls(fs, path, str(dst), overwrite, storage_options, stale)

    def write(
        self,
        frame: dd.DataFrame,
        metadata: dict[str, Any] | None = None,
        client: Any = None,
        progress: Callable[[Any], None] | None = None,
        lengths: Sequence[int] | None = None,
        sink: Sink = PARQUET,
    ) -> int:
        """Write ``frame`` here through ``sink`` (Parquet by default), manifest last;
        return the file count.

        Nothing is left at the destination by a failure, interrupts included; an
        existing destination is replaced only once the new dataset is complete (see
        the module's docstring for how, on local disks and on object stores).
        ``lengths``, the rows of each partition when the caller knows them, spares
        counting them from the data for the manifest.
        """
        return _write(frame, self, sink, metadata, client, progress, lengths)


def _exists(fs: fsspec.AbstractFileSystem, path: str, dst: str) -> str:
    message = f"`dst` already exists: {dst} (use overwrite=True / --overwrite)"
    if not is_local(fs) and not fs.exists(posixpath.join(path, MANIFEST)):
        # On an object store a run writes in place: say what such a prefix may be.
        message += (
            f"; it has no {MANIFEST} manifest, so no run of this library completed it: "
            f"another tool's dataset, a run still writing it, or what a killed run left"
        )
    return message


def _write(
    frame: dd.DataFrame,
    destination: Destination,
    sink: Sink,
    metadata: dict[str, Any] | None,
    client: Any,
    progress: Callable[[Any], None] | None,
    known: Sequence[int] | None = None,
) -> int:
    fs, dst, overwrite = destination.fs, destination.path, destination.overwrite
    local = is_local(fs)
    # Before anything is written: a run that loses the claim leaves nothing behind and
    # removes nothing (its clean-up below would otherwise remove the winner's files).
    claim = _Claim.take(fs, dst, overwrite, destination.stale_claim, destination.url)
    try:
        done = _write_claimed(
            frame, destination, sink, metadata, client, progress, known, claim, local
        )
    finally:
        claim.release()
    # Logged once the claim is released, so that the record holds every step the
    # protocol adds to writing the files: taking the claim, the commit, the release.
    log.info(
        "committed %d files (%d rows) to %s: %s; claim %.3f s, files written in %.2f s, "
        "commit %.3f s, claim released in %.3f s",
        done.files,
        done.rows,
        destination.url,
        done.mode,
        claim.seconds,
        done.write_seconds,
        done.commit_seconds,
        claim.release_seconds,
        extra={
            "mixupy_commit": {
                "mode": done.mode,
                "files": done.files,
                "exclusive": claim.exclusive,
                # Taking the claim, before the first file is written.
                "claim_seconds": claim.seconds,
                "write_seconds": done.write_seconds,
                # After the last file: the claim's check, the manifest, rename or swap.
                "commit_seconds": done.commit_seconds,
                "release_seconds": claim.release_seconds,
            }
        },
    )
    return done.files


@dataclass(frozen=True)
class _Committed:
    """What a committed write did: its files and rows, how it committed, and when."""

    files: int
    rows: int
    mode: str
    write_seconds: float
    commit_seconds: float


def _write_claimed(
    frame: dd.DataFrame,
    destination: Destination,
    sink: Sink,
    metadata: dict[str, Any] | None,
    client: Any,
    progress: Callable[[Any], None] | None,
    known: Sequence[int] | None,
    claim: _Claim,
    local: bool,
) -> _Committed:
    fs, dst, overwrite = destination.fs, destination.path, destination.overwrite
    parent, name = posixpath.split(dst)
    fs.invalidate_cache()
    replacing = fs.exists(dst)
    if replacing and not overwrite:  # appeared since the check
        raise MixupError(_exists(fs, dst, destination.url))
    tag = uuid.uuid4().hex[:12]
    staging = posixpath.join(parent, f".{name}.mixupy-tmp-{tag}")
    # On an object store a new dataset is written in place: moving it would copy it. On
    # a store without exclusive create the claim does not exclude another run, so the
    # files are staged where no other run writes, and swapped in if the claim held.
    in_place = not local and not replacing and claim.exclusive
    target = dst if in_place else staging
    width = len(str(frame.npartitions - 1))
    # Zero-padded so that every reader (pandas/pyarrow sort names as strings) reads the
    # files back in output order.
    names = [f"part.{i:0{width}d}{sink.suffix}" for i in range(frame.npartitions)]
    start = time.perf_counter()
    run = _Run(client)
    try:
        # Inside the clean-up's reach: building a write may already create the
        # directory (Parquet's does, on local disks).
        url = fs.unstrip_protocol(target)
        write = sink.write(frame, url, names, metadata, destination.storage_options)
        # Each file's row count for the manifest, from the same partitions as the write
        # (computed together, so each partition is computed once), unless known: a
        # second consumer keeps every partition in memory until both have run, which
        # held (spilled) partitions on paused 512 MiB workers in a 1.5 GiB balancing run.
        lengths = None
        if known is None:
            lengths = frame.map_partitions(_length, meta=pd.Series([], dtype="int64"))
        rows = run.compute(write, lengths, progress)
        if known is not None:
            rows = [int(n) for n in known]
        written = time.perf_counter()
        manifest = _manifest(fs, target, names, rows, metadata, destination.url)
        claim.check(destination.url)
        if in_place:
            # The commit: an exclusive create, refused if any other run committed here.
            _create(fs, posixpath.join(target, MANIFEST), manifest, exclusive=True)
        else:
            fs.pipe_file(posixpath.join(target, MANIFEST), manifest)
        if local:
            _move_into_place(fs, staging, dst, overwrite, tag)
    except BaseException:
        # Also on KeyboardInterrupt: never leave a partial dataset behind. Stop the job
        # first, so that no task writes a file after the removal.
        run.stop()
        _remove(fs, target, names if target == dst else None)
        raise
    mode = "rename" if local else "in place" if in_place else "swap"
    if not local:
        if not in_place:
            _swap(fs, staging, dst, names, manifest, claim.exclusive)
        _remove_stale(fs, parent, name)
    done = time.perf_counter()
    return _Committed(len(names), sum(rows), mode, written - start, done - written)


class _Run:
    """The write's computation, on a cluster or on a thread pool of ours, and its stop."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.futures: list[Any] = []
        self.pool: ThreadPoolExecutor | None = None

    def compute(self, write: Any, lengths: Any, progress: Callable[[Any], None] | None):
        """Run the write; return each partition's row count (None without ``lengths``)."""
        parts = [write] if lengths is None else [write, lengths]
        if self.client is None:
            if dask.config.get("scheduler", None) is not None:  # the user's choice
                done = dask.compute(*parts)
            else:
                # Dask's threaded scheduler, on a pool we can wait for if we are stopped.
                self.pool = ThreadPoolExecutor(dask.system.CPU_COUNT)
                done = dask.compute(*parts, scheduler="threads", pool=self.pool)
                self.pool.shutdown()
        else:
            # As the current client, so that Dask picks its p2p shuffle for this cluster
            # (for a client that is not the default one it would pick the disk shuffle).
            with as_current(self.client):
                self.futures = self.client.compute(parts)
            if progress is not None:
                progress(self.futures)
            done = [future.result() for future in self.futures]
        return None if lengths is None else [int(n) for n in done[1]]

    def stop(self) -> None:
        """No write task starts any more, and those running have finished (up to a bound).

        Best effort: a failure here must not hide the error that stopped the run.
        """
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
        if not self.futures:
            return
        client, key = self.client, self.futures[0].key
        groups = None
        with contextlib.suppress(Exception):
            groups = client.run_on_scheduler(_write_groups, key=key)
        with contextlib.suppress(Exception):
            client.cancel(self.futures)
        deadline = time.monotonic() + QUIESCE_SECONDS
        while groups and time.monotonic() < deadline:
            try:
                busy = client.run(_busy, groups=groups, on_error="ignore")
            except Exception:
                return
            if not any(busy.values()):
                return
            time.sleep(0.1)


def _length(part: pd.DataFrame) -> pd.Series:
    """A partition's row count, as a series (one partition's result is still a series)."""
    return pd.Series([len(part)], dtype="int64")


def _write_groups(dask_scheduler: Any, key: Any) -> list[str]:
    """On the scheduler: the task groups that write files (the final task's and those of
    the tasks it waits for: one per output file)."""
    ts = dask_scheduler.tasks.get(key)
    if ts is None:
        return []
    return sorted({ts.group.name, *(dep.group.name for dep in ts.dependencies)})


def _busy(dask_worker: Any, groups: list[str]) -> int:
    """On a worker: how many tasks of ``groups`` are running or may still start."""
    wanted = set(groups)
    return sum(
        1
        for ts in list(dask_worker.state.tasks.values())
        if ts.state in _BUSY and (ts.key[0] if isinstance(ts.key, tuple) else ts.key) in wanted
    )


def _manifest(
    fs: fsspec.AbstractFileSystem,
    target: str,
    names: list[str],
    rows: list[int],
    metadata: dict[str, Any] | None,
    url: str,
) -> bytes:
    """The manifest of the files at ``target``, checked to be exactly the ones written."""
    fs.invalidate_cache()
    found = {
        posixpath.relpath(path, target): info["size"]
        for path, info in fs.find(target, detail=True).items()
        if info.get("type") != "directory"
    }
    missing = [n for n in names if n not in found]
    if missing:
        raise OSError(f"{len(missing)} written files are missing at {url}: {missing[:3]}")
    extra = sorted(set(found) - set(names))
    if extra:
        raise MixupError(
            f"`dst` changed while this run wrote it: {url} also holds {extra[:3]}; "
            f"is another run writing the same `dst`?"
        )
    record = {
        "format": MANIFEST_FORMAT,
        "rows": sum(rows),
        "files": [
            {"name": n, "rows": r, "bytes": found[n]} for n, r in zip(names, rows, strict=True)
        ],
        # The job's provenance as in the files' metadata, its versions apart (make_data
        # records none of its own).
        "job": {k: v for k, v in (metadata or {}).items() if k != "versions"},
        "versions": (metadata or {}).get("versions") or versions(),
    }
    return json.dumps(record, indent=1).encode()


def _remove(fs: fsspec.AbstractFileSystem, target: str, names: list[str] | None) -> None:
    """Remove what a failed run wrote at ``target``: the staging directory, or (written
    in place) the manifest and then the files named."""
    for attempt in range(3):
        try:
            fs.invalidate_cache()
            if names is None:
                if fs.exists(target):
                    fs.rm(target, recursive=True)
            else:
                present = set(fs.find(target))
                manifest = posixpath.join(target, MANIFEST)
                if manifest in present:
                    fs.rm_file(manifest)
                ours = [p for p in (posixpath.join(target, n) for n in names) if p in present]
                if ours:
                    fs.rm(ours)
            break
        except OSError:
            # A file created while the directory was being removed (local disks).
            if attempt == 2:
                raise


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


def _swap(
    fs: fsspec.AbstractFileSystem,
    staging: str,
    dst: str,
    names: list[str],
    manifest: bytes,
    exclusive: bool,
) -> None:
    """Replace the objects under ``dst`` by the complete dataset staged at ``staging``.

    Deleting the old manifest is the commit point: from then on ``dst`` is incomplete
    by definition until the new manifest is copied in, last. A failure before it
    removes the staged dataset and leaves ``dst`` as it was; a failure after it is met
    by finishing the commit once more (every step may be repeated): done, the run
    succeeds (an interrupt is still reported); failing again, the error says where
    the complete new dataset is.
    """
    path = posixpath.join(dst, MANIFEST)
    committed = False
    try:
        fs.invalidate_cache()
        old_manifest = fs.exists(path)
        committed = True
        if old_manifest:
            fs.rm_file(path)
        _finish_swap(fs, staging, dst, names, manifest, exclusive)
    except BaseException as first:
        if not committed:
            _remove(fs, staging, None)
            raise
        try:
            _finish_swap(fs, staging, dst, names, manifest, exclusive)
        except Exception as exc:
            raise OSError(
                f"replacing {dst} failed after its old dataset was deleted; the complete "
                f"new dataset is at {staging} ({type(exc).__name__})"
            ) from exc
        if not isinstance(first, Exception):
            raise  # an interrupt: reported as such, though the new dataset is complete


def _finish_swap(
    fs: fsspec.AbstractFileSystem,
    staging: str,
    dst: str,
    names: list[str],
    manifest: bytes,
    exclusive: bool,
) -> None:
    fs.invalidate_cache()
    old = fs.find(dst)
    if old:
        fs.rm(old)
    # Server-side copies, many at a time; the manifest last, created exclusively.
    fs.copy([posixpath.join(staging, n) for n in names], [posixpath.join(dst, n) for n in names])
    _create(fs, posixpath.join(dst, MANIFEST), manifest, exclusive)
    fs.rm(staging, recursive=True)


def _remove_stale(fs: fsspec.AbstractFileSystem, parent: str, name: str) -> None:
    """Remove the staging prefixes beside ``dst`` that killed runs left (object stores).

    Runs only after this run's commit: whatever staged there is no longer wanted.
    """
    pattern = posixpath.join(parent, f".{glob.escape(name)}.mixupy-tmp-*")
    with contextlib.suppress(OSError):
        fs.invalidate_cache()
        for stale in fs.glob(pattern):
            log.info("removing %s, left by a run that did not finish", stale)
            fs.rm(stale, recursive=True)


# --- the claim ---------------------------------------------------------------------------


def claim_path(dst: str) -> str:
    """Where the claim on ``dst`` lives: a hidden object beside it, which readers of
    ``dst`` (and of its parent) skip."""
    parent, name = posixpath.split(dst)
    return posixpath.join(parent, f".{name}{CLAIM_SUFFIX}")


def _exclusive_store(fs: fsspec.AbstractFileSystem) -> bool:
    """Whether ``fs`` is known to create a file exclusively in one request."""
    if is_local(fs):
        return True
    protocols = {fs.protocol} if isinstance(fs.protocol, str) else set(fs.protocol)
    return bool(protocols & EXCLUSIVE_PROTOCOLS)


def _create(fs: fsspec.AbstractFileSystem, path: str, data: bytes, exclusive: bool) -> None:
    """Create ``path`` holding ``data``; ``FileExistsError`` if it exists. Exclusive (one
    winner among runs creating it at once) where the store is (``exclusive``)."""
    if is_local(fs):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
    elif exclusive:
        fs.pipe_file(path, data, mode="create")
    else:
        fs.invalidate_cache()
        if fs.exists(path):
            raise FileExistsError(path)
        fs.pipe_file(path, data)


def _read_claim(fs: fsspec.AbstractFileSystem, path: str) -> dict[str, Any] | None:
    """The claim at ``path``, or None where there is none."""
    try:
        record = json.loads(fs.cat_file(path))
    except FileNotFoundError:
        return None
    except ValueError:  # not ours, or cut short: still a claim, of no known owner
        return {}
    return record if isinstance(record, dict) else {}


def _claimed(url: str, held: dict[str, Any]) -> str:
    owner = ", ".join(
        f"{key} {held[key]}" for key in ("token", "created", "host", "pid") if key in held
    )
    return (
        f"`dst` is claimed by another run: {url} ({owner or 'owner unknown'}); wait for "
        f"that run to end, or, if it was killed, release its claim with overwrite=True / "
        f"--overwrite"
    )


@dataclass
class _Claim:
    """This run's claim on its destination, taken before it writes a file.

    One run at a time holds the claim on a ``dst``: the object ``.NAME.mixupy-claim``
    beside it, created with the store's exclusive create, holding the owner's token,
    when it was made, the host and the process. It is removed when the run ends,
    whatever the outcome. A run killed outright (SIGKILL, power cut) leaves it; a later
    run then refuses ``dst`` (``DestinationBusyError``) unless ``overwrite``, which
    releases a claim it found when it checked ``dst`` (so one made before it started):
    one run only may release a given token (an exclusive create of
    ``.NAME.mixupy-claim.released-TOKEN``); a claim that appears after the check is a
    concurrent run's, never released.
    """

    fs: fsspec.AbstractFileSystem
    path: str
    token: str
    #: Whether the store honours exclusive create; found by creating the claim twice.
    exclusive: bool
    #: Seconds taking the claim, before the first file (its check at the commit is
    #: timed as part of the commit).
    seconds: float = 0.0
    released: str | None = None
    #: Seconds removing it, after the commit.
    release_seconds: float = 0.0

    @classmethod
    def take(
        cls,
        fs: fsspec.AbstractFileSystem,
        dst: str,
        overwrite: bool,
        stale: str | None,
        url: str,
    ) -> _Claim:
        start = time.perf_counter()
        path = claim_path(dst)
        token = uuid.uuid4().hex
        record = {
            "format": CLAIM_FORMAT,
            "token": token,
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(),
            "host": socket.gethostname(),
            "pid": os.getpid(),
        }
        body = json.dumps(record).encode()
        exclusive = _exclusive_store(fs)
        released = None
        try:
            _create(fs, path, body, exclusive)
        except FileExistsError:
            held = _read_claim(fs, path) or {}
            if not (overwrite and stale is not None and held.get("token") == stale):
                raise DestinationBusyError(_claimed(url, held)) from None
            # The claim this run found when it checked: a killed run's. Released once.
            released = f"{path}.released-{stale}"
            try:
                _create(fs, released, body, exclusive)
            except FileExistsError:
                raise DestinationBusyError(_claimed(url, held)) from None
            fs.pipe_file(path, body)
            log.info("released the claim %s on %s, left by a run that did not end", stale, url)
        if exclusive and not is_local(fs):
            # A server that ignores the condition (some emulators and S3 APIs) accepts a
            # second create of the same object: then the claim excludes no other run.
            try:
                fs.pipe_file(path, body, mode="create")
            except FileExistsError:
                pass
            else:
                exclusive = False
        if not exclusive:
            log.warning(
                "the store of %s does not create files exclusively: a run started at the "
                "same time is found by its claim only when the commit starts",
                url,
            )
        return cls(fs, path, token, exclusive, time.perf_counter() - start, released)

    def check(self, url: str) -> None:
        """Refuse to commit if the claim is no longer this run's (another run took it:
        on a store without exclusive create, or by releasing it with ``overwrite``)."""
        held = _read_claim(self.fs, self.path)
        if held is None or held.get("token") != self.token:
            raise DestinationBusyError(
                f"another run claimed `dst` while this run wrote it; this run did not "
                f"commit. {_claimed(url, held or {})}"
            )

    def release(self) -> None:
        """Remove the claim if it is still this run's (best effort: a failure here must
        not hide the run's outcome; a claim left behind is released by overwrite)."""
        start = time.perf_counter()
        try:
            held = _read_claim(self.fs, self.path)
            if held is not None and held.get("token") == self.token:
                self.fs.rm_file(self.path)
            if self.released is not None:
                self.fs.rm_file(self.released)
            self.fs.invalidate_cache()
        except Exception:
            log.warning("could not remove the claim %s", self.path, exc_info=True)
        self.release_seconds = time.perf_counter() - start

"""Where work runs: the user's client, the embedded cluster, and partition sizes for them.

- ``resolve_client``: ``client=None`` means the current default client, as everywhere in
  Dask, and only without one no cluster at all.
- ``as_current`` and ``compute``: every pass (label and series counts, the write) runs
  with the client current, so Dask lowers the graph for it, with the p2p shuffle users
  get (for a client that is not the default one Dask would pick the disk shuffle).
- ``local_cluster``: the embedded cluster, whose shuffle buffers fit its workers'
  memory; ``connect``: a client of a running scheduler or of an embedded cluster, for
  the CLI and batch scripts.
- ``auto_blocksize``: a partition size the cluster's workers hold comfortably;
  ``thread_memory`` and ``available_memory``: what a task, or a process, may count on.

Start the embedded cluster by hand for out-of-core work on one machine::

    from distributed import Client
    from mixupy_dask import local_cluster

    with local_cluster(workers=2, memory_limit="1GiB") as cluster, Client(cluster) as client:
        ...
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import signal
from collections.abc import Callable, Iterator
from typing import Any

import dask
from dask.utils import parse_bytes

from ..errors import MixupError
from .source import DEFAULT_BLOCKSIZE

#: Share of a worker's memory for each of the p2p shuffle's two buffers (comm and disk).
BUFFER_SHARE = 1 / 32


#: Workers' Arrow allocator: the system one. Arrow's default (mimalloc) keeps freed
#: memory per thread, and the p2p shuffle converts shards on threads of its own, out of
#: reach of the ``release_unused`` after each read: a 1.5 GiB balancing run (its shuffle
#: moves ~2.5x the input) left 512 MiB workers at 416-421 MiB with no data in memory,
#: paused for good; with the system allocator (whose free memory glibc returns, under
#: the trim threshold distributed sets) the run completed without a pause, its workers
#: peaking at 383 MiB.
ARROW_POOL = {"distributed.nanny.pre-spawn-environ.ARROW_DEFAULT_MEMORY_POOL": "system"}


def shuffle_buffers(memory_per_worker: int) -> dict[str, Any]:
    """Dask config for p2p shuffle buffers that fit a worker of this much memory.

    Dask's defaults (1 GiB to send, 100 MiB to write to disk, per worker) are sized for
    big workers: either alone could fill a worker of 512 MiB, which already uses about
    240 MiB for pandas, pyarrow and distributed after its first task and pauses at 80 %.
    1/32 each caps them at 1/16 of the worker together. Measured on two 512 MiB workers,
    buffers of 1/8 and of 1/32 peaked alike (~420 MiB with 16 MiB partitions): what keeps
    a worker below its pause threshold is the partition size (``auto_blocksize``); the
    buffers must only not add to it.
    """
    share = int(memory_per_worker * BUFFER_SHARE)
    return {
        "distributed.p2p.comm.buffer": min(2**30, share),
        "distributed.p2p.storage.buffer": min(100 * 2**20, share),
    }


#: The environment variable that tells ``dask_setup`` where a worker's output goes.
LOG_FILE_ENV = "MIXUPY_DASK_WORKER_LOG"


def dask_setup(worker: Any) -> None:
    """Preload of :func:`local_cluster`'s workers (distributed calls it in each worker
    process, a replacement's too, on the process's main thread).

    SIGINT is ignored: Ctrl-C in a terminal reaches every process of the foreground
    group, and a worker that died of it printed its traceback and left the client to
    find a dead cluster; the program holding the cluster handles Ctrl-C and closes it.
    With :data:`LOG_FILE_ENV` set, the process's stdout and stderr (its log records,
    and anything Python or a library prints there) are appended to that file.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    path = os.environ.get(LOG_FILE_ENV)
    if path:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)


def local_cluster(
    workers: int | None = None,
    threads_per_worker: int | None = None,
    memory_limit: int | str | None = None,
    log_file: str | None = None,
    **kwargs: Any,
) -> Any:
    """A ``distributed.LocalCluster`` of worker processes on 127.0.0.1, ready for mixup.

    Parameters
    ----------
    workers, threads_per_worker
        As ``LocalCluster``'s ``n_workers`` and ``threads_per_worker``; ``None`` lets
        Dask choose for this machine.
    memory_limit
        Memory per worker, bytes or a string such as ``"2GiB"``; ``None`` shares the
        machine's memory among the workers.
    log_file : str, optional
        Append the worker processes' output to this file, their log records of level
        WARNING and up included; ``None`` silences their logs.
    **kwargs
        Passed on to ``LocalCluster`` (e.g. ``dashboard_address=":8787"``).

    Returns
    -------
    distributed.LocalCluster
        Started; close it (or use it as a context manager) when done. Its workers'
        shuffle buffers are sized by :func:`shuffle_buffers`; the dashboard is on a
        free port (``cluster.dashboard_link``) and worker logs are silenced (or go to
        ``log_file``), since task errors reach the client anyway. Workers ignore SIGINT
        (:func:`dask_setup`): Ctrl-C interrupts the program, which closes the cluster.
    """
    from distributed import LocalCluster
    from distributed.deploy.utils import nprocesses_nthreads
    from distributed.system import MEMORY_LIMIT

    if memory_limit is None:
        per_worker = MEMORY_LIMIT // (workers or nprocesses_nthreads()[0])
    else:
        per_worker = parse_bytes(memory_limit)
    options = {
        "n_workers": workers,
        "threads_per_worker": threads_per_worker,
        "memory_limit": per_worker if memory_limit is not None else "auto",
        "processes": True,
        "host": "127.0.0.1",
        # Port 0: a free port, never a clash with a dashboard already on 8787.
        "dashboard_address": "127.0.0.1:0",
        "silence_logs": logging.WARNING if log_file else logging.CRITICAL,
        "preload": [__name__, *kwargs.pop("preload", [])],
    }
    environ = {f"distributed.nanny.pre-spawn-environ.{LOG_FILE_ENV}": log_file} if log_file else {}
    # Each worker's nanny takes the Dask config it is created with to its worker
    # process (and to the replacement, should the worker die).
    with dask.config.set({**shuffle_buffers(per_worker), **ARROW_POOL, **environ}):
        return LocalCluster(**{**options, **kwargs})


@contextlib.contextmanager
def connect(
    scheduler: str | None = None,
    scheduler_file: str | None = None,
    workers: int | None = None,
    threads_per_worker: int | None = None,
    memory_limit: int | str | None = None,
    log_file: str | None = None,
    verbose: bool = False,
) -> Iterator[Any]:
    """A client of a running scheduler, or of an embedded :func:`local_cluster`.

    Parameters
    ----------
    scheduler : str, optional
        Address of a running scheduler, e.g. ``"tcp://10.0.0.5:8786"``.
    scheduler_file : str, optional
        The file ``dask scheduler --scheduler-file`` wrote. Give at most one of the two.
    workers, threads_per_worker, memory_limit
        For the embedded cluster, started when neither is given (see
        :func:`local_cluster`); refused with a scheduler.
    log_file : str, optional
        While connected, this process's log records of level WARNING and up (Dask's,
        asyncio's, Python warnings) and the embedded cluster's worker output go to this
        file, not to stderr.
    verbose : bool, default False
        Without ``log_file``: the embedded cluster's workers log warnings and errors to
        stderr instead of being silenced.

    Yields
    ------
    distributed.Client
        Closed on exit, with the embedded cluster if one was started.

    Raises
    ------
    MixupError
        Both a scheduler and a scheduler file, embedded-cluster options with a
        scheduler, or a scheduler file that does not exist.
    """
    from distributed import Client

    if scheduler and scheduler_file:
        raise MixupError("give either `scheduler` or `scheduler_file`, not both")
    if scheduler or scheduler_file:
        embedded = {
            "workers": workers,
            "threads_per_worker": threads_per_worker,
            "memory_limit": memory_limit,
        }
        given = [f"`{name}`" for name, value in embedded.items() if value is not None]
        if given:
            raise MixupError(f"{', '.join(given)} only apply to the embedded cluster")
        if scheduler_file and not os.path.exists(scheduler_file):
            raise MixupError(f"`scheduler_file` does not exist: {scheduler_file}")
        with (
            _logs_to(log_file),
            Client(scheduler, scheduler_file=scheduler_file, timeout="30s") as client,
        ):
            yield client
        return
    loud = {"silence_logs": logging.WARNING} if verbose and not log_file else {}
    with (
        _logs_to(log_file),
        local_cluster(workers, threads_per_worker, memory_limit, log_file, **loud) as cluster,
        Client(cluster) as client,
    ):
        yield client


@contextlib.contextmanager
def _logs_to(path: str | None) -> Iterator[None]:
    """While the block runs, log records of level WARNING and up go to the file ``path``
    and not to stderr: distributed's (which has its own handler to stderr), and through
    the root logger everyone else's, Python warnings included. Nothing without a path."""
    if path is None:
        yield
        return
    handler = logging.FileHandler(path, delay=True)
    handler.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    root, dask_logger = logging.getLogger(), logging.getLogger("distributed")
    to_stderr = [h for h in dask_logger.handlers if isinstance(h, logging.StreamHandler)]
    for h in to_stderr:
        dask_logger.removeHandler(h)
    dask_logger.addHandler(handler)
    root.addHandler(handler)
    logging.captureWarnings(True)
    try:
        yield
    finally:
        logging.captureWarnings(False)
        root.removeHandler(handler)
        dask_logger.removeHandler(handler)
        for h in to_stderr:
            dask_logger.addHandler(h)
        handler.close()


def resolve_client(client: Any = None) -> Any:
    """``client``, else the current default client, else None (no cluster)."""
    if client is not None:
        return client
    from distributed import default_client

    try:
        return default_client()
    except ValueError:  # no client: Dask's local scheduler
        return None


def as_current(client: Any) -> contextlib.AbstractContextManager[Any]:
    """``client.as_current()``, or nothing to do without a client."""
    return client.as_current() if client is not None else contextlib.nullcontext()


def progress_bar(progress: Any, client: Any) -> Callable[[Any], None] | None:
    """A validated ``progress`` (``JOB_RULES``) as the callable the passes take: True is
    Dask's progress bar (``distributed.progress``) for ``client``'s scheduler, which
    need not be the default one; without a client there are no futures to show."""
    if progress is not True:
        return progress
    if client is None:
        return None
    from distributed import progress as bar

    return functools.partial(bar, scheduler=client.scheduler.address)


def compute(
    *collections: Any, client: Any = None, progress: Callable[[Any], None] | None = None
) -> tuple[Any, ...]:
    """Compute ``collections`` on ``client`` (current), with a progress bar if given."""
    if client is None:
        return dask.compute(*collections)
    with client.as_current():
        futures = client.compute(list(collections))
        if progress is not None:
            progress(futures)
        return tuple(client.gather(futures))


def _per_thread(client: Any) -> list[float]:
    """Each worker's memory limit over its threads (workers without a limit left out)."""
    workers = client.scheduler_info(n_workers=-1)["workers"].values()
    return [w["memory_limit"] / max(w["nthreads"], 1) for w in workers if w["memory_limit"]]


def auto_blocksize(client: Any = None) -> int:
    """A partition size the cluster's workers hold comfortably.

    A task briefly holds several copies of its partition (Arrow table, frame, value
    blocks, partner rows, shuffle shards, output), on top of the ~240 MiB a worker
    uses for pandas, pyarrow and distributed alone. Partitions are kept to 1/64 of the
    memory per worker thread, between 1 MiB and 64 MiB: on two 512 MiB workers, 1/32
    (16 MiB) peaked at 431 MiB per worker, past the 80 % at which Dask pauses a
    worker, and 1/64 at 374 MiB. Without a cluster (or without memory limits): 64 MiB.
    """
    per_thread = _per_thread(client) if client is not None else []
    if not per_thread:
        return DEFAULT_BLOCKSIZE
    return int(min(max(min(per_thread) / 64, 2**20), DEFAULT_BLOCKSIZE))


def available_memory() -> int:
    """Memory this machine can still give a process now: psutil's available memory
    (free plus reclaimable caches; distributed depends on psutil)."""
    import psutil

    return int(psutil.virtual_memory().available)


def thread_memory(client: Any = None) -> int:
    """The memory one task may count on: the smallest worker memory limit over its
    threads; without a cluster (or without limits) the memory available here over the
    threads of Dask's local scheduler (one per core)."""
    per_thread = _per_thread(client) if client is not None else []
    if per_thread:
        return int(min(per_thread))
    return available_memory() // (os.cpu_count() or 1)

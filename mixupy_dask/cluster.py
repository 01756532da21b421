"""The embedded cluster: a Dask ``LocalCluster`` whose shuffle fits its workers' memory.

The CLI runs on it when no scheduler is given, and it is the cluster to start by hand
for out-of-core work on one machine::

    from distributed import Client
    from mixupy_dask.cluster import local_cluster

    with local_cluster(workers=2, memory_limit="1GiB") as cluster, Client(cluster) as client:
        ...
"""

from __future__ import annotations

import logging
from typing import Any

import dask
from dask.utils import parse_bytes

__all__ = ["local_cluster", "shuffle_buffers"]

#: Share of a worker's memory for each of the p2p shuffle's two buffers (comm and disk).
BUFFER_SHARE = 1 / 32


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


def local_cluster(
    workers: int | None = None,
    threads_per_worker: int | None = None,
    memory_limit: int | str | None = None,
    **kwargs: Any,
):
    """A ``distributed.LocalCluster`` of worker processes on 127.0.0.1, ready for mixup.

    Parameters
    ----------
    workers, threads_per_worker
        As ``LocalCluster``'s ``n_workers`` and ``threads_per_worker``; ``None`` lets
        Dask choose for this machine.
    memory_limit
        Memory per worker, bytes or a string such as ``"2GiB"``; ``None`` shares the
        machine's memory among the workers.
    **kwargs
        Passed on to ``LocalCluster`` (e.g. ``dashboard_address=":8787"``).

    Returns
    -------
    distributed.LocalCluster
        Started; close it (or use it as a context manager) when done. Its workers'
        shuffle buffers are sized by :func:`shuffle_buffers`; the dashboard is on a
        free port (``cluster.dashboard_link``) and worker logs are silenced, since task
        errors reach the client anyway.
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
        "silence_logs": logging.CRITICAL,
    }
    # Each worker's nanny takes the Dask config it is created with to its worker
    # process (and to the replacement, should the worker die).
    with dask.config.set(shuffle_buffers(per_worker)):
        return LocalCluster(**{**options, **kwargs})

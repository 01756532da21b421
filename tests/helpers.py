"""What the test modules share: frames cut into given partitions, computing on a
cluster, the ``mixupy-dask`` command in a subprocess, real ``dask scheduler`` and
``dask worker`` processes on 127.0.0.1, and snapshots of files. Fixtures live in
``conftest.py``; test modules import nothing from each other."""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest

distributed = pytest.importorskip("distributed")


def split_frame(df: pd.DataFrame, lengths: Sequence[int]) -> dd.DataFrame:
    """A dask frame whose partitions hold exactly ``lengths`` rows (zeros allowed)."""
    assert sum(lengths) == len(df)
    cuts = np.concatenate([[0], np.cumsum(lengths)])
    parts = [dask.delayed(df.iloc[a:b]) for a, b in itertools.pairwise(cuts)]
    return dd.from_delayed(parts, meta=df.iloc[:0], verify_meta=False)


def irregular_lengths(n: int) -> list[int]:
    """Empty partitions at the start, middle and end, and uneven sizes between."""
    a = n // 3
    return [0, a, 0, 0, 1 if n - a > 0 else 0, n - a - (1 if n - a > 0 else 0), 0]


def on_cluster(client, lazy):
    """``lazy`` computed on ``client`` as users compute it: with the client current, so
    that Dask lowers the graph for it (with the p2p shuffle, not the local disk one)."""
    with client.as_current():
        return client.compute(lazy).result()


def assert_user_error(result: subprocess.CompletedProcess, *words: str) -> None:
    """Exit 2 with exactly one ``error:`` line on stderr and no traceback."""
    assert result.returncode == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    for word in words:
        assert word in errors[0], errors[0]


#: The environment of every subprocess: no display for matplotlib.
ENV = {**os.environ, "MPLBACKEND": "Agg"}


def cli_command(*args) -> list[str]:
    """The argv running ``mixupy-dask`` with this interpreter."""
    return [sys.executable, "-m", "mixupy_dask.cli", *map(str, args)]


#: Bounds on a subprocess, or on a wait for workers, in tests: guards against hangs,
#: never speed checks. Each is well over 10x the quiet time of what it bounds (a CLI
#: run takes 5-20 s, the quick benchmark run ~100 s, workers start in ~2 s), so a
#: machine busy with other work does not fail the suite.
HANG_GUARD = 900
WAIT_GUARD = 300


def run_cli(*args, cwd, timeout: float = HANG_GUARD) -> subprocess.CompletedProcess:
    """Run ``mixupy-dask ARGS`` to completion; its output is captured as text."""
    return subprocess.run(
        cli_command(*args), cwd=cwd, env=ENV, capture_output=True, text=True, timeout=timeout
    )


def start_cli(*args, cwd, env: dict | None = None, group: bool = False) -> subprocess.Popen:
    """Start ``mixupy-dask ARGS`` without waiting; read its output with ``communicate``.

    ``env`` is added to the environment; ``group`` starts it as the leader of a process
    group of its own, as a shell starts a foreground job, so that ``interrupt(...,
    group=True)`` signals it and every process it started, as Ctrl-C in a terminal does.
    """
    return subprocess.Popen(
        cli_command(*args),
        cwd=cwd,
        env={**ENV, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # Ctrl-C as a terminal gives it, whatever launched the tests: a shell's
        # background job inherits SIGINT ignored, and Python then installs no
        # KeyboardInterrupt handler (the run ignored SIGINT and ended with status 0).
        preexec_fn=_default_sigint,
        start_new_session=group,
    )


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def stop(processes: list[subprocess.Popen]) -> None:
    """Terminate the processes we started, by pid; kill any that do not exit in time."""
    for proc in processes:
        if proc.poll() is None:
            proc.terminate()
    for proc in processes:
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=20)


def snapshot(path: Path) -> dict[str, tuple[int, int, str]]:
    """Every file under ``path`` (relative name) → (size, mtime in ns, sha256)."""
    files = {}
    for file in sorted(p for p in Path(path).rglob("*") if p.is_file()):
        stat = file.stat()
        digest = hashlib.sha256(file.read_bytes()).hexdigest()
        files[str(file.relative_to(path))] = (stat.st_size, stat.st_mtime_ns, digest)
    return files


@dataclass
class RealCluster:
    """A ``dask scheduler`` and its ``dask worker`` processes, all started by us."""

    base: Path
    scheduler_file: str
    address: str = ""
    scheduler: subprocess.Popen | None = None
    workers: list[subprocess.Popen] = field(default_factory=list)
    logs: IO | None = None

    def start_worker(self) -> subprocess.Popen:
        """Start one more ``dask worker`` (one thread, under a nanny) and keep its process."""
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "distributed.cli.dask_worker",
                "--scheduler-file",
                self.scheduler_file,
                "--nworkers",
                "1",
                "--nthreads",
                "1",
                "--host",
                "127.0.0.1",
                "--memory-limit",
                "1GB",
                "--no-dashboard",
            ],
            cwd=self.base,
            stdout=self.logs,
            stderr=subprocess.STDOUT,
        )
        self.workers.append(proc)
        return proc

    def kill_busiest(
        self,
        client,
        proc: subprocess.Popen,
        ready,
        what: str,
        seconds: float,
        *,
        process_only: bool = False,
    ) -> str:
        """SIGKILL the worker holding the most results once ``ready()`` holds, and let
        the run ``proc`` finish (it must succeed); return that worker's address.

        ``seconds`` bounds the wait for ``ready`` and, after the kill, for the run.
        ``process_only`` kills the worker process alone (its nanny starts another);
        otherwise the ``dask worker`` we started goes, nanny and worker with it. The
        scheduler's removal event is asserted unexpected either way.
        """
        worker_pids = client.run(os.getpid)  # both keyed by worker address
        nanny_pids = client.run(os.getpid, nanny=True)
        try:
            wait_until(proc, ready, what, seconds)
            held = client.has_what()
            address = max(held, key=lambda worker: len(held[worker]))
            assert held[address], "the job had no results on the workers"
            if process_only:
                os.kill(worker_pids[address], signal.SIGKILL)
            else:
                [victim] = [p for p in self.workers if p.pid == nanny_pids[address]]
                victim.kill()  # SIGKILL
                victim.wait()
            _, err = proc.communicate(timeout=seconds)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert proc.returncode == 0, err
        [removal] = [e for _, e in client.get_events(address) if e.get("action") == "remove-worker"]
        assert not removal["expected"]
        assert removal["processing-tasks"] or removal["lost-computed-tasks"]
        return address

    def client(self, **kwargs) -> distributed.Client:
        """A new client of this cluster (close it: use it in a ``with`` block)."""
        return distributed.Client(
            scheduler_file=self.scheduler_file, timeout="60s", set_as_default=False, **kwargs
        )

    def stop(self) -> None:
        stop([*self.workers, *([self.scheduler] if self.scheduler else [])])
        if self.logs is not None:
            self.logs.close()


@contextlib.contextmanager
def real_cluster(base: Path, n_workers: int = 2) -> Iterator[RealCluster]:
    """A scheduler and ``n_workers`` single-threaded workers on 127.0.0.1, stopped on exit.

    The cluster's log is ``base / "cluster.log"``.
    """
    cluster = RealCluster(base, str(base / "scheduler.json"))
    cluster.logs = open(base / "cluster.log", "w")  # noqa: SIM115 - closed by stop()
    try:
        cluster.scheduler = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "distributed.cli.dask_scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--no-dashboard",
                "--scheduler-file",
                cluster.scheduler_file,
            ],
            cwd=base,
            stdout=cluster.logs,
            stderr=subprocess.STDOUT,
        )
        for _ in range(n_workers):
            cluster.start_worker()
        # The scheduler writes its file once it listens; Client waits for the file.
        with cluster.client() as client:
            client.wait_for_workers(n_workers, timeout=WAIT_GUARD)
            cluster.address = client.scheduler_info()["address"]
        yield cluster
    finally:
        cluster.stop()


def wait_until(proc: subprocess.Popen, condition, what: str, seconds: float = 150):
    """Poll ``condition()`` until it returns something truthy, while ``proc`` runs."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            _, err = proc.communicate()
            pytest.fail(f"the run ended (status {proc.returncode}) before {what}:\n{err}")
        found = condition()
        if found:
            return found
        time.sleep(0.05)
    pytest.fail(f"not seen within {seconds} s: {what}")


def interrupt(
    proc: subprocess.Popen,
    ready,
    what: str,
    signum: int,
    seconds: float = 150,
    *,
    group: bool = False,
):
    """Send ``signum`` to ``proc`` (with ``group``: to its process group, ``proc`` and
    every process it started, as a terminal sends Ctrl-C; start it with ``start_cli(...,
    group=True)``) once ``ready()`` holds; return what ``ready`` found, the output, and
    the processes ``proc`` had started (its cluster's) at that moment."""
    import psutil  # a dependency of distributed

    try:
        found = wait_until(proc, ready, what, seconds)
        children = psutil.Process(proc.pid).children(recursive=True)
        if group:
            os.killpg(proc.pid, signum)
        else:
            proc.send_signal(signum)
        out, err = proc.communicate(timeout=seconds)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return found, out, err, children


def assert_ended(processes: list, seconds: float = 30) -> None:
    """Every one of ``processes`` (``psutil.Process``) ends within ``seconds``."""
    deadline = time.monotonic() + seconds
    while _running(processes) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _running(processes) == []


def _running(processes: list) -> list:
    """The processes of ``processes`` that exist and are not zombies."""
    import psutil

    alive = []
    for proc in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                alive.append(proc)
    return alive


def _worker_states(dask_scheduler) -> dict[str, tuple[str, int]]:
    return {a: (ws.status.name, ws.memory.process) for a, ws in dask_scheduler.workers.items()}


@dataclass
class WorkerWatch:
    """Samples every worker's status and process memory (RSS) as the scheduler sees them.

    The scheduler learns of a pause at once (the worker reports its status change) and
    of memory with every heartbeat; sampling it from a client thread every ``interval``
    seconds gives the longest pause per worker to within about one interval.
    """

    client: distributed.Client
    interval: float = 0.25
    samples: list[tuple[float, dict[str, tuple[str, int]]]] = field(default_factory=list)

    def __enter__(self) -> WorkerWatch:
        import threading
        import time

        self._stop = threading.Event()

        def sample() -> None:
            while not self._stop.is_set():
                states = self.client.run_on_scheduler(_worker_states)
                self.samples.append((time.monotonic(), states))
                self._stop.wait(self.interval)

        self._thread = threading.Thread(target=sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def longest_pause(self) -> float:
        """Seconds of the longest run of samples in which one worker was paused."""
        longest = 0.0
        since: dict[str, float] = {}
        for t, states in self.samples:
            for address, (status, _) in states.items():
                if status == "paused":
                    since.setdefault(address, t)
                    longest = max(longest, t - since[address])
                else:
                    since.pop(address, None)
        return longest

    def peak_memory(self) -> int:
        """The largest process memory any worker reported."""
        return max((m for _, states in self.samples for _, m in states.values()), default=0)

"""Faults on the way to a dataset: a worker killed mid-run, a run interrupted by SIGINT or
SIGTERM, a run failing over an existing dataset, runs at the same time, a restarted cluster.

Everything is real: the ``mixupy-dask`` command in a subprocess, a ``dask scheduler`` with
``dask worker`` processes on 127.0.0.1, Parquet files on disk. "Mid-run" is observed, never
timed: the test waits until the cluster or the hidden output directory shows the run half
done, then strikes. After every test the source's bytes and mtimes are as they were made.
"""

from __future__ import annotations

import collections
import os
import signal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mixupy_dask import mixup

from .helpers import (
    WAIT_GUARD,
    assert_ended,
    interrupt,
    real_cluster,
    run_cli,
    snapshot,
    start_cli,
    wait_until,
)

pytestmark = pytest.mark.slow

SEED = 11
#: ~23 MB in 8 files of 2 row groups: long enough (seconds on two single-threaded
#: workers) for a worker to die or a signal to land while the run is under way.
ROWS, FILES, ROW_GROUP = 300_000, 8, 18_750
#: Partition size of the runs on the real cluster: 16 partitions.
BLOCKSIZE = "2MiB"
#: Deadline for a run to reach the state a test waits for (a bound, not a measurement).
DEADLINE = 150


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """A Parquet dataset directory, and its files' (size, mtime, sha256) when made."""
    path = tmp_path_factory.mktemp("source") / "src"
    path.mkdir()
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.standard_normal((ROWS, 8)), columns=[f"x{i}" for i in range(8)])
    for i, rows in enumerate(np.array_split(np.arange(ROWS), FILES)):
        frame.iloc[rows].to_parquet(path / f"part.{i}.parquet", row_group_size=ROW_GROUP)
    return path, snapshot(path)


@pytest.fixture(autouse=True)
def source_untouched(source):
    """Every run in this file, failed, killed or not, leaves the source as it was made."""
    yield
    path, made = source
    assert snapshot(path) == made


@pytest.fixture(scope="module")
def expected(source):
    """The pandas route's result: the bits every run below must reproduce."""
    return mixup(pd.read_parquet(source[0]), seed=SEED)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A ``dask scheduler`` and two ``dask worker`` processes (each one thread, a nanny)."""
    with real_cluster(tmp_path_factory.mktemp("cluster")) as cluster:
        yield cluster


def augment_on(cluster, source, dst) -> list:
    """The arguments of an ``augment`` run on ``cluster``."""
    return ["augment", source[0], dst, "--seed", SEED, "--blocksize", BLOCKSIZE, "--quiet",
            "--scheduler-file", cluster.scheduler_file]  # fmt: skip


def output_bytes(path: Path) -> dict[str, str]:
    """A dataset's files by name with their sha256 (mtimes differ between runs)."""
    return {name: digest for name, (_, _, digest) in snapshot(path).items()}


@pytest.fixture(scope="module")
def undisturbed(cluster, source, expected, tmp_path_factory):
    """An undisturbed run on the real cluster: (its frame, its files' bytes)."""
    dst = tmp_path_factory.mktemp("undisturbed") / "out"
    result = run_cli(*augment_on(cluster, source, dst), cwd=dst.parent)
    assert result.returncode == 0, result.stderr
    frame = pd.read_parquet(dst)
    pd.testing.assert_frame_equal(frame, expected, check_exact=True)
    return frame, output_bytes(dst)


def assert_same_output(dst: Path, undisturbed) -> None:
    frame, files = undisturbed
    pd.testing.assert_frame_equal(pd.read_parquet(dst), frame, check_exact=True)
    assert output_bytes(dst) == files  # the same files, byte for byte


def leftovers(parent: Path) -> list[str]:
    """Hidden temporary or displaced datasets beside a destination in ``parent``."""
    return sorted(name for name in os.listdir(parent) if ".mixupy-" in name)


def partial_output(parent: Path, name: str):
    """A function finding the run's hidden output directory once it holds a file."""

    def find() -> Path | None:
        for entry in os.listdir(parent):
            if entry.startswith(f".{name}.mixupy-tmp-"):
                tmp = parent / entry
                try:
                    if any(f.endswith(".parquet") for f in os.listdir(tmp)):
                        return tmp
                except FileNotFoundError:  # removed between the two listings
                    pass
        return None

    return find


def shuffling(client):
    """A function telling when the partner shuffle (p2p) is under way: some transfers
    done, their barrier not yet reached. The names are dask's task prefixes."""

    # Defined here, not at module level, so that it is pickled by value: the scheduler
    # cannot import this test module.
    def task_states(dask_scheduler) -> dict[str, int]:
        counts = collections.Counter(
            f"{ts.prefix.name}:{ts.state}" for ts in dask_scheduler.tasks.values()
        )
        return dict(counts)

    def check() -> bool:
        states = client.run_on_scheduler(task_states)
        return states.get("shuffle-transfer:memory", 0) >= 2 and not states.get(
            "shuffle-barrier:memory"
        )

    return check


@pytest.mark.parametrize(
    ("phase", "victim"),
    [("shuffle", "worker process"), ("write", "dask worker")],
    ids=["shuffle-worker-process-replaced", "write-dask-worker-gone"],
)
def test_worker_killed_mid_run(cluster, source, undisturbed, tmp_path, phase, victim):
    """SIGKILL one of the two workers mid-run: the run completes with the same bits.

    "worker process" kills the process running the tasks (its nanny starts a
    replacement); "dask worker" kills the ``dask worker`` process we started, nanny and
    worker with it, and the run must finish on the one survivor.
    """
    dst = tmp_path / "out"
    with cluster.client() as client:
        client.wait_for_workers(2, timeout=WAIT_GUARD)
        workers = set(client.scheduler_info()["workers"])
        proc = start_cli(*augment_on(cluster, source, dst), cwd=tmp_path)
        if phase == "shuffle":
            ready, what = shuffling(client), "the shuffle was under way"
        else:
            ready, what = partial_output(tmp_path, "out"), "a first output file"
        address = cluster.kill_busiest(
            client, proc, ready, what, DEADLINE, process_only=victim == "worker process"
        )
        if victim == "worker process":
            client.wait_for_workers(2, timeout=WAIT_GUARD)  # the nanny's replacement
        else:
            assert set(client.scheduler_info()["workers"]) == workers - {address}
            cluster.start_worker()  # two workers again for the tests that follow
            client.wait_for_workers(2, timeout=WAIT_GUARD)
    assert_same_output(dst, undisturbed)
    assert leftovers(tmp_path) == []


def test_same_output_after_client_restart(cluster, source, undisturbed, tmp_path):
    """``client.restart()`` (fresh worker processes, nothing cached) changes no bit."""
    with cluster.client() as client:
        client.wait_for_workers(2, timeout=WAIT_GUARD)
        before = set(client.scheduler_info()["workers"])
        client.restart()
        assert set(client.scheduler_info()["workers"]).isdisjoint(before)  # all restarted
    result = run_cli(*augment_on(cluster, source, tmp_path / "out"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert_same_output(tmp_path / "out", undisturbed)


def test_concurrent_runs(cluster, source, undisturbed, tmp_path):
    """Two runs started together from one source on one cluster: both exact."""
    procs = [start_cli(*augment_on(cluster, source, tmp_path / name), cwd=tmp_path)
             for name in ["one", "two"]]  # fmt: skip
    try:
        results = [proc.communicate(timeout=2 * DEADLINE) for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    for proc, (_, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err
    for name in ["one", "two"]:
        assert_same_output(tmp_path / name, undisturbed)
    assert leftovers(tmp_path) == []


def test_failed_overwrite_keeps_old_dst(cluster, tmp_path):
    """A non-finite value found mid-run fails an ``--overwrite`` run with exit 2 and
    leaves the existing destination exactly as it was, with nothing beside it."""
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"a": rng.standard_normal(3000), "b": rng.standard_normal(3000)})
    frame.loc[2900, "b"] = np.inf  # in the last file: found by a task, after others wrote
    src = tmp_path / "src"
    src.mkdir()
    for i, rows in enumerate(np.array_split(np.arange(len(frame)), 6)):
        frame.iloc[rows].to_parquet(src / f"part.{i}.parquet")
    made = snapshot(src)
    outputs = tmp_path / "outputs"
    outputs.mkdir()
    dst = outputs / "out"
    dst.mkdir()
    frame.iloc[:10].to_parquet(dst / "part.0.parquet")  # the old dataset
    old = snapshot(dst)

    result = run_cli(
        "augment", src, dst, "--seed", "1", "--overwrite", "--blocksize", "8kB", "--quiet",
        "--scheduler-file", cluster.scheduler_file, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    [error] = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert "'b' (1)" in error, error  # the column and its count
    assert snapshot(dst) == old
    assert os.listdir(outputs) == ["out"]
    assert snapshot(src) == made


@pytest.mark.parametrize(
    ("signum", "status", "message", "existing", "rerun"),
    [
        (
            signal.SIGINT,
            130,
            "error: interrupted",
            False,
            ["--workers", "2", "--threads-per-worker", "1", "--blocksize", "512KiB"],
        ),
        (
            signal.SIGTERM,
            143,
            "error: terminated",
            True,
            ["--workers", "1", "--threads-per-worker", "1", "--blocksize", "3MiB"],
        ),
    ],
    ids=["SIGINT-new-dst", "SIGTERM-overwrite"],
)
def test_interrupted_run(source, expected, tmp_path, signum, status, message, existing, rerun):
    """An embedded-cluster run signalled once its first output file exists stops with
    128 + the signal, removes its hidden output, leaves ``dst`` absent or as it was,
    takes its worker processes with it; a re-run gives the uninterrupted result."""
    dst = tmp_path / "out"
    options = ["--seed", SEED, "--quiet"]
    if existing:
        dst.mkdir()
        pd.DataFrame({"old": [1.0, 2.0]}).to_parquet(dst / "part.0.parquet")
        options.append("--overwrite")
    before = snapshot(dst) if existing else None
    proc = start_cli("augment", source[0], dst, *options, "--workers", "1",
                     "--threads-per-worker", "2", "--blocksize", "1MiB", cwd=tmp_path)  # fmt: skip
    ready = partial_output(tmp_path, "out")
    tmp, _, err, children = interrupt(proc, ready, "a first output file", signum, DEADLINE)
    assert proc.returncode == status, err
    assert "Traceback" not in err, err
    assert message in err.splitlines(), err
    assert not tmp.exists()
    assert leftovers(tmp_path) == []
    if existing:
        assert snapshot(dst) == before
    else:
        assert not dst.exists()
    # The embedded cluster's workers were running tasks; they end with the command.
    assert children
    assert_ended(children)

    # The re-run differs in workers, threads and partitions, not in bits.
    result = run_cli("augment", source[0], dst, *options, *rerun, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    pd.testing.assert_frame_equal(pd.read_parquet(dst), expected, check_exact=True)
    assert leftovers(tmp_path) == []


def cli_logs(tmp: Path) -> list[Path]:
    """The log files runs with ``TMPDIR=tmp`` left (``mixupy-dask-*.log``)."""
    return sorted(tmp.glob("mixupy-dask-*.log"))


def test_ctrl_c_prints_one_line(source, tmp_path):
    """Ctrl-C in a terminal signals the whole foreground group, the embedded cluster's
    worker processes too: the command prints ``error: interrupted`` and nothing else
    (it printed a traceback per worker before it), keeps no log file, and its workers
    end with it. (Click puts a newline on stderr first, after the terminal's ``^C``.)"""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    proc = start_cli("augment", source[0], tmp_path / "out", "--seed", SEED, "--quiet",
                     "--workers", "2", "--threads-per-worker", "1", "--blocksize", "512KiB",
                     cwd=tmp_path, env={"TMPDIR": str(tmp)}, group=True)  # fmt: skip
    ready = partial_output(tmp_path, "out")
    _, out, err, children = interrupt(
        proc, ready, "a first output file", signal.SIGINT, DEADLINE, group=True
    )
    assert proc.returncode == 130, err
    assert [line for line in err.splitlines() if line.strip()] == ["error: interrupted"], err
    assert out == ""
    assert cli_logs(tmp) == []
    assert leftovers(tmp_path) == []
    assert not (tmp_path / "out").exists()
    assert children
    assert_ended(children)


@pytest.mark.parametrize("verbose", [False, True], ids=["default", "verbose"])
def test_worker_death_is_one_error_line_and_a_log(source, tmp_path, verbose):
    """A worker process killed mid-run, with no retry allowed, fails the run (status 1):
    by default one ``error:`` line and one line naming the log file, which holds the
    traceback and the cluster's records of the death; ``--verbose`` prints the
    traceback on the terminal instead and keeps no file."""
    import psutil

    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {"TMPDIR": str(tmp), "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "0"}
    proc = start_cli("augment", source[0], tmp_path / "out", "--seed", SEED, "--quiet",
                     "--workers", "1", "--threads-per-worker", "1", "--blocksize", "512KiB",
                     *(["--verbose"] if verbose else []), cwd=tmp_path, env=env)  # fmt: skip
    try:
        wait_until(proc, partial_output(tmp_path, "out"), "a first output file", DEADLINE)
        [worker] = [
            child
            for child in psutil.Process(proc.pid).children(recursive=True)
            if "spawn_main" in " ".join(child.cmdline())
        ]
        worker.kill()  # SIGKILL, as the kernel's OOM killer strikes
        _, err = proc.communicate(timeout=DEADLINE)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 1, err
    lines = [line for line in err.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error:")]
    assert len(errors) == 1, err
    assert errors[0].startswith("error: KilledWorker: "), err
    assert leftovers(tmp_path) == []
    if verbose:
        assert "Traceback" in err
        assert cli_logs(tmp) == []
        return
    [log] = cli_logs(tmp)
    assert lines == [errors[0], f"the traceback and the cluster's logs are in {log}"], err
    text = log.read_text()
    assert "Traceback" in text
    assert "KilledWorker" in text
    assert "distributed.scheduler" in text  # the cluster's own records

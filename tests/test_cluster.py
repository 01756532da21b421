"""The CLI against a real cluster: a ``dask scheduler`` and two ``dask worker`` processes."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from mixupy_dask import mixup

pytestmark = pytest.mark.slow

distributed = pytest.importorskip("distributed")


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


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """(scheduler file, scheduler address) of a real two-worker cluster on 127.0.0.1."""
    base = tmp_path_factory.mktemp("cluster")
    scheduler_file = str(base / "scheduler.json")
    logs = open(base / "cluster.log", "w")  # noqa: SIM115 - closed in the finalizer
    processes: list[subprocess.Popen] = []
    common = {"cwd": base, "stdout": logs, "stderr": subprocess.STDOUT}
    try:
        processes.append(
            subprocess.Popen(
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
                    scheduler_file,
                ],
                **common,
            )
        )
        for _ in range(2):
            processes.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "distributed.cli.dask_worker",
                        "--scheduler-file",
                        scheduler_file,
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
                    **common,
                )
            )
        # The scheduler writes its file once it listens; Client waits for the file.
        with distributed.Client(scheduler_file=scheduler_file, timeout="60s") as client:
            client.wait_for_workers(2, timeout=60)
            address = client.scheduler_info()["address"]
            workers = set(client.scheduler_info()["workers"])
        yield scheduler_file, address, workers
    finally:
        stop(processes)
        logs.close()


def run_cli(*args, cwd) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mixupy_dask.cli", *map(str, args)],
        cwd=cwd,
        env={**os.environ, "MPLBACKEND": "Agg"},
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_cli_on_real_cluster(cluster, tmp_path):
    scheduler_file, address, workers = cluster
    rng = np.random.default_rng(7)
    frame = pd.DataFrame(
        {
            "x": rng.standard_normal(4000),
            "k": rng.integers(0, 9, 4000),
            "label": rng.choice(["a", "b", "c"], 4000),
        }
    )
    src = tmp_path / "src"
    src.mkdir()
    for i, part in enumerate(np.array_split(np.arange(len(frame)), 4)):
        frame.iloc[part].to_parquet(src / f"part.{i}.parquet", row_group_size=300, index=False)
    common = ["--seed", "9", "--labels", "label", "--within-class", "--batch-size", "5000",
              "--blocksize", "10kB", "--quiet"]  # fmt: skip

    runs = {
        "file": ["--scheduler-file", scheduler_file],
        "address": ["--scheduler", address],
        "embedded": ["--workers", "1", "--threads-per-worker", "2"],
    }
    outputs = {}
    for name, where in runs.items():
        result = run_cli("augment", src, name, *common, *where, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        outputs[name] = pd.read_parquet(tmp_path / name)

    expected = mixup(
        pd.read_parquet(src), seed=9, labels="label", within_class=True, batch_size=5000
    )
    for name, out in outputs.items():
        pd.testing.assert_frame_equal(out, expected, check_exact=True, obj=name)
    with distributed.Client(scheduler_file=scheduler_file, timeout="30s") as client:
        assert set(client.scheduler_info()["workers"]) == workers  # no worker died

"""The CLI against a real cluster: a ``dask scheduler`` and two ``dask worker`` processes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mixupy_dask import mixup

from .helpers import real_cluster, run_cli

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A real cluster on 127.0.0.1: a ``dask scheduler`` and two ``dask worker`` processes."""
    with real_cluster(tmp_path_factory.mktemp("cluster")) as cluster:
        yield cluster


def test_cli_on_real_cluster(cluster, tmp_path):
    with cluster.client() as client:
        workers = set(client.scheduler_info()["workers"])
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
        "file": ["--scheduler-file", cluster.scheduler_file],
        "address": ["--scheduler", cluster.address],
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
    with cluster.client() as client:
        assert set(client.scheduler_info()["workers"]) == workers  # no worker died

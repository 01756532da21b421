"""The public surface, and where work runs: ``client=None`` is the default client."""

from __future__ import annotations

import inspect
import pkgutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from distributed import Client, get_task_stream

import mixupy_dask
from mixupy_dask import augment_parquet, augment_series_parquet, mixup

from .helpers import run_cli

PUBLIC = {
    "AugmentSummary",
    "DestinationBusyError",
    "MixupError",
    "MixupOverSampler",
    "MixupStream",
    "MixupTypeError",
    "NonFiniteError",
    "__version__",
    "augment_parquet",
    "augment_series_parquet",
    "load_iris",
    "local_cluster",
    "make_data",
    "mixup",
    "mixup_series",
}


def test_all_is_the_documented_api():
    assert set(mixupy_dask.__all__) == PUBLIC
    for name in PUBLIC:
        assert hasattr(mixupy_dask, name), name
    documented = (Path(__file__).parents[1] / "docs" / "api.rst").read_text(encoding="utf-8")
    for name in PUBLIC - {"__version__"}:
        assert f"mixupy_dask.{name}" in documented, name


def test_every_other_module_is_internal():
    modules = {m.name for m in pkgutil.iter_modules(mixupy_dask.__path__)}
    assert {m for m in modules if not m.startswith("_")} == {"cli", "errors"}


def test_import_loads_no_optional_or_cluster_dependency():
    code = (
        "import sys, mixupy_dask, pandas as pd; "
        # Mixing a pandas frame, and refusing a list, must not import Polars either.
        "mixupy_dask.mixup(pd.DataFrame({'x': [0.0, 1.0]}), seed=0); "
        "exec('try: mixupy_dask.mixup([1.0])\\nexcept TypeError: pass'); "
        "print(sorted(m for m in ('sklearn', 'imblearn', 's3fs', 'matplotlib', 'distributed', "
        "'polars', 'narwhals', 'torch') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_parquet_functions_share_their_job_options():
    """Row and series jobs take the same job options with the same defaults."""
    shared = ["columns", "overwrite", "client", "storage_options", "blocksize", "progress"]
    rows = inspect.signature(augment_parquet).parameters
    series = inspect.signature(augment_series_parquet).parameters
    for name in shared:
        assert rows[name].default == series[name].default, name
        assert rows[name].kind is inspect.Parameter.KEYWORD_ONLY, name


@pytest.fixture
def labelled(tmp_path):
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"x": rng.normal(size=400), "y": rng.choice(["a", "b"], 400)})
    df.to_parquet(tmp_path / "src.parquet", row_group_size=100)
    return df, str(tmp_path / "src.parquet")


def _ran(stream, prefix: str) -> bool:
    return any(str(task["key"]).lstrip("('").startswith(prefix) for task in stream.data)


def test_label_pass_runs_on_the_given_client(labelled, tmp_path, cluster_client):
    """With a client that is not the default one, the label pass (categories and class
    counts) runs on its cluster too, not on a local scheduler."""
    df, src = labelled
    with get_task_stream(client=cluster_client) as stream:
        augment_parquet(src, str(tmp_path / "dst"), seed=1, labels="y", client=cluster_client)
    assert _ran(stream, "_value_counts"), [t["key"] for t in stream.data][:10]
    out = pd.read_parquet(tmp_path / "dst")
    pd.testing.assert_frame_equal(out, mixup(df, seed=1, labels="y"), check_exact=True)


def test_client_none_is_the_default_client(labelled, tmp_path, cluster_client):
    """``client=None`` inside ``with Client(...)`` runs every pass on that cluster."""
    df, src = labelled
    with (
        Client(cluster_client.scheduler.address) as default,
        get_task_stream(client=default) as stream,
    ):
        summary = augment_parquet(src, str(tmp_path / "dst"), seed=2, labels="y")
    assert _ran(stream, "_value_counts")
    assert summary.rows_out == len(df)
    out = pd.read_parquet(tmp_path / "dst")
    pd.testing.assert_frame_equal(out, mixup(df, seed=2, labels="y"), check_exact=True)


@pytest.mark.slow
def test_cli_seed_takes_base_and_epoch(labelled, tmp_path):
    df, src = labelled
    result = run_cli(
        "augment", src, tmp_path / "dst", "--seed", "42,3", "--labels", "y",
        "--workers", "1", "--quiet", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    expected = mixup(df, seed=(42, 3), labels="y")
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "dst"), expected, check_exact=True)
    assert not mixup(df, seed=42, labels="y").equals(expected)

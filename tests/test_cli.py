"""The ``mixupy-dask`` command, run for real in subprocesses."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from mixupy_dask import __version__, mixup
from mixupy_dask.cli import main

from .helpers import assert_user_error, run_cli

pytestmark = pytest.mark.slow

COMMANDS = ["augment", "augment-series", "make-data", "demo"]


MAKE_DATA = ["--rows", "5000", "--columns", "4", "--classes", "3", "--partitions", "3"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """make-data run twice into two directories, and a plain numeric dataset beside them."""
    base = tmp_path_factory.mktemp("cli-data")
    for name in ["classes", "classes_again"]:
        result = run_cli("make-data", name, *MAKE_DATA, "--seed", "1", "--workers", "1", cwd=base)
        assert result.returncode == 0, result.stderr
        assert "5,000 rows" in result.stdout
    plain = pd.read_parquet(base / "classes").drop(columns="label")
    (base / "plain").mkdir()
    for i, part in enumerate(np.array_split(np.arange(len(plain)), 3)):
        plain.iloc[part].to_parquet(base / "plain" / f"part.{i}.parquet", row_group_size=600)
    return base


def test_help(tmp_path, capsys):
    result = run_cli("--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for command in COMMANDS:
        assert command in result.stdout
    assert "mixupy-dask augment" in result.stdout  # the group's "Try it" examples
    # The commands' help in-process through the same entry point (a subprocess each
    # would only add interpreter start-ups).
    for command in COMMANDS:
        assert main([command, "--help"]) == 0
        out = capsys.readouterr().out
        assert "Example" in out, command
        assert f"mixupy-dask {command}" in out, command


def test_version(tmp_path):
    result = run_cli("--version", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert __version__ in result.stdout


def test_make_data_is_reproducible(data):
    one, two = pd.read_parquet(data / "classes"), pd.read_parquet(data / "classes_again")
    assert len(one) == 5000
    assert list(one.columns) == ["x0", "x1", "x2", "x3", "label"]
    assert one["label"].nunique() == 3
    assert len([n for n in os.listdir(data / "classes") if n.endswith(".parquet")]) == 3
    pd.testing.assert_frame_equal(one, two, check_exact=True)


@pytest.mark.parametrize(
    ("source", "extra", "options"),
    [
        ("plain", ["--quiet"], {}),
        ("plain", ["--batch-size", "1500", "--concat", "--alpha", "0.4", "--quiet"],
         {"batch_size": 1500, "concat": True, "alpha": 0.4}),
        ("classes", ["--labels", "label", "--within-class"],  # not quiet: prints a summary
         {"labels": "label", "within_class": True}),
    ],
)  # fmt: skip
def test_augment_equals_pandas(data, tmp_path, source, extra, options):
    dst = tmp_path / "out"
    result = run_cli(
        "augment", data / source, dst, "--seed", "3", *extra,
        "--workers", "1", "--threads-per-worker", "2", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    if "--quiet" in extra:
        assert result.stdout == ""
    else:
        assert "5,000 rows" in result.stdout
        assert "seed 3" in result.stdout
    expected = mixup(pd.read_parquet(data / source), seed=3, **options)
    pd.testing.assert_frame_equal(pd.read_parquet(dst), expected, check_exact=True)


@pytest.mark.parametrize(
    ("case", "args", "words"),
    [
        ("existing-dst", ["augment", "{plain}", "{plain_copy}"], ["already exists"]),
        ("dst-in-src", ["augment", "{plain}", "{plain}/out"], ["`dst`"]),
        ("alpha", ["augment", "{plain}", "out", "--alpha", "-1"], ["alpha"]),
        ("batch-size", ["augment", "{plain}", "out", "--batch-size", "0"], ["batch-size"]),
        ("non-numeric", ["augment", "{classes}", "out"], ["label"]),
        ("labels-left-out", ["augment", "{classes}", "out", "--columns", "x0,x1", "--labels",
                             "label"], ["--labels: 'label' left out by --columns", "'x0', 'x1'"]),
        ("both-schedulers", ["augment", "{plain}", "out", "--scheduler", "tcp://127.0.0.1:1",
                             "--scheduler-file", "x.json"], ["--scheduler"]),
    ],
)  # fmt: skip
def test_user_errors(data, tmp_path, case, args, words):
    (tmp_path / "plain_copy").mkdir()
    paths = {
        "plain": str(data / "plain"),
        "classes": str(data / "classes"),
        "plain_copy": str(tmp_path / "plain_copy"),
    }
    before = sorted(os.listdir(data / "plain"))
    assert not (tmp_path / "out").exists()
    result = run_cli(*[arg.format(**paths) for arg in args], cwd=tmp_path)
    assert_user_error(result, *words)
    assert not (tmp_path / "out").exists()
    assert sorted(os.listdir(data / "plain")) == before


def test_demo(tmp_path):
    result = run_cli("demo", "--seed", "1", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "petal_length" in result.stdout
    assert "150" in result.stdout
    assert os.listdir(tmp_path) == []

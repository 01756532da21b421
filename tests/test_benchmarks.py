"""The benchmark suite runs end to end on tiny sizes and writes well-formed results."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import time

import numpy as np
import pytest

from benchmarks.timing import Stats, calls_for, measure, take_turns

from .helpers import HANG_GUARD

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: One run per figure keeps the quick run short (every Parquet run starts a cluster); how
#: runs are repeated and summarised is tested on its own below.
REPEATS = 1


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    """One ``python -m benchmarks --quick`` run in a subprocess, into a temporary directory."""
    out = tmp_path_factory.mktemp("bench")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks",
            "--quick",
            "--repeats",
            str(REPEATS),
            "--out",
            str(out),
            "--workdir",
            str(out / "work"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=2 * HANG_GUARD,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return out, done


pytestmark = pytest.mark.slow


def _timed(row):
    assert len(row["runs"]) == REPEATS
    assert row["min"] <= row["median"] <= row["max"]
    assert row["min"] > 0


def test_json_holds_every_figure_with_machine_facts(quick_run):
    out, _ = quick_run
    results = json.loads((out / "results.json").read_text())
    machine = results["machine"]
    assert machine["cpu_count"] >= 1
    assert machine["memory_bytes"] > 0
    for package in ("mixupy_dask", "mixupy", "numpy", "pandas", "dask", "distributed"):
        assert machine["versions"][package]

    in_memory = results["in_memory"]
    sizes = sorted({r["rows"] for r in in_memory})
    assert len(sizes) >= 2
    assert {(r["method"], r["rows"]) for r in in_memory} == {
        (m, n) for m in ("numpy floor", "mixupy", "mixupy_dask") for n in sizes
    }
    for row in in_memory:
        _timed(row)
        assert row["vs_floor"] > 0
        assert row["mixupy_over_this"] > 0
    floors = [r for r in in_memory if r["method"] == "numpy floor"]
    assert all(r["vs_floor"] == 1.0 for r in floors)

    parquet = results["parquet"]["results"]
    assert {(r["method"], r["scale"]) for r in parquet} == {
        (m, s)
        for m in (
            "parquet copy",
            "parquet read",
            "dask shuffle",
            "hash shuffle",
            "naive dask",
            "mixupy_dask",
        )
        for s in (1, 2, 4)
    }
    assert set(results["parquet"]["reproducible"]) == {"naive dask", "mixupy_dask"}
    graph = results["graph"]
    assert {r["method"] for r in graph} == {"mixupy_dask", "set_index", "hash shuffle"}
    for row in graph:
        _timed(row)
        assert row["tasks_per_partition"] > 0
    for row in parquet:
        _timed(row)
        assert row["parquet_bytes"] > 0
        assert row["peak_cluster_memory_bytes"] is None or row["peak_cluster_memory_bytes"] > 0
    ours = [r for r in parquet if r["method"] == "mixupy_dask"]
    assert all(r["peak_worker_memory_bytes"] > 0 for r in ours)
    assert [r["rows"] for r in sorted(ours, key=lambda r: r["scale"])] == [
        ours[0]["rows"] // ours[0]["scale"] * s for s in (1, 2, 4)
    ]

    found = results["object_store"]
    store = found["results"]
    methods = ("parquet copy", "mixupy_dask", "mixupy_dask overwrite")
    # Every store in the same run; an emulator that is not installed is named as not run.
    skipped = {s["store"] for s in found["skipped"]}
    assert skipped <= {"gcs", "azure"}
    stores = {"local", "s3", "gcs", "azure"} - skipped
    assert {(r["store"], r["method"], r["scale"]) for r in store} == {
        (where, m, s) for where in stores for m in methods for s in (1, 4)
    }
    # New dst: in place where the store creates objects exclusively; the GCS emulator
    # does not, so its new dst is staged and swapped in, as on real stores without it.
    new_dst = {"local": "rename", "s3": "in place", "gcs": "swap", "azure": "in place"}
    for row in store:
        _timed(row)
        if row["method"] == "parquet copy":
            assert "commit_share" not in row
        else:  # measured by the library in the same runs, the claim included
            assert 0 < row["commit_share"] < 1
            for step in ("claim", "commit", "release"):
                assert row[f"{step}_seconds"] > 0, (row, step)
            expected = new_dst[row["store"]]
            if "overwrite" in row["method"] and row["store"] != "local":
                expected = "swap"
            assert row["commit_mode"] == expected, row
    # One target per store run: the claim + commit share of a new dst.
    store_targets = [t for t in results["targets"] if "claim + commit share" in t["target"]]
    assert len(store_targets) == len(stores)
    assert found["targets"] == store_targets
    assert found["load_average_after"] is not None

    mixed = results["mixed"]
    assert {(r["route"], r["table"]) for r in mixed} == {
        (route, table) for route in ("in memory", "parquet") for table in ("all-numeric", "mixed")
    }
    for row in mixed:
        _timed(row)
        assert row["vs_numeric"] > 0
    for peak in results["peak_memory"]:
        assert peak["tracemalloc_peak_over_input"] > 0
    variants = results["parquet_variants"]
    assert {(r["variant"], r["baseline"]) for r in variants} == {
        ("plain", "plain"),
        ("labels", "plain"),
        ("plain, labels' width", "plain"),
        ("labels", "plain, labels' width"),
        ("within_class", "plain"),
        ("within_class, label block", "plain"),
        ("within_class, label block", "plain, labels' width"),
        ("concat", "plain"),
        ("batch_size 2n", "plain"),
        ("series plain", "series plain"),
        ("series", "series plain"),
    }
    doubled = {"concat", "batch_size 2n"}
    for row in variants:
        _timed(row)
        assert row["vs_baseline"] > 0
        # Every data set holds the same rows: a ratio compares like with like.
        assert row["rows_out"] == row["rows_in"] * (2 if row["variant"] in doubled else 1)
    assert len({row["rows_in"] for row in variants}) == 1
    targets = {t["target"] for t in results["targets"]}
    assert "Parquet route labels / plain" in targets
    assert not any("labels' width" in t for t in targets)  # reported, not a target
    for variant in results["variants"]:
        if variant["skipped"]:
            assert variant["skipped"].startswith("skipped: not available")
        else:
            _timed(variant)
    assert {t["met"] for t in results["targets"]} <= {True, False}
    assert len(results["targets"]) >= 4


def test_markdown_has_a_table_per_section(quick_run):
    out, _ = quick_run
    text = (out / "results.md").read_text()
    results = json.loads((out / "results.json").read_text())
    for heading in ("## Targets", "## In-memory route", "## Parquet to Parquet", "## Variants",
                    "## Object stores", "## Mixed-type tables"):  # fmt: skip
        assert heading in text
    alone = (out / "results-object-store.md").read_text()
    for words in ("## Targets", "## Object stores", "load average", "claim + commit share"):
        assert words in alone
    for n in {r["rows"] for r in results["in_memory"]}:
        assert f"\n| {n:,} | " in text
    for line in text.splitlines():
        if line.startswith("|"):
            assert line.endswith("|")
    header = next(line for line in text.splitlines() if line.startswith("| rows | numpy floor"))
    body = [line for line in text.splitlines() if line.count("|") == header.count("|")]
    assert len(body) >= 2


def test_plot_is_a_png(quick_run):
    out, _ = quick_run
    data = (out / "results.png").read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    width, height = struct.unpack(">II", data[16:24])  # the IHDR chunk comes first
    assert width > 400
    assert height > 300


def test_committed_results_are_untouched_by_out(quick_run):
    out, done = quick_run
    assert str(out) in done.stdout
    assert os.path.join(ROOT, "benchmarks", "results.json") not in done.stdout


def test_balancing_section_compares_the_three_samplers(quick_run):
    out, _ = quick_run
    found = json.loads((out / "balancing.json").read_text())
    rows = found["in_memory"]
    assert {r["method"] for r in rows} == {"MixupOverSampler", "RandomOverSampler", "SMOTE"}
    for row in rows:
        assert row["seconds"] > 0
        assert row["rows_out"] > row["rows"]
    parquet = found["parquet"]
    assert parquet["rows_out"] == sum(after for _, _, _, after in parquet["classes"])
    assert len({after for _, _, _, after in parquet["classes"]}) == 1  # balanced
    assert "## Parquet to Parquet, out of core" in (out / "balancing.md").read_text()


@pytest.mark.parametrize("repeats", [1, 2, 3, 7])
def test_take_turns_runs_each_repeats_times_each_round_one_further_on(repeats):
    names = ["a", "b", "c"]
    order = list(take_turns(names, repeats))
    assert len(order) == repeats * len(names)
    rounds = [order[i : i + len(names)] for i in range(0, len(order), len(names))]
    for rep, turn in enumerate(rounds):
        assert sorted(turn) == names
        assert turn[0] == names[rep % len(names)]
        assert turn == names[names.index(turn[0]) :] + names[: names.index(turn[0])]


@pytest.mark.parametrize("n", [1, 2, 3, 4, 9])
def test_stats_summarise_like_numpy(n):
    runs = tuple(np.random.default_rng(n).random(n).tolist())
    stats = Stats(runs)
    assert stats.median == pytest.approx(np.median(runs), rel=0, abs=1e-15)
    assert (stats.min, stats.max) == (min(runs), max(runs))
    assert stats.to_dict()["runs"] == runs


def test_measure_times_loops_of_calls_per_call():
    calls = []
    stats = measure(lambda: calls.append(1), 3, calls=4)
    assert len(calls) == 12
    assert len(stats.runs) == 3


def _busy(seconds: float) -> None:
    """Keep the CPU busy until at least ``seconds`` have passed: a call's lower bound."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def test_calls_for_picks_the_first_loop_of_1_2_5_that_lasts_long_enough():
    assert calls_for(lambda: pytest.fail("no calibration needed"), 0) == 1
    # Every call lasts at least 1 ms, so a loop of 20 lasts at least 20 ms: no more are
    # needed, and fewer only if the machine stalled a shorter loop.
    number = calls_for(lambda: _busy(0.001), 0.02)
    assert number in (1, 2, 5, 10, 20)

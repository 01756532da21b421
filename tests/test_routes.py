"""The heart of the project: every route gives the pandas reference's values, bit for bit."""

from __future__ import annotations

import itertools

import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mixupy_dask import mixup
from mixupy_dask._dask.source import Source
from mixupy_dask._rows.call import prepare
from mixupy_dask._rows.dask_route import mixup_dask

from .helpers import on_cluster, split_frame

assert_exact = pd.testing.assert_frame_equal


def _frame(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "f64": rng.normal(size=n),
            "i64": rng.integers(-50, 50, n),
            "f32": rng.random(n).astype(np.float32),
            "flag": rng.random(n) > 0.5,
            "u8": rng.integers(0, 255, n).astype(np.uint8),
        }
    )


@st.composite
def partitionings(draw):
    """A frame, a split of its rows into partitions (empty ones allowed) and mixup options."""
    n = draw(st.integers(2, 60))
    k = draw(st.integers(1, 7))
    cuts = sorted(draw(st.lists(st.integers(0, n), min_size=k - 1, max_size=k - 1)))
    lengths = np.diff([0, *cuts, n]).tolist()
    options = {
        "alpha": draw(st.sampled_from([0.0, 0.2, 1.0, 4.0])),
        "concat": draw(st.booleans()),
        "batch_size": draw(st.one_of(st.none(), st.integers(1, 3 * n + 5))),
        "seed": draw(st.integers(0, 2**32)),
    }
    columns = draw(st.sets(st.sampled_from(["f64", "i64", "f32", "flag", "u8"]), min_size=1))
    df = _frame(n, draw(st.integers(0, 1000)))[sorted(columns)]
    return df, lengths, options


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=partitionings())
def test_dask_equals_pandas_for_any_partitioning(case):
    df, lengths, options = case
    expected = mixup(df, **options)
    out = mixup(split_frame(df, lengths), **options).compute(scheduler="threads")
    assert_exact(out, expected, check_exact=True)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=partitionings())
def test_distributed_equals_pandas(case, cluster_client):
    df, lengths, options = case
    expected = mixup(df, **options)
    out = on_cluster(cluster_client, mixup(split_frame(df, lengths), **options))
    assert_exact(out, expected, check_exact=True)


@pytest.mark.parametrize("batch_size", [None, 7, 100, 250])
@pytest.mark.parametrize("concat", [False, True])
def test_every_route_equals_pandas(route, batch_size, concat):
    df = _frame(100, seed=3)
    expected = mixup(df, 1.5, concat, batch_size, seed=11)
    assert_exact(
        route(lambda d: mixup(d, 1.5, concat, batch_size, seed=11), df), expected, check_exact=True
    )


def test_lazy_result_recomputes_identically_even_unseeded():
    df = _frame(500)
    lazy = mixup(dd.from_pandas(df, npartitions=4), batch_size=700)  # seed=None: drawn once, here
    first = lazy.compute(scheduler="threads")
    assert_exact(lazy.compute(scheduler="sync"), first, check_exact=True)
    assert_exact(lazy.compute(scheduler="threads"), first, check_exact=True)


def test_recompute_after_worker_restart(cluster_client):
    df = _frame(400)
    lazy = mixup(dd.from_pandas(df, npartitions=5), seed=5, batch_size=555)
    first = on_cluster(cluster_client, lazy)
    cluster_client.restart()
    assert_exact(on_cluster(cluster_client, lazy), first, check_exact=True)
    assert_exact(first, mixup(df, seed=5, batch_size=555), check_exact=True)


def test_seed_forms_are_stable_and_distinct():
    df = _frame(50)
    assert_exact(mixup(df, seed=3), mixup(df, seed=3), check_exact=True)
    assert not mixup(df, seed=3).equals(mixup(df, seed=4))
    epochs = [mixup(df, seed=(3, epoch)) for epoch in range(3)]
    assert not epochs[0].equals(epochs[1])
    assert not epochs[1].equals(epochs[2])
    assert_exact(mixup(df, seed=np.random.SeedSequence(9)), mixup(df, seed=9), check_exact=True)
    child = np.random.SeedSequence(9).spawn(1)[0]
    assert not mixup(df, seed=child).equals(mixup(df, seed=9))
    assert not mixup(df).equals(mixup(df))  # fresh entropy per call


def test_does_not_modify_its_input():
    df = _frame(30)
    before = df.copy()
    mixup(df, seed=1, concat=True)
    mixup(dd.from_pandas(df, npartitions=3), seed=1).compute()
    assert_exact(df, before, check_exact=True)


def test_output_partitions_line_up_with_input_partitions():
    df = _frame(90)
    out = mixup(dd.from_pandas(df, npartitions=3), batch_size=200, seed=0)
    # two full cycles of 3 partitions, then the partial cycle's 20 rows, its three
    # small slots in one partition
    assert out.map_partitions(len).compute().tolist() == [30, 30, 30] * 2 + [20]


@pytest.mark.parametrize(
    "options",
    [{}, {"batch_size": 250, "concat": True}, {"labels": ["a", "b"], "within_class": True}],
)
def test_selected_partitions_hold_their_own_rows(options):
    """``partitions[q]``, ``tail`` and ``head`` select partitions, and Dask renumbers the
    tasks it keeps: each must still compute the rows of the partition it was asked for."""
    df = _frame(100, seed=5).assign(a=lambda d: d["f64"] > 0, b=lambda d: d["f64"] <= 0)
    expected = mixup(df, seed=8, **options)
    lazy = mixup(split_frame(df, [0, 30, 0, 45, 25]), seed=8, **options)
    offsets = np.cumsum([0, *lazy.map_partitions(len).compute().tolist()])
    for q in range(lazy.npartitions):
        part = lazy.partitions[q].compute(scheduler="sync")
        assert_exact(part, expected.iloc[offsets[q] : offsets[q + 1]], check_exact=True)
    assert_exact(lazy.tail(7, compute=False).compute(), expected.tail(7), check_exact=True)
    assert_exact(lazy.partitions[-2:].compute(), expected.iloc[offsets[-3] :], check_exact=True)
    assert_exact(lazy.head(3, npartitions=-1), expected.head(3), check_exact=True)


@pytest.mark.parametrize(("batch_size", "concat"), [(None, False), (150, True)])
def test_graph_has_exactly_one_shuffle(batch_size, concat):
    out = mixup(dd.from_pandas(_frame(60), npartitions=4), batch_size=batch_size, concat=concat)
    names = [type(e).__name__ for e in out.expr.optimize().walk()]
    assert len([n for n in names if n.endswith("Shuffle")]) == 1, names


@pytest.mark.parametrize("options", [{}, {"batch_size": 250, "concat": True}])
def test_kernel_reading_its_own_partitions_gives_the_same_result(options, cluster_client):
    # Sources that can re-read a partition (Parquet) let each kernel task read its
    # left rows after the shuffle instead of holding them across it.
    df = _frame(100, seed=4)
    cuts = [0, 30, 30, 75, 100]
    pieces = [df.iloc[a:b] for a, b in itertools.pairwise(cuts)]
    frame = split_frame(df, np.diff(cuts).tolist())
    source = Source(frame, read=pieces.__getitem__)
    lazy = mixup_dask(source, prepare(frame, seed=2, **options))
    out = on_cluster(cluster_client, lazy)
    assert_exact(out, mixup(df, seed=2, **options), check_exact=True)


READ_PARQUET_OPTIONS = {
    "plain": {},
    "string-labels": {"labels": "y"},
    "categorical-labels": {"labels": "c"},
    "within-class": {"labels": "y", "within_class": True},
    "rows-per-class": {"labels": "c", "batch_size": {"q": 40}},
    "onehot": {"labels": "y", "categorical": "onehot"},
}


@pytest.mark.parametrize("columns", ["all", "some"])
@pytest.mark.parametrize("name", list(READ_PARQUET_OPTIONS))
def test_read_parquet_frames_equal_pandas(name, columns, tmp_path):
    # Dask's read_parquet fuses neighbouring files when a computation reads only some
    # columns: a pass over the label column, or mixing fewer columns than the frame was
    # read with, sees fewer partitions than the frame has. The plan must not notice.
    rng = np.random.default_rng(4)
    n = 600
    df = _frame(n).assign(
        y=rng.choice(["dog", "cat", "eel"], n),
        c=pd.Categorical(rng.choice(["q", "p"], n), categories=["q", "p", "r"]),
    )
    for i, rows in enumerate(np.array_split(np.arange(n), 6)):
        df.iloc[rows].to_parquet(tmp_path / f"{i}.parquet")
    options = {"seed": 8, "categorical": "dominant", **READ_PARQUET_OPTIONS[name]}
    ddf = dd.read_parquet(tmp_path)
    assert ddf["y"].map_partitions(len).compute().size < ddf.npartitions  # fused
    ddf["c"] = ddf["c"].cat.set_categories(["q", "p", "r"])  # known, as pandas reads them
    if columns == "some":
        ddf = ddf.drop(columns=["f32", "u8"])
    expected = mixup(ddf.compute(), **options)
    assert_exact(mixup(ddf, **options).compute(scheduler="threads"), expected)


@pytest.mark.parametrize(
    "options",
    [{"labels": "c"}, {"labels": "c", "within_class": True}, {"categorical": "onehot"}],
    ids=["labels", "within-class", "onehot-feature"],
)
def test_unknown_categories_are_the_computed_frames(options, tmp_path):
    # Read without their categories, a categorical's classes are what computing the frame
    # gives: each file's dictionary (unused categories too), united in file order.
    rng = np.random.default_rng(5)
    for i, categories in enumerate([["y", "x", "w"], ["z", "x"]]):
        pd.DataFrame(
            {
                "a": rng.normal(size=50),
                "c": pd.Categorical(rng.choice(["x", categories[0]], 50), categories=categories),
            }
        ).to_parquet(tmp_path / f"{i}.parquet")
    ddf = dd.read_parquet(tmp_path)
    assert not ddf["c"].cat.known
    expected = mixup(ddf.compute(), seed=2, **options)
    assert [c for c in expected.columns if c.startswith("c_")] == ["c_y", "c_x", "c_w", "c_z"]
    assert_exact(mixup(ddf, seed=2, **options).compute(scheduler="threads"), expected)

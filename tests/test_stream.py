"""``MixupStream``: every epoch is ``mixup`` with the seed ``(s, e)``, cut into batches in
a keyed order; windows keep each row a left row once and a partner once per epoch; the
batches are a pure function of the rows, never of partitions, files, ranks or resumes."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mixupy_dask import MixupError, MixupStream, MixupTypeError, mixup

from .helpers import split_frame

PROV = ["mixup_left", "mixup_partner", "mixup_lambda"]


def frame(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "a": rng.normal(size=n),
            "b": rng.normal(size=n).astype(np.float32),
            "k": rng.integers(0, 100, n),
            "city": pd.array(rng.choice(["Oslo", "Rome", "Lima"], n), dtype="str"),
            "y": rng.choice(["u", "v", "w"], n, p=[0.5, 0.3, 0.2]),
        }
    )


#: Option sets: plain numbers, soft labels, within-class partners, label preserving,
#: a column policy with keyed draws.
OPTIONS = {
    "plain": {"columns": ["a", "b", "k"]},
    "labels": {"columns": ["a", "b", "y"], "labels": "y"},
    "within_class": {"columns": ["a", "b", "y"], "labels": "y", "within_class": True},
    "label_preserving": {"columns": ["a", "k", "y"], "labels": "y", "label_preserving": True},
    "sample": {"labels": "y", "categorical": "sample", "integers": "round"},
}


def reference(df: pd.DataFrame, seed, epoch: int, options: dict) -> pd.DataFrame:
    options = dict(options)
    columns = options.pop("columns", None)
    data = df if columns is None else df[columns]
    return mixup(data, seed=(seed, epoch), batch_size=len(df), provenance=True, **options)


def epoch_of(stream: MixupStream, epoch: int, **kwargs) -> pd.DataFrame:
    out = pd.concat(list(stream.batches(epoch, **kwargs)), ignore_index=True)
    return out.sort_values("mixup_left", kind="stable").reset_index(drop=True)


def make_source(kind: str, df: pd.DataFrame, tmp_path, lengths=None):
    if kind == "pandas":
        return df
    if kind == "dask":
        return split_frame(df, lengths or [len(df)])
    path = tmp_path / "src"
    path.mkdir(exist_ok=True)
    cuts = np.cumsum([0, *(lengths or [len(df)])])
    for i, (a, b) in enumerate(itertools.pairwise(cuts)):
        if b > a:
            df.iloc[a:b].to_parquet(path / f"part.{i:03d}.parquet", row_group_size=7)
    return str(path)


@pytest.mark.parametrize("name", sorted(OPTIONS))
@pytest.mark.parametrize("source", ["pandas", "dask", "parquet"])
def test_window_none_epoch_is_mixup(name, source, tmp_path):
    df = frame(53)
    options = OPTIONS[name]
    data = make_source(source, df, tmp_path, [20, 0, 13, 20])
    stream = MixupStream(data, 8, seed=5, provenance=True, **options)
    for epoch in (0, 3):
        expected = reference(df, 5, epoch, options)
        pd.testing.assert_frame_equal(epoch_of(stream, epoch), expected, check_exact=True)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(2, 60),
    batch_size=st.integers(1, 70),
    parts=st.lists(st.integers(0, 25), min_size=1, max_size=5),
    seed=st.integers(0, 2**32),
    epoch=st.integers(0, 5),
)
def test_window_none_over_partitionings(n, batch_size, parts, seed, epoch):
    df = frame(n, seed % 7)[["a", "b", "y"]]
    cuts = sorted({min(p, n) for p in np.cumsum(parts)} | {0, n})
    lengths = list(np.diff(cuts))
    stream = MixupStream(
        split_frame(df, lengths), batch_size, seed=seed, labels="y", provenance=True
    )
    batches = list(stream.batches(epoch))
    assert [len(b) for b in batches[:-1]] == [batch_size] * (len(batches) - 1)
    assert len(batches) == stream.num_batches() == -(-n // batch_size)
    got = pd.concat(batches, ignore_index=True).sort_values("mixup_left").reset_index(drop=True)
    expected = mixup(df, seed=(seed, epoch), provenance=True, labels="y")
    pd.testing.assert_frame_equal(got, expected, check_exact=True)


def test_order_changes_every_epoch_and_drop_last():
    df = frame(100)[["a", "b"]]
    stream = MixupStream(df, 30, seed=1, provenance=True)
    first = [b.mixup_left.tolist() for b in stream.batches(0)]
    again = [b.mixup_left.tolist() for b in stream.batches(0)]
    other = [b.mixup_left.tolist() for b in stream.batches(1)]
    assert first == again
    assert first != other
    assert first[0] != list(range(30))  # shuffled, not in input order
    dropped = MixupStream(df, 30, seed=1, provenance=True, drop_last=True)
    assert dropped.num_batches() == 3
    assert [b.mixup_left.tolist() for b in dropped.batches(0)] == first[:3]


def test_seed_none_is_fixed_at_construction():
    df = frame(40)[["a"]]
    stream = MixupStream(df, 16)
    pd.testing.assert_frame_equal(
        pd.concat(stream.batches(2)), pd.concat(stream.batches(2)), check_exact=True
    )


# --- windows -----------------------------------------------------------------------------


def window_members(stream: MixupStream, epoch: int) -> list[np.ndarray]:
    return [w.positions() for w in stream._plan(epoch).window_list()]


@pytest.mark.parametrize(
    ("n", "window", "batch_size"), [(1000, 100, 64), (997, 64, 50), (50, 7, 3)]
)
def test_window_epoch_permutation_properties(n, window, batch_size):
    df = frame(n)[["a", "b", "y"]]
    stream = MixupStream(df, batch_size, seed=3, window=window, labels="y", provenance=True)
    seen = []
    for epoch in range(3):
        out = epoch_of(stream, epoch)
        # Every row a left row once and a partner once.
        np.testing.assert_array_equal(out.mixup_left, np.arange(n))
        np.testing.assert_array_equal(np.sort(out.mixup_partner), np.arange(n))
        windows = window_members(stream, epoch)
        assert max(len(w) for w in windows) <= window
        where = np.empty(n, dtype=np.int64)
        for j, rows in enumerate(windows):
            where[rows] = j
        # Partners come from the left row's window.
        np.testing.assert_array_equal(where[out.mixup_left], where[out.mixup_partner])
        seen.append(where)
        # A window is mixed as mixup mixes its rows (with the data's classes).
        rows = windows[1]
        expected = mixup(
            df.iloc[rows].reset_index(drop=True), seed=(3, epoch, 1), labels="y", provenance=True
        )
        got = out.set_index("mixup_left").loc[rows].reset_index()
        pd.testing.assert_frame_equal(got[["a", "b"]], expected[["a", "b"]], check_exact=True)
        np.testing.assert_array_equal(got.mixup_partner, rows[expected.mixup_partner])
    assert not all((seen[0] == s).all() for s in seen[1:]), "windows must change by epoch"


def test_rows_meet_partners_from_everywhere_over_epochs():
    n, window = 400, 40
    df = frame(n)[["a"]]
    stream = MixupStream(df, 50, seed=9, window=window, provenance=True)
    partners = set()
    for epoch in range(30):
        out = epoch_of(stream, epoch)
        partners |= set(out.mixup_partner[out.mixup_left < 10].floordiv(40).tolist())
    assert partners == set(range(n // 40))  # partners from every tenth of the data


def test_window_as_large_as_the_data_is_window_none():
    df = frame(60)[["a", "y"]]
    one = MixupStream(df, 16, seed=4, labels="y", provenance=True)
    big = MixupStream(df, 16, seed=4, window=60, labels="y", provenance=True)
    for a, b in zip(one.batches(2), big.batches(2), strict=True):
        pd.testing.assert_frame_equal(a, b, check_exact=True)


@pytest.mark.parametrize("source", ["dask", "parquet"])
def test_windows_are_the_same_from_every_source(source, tmp_path):
    df = frame(300)
    options = {"labels": "y", "categorical": "sample", "window": 50, "provenance": True}
    expected = list(MixupStream(df, 32, seed=8, **options).batches(1))
    data = make_source(source, df, tmp_path, [17, 0, 150, 133])
    got = list(MixupStream(data, 32, seed=8, **options).batches(1))
    assert len(got) == len(expected)
    for a, b in zip(got, expected, strict=True):
        pd.testing.assert_frame_equal(a, b, check_exact=True)


# --- ranks and resume --------------------------------------------------------------------


@pytest.mark.parametrize("drop_last", [False, True])
@pytest.mark.parametrize("world_size", [1, 2, 3, 4])
def test_ranks_split_the_global_sequence(world_size, drop_last):
    df = frame(230)[["a"]]
    stream = MixupStream(df, 20, seed=2, window=60, drop_last=drop_last, provenance=True)
    everything = [b.mixup_left.tolist() for b in stream.batches(0)]
    count = stream.num_batches(world_size)
    ranks = [
        [b.mixup_left.tolist() for b in stream.batches(0, rank=r, world_size=world_size)]
        for r in range(world_size)
    ]
    assert all(len(r) == count for r in ranks)
    for r, batches in enumerate(ranks):
        for k, batch in enumerate(batches):
            assert batch == everything[(r + k * world_size) % len(everything)]
    if drop_last:
        assert count == len(everything) // world_size
    else:
        assert count == -(-len(everything) // world_size)


@pytest.mark.parametrize("window", [None, 40])
def test_resume_yields_exactly_the_rest(window):
    df = frame(250)[["a", "y"]]
    stream = MixupStream(df, 16, seed=6, window=window, labels="y")
    full = list(stream.batches(4))
    for start in (0, 1, 7, len(full) - 1, len(full)):
        rest = list(stream.batches(4, start=start))
        assert len(rest) == len(full) - start
        for a, b in zip(rest, full[start:], strict=True):
            pd.testing.assert_frame_equal(a, b, check_exact=True)
    rank = list(stream.batches(4, rank=1, world_size=3, start=2))
    whole = list(stream.batches(4, rank=1, world_size=3))
    for a, b in zip(rank, whole[2:], strict=True):
        pd.testing.assert_frame_equal(a, b, check_exact=True)


def test_resume_reads_only_the_windows_it_needs(tmp_path):
    df = frame(400)[["a", "b"]]
    path = make_source("parquet", df, tmp_path, [100] * 4)
    stream = MixupStream(path, 10, seed=1, window=50)
    reads: list[list] = []
    read = stream._data.read
    stream._data.read = lambda runs: reads.append(list(runs)) or read(runs)  # count reads
    plan = stream._plan(0)
    last = plan.window_list()[-1]
    start = last.offset // 10 + 1
    list(stream.batches(0, start=start))
    assert reads == [list(last.runs)]


# --- formats -----------------------------------------------------------------------------


def test_formats_and_dtypes():
    torch = pytest.importorskip("torch")
    df = frame(50)[["a", "b", "k", "y"]]
    stream = MixupStream(df, 16, seed=0, labels="y", window=20)
    pandas = list(stream.batches(0))
    numpy = list(stream.batches(0, format="numpy"))
    arrow = list(stream.batches(0, format="arrow"))
    tensors = list(stream.batches(0, format="torch"))
    for p, n, a, t in zip(pandas, numpy, arrow, tensors, strict=True):
        assert list(n) == list(p.columns) == a.column_names == list(t)
        assert isinstance(a, pa.Table)
        pd.testing.assert_frame_equal(a.to_pandas(), p, check_exact=True)
        for c in p.columns:
            np.testing.assert_array_equal(n[c], p[c].to_numpy())
            assert n[c].dtype == p[c].dtype
            np.testing.assert_array_equal(t[c].numpy(), p[c].to_numpy())
        assert t["b"].dtype == torch.float32
        assert t["a"].dtype == torch.float64
        assert t["y_u"].dtype == torch.float64


# --- bad input ---------------------------------------------------------------------------

BAD = [
    (MixupError, r"`alpha` must be a finite real number >= 0, got -1", {"alpha": -1}),
    (MixupTypeError, r"`seed` must be", {"seed": "x"}),
    (MixupError, r"`categorical` must be one of", {"categorical": "nope"}),
    (MixupError, r"`within_class=True` needs `labels`", {"within_class": True}),
    (MixupError, r"`batch_size` must be an int between 1", {"batch_size": 0}),
    (MixupTypeError, r"`batch_size` must be an int", {"batch_size": 2.5}),
    (MixupError, r"`window` must be None or an int >= 4", {"window": 3}),
    (MixupTypeError, r"`drop_last` must be True or False", {"drop_last": 1}),
    (MixupTypeError, r"`storage_options` must be None or a dict", {"storage_options": [1]}),
    (MixupError, r"`columns` not in `data`: 'zz'", {"columns": ["zz"]}),
    (MixupTypeError, r"columns must be bool, integer or float|'city'", {"columns": ["a", "city"]}),
    (MixupError, r"`max_categories`", {"categorical": "onehot", "max_categories": 1}),
]


@pytest.mark.parametrize(("error", "match", "options"), BAD)
def test_bad_parameters_fail_at_construction_as_in_mixup(error, match, options):
    df = frame(20)
    kwargs = {"batch_size": 4, **options}
    with pytest.raises(error, match=match):
        MixupStream(df, **kwargs)
    mixup_options = {
        k: v
        for k, v in options.items()
        if k not in {"window", "drop_last", "storage_options", "batch_size", "columns"}
    }
    if mixup_options:  # the same error from mixup itself
        with pytest.raises(error, match=match):
            mixup(df, **mixup_options)


def test_bad_data():
    with pytest.raises(
        MixupTypeError,
        match=r"`data` must be a pandas, Polars or Dask DataFrame, a pyarrow Table or a "
        r"Parquet path, not builtins\.list",
    ):
        MixupStream([1, 2], 4)
    with pytest.raises(MixupError, match="at least 2 rows"):
        MixupStream(frame(1)[["a"]], 4)


@pytest.mark.parametrize(
    ("error", "match", "options"),
    [
        (MixupError, r"`epoch` must be an int >= 0, got -1", {"epoch": -1}),
        (
            MixupError,
            r"`rank` must be below `world_size` \(2\), got 2",
            {"rank": 2, "world_size": 2},
        ),
        (MixupError, r"`world_size` must be an int >= 1, got 0", {"world_size": 0}),
        (MixupError, r"`start` must be at most the 5 batches", {"start": 6}),
        (
            MixupError,
            r"`format` must be one of 'pandas', 'numpy', 'arrow', 'polars', 'torch'",
            {"format": "jax"},
        ),
        (MixupTypeError, r"`epoch` must be an int", {"epoch": 1.0}),
    ],
)
def test_bad_batches_arguments(error, match, options):
    stream = MixupStream(frame(20)[["a"]], 4)
    with pytest.raises(error, match=match):
        stream.batches(**{"epoch": 0, **options})


def test_torch_format_needs_numeric_columns():
    pytest.importorskip("torch")
    stream = MixupStream(frame(20)[["a", "city"]], 4, categorical="dominant")
    with pytest.raises(MixupError, match="`format='torch'` needs numeric columns; 'city'"):
        stream.batches(0, format="torch")


def test_window_none_refuses_parquet_larger_than_memory(tmp_path, monkeypatch):
    from mixupy_dask._stream import sources

    path = make_source("parquet", frame(100)[["a"]], tmp_path)
    monkeypatch.setattr(sources, "MEMORY_SHARE", 1e-12)
    with pytest.raises(MixupError, match="give `window`"):
        MixupStream(path, 10)
    MixupStream(path, 10, window=50)  # streams

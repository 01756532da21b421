"""augment_parquet: the Parquet route gives exactly what mixup gives on the pandas frame."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mixupy_dask import augment_parquet, mixup
from mixupy_dask.errors import MixupError, MixupTypeError, NonFiniteError

from .helpers import snapshot

N = 3000


def make_frame(n: int = N, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "a": rng.standard_normal(n),
            "b": rng.integers(-50, 50, n),
            "c": rng.random(n).astype(np.float32),
            "y": rng.choice(["cat", "dog", "eel"], n),
        }
    )


def write_dir(df: pd.DataFrame, path, files: int = 3, row_group_size: int = 250) -> str:
    """``df`` as ``files`` Parquet files of several row groups each."""
    os.makedirs(path)
    for i, part in enumerate(np.array_split(np.arange(len(df)), files)):
        table = pa.Table.from_pandas(df.iloc[part], preserve_index=False)
        pq.write_table(
            table, os.path.join(path, f"part.{i}.parquet"), row_group_size=row_group_size
        )
    return str(path)


def write_file(df: pd.DataFrame, path) -> str:
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), path, row_group_size=700)
    return str(path)


def parquet_files(path) -> list[str]:
    return [n for n in os.listdir(path) if n.endswith(".parquet")]


OPTIONS = {
    "default": {},
    "batch-smaller": {"batch_size": 1234, "alpha": 0.4},
    "batch-larger-concat": {"batch_size": 2 * N + 17, "concat": True, "alpha": 1.0},
    "within-class": {"labels": "y", "within_class": True},
    "label-preserving": {"labels": "y", "label_preserving": True, "alpha": 0.7},
}


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    base = tmp_path_factory.mktemp("src")
    df = make_frame()
    return {
        "file": write_file(df, base / "one.parquet"),
        "dir": write_dir(df, base / "many"),
    }


@pytest.mark.parametrize("layout", ["file", "dir"])
@pytest.mark.parametrize("name", list(OPTIONS))
def test_equals_pandas_mixup(sources, layout, name, tmp_path, cluster_client):
    src = sources[layout]
    options = OPTIONS[name]
    # The string column "y" can only come along as a label.
    columns = None if "labels" in options else ["a", "b", "c"]
    dst = tmp_path / "out"
    summary = augment_parquet(
        src, str(dst), seed=11, columns=columns, client=cluster_client, **options
    )
    out = pd.read_parquet(dst)
    expected = mixup(pd.read_parquet(src, columns=columns), seed=11, **options)
    pd.testing.assert_frame_equal(out, expected, check_exact=True)
    assert summary.rows_in == len(pd.read_parquet(src))
    assert summary.rows_out == len(out)
    assert summary.files_written == len(parquet_files(dst))
    assert summary.seed == 11


@pytest.mark.parametrize("blocksize", [1, 20_000, 10**9])
def test_blocksize_does_not_change_output(sources, blocksize, tmp_path):
    # Default scheduler (no client): row groups grouped into 1, a few or all per partition.
    src = sources["dir"]
    dst = tmp_path / "out"
    summary = augment_parquet(
        src, str(dst), seed=5, batch_size=2000, blocksize=blocksize, labels="y"
    )
    expected = mixup(pd.read_parquet(src), seed=5, batch_size=2000, labels="y")
    pd.testing.assert_frame_equal(pd.read_parquet(dst), expected, check_exact=True)
    assert summary.files_written == len(parquet_files(dst))
    if blocksize == 1:
        assert summary.files_written == 12  # one partition per row group


@pytest.mark.parametrize(
    "options",
    [{"within_class": True}, {"label_preserving": True}, {"batch_size": {"eel": 700}}],
    ids=["within-class", "label-preserving", "rows-per-class"],
)
def test_categorical_classes_in_dictionary_order(options, tmp_path):
    # Classes in the dtype's order, an unused one kept, files with different
    # dictionaries: class order decides which rows pair, so the rows must match too.
    df = make_frame()
    df["y"] = pd.Categorical(df["y"].replace("cat", "dog"), categories=["eel", "dog"])
    first, second = df.iloc[:1000], df.iloc[1000:]
    os.makedirs(tmp_path / "src")
    first.to_parquet(tmp_path / "src" / "0.parquet")
    second.assign(y=second["y"].cat.set_categories(["cat", "dog", "eel"])).to_parquet(
        tmp_path / "src" / "1.parquet"
    )
    src, dst = str(tmp_path / "src"), str(tmp_path / "out")
    assert list(pd.read_parquet(src)["y"].cat.categories) == ["eel", "dog", "cat"]
    augment_parquet(src, dst, seed=3, labels="y", blocksize=1, **options)
    expected = mixup(pd.read_parquet(src), seed=3, labels="y", **options)
    assert list(expected.columns[-3:]) == ["y_eel", "y_dog", "y_cat"]
    pd.testing.assert_frame_equal(pd.read_parquet(dst), expected, check_exact=True)


def test_seed_none_is_reported_and_reproduces(sources, tmp_path):
    src = sources["file"]
    first = augment_parquet(src, str(tmp_path / "a"), labels="y")
    again = augment_parquet(src, str(tmp_path / "b"), seed=first.seed, labels="y")
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "a"), pd.read_parquet(tmp_path / "b"), check_exact=True
    )
    assert again.seed == first.seed


def test_source_untouched(tmp_path):
    src = write_dir(make_frame(), tmp_path / "src")
    before = snapshot(src)
    augment_parquet(src, str(tmp_path / "out"), seed=1, concat=True, labels="y")
    assert snapshot(src) == before


def test_existing_dst_refused_then_replaced(sources, tmp_path):
    dst = tmp_path / "out"
    dst.mkdir()
    (dst / "old.parquet").write_bytes(b"old")
    with pytest.raises(MixupError, match="already exists") as info:
        augment_parquet(sources["file"], str(dst), seed=1, labels="y")
    assert str(dst) in str(info.value)
    assert os.listdir(dst) == ["old.parquet"]
    augment_parquet(sources["file"], str(dst), seed=1, overwrite=True, labels="y")
    assert "old.parquet" not in os.listdir(dst)
    expected = mixup(pd.read_parquet(sources["file"]), seed=1, labels="y")
    pd.testing.assert_frame_equal(pd.read_parquet(dst), expected, check_exact=True)
    assert sorted(os.listdir(tmp_path)) == ["out"]  # no hidden old/tmp directories


def test_dst_inside_src_refused(tmp_path):
    src = write_dir(make_frame(200), tmp_path / "src", files=2, row_group_size=50)
    before = snapshot(src)
    with pytest.raises(MixupError, match="`dst`"):
        augment_parquet(src, os.path.join(src, "out"), seed=1, labels="y")
    with pytest.raises(MixupError, match="`dst`"):
        augment_parquet(src, src, seed=1, overwrite=True, labels="y")
    assert snapshot(src) == before


def test_columns_selects(sources, tmp_path):
    augment_parquet(sources["dir"], str(tmp_path / "out"), seed=2, columns=["a", "c"])
    expected = mixup(pd.read_parquet(sources["dir"], columns=["a", "c"]), seed=2)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "out"), expected, check_exact=True)
    with pytest.raises(MixupError, match="zzz"):
        augment_parquet(sources["dir"], str(tmp_path / "out2"), seed=2, columns=["a", "zzz"])


@pytest.mark.parametrize("use_client", [False, True])
def test_nan_fails_at_compute_leaving_nothing(tmp_path, use_client, request):
    df = make_frame(900).drop(columns="y")
    df.loc[700, "a"] = np.nan  # in the last file only
    src = write_dir(df, tmp_path / "src", files=3, row_group_size=100)
    out_parent = tmp_path / "outs"
    out_parent.mkdir()
    client = request.getfixturevalue("cluster_client") if use_client else None
    with pytest.raises(NonFiniteError, match="a"):
        augment_parquet(src, str(out_parent / "out"), seed=1, client=client)
    assert os.listdir(out_parent) == []


@pytest.fixture(scope="module")
def large_row_groups(tmp_path_factory):
    """Two files of one row group each (~1.7 MB), larger than ``SLICE_SLACK`` times a
    tiny blocksize (which counts as ``MIN_SLICE_BYTES``), so each is cut into slices."""
    base = tmp_path_factory.mktemp("large-row-groups")
    return write_dir(make_frame(200_000, seed=3), base / "src", files=2, row_group_size=100_000)


def test_row_groups_a_little_over_blocksize_stay_whole(large_row_groups):
    """Files sized to the blocksize land a little over it; cutting each in two doubled
    the partitions and the decoding. Up to ``SLICE_SLACK`` times the blocksize, a row
    group is one partition; above, it is sliced."""
    from mixupy_dask._io.parquet import SLICE_SLACK, ParquetSource

    parquet = ParquetSource.open(large_row_groups, None, {})
    largest = max(piece.nbytes for piece in parquet.pieces)
    whole = parquet.source(int(largest / SLICE_SLACK) + 1)
    assert len(whole.lengths) == len(parquet.pieces)
    sliced = parquet.source(int(largest / SLICE_SLACK) - 1)
    assert len(sliced.lengths) > len(parquet.pieces)


@pytest.mark.parametrize("name", ["default", "batch-larger-concat", "within-class"])
def test_row_groups_larger_than_blocksize_are_sliced(large_row_groups, name, tmp_path, request):
    from mixupy_dask._io.parquet import MIN_SLICE_BYTES, ParquetSource

    options = {**OPTIONS[name], **({"batch_size": 400_017} if "concat" in name else {})}
    source = ParquetSource.open(large_row_groups, None, {}).source(1)
    row_groups = sum(pq.ParquetFile(os.path.join(large_row_groups, f)).num_row_groups
                     for f in parquet_files(large_row_groups))  # fmt: skip
    assert len(source.lengths) > row_groups  # sliced: more partitions than row groups
    assert sum(source.lengths) == 200_000
    parts = [source.read(p) for p in range(len(source.lengths))]
    assert [len(p) for p in parts] == list(source.lengths)
    assert min(p.memory_usage(index=False).sum() for p in parts) >= MIN_SLICE_BYTES * 0.9
    pd.testing.assert_frame_equal(
        pd.concat(parts, ignore_index=True), pd.read_parquet(large_row_groups), check_exact=True
    )
    columns = None if "labels" in options else ["a", "b", "c"]
    dst = tmp_path / "out"
    client = request.getfixturevalue("cluster_client") if name == "default" else None
    augment_parquet(
        large_row_groups, str(dst), seed=7, columns=columns, blocksize=1, client=client, **options
    )
    expected = mixup(pd.read_parquet(large_row_groups, columns=columns), seed=7, **options)
    pd.testing.assert_frame_equal(pd.read_parquet(dst), expected, check_exact=True)


def test_progress_takes_a_switch_as_tqdm_and_dask_users_pass_one(tmp_path, cluster_client, capsys):
    """``progress=False`` (and None) shows nothing; ``True`` shows Dask's progress bar on
    a cluster; anything but a bool or a callable is refused, naming what is allowed."""
    df = pd.DataFrame({"x": np.arange(50.0), "y": np.arange(50.0) % 3})
    df.to_parquet(tmp_path / "src.parquet")
    expected = mixup(df, seed=2)
    for progress, client in [(False, None), (True, cluster_client)]:
        dst = tmp_path / f"out-{progress}"
        augment_parquet(str(tmp_path / "src.parquet"), str(dst), seed=2, progress=progress,
                        client=client)  # fmt: skip
        pd.testing.assert_frame_equal(pd.read_parquet(dst), expected, check_exact=True)
        shown = capsys.readouterr().out
        assert ("Completed" in shown) is progress, shown  # distributed's text bar
    with pytest.raises(
        MixupTypeError, match=r"`progress` must be None, True, False or a callable given the"
    ):
        augment_parquet(str(tmp_path / "src.parquet"), str(tmp_path / "no"), progress="bar")
    assert not (tmp_path / "no").exists()

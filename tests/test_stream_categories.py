"""``MixupStream`` over categorical columns whose categories are not known up front: a
Dask frame cast with ``astype("category")`` (no ``categorize()``: each partition has
its own categories, the frame's are a placeholder) and a Parquet dataset whose files
have dictionaries of their own. A stream mixes them as ``mixup`` mixes the computed
frame: ``window=None`` is exactly ``mixup(ddf.compute(), seed=(s, e))``, and a
windowed stream gives the same batches as over the computed frame, so every window
encodes classes, one-hot features and categorical dtypes as the whole data does."""

from __future__ import annotations

import itertools

import dask.dataframe as dd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mixupy_dask import MixupError, MixupStream, mixup

from .helpers import split_frame

#: Class column ``y`` (categorical), categorical feature ``c``; each partition sees a
#: different set of their values, in a different order.
LENGTHS = [0, 21, 0, 18, 25, 0]

#: Option sets: a categorical class column, one-hot features, categorical features
#: chosen from a parent without labels (the feature layout itself) and with them.
OPTIONS = {
    "labels": {"labels": "y", "columns": ["a", "y"]},
    "onehot": {"labels": "y", "categorical": "onehot"},
    "dominant": {"categorical": "dominant", "columns": ["a", "k", "c"]},
    "sample": {"labels": "y", "categorical": "sample", "within_class": True},
}


def plain_frame() -> pd.DataFrame:
    """Object columns; partition ``i`` of ``LENGTHS`` holds values of its own."""
    rng = np.random.default_rng(4)
    n = sum(LENGTHS)
    df = pd.DataFrame(
        {
            "a": rng.normal(size=n),
            "k": rng.integers(0, 9, n),
            "c": rng.choice(["oslo", "rome", "lima", "kyiv"], n).astype(object),
            "y": rng.choice(["u", "v", "w"], n).astype(object),
        }
    )
    df.loc[:20, "c"] = rng.choice(["rome", "kyiv"], 21)  # the first partition's
    df.loc[:20, "y"] = "w"
    return df


def unknown_dask() -> dd.DataFrame:
    ddf = split_frame(plain_frame(), LENGTHS).astype({"c": "category", "y": "category"})
    assert not ddf.c.cat.known
    assert not ddf.y.cat.known
    return ddf


def options_of(name: str) -> tuple[list[str] | None, dict]:
    options = dict(OPTIONS[name])
    return options.pop("columns", None), options


def epoch_of(stream: MixupStream, epoch: int) -> pd.DataFrame:
    out = pd.concat(list(stream.batches(epoch)), ignore_index=True)
    return out.sort_values("mixup_left", kind="stable").reset_index(drop=True)


def sources(tmp_path) -> dict[str, object]:
    """The same rows as an unknown-categories Dask frame and as Parquet files written
    from it (each file's dictionary its partition's categories)."""
    ddf = unknown_dask()
    path = tmp_path / "src"
    ddf.to_parquet(path, write_index=False)
    assert len(list(path.glob("*.parquet"))) > 1
    return {"dask": ddf, "parquet": str(path)}


@pytest.mark.parametrize("name", sorted(OPTIONS))
def test_unknown_categories_window_none_is_mixup_of_the_computed_frame(name, tmp_path):
    columns, options = options_of(name)
    computed = unknown_dask().compute().reset_index(drop=True)
    if columns is not None:
        computed = computed[columns]
    # What mixup on Dask gives for unknown categories: the computed frame's mix.
    lazy = unknown_dask() if columns is None else unknown_dask()[columns]
    on_dask = mixup(lazy, seed=(9, 1), provenance=True, **options).compute()
    expected = mixup(computed, seed=(9, 1), provenance=True, **options)
    pd.testing.assert_frame_equal(on_dask.reset_index(drop=True), expected, check_exact=True)
    for kind, data in sources(tmp_path).items():
        stream = MixupStream(data, 7, seed=9, columns=columns, provenance=True, **options)
        got = epoch_of(stream, 1)
        pd.testing.assert_frame_equal(got, expected, check_exact=True, obj=kind)


@pytest.mark.parametrize("name", sorted(OPTIONS))
def test_unknown_categories_windows_encode_as_the_whole_data(name, tmp_path):
    """Windows of 16 rows (each sees some of the classes and categories): the batches
    equal the same stream's over the computed frame, dtypes and label columns too."""
    columns, options = options_of(name)
    computed = unknown_dask().compute().reset_index(drop=True)
    reference = MixupStream(computed, 5, seed=2, window=16, columns=columns, **options)
    for kind, data in sources(tmp_path).items():
        stream = MixupStream(data, 5, seed=2, window=16, columns=columns, **options)
        assert stream.num_batches() == reference.num_batches()
        for epoch in (0, 3):
            pairs = zip(stream.batches(epoch), reference.batches(epoch), strict=True)
            for k, (got, expected) in enumerate(pairs):
                pd.testing.assert_frame_equal(
                    got, expected, check_exact=True, obj=f"{kind} epoch {epoch} batch {k}"
                )


def test_categorized_dask_frame_is_the_same_stream():
    """``categorize()`` (known categories, sorted) against the computed frame."""
    ddf = split_frame(plain_frame(), LENGTHS).categorize(columns=["c", "y"])
    computed = ddf.compute().reset_index(drop=True)
    for options in (OPTIONS["onehot"], {"categorical": "dominant"}):
        stream = MixupStream(ddf, 6, seed=1, window=16, **options)
        reference = MixupStream(computed, 6, seed=1, window=16, **options)
        for got, expected in zip(stream.batches(2), reference.batches(2), strict=True):
            pd.testing.assert_frame_equal(got, expected, check_exact=True)


def test_values_outside_the_files_categories_are_refused_not_made_missing(tmp_path):
    """A file whose second row group has a dictionary of its own: its categories are
    its first row group's (as the job reads them), so the others' values are refused
    with the job's words, under ``missing='propagate'`` too, never mixed as missing."""
    first = pa.DictionaryArray.from_arrays(pa.array([0, 1, 0, 1], pa.int32()), ["p", "q"])
    second = pa.DictionaryArray.from_arrays(pa.array([0, 1, 0, 1], pa.int32()), ["r", "s"])
    table = pa.table({"c": pa.chunked_array([first, second]), "x": np.arange(8.0)})
    pq.write_table(table, tmp_path / "f.parquet", row_group_size=4)
    for options in ({"categorical": "dominant"},
                    {"categorical": "dominant", "missing": "propagate"}):  # fmt: skip
        stream = MixupStream(str(tmp_path), 4, seed=1, **options)
        with pytest.raises(MixupError, match=r"values \['r', 's'\] in one part of the data"):
            list(stream.batches(0))


def test_partitions_differ_in_categories():
    """The premise of the tests: partitions' categories differ and are united in
    partition order (empty partitions left out), not sorted."""
    ddf = unknown_dask()
    parts = [p.compute() for p in ddf.to_delayed()]
    seen = [tuple(p.c.cat.categories) for p in parts if len(p)]
    assert len(set(seen)) > 1
    computed = ddf.compute()
    united = list(dict.fromkeys(itertools.chain.from_iterable(seen)))
    assert list(computed.c.cat.categories) == united != sorted(united)

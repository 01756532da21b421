"""The sink extension point: another format is a writer, committed by the same protocol.

A CSV sink written here, as a new format would be, goes through ``Destination.write``
unchanged: the ``_SUCCESS`` manifest lists exactly its files, the data round-trips,
and a writer failing part way leaves nothing behind. Real files, real dask; the
in-memory filesystem stands for an object store (written in place, swapped on
``overwrite``).
"""

from __future__ import annotations

import json
import posixpath
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import dask.dataframe as dd
import fsspec
import numpy as np
import pandas as pd
import pytest

from mixupy_dask._io.commit import MANIFEST, MANIFEST_FORMAT, Destination
from mixupy_dask._io.parquet import is_local


def _write_csv(
    part: pd.DataFrame,
    url: str,
    names: Sequence[str],
    options: dict[str, Any],
    fail: int | None,
    partition_info: dict[str, Any],
) -> pd.Series:
    i = partition_info["number"]
    path = f"{url}/{names[i]}"
    with fsspec.open(path, "w", **options) as f:
        # %.17g: every float64 reads back to the same bits.
        part.to_csv(f, index=False, float_format="%.17g")
        if i == fail:
            raise OSError(f"disk full writing {path}")  # half a file written
    return pd.Series([len(part)], dtype="int64")


@dataclass(frozen=True)
class CsvSink:
    """A second format, as small as a sink can be; ``fail`` makes one file's write fail."""

    fail: int | None = None
    suffix = ".csv"

    def write(
        self,
        frame: dd.DataFrame,
        url: str,
        names: Sequence[str],
        metadata: dict[str, Any] | None,
        storage_options: dict[str, Any],
    ) -> Any:
        # One task a file; computed, the rows of each.
        return frame.map_partitions(
            _write_csv,
            url,
            list(names),
            storage_options,
            self.fail,
            meta=pd.Series([], dtype="int64"),
            enforce_metadata=False,
        )


def _frame(n: int = 1000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"x0": rng.standard_normal(n), "x1": rng.random(n), "k": np.arange(n)})


@pytest.fixture(params=["local", "object-store"])
def where(request, tmp_path):
    """``(fs, parent)``: a local directory, or a bucket of the in-memory filesystem,
    which the protocol treats as an object store."""
    if request.param == "local":
        fs = fsspec.filesystem("file")
        yield fs, tmp_path.as_posix()
        return
    fs = fsspec.filesystem("memory")
    bucket = f"/bucket-{uuid.uuid4().hex[:8]}"
    fs.mkdir(bucket)
    yield fs, bucket
    fs.rm(bucket, recursive=True)


def _url(fs: fsspec.AbstractFileSystem, path: str) -> str:
    return fs.unstrip_protocol(path)


def _files(fs: fsspec.AbstractFileSystem, root: str) -> dict[str, int]:
    """The files under ``root`` and their sizes."""
    fs.invalidate_cache()
    return {posixpath.relpath(p, root): i["size"] for p, i in fs.find(root, detail=True).items()}


def _snapshot(fs: fsspec.AbstractFileSystem, root: str) -> tuple[set[str], dict[str, bytes]]:
    """Every directory under ``root``, and every file's bytes."""
    fs.invalidate_cache()
    found = fs.find(root, withdirs=True, detail=True)
    dirs = {p for p, i in found.items() if i["type"] == "directory"}
    files = {posixpath.relpath(p, root): fs.cat_file(p) for p in found if p not in dirs}
    return {posixpath.relpath(p, root) for p in dirs} - {"."}, files


def _read(fs: fsspec.AbstractFileSystem, dst: str) -> tuple[dict[str, Any], pd.DataFrame]:
    """The manifest, and the data of the files it lists, in its order."""
    manifest = json.loads(fs.cat_file(posixpath.join(dst, MANIFEST)))
    parts = []
    for entry in manifest["files"]:
        with fs.open(posixpath.join(dst, entry["name"]), "r") as f:
            parts.append(pd.read_csv(f))
    return manifest, pd.concat(parts, ignore_index=True)


@pytest.mark.parametrize("overwrite", [False, True])
def test_a_second_format_commits_through_the_protocol(where, overwrite):
    fs, parent = where
    dst = posixpath.join(parent, "out")
    if overwrite:  # an older dataset there, of the library's own format
        Destination.check(_url(fs, dst), {}, False).write(
            dd.from_pandas(_frame(50, seed=1), npartitions=2), {"old": True}
        )
    df = _frame()
    frame = dd.from_pandas(df, npartitions=3, sort=False)
    metadata = {"function": "test", "seed": 7}

    destination = Destination.check(_url(fs, dst), {}, overwrite)
    assert destination.write(frame, metadata, sink=CsvSink()) == 3

    manifest, data = _read(fs, dst)
    written = {name: size for name, size in _files(fs, dst).items() if name != MANIFEST}
    assert [f["name"] for f in manifest["files"]] == sorted(written)
    assert sorted(written) == ["part.0.csv", "part.1.csv", "part.2.csv"]
    assert {f["name"]: f["bytes"] for f in manifest["files"]} == written
    assert [f["rows"] for f in manifest["files"]] == list(frame.map_partitions(len).compute())
    assert manifest["rows"] == len(df)
    assert manifest["format"] == MANIFEST_FORMAT
    assert manifest["job"] == metadata
    pd.testing.assert_frame_equal(data, df)
    # Nothing else beside it: no staging directory, no old dataset set aside.
    assert set(_files(fs, parent)) == {f"out/{n}" for n in [*written, MANIFEST]}


@pytest.mark.parametrize("overwrite", [False, True])
def test_a_failing_writer_leaves_nothing_behind(where, overwrite):
    fs, parent = where
    dst = posixpath.join(parent, "out")
    if overwrite:
        Destination.check(_url(fs, dst), {}, False).write(
            dd.from_pandas(_frame(50, seed=1), npartitions=2), {"old": True}
        )
    dirs, files = _snapshot(fs, parent)
    frame = dd.from_pandas(_frame(), npartitions=4, sort=False)

    destination = Destination.check(_url(fs, dst), {}, overwrite)
    with pytest.raises(OSError, match="disk full"):
        destination.write(frame, {"function": "test"}, sink=CsvSink(fail=2))

    # Absent, or the old dataset byte for byte; no staging directory either way.
    dirs_after, files_after = _snapshot(fs, parent)
    assert files_after == files
    if is_local(fs):  # (an object store has no directories; the in-memory one keeps some)
        assert dirs_after == dirs
        assert fs.exists(dst) == overwrite

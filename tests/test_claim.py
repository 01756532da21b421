"""The claim on a destination, on local disk and on an fsspec store without exclusive
create (``memory://``, whose create checks and then writes): two runs at once, and the
claim a killed run leaves. The object stores get the same checks in their own modules
(``test_s3.py``, ``test_gcs.py``, ``test_azure.py``) against real servers."""

from __future__ import annotations

import logging
import os
import uuid
from dataclasses import dataclass

import fsspec
import pandas as pd
import pytest

from mixupy_dask import augment_parquet, mixup

from .stores import (
    Store,
    assert_committed,
    check_killed_claim,
    check_overwrite,
    check_two_writers,
    small_frame,
    staging,
    upload,
)


@dataclass
class LocalStore(Store):
    """Local disk: a "bucket" is a new directory under ``base``."""

    base: str = ""

    def url(self, path: str) -> str:
        return path

    def new_bucket(self) -> str:
        path = os.path.join(self.base, f"b-{uuid.uuid4().hex[:12]}")
        os.makedirs(path)
        return path


@pytest.fixture
def local(tmp_path):
    return LocalStore("file", fsspec.filesystem("file", auto_mkdir=True), {}, base=str(tmp_path))


@pytest.fixture
def memory():
    fs = fsspec.filesystem("memory")
    yield Store("memory", fs, {})
    fs.store.clear()
    fs.pseudo_dirs.clear()
    fs.pseudo_dirs.append("")


@pytest.mark.parametrize("overwrite", [False, True], ids=["new-dst", "overwrite"])
def test_two_writers_on_local_disk(local, overwrite):
    """``O_EXCL`` on the claim file: one run commits, the other is refused at once."""
    check_two_writers(local, overwrite)


def test_killed_runs_claim_on_local_disk(local):
    check_killed_claim(local)


def test_overwrite_on_local_disk(local):
    check_overwrite(local)


def test_store_without_exclusive_create_is_named_and_staged(memory, caplog):
    """A store whose create is not exclusive is named in a warning, its new ``dst`` is
    staged and swapped in (no file at a final key before the claim is checked), and
    two runs at once still give one commit: the one whose claim held."""
    fs, bucket = memory.fs, memory.new_bucket()
    frame = small_frame(600)
    upload(fs, frame, f"{bucket}/src", files=2, row_group=300)
    with caplog.at_level(logging.INFO, logger="mixupy_dask"):
        augment_parquet(f"memory://{bucket}/src", f"memory://{bucket}/out", seed=3, labels="y")
    assert "does not create files exclusively" in caplog.text
    records = [r.mixupy_commit for r in caplog.records if hasattr(r, "mixupy_commit")]
    assert records[-1]["mode"] == "swap"
    assert records[-1]["exclusive"] is False
    # What the protocol adds to writing the files, step by step (the benchmark's share).
    for step in ("claim", "write", "commit", "release"):
        assert records[-1][f"{step}_seconds"] > 0, step
    out = memory.read(f"{bucket}/out")
    pd.testing.assert_frame_equal(out, mixup(frame, seed=3, labels="y"), check_exact=True)
    assert_committed(fs, f"{bucket}/out", out)
    assert staging(fs, bucket) == []
    check_two_writers(memory)

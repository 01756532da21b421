"""``redact``, the one form in which a URL is shown or recorded, and ``scrub``, which
masks a run's URLs' secrets in text the library did not write; the refusal of a URL
whose credentials the store would take as part of an object's name (on a local disk
here; each object store's own is in its module)."""

from __future__ import annotations

import pytest

from mixupy_dask import MixupError, augment_parquet, make_data
from mixupy_dask._io.redact import redact, scrub

SECRET = "mixupy-SECRET-4f1c9e"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (f"s3://KEY:{SECRET}@bucket/data", "s3://***@bucket/data"),
        (f"s3://:{SECRET}@bucket/data", "s3://***@bucket/data"),
        (f"az://c/data?sv=2022-11-02&sig={SECRET}%3D", "az://c/data?sv=***&sig=***"),
        (f"https://h/f.parquet?X-Goog-Signature={SECRET}&flag", "https://h/f.parquet?X-Goog-Signature=***&flag"),
        (f"gs://u:{SECRET}@b/x?t={SECRET}", "gs://***@b/x?t=***"),
        # a user alone is no secret: adlfs' container@account
        ("abfs://c@acct.dfs.core.windows.net/x", "abfs://c@acct.dfs.core.windows.net/x"),
        ("s3://bucket/data", "s3://bucket/data"),
        ("/tmp/data?.parquet", "/tmp/data?.parquet"),  # a local path: `?` is a name's
        ("data.parquet", "data.parquet"),
    ],
)  # fmt: skip
def test_redact(url, shown):
    assert redact(url) == shown
    assert SECRET not in redact(url)


def test_scrub_masks_what_a_store_quotes():
    url = f"s3://KEY:{SECRET}@bucket/data"
    text = f'Invalid bucket name "KEY:{SECRET}@bucket": {url} ({SECRET.upper()})'
    assert (
        scrub(text, [url])
        == f'Invalid bucket name "***@bucket": s3://***@bucket/data ({SECRET.upper()})'
    )
    sas = f"az://c/d?sp=r&sig={SECRET}%2B"
    assert scrub(f"no blob c/d?sp=r&sig={SECRET}+ (sp=r)", [sas]) == "no blob c/d?*** (sp=r)"


def test_local_urls_with_credentials_are_refused(tmp_path):
    url = f"file://u:{SECRET}@{tmp_path}/out"
    with pytest.raises(MixupError, match="`dst` carries credentials") as info:
        make_data(url, 10, 2)
    assert SECRET not in str(info.value)
    assert "file://***@" in str(info.value)
    with pytest.raises(MixupError, match="`src` carries credentials") as info:
        augment_parquet(f"file://{tmp_path}/in?sig={SECRET}", str(tmp_path / "out"))
    assert SECRET not in str(info.value)
    assert list(tmp_path.iterdir()) == []

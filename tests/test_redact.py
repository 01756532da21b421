"""``redact``, the one form in which a URL is shown or recorded, and ``scrub``, which
masks a run's URLs' secrets in text the library did not write (the cluster's logs that
``--verbose`` prints among them); the refusal of a URL whose credentials the store would
take as part of an object's name (on a local disk here; each object store's own is in
its module, and ``test_s3.py`` runs the command with ``--verbose`` on a presigned URL)."""

from __future__ import annotations

import os
import time

import pytest

from mixupy_dask import MixupError, augment_parquet, make_data
from mixupy_dask._io.redact import redact, scrub
from mixupy_dask.cli import _Relay, _Session

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


def test_verbose_logs_reach_stderr_scrubbed_whole_lines_at_a_time(capsys):
    """What a worker process appends to the session's log file reaches stderr with the
    command line's URLs scrubbed, also when a write stops inside the secret."""
    url = f"https://h.example/f.parquet?X-Amz-Signature={SECRET}&X-Amz-Expires=60"
    session = _Session(verbose=True, urls=(url,))
    path = session._open()
    try:
        with open(path, "a") as file:
            file.write("written before the cluster: not relayed\n")
        with _Relay(path, session.scrub):
            fd = os.open(path, os.O_WRONLY | os.O_APPEND)  # as a worker's stderr is
            os.write(fd, f"Compute Failed: FileNotFoundError('{url}')\n".encode())
            os.write(fd, f"the key {SECRET[:7]}".encode())
            time.sleep(3 * _Relay.INTERVAL)  # the relay reads the line cut in the secret
            os.write(fd, f"{SECRET[7:]} alone\nlast line, no newline: {SECRET}".encode())
            os.close(fd)
    finally:
        session.discard()
    err = capsys.readouterr().err
    assert SECRET not in err
    assert err == (
        f"Compute Failed: FileNotFoundError('{redact(url)}')\n"
        "the key *** alone\n"
        "last line, no newline: ***"
    )
    assert not os.path.exists(path)

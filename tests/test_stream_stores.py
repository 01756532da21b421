"""``MixupStream`` from an object store: S3 through a real S3 API server on 127.0.0.1
(moto's ``ThreadedMotoServer``, as tests/test_s3.py serves it), read with s3fs and the
run's ``storage_options`` as ``augment_parquet`` reads it. The check is the shared one
of ``tests/stores.py`` (GCS's and Azure's emulators run it in their own modules): the
batches equal those of the same stream over the files on local disk and over the frame
in memory bit for bit, and no credential is shown."""

from __future__ import annotations

import logging

import pytest

from .stores import SECRET, Store, check_stream

s3fs = pytest.importorskip("s3fs")
moto_server = pytest.importorskip("moto.server")

#: The key of every run: moto accepts any, so the secret is only searched for.
KEY = "mixupy-stream-key"


@pytest.fixture(scope="module")
def store():
    """A real S3 API server on 127.0.0.1, on a free port, for this module."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        options = {"key": KEY, "secret": SECRET,
                   "client_kwargs": {"endpoint_url": f"http://{host}:{port}"}}  # fmt: skip
        fs = s3fs.S3FileSystem(skip_instance_cache=True, **options)
        yield Store("s3", fs, options, leaky=lambda path: f"s3://{KEY}:{SECRET}@{path}")
    finally:
        server.stop()


def test_stream_from_s3(store, tmp_path, caplog):
    """window=None and windowed, exact against local files and pandas; no secret in the
    stream's repr, its errors or the library's logs."""
    with caplog.at_level(logging.DEBUG, logger="mixupy_dask"):
        check_stream(store, tmp_path)
    assert SECRET not in caplog.text

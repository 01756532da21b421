"""Google Cloud Storage for real: ``gs://`` through gcsfs against a GCS emulator
(``gcp-storage-emulator``, from PyPI) on 127.0.0.1, started by the fixture in a process
of its own and stopped after. The checks are the shared ones of ``tests/stores.py``.

gcsfs's experimental layer first asks the bucket's type over gRPC, which the emulator
does not serve: it waits 60 s per bucket, then falls back. ``GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT
=false``, read when gcsfs is imported, skips it (plain ``GCSFileSystem``).

The emulator ignores ``ifGenerationMatch=0`` (a second conditional upload of an object
replaces it, HTTP 200): it has no exclusive create. The library finds that out by
creating its claim twice, says so in a warning, stages a new ``dst`` and swaps it in,
and refuses to commit when the claim changed hands; that is what is tested here.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pytest

os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")

from .helpers import WAIT_GUARD, stop
from .stores import (
    SECRET,
    Faults,
    Store,
    assert_no_secret,
    check_cli,
    check_credentials_in_urls,
    check_interrupted,
    check_killed_claim,
    check_killed_command,
    check_overwrite,
    check_stream,
    check_two_writers,
    check_writers,
)

gcsfs = pytest.importorskip("gcsfs")
pytest.importorskip("gcp_storage_emulator")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + WAIT_GUARD
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the emulator exited"
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    pytest.fail("the emulator did not listen")


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory):
    """gcp-storage-emulator on 127.0.0.1, in memory, for this module."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gcp_storage_emulator", "start", "--host", "127.0.0.1",
         "--port", str(port), "--in-memory", "--quiet"],
        cwd=tmp_path_factory.mktemp("gcs"), stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_for_port(port, proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop([proc])


@pytest.fixture(scope="module")
def store(endpoint):
    # The emulator takes any credentials; the project stands for the secret searched for.
    options = {"endpoint_url": endpoint, "token": "anon", "project": SECRET}
    return Store(
        "gs", gcsfs.GCSFileSystem(skip_instance_cache=True, **options), options,
        # A signed URL's query; gcsfs takes it as part of the object's name.
        leaky=lambda path: f"gs://{path}?X-Goog-Algorithm=GOOG4&X-Goog-Signature={SECRET}",
    )  # fmt: skip


def test_stream_from_gcs(store, tmp_path):
    """MixupStream from GCS, windowed and not, exact against the same stream over
    local files and pandas; no secret in its repr or errors (tests/stores.py)."""
    check_stream(store, tmp_path)


def test_writers_on_gcs(store, caplog):
    """augment_parquet, augment_series_parquet and make_data, GCS to GCS, exact against
    pandas; manifests match listings and footers; no secret stored or logged."""
    with caplog.at_level("INFO", logger="mixupy_dask"):
        check_writers(store)
    assert "does not create files exclusively" in caplog.text  # the emulator's gap, named
    assert_no_secret(caplog.text)


@pytest.mark.slow
def test_writers_on_gcs_on_a_cluster(store, cluster_client):
    """The same on worker processes, which reach the emulator through the options."""
    check_writers(store, cluster_client)


def test_overwrite_on_gcs(store):
    check_overwrite(store)


def test_two_writers_on_gcs(store):
    """Without exclusive create, both runs write their claim; each stages its files; the
    one whose claim is still there at its commit commits, the other is refused."""
    check_two_writers(store, exclusive=False)


def test_killed_runs_claim_on_gcs(store):
    check_killed_claim(store)


@pytest.mark.slow
def test_credentials_in_urls_on_gcs(store, tmp_path):
    """A signed URL's query in SRC's or DST's URL, to the library and the command:
    refused before anything is read or written, its values shown as ``***``."""
    check_credentials_in_urls(store, tmp_path)


@pytest.fixture(scope="module")
def faults(store):
    return Faults.make(store)


@pytest.mark.slow
def test_cli_on_gcs(store, faults, tmp_path):
    check_cli(store, faults, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("signum", "existing"), [(signal.SIGINT, False), (signal.SIGTERM, True)],
    ids=["SIGINT-new-dst", "SIGTERM-overwrite"],
)  # fmt: skip
def test_interrupted_run_on_gcs(store, faults, tmp_path, signum, existing):
    check_interrupted(store, faults, tmp_path, signum, existing)


@pytest.mark.slow
def test_killed_command_on_gcs(store, faults, tmp_path):
    """Killed mid-write, the run leaves its claim (its files staged, as without
    exclusive create every new ``dst`` is); ``--overwrite`` releases it."""
    check_killed_command(store, faults, tmp_path)

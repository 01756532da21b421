"""Azure Blob Storage for real: ``az://`` / ``abfs://`` through adlfs against Azurite,
the Azure Storage emulator (from the npm registry; ``.ci/run`` installs it into
``.ci/node`` with ``npm ci``), started by the fixture on 127.0.0.1 with an account of
our own whose key is the recognisable secret, and stopped after. The checks are the
shared ones of ``tests/stores.py``. Azurite honours ``If-None-Match: *`` on a blob
upload (adlfs ``overwrite=False``): the claim is exclusive, as on Azure.
"""

from __future__ import annotations

import base64
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from .helpers import WAIT_GUARD
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

adlfs = pytest.importorskip("adlfs")

ACCOUNT = "mixupyacct"
#: The account's key: base64 of the secret, as Azure keys are; searched for as well.
KEY = base64.b64encode(SECRET.encode()).decode()
LOCAL = Path(__file__).parents[1] / ".ci" / "node" / "node_modules" / ".bin" / "azurite-blob"


def azurite() -> str:
    found = str(LOCAL) if LOCAL.exists() else shutil.which("azurite-blob")
    if found is None:
        pytest.skip("Azurite is not installed: npm ci --prefix .ci/node (see .ci/run)")
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory):
    """Azurite's blob service on 127.0.0.1, in memory, for this module."""
    port = free_port()
    workdir = tmp_path_factory.mktemp("azurite")
    proc = subprocess.Popen(
        [azurite(), "--blobHost", "127.0.0.1", "--blobPort", str(port),
         "--inMemoryPersistence", "--skipApiVersionCheck", "--silent"],
        cwd=workdir, env={**os.environ, "AZURITE_ACCOUNTS": f"{ACCOUNT}:{KEY}"},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + WAIT_GUARD
        while True:
            assert proc.poll() is None, "Azurite exited"
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert time.monotonic() < deadline, "Azurite did not listen"
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/{ACCOUNT}"
    finally:
        # In memory, it has nothing to save; on SIGTERM it waits for the clients'
        # kept-alive connections to close, 20 s of the fast loop.
        proc.kill()
        proc.wait(timeout=WAIT_GUARD)


@pytest.fixture(scope="module")
def store(endpoint):
    connection = (
        f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={KEY};"
        f"BlobEndpoint={endpoint};"
    )
    options = {"connection_string": connection}
    return Store(
        "az", adlfs.AzureBlobFileSystem(skip_instance_cache=True, **options), options,
        # A SAS token as Azure's portal gives it; adlfs takes it as part of the blob name.
        leaky=lambda path: f"az://{path}?sv=2022-11-02&ss=b&sp=rwdl&sig={SECRET}%3D",
    )  # fmt: skip


def test_stream_from_azure(store, tmp_path):
    """MixupStream from Azure, windowed and not, exact against the same stream over
    local files and pandas; no secret in its repr or errors (tests/stores.py)."""
    check_stream(store, tmp_path, KEY)


def test_writers_on_azure(store, caplog):
    """augment_parquet, augment_series_parquet and make_data, Azure to Azure, exact
    against pandas; manifests match listings and footers; no key stored or logged."""
    with caplog.at_level("INFO", logger="mixupy_dask"):
        check_writers(store)
    assert "does not create files exclusively" not in caplog.text
    assert_no_secret(caplog.text)
    assert_no_secret(caplog.text, secret=KEY)


@pytest.mark.slow
def test_writers_on_azure_on_a_cluster(store, cluster_client):
    check_writers(store, cluster_client)


def test_overwrite_on_azure(store):
    check_overwrite(store)


@pytest.mark.parametrize("overwrite", [False, True], ids=["new-dst", "overwrite"])
def test_two_writers_on_azure(store, overwrite):
    check_two_writers(store, overwrite)


def test_killed_runs_claim_on_azure(store):
    check_killed_claim(store)


@pytest.mark.slow
def test_credentials_in_urls_on_azure(store, tmp_path):
    """A SAS token in SRC's or DST's URL, to the library and the command: refused before
    anything is read or written, its values shown as ``***``; neither it nor the
    account key given as a storage option shows anywhere."""
    check_credentials_in_urls(store, tmp_path, KEY)


@pytest.fixture(scope="module")
def faults(store):
    return Faults.make(store)


@pytest.mark.slow
def test_cli_on_azure(store, faults, tmp_path):
    check_cli(store, faults, tmp_path, KEY)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("signum", "existing"), [(signal.SIGINT, False), (signal.SIGTERM, True)],
    ids=["SIGINT-new-dst", "SIGTERM-overwrite"],
)  # fmt: skip
def test_interrupted_run_on_azure(store, faults, tmp_path, signum, existing):
    check_interrupted(store, faults, tmp_path, signum, existing, KEY)


@pytest.mark.slow
def test_killed_command_on_azure(store, faults, tmp_path):
    """Killed mid-write, the run leaves its claim and the files written in place;
    ``--overwrite`` releases it."""
    check_killed_command(store, faults, tmp_path, KEY)

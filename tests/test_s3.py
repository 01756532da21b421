"""Object stores for real: S3 through a real S3 API server on 127.0.0.1.

moto's ``ThreadedMotoServer`` serves the S3 API from this process; everything else talks
to it over HTTP with s3fs, as users talk to AWS or MinIO: the library in this process,
the ``mixupy-dask`` command in subprocesses, the workers of an embedded cluster and of a
real ``dask scheduler`` + ``dask worker`` cluster. Every result equals the pandas route
bit for bit; the commit protocol (``_SUCCESS`` manifest last, files written in place,
``--overwrite`` staged and swapped in) is checked in the store's own listings; faults are
real signals to real processes, "mid-write" observed in the store, never timed.

A recognisable secret is the credential of every run here, and is searched for in
everything a run shows or writes.
"""

from __future__ import annotations

import json
import logging
import signal
import subprocess
import time
import uuid

import numpy as np
import pandas as pd
import pytest

from mixupy_dask import (
    MixupError,
    MixupTypeError,
    NonFiniteError,
    augment_parquet,
    augment_series_parquet,
    make_data,
    mixup,
    mixup_series,
)
from mixupy_dask._io.job import plan

from .helpers import (
    ENV,
    HANG_GUARD,
    WAIT_GUARD,
    assert_ended,
    cli_command,
    interrupt,
    real_cluster,
    wait_until,
)
from .stores import (
    SECRET,
    Store,
    assert_committed,
    assert_no_secret,
    assert_no_secret_stored,
    check_credentials_in_urls,
    check_killed_claim,
    check_two_writers,
    contents,
    first_file,
    listing,
    named_logs,
    old_dataset,
    option_args,
    run,
    small_frame,
    staging,
    upload,
)

s3fs = pytest.importorskip("s3fs")
moto_server = pytest.importorskip("moto.server")

#: The credentials of every run: moto accepts any, so the secret is only searched for.
KEY = "mixupy-test-key"
SEED = 11
#: Deadline for a run to reach the state a test waits for (a bound, not a measurement).
DEADLINE = 150
#: The fault tests' source: 96,000 x 8 float64 (6 MiB) in 8 files of 3 row groups; with
#: BLOCKSIZE one partition per row group, so 24 files are written one after another.
ROWS, FILES, ROW_GROUP = 96_000, 8, 4_000
BLOCKSIZE = "256KiB"


# --- the server, the store, and what the tests look at ---------------------------------


@pytest.fixture(scope="session")
def endpoint():
    """A real S3 API server on 127.0.0.1, on a free port, for the whole session."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(scope="session")
def options(endpoint):
    """storage_options as users pass them for MinIO or another S3 endpoint."""
    return {"key": KEY, "secret": SECRET, "client_kwargs": {"endpoint_url": endpoint}}


@pytest.fixture(scope="session")
def aws_env(endpoint):
    """The same, as the environment variables botocore reads."""
    return {
        "AWS_ACCESS_KEY_ID": KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET,
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_DEFAULT_REGION": "us-east-1",
    }


@pytest.fixture(scope="session")
def fs(options):
    """The tests' own view of the store (no listing cache shared with the library)."""
    return s3fs.S3FileSystem(skip_instance_cache=True, **options)


def new_bucket(fs) -> str:
    name = f"b-{uuid.uuid4().hex[:12]}"
    fs.mkdir(name)
    return name


@pytest.fixture
def bucket(fs):
    """A new, empty bucket for one test."""
    return new_bucket(fs)


def read(dst: str, options) -> pd.DataFrame:
    return pd.read_parquet(f"s3://{dst}", storage_options=options)


@pytest.fixture(scope="module")
def small(fs):
    """A small dataset on S3 (3 files, 6 row groups): (bucket, its prefix, the frame,
    its objects' sizes and ETags when made)."""
    name = new_bucket(fs)
    frame = small_frame()
    upload(fs, frame, f"{name}/src", files=3, row_group=500)
    return name, f"{name}/src", frame, listing(fs, f"{name}/src")


@pytest.fixture(scope="module")
def faults(fs):
    """The fault tests' source on S3: (bucket, prefix, frame, objects when made)."""
    name = new_bucket(fs)
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.standard_normal((ROWS, 8)), columns=[f"x{i}" for i in range(8)])
    upload(fs, frame, f"{name}/src", files=FILES, row_group=ROW_GROUP)
    return name, f"{name}/src", frame, listing(fs, f"{name}/src")


@pytest.fixture(scope="module")
def expected(faults):
    """The pandas route's result for the fault tests' source."""
    return mixup(faults[2], seed=SEED)


@pytest.fixture(autouse=True)
def sources_untouched(request, fs):
    """Every run, failed, interrupted, killed or not, leaves its S3 source as it was made:
    the same keys, sizes and ETags."""
    yield
    for name in ("small", "faults"):
        if name in request.fixturenames:
            _, src, _, made = request.getfixturevalue(name)
            assert listing(fs, src) == made


# --- the Python API, on the threaded scheduler and on worker processes -----------------


@pytest.mark.parametrize("on", ["threads", "cluster"])
def test_augment_parquet_s3_to_s3(small, fs, options, on, request, caplog):
    """S3 to S3, as pandas would compute it, committed with its manifest; the workers of a
    LocalCluster (processes without AWS settings) reach the store through the options
    alone; nothing holds or shows the secret."""
    bucket, src, frame, _ = small
    client = request.getfixturevalue("cluster_client") if on == "cluster" else None
    shown = []
    dst = f"{bucket}/out-{on}"
    with caplog.at_level(logging.DEBUG, logger="mixupy_dask"):
        summary = augment_parquet(
            f"s3://{src}",
            f"s3://{dst}",
            seed=SEED,
            labels="y",
            client=client,
            blocksize=1,
            storage_options=options,
            progress=lambda futures: shown.append(repr(futures)),
        )
    expected = mixup(frame, seed=SEED, labels="y")
    out = read(dst, options)
    pd.testing.assert_frame_equal(out, expected, check_exact=True)
    record = assert_committed(fs, dst, out)
    assert summary.files_written == len(record["files"]) == 6
    assert record["job"]["seed"] == SEED
    assert record["job"]["source"] == f"s3://{src}"
    assert "in place" in caplog.text  # a new S3 dataset is written where it stays
    assert staging(fs, bucket) == []
    assert shown if client else not shown
    job = plan(
        "mixup", f"s3://{src}", f"s3://{bucket}/planned", labels="y", storage_options=options
    )
    assert_no_secret(repr(summary), repr(job), caplog.text, *shown)
    assert_no_secret_stored(fs, bucket)


def test_overwrite_keeps_the_old_dataset_until_the_new_is_complete(small, fs, options):
    """``overwrite`` on S3: staged, then swapped in; the old files go, the staging too."""
    bucket, src, frame, _ = small
    dst = f"{bucket}/replaced"
    upload(fs, frame[["a"]].iloc[:10], dst, files=2, row_group=5)
    with pytest.raises(MixupError, match="already exists") as info:
        augment_parquet(f"s3://{src}", f"s3://{dst}", seed=1, storage_options=options)
    assert "no _SUCCESS manifest" in str(info.value)
    summary = augment_parquet(
        f"s3://{src}",
        f"s3://{dst}",
        seed=1,
        columns=["a", "b"],
        overwrite=True,
        storage_options=options,
    )
    out = read(dst, options)
    pd.testing.assert_frame_equal(out, mixup(frame[["a", "b"]], seed=1), check_exact=True)
    assert_committed(fs, dst, out)
    assert summary.files_written == 1
    assert staging(fs, bucket) == []


def test_separate_destination_options(small, fs, options, tmp_path):
    """``dst_storage_options`` are the destination's alone: a dead endpoint there fails
    at the destination, one in ``storage_options`` at the source (errors that name the
    endpoint and path, not the secret); right ones on both sides (S3 to local) run."""
    bucket, src, frame, _ = small
    dead = {**options, "client_kwargs": {"endpoint_url": "http://127.0.0.1:9"},
            "config_kwargs": {"retries": {"max_attempts": 1}}}  # fmt: skip
    sides = [(options, dead, f"{bucket}/never"), (dead, options, src)]
    for src_options, dst_options, named in sides:
        with pytest.raises(Exception, match=r"127\.0\.0\.1:9") as info:
            augment_parquet(
                f"s3://{src}",
                f"s3://{bucket}/never",
                storage_options=src_options,
                dst_storage_options=dst_options,
            )
        assert named in str(info.value)
        assert_no_secret(info.value, info.getrepr())
    assert not fs.exists(f"{bucket}/never")
    dst = tmp_path / "local"
    augment_parquet(
        f"s3://{src}", str(dst), seed=2, labels="y", storage_options=options,
        dst_storage_options={},
    )  # fmt: skip
    pd.testing.assert_frame_equal(
        pd.read_parquet(dst), mixup(frame, seed=2, labels="y"), check_exact=True
    )
    assert json.loads((dst / "_SUCCESS").read_text())["rows"] == len(frame)
    with pytest.raises(MixupTypeError, match="storage_options") as info:
        augment_parquet(f"s3://{src}", "s3://x/y", storage_options=[("secret", SECRET)])
    assert_no_secret(info.value)


def test_planning_many_files_reads_them_in_order(fs, options, bucket, tmp_path):
    """On a store planning reads many files' footers and dictionaries at once; what it
    finds is still in file order, as reading them one after another on local disk: the
    united categories of a categorical label and of a feature whose files' dictionaries
    differ, the output (equal to pandas'), and the first of several broken files named."""
    files = 40
    rng = np.random.default_rng(5)
    local = tmp_path / "src"
    local.mkdir()
    for i in range(files):
        # Each file's dictionary adds a class and lists its own in a rotated order.
        classes = [f"c{(i + j) % (i + 2)}" for j in range(i + 2)]
        frame = pd.DataFrame(
            {
                "a": rng.standard_normal(20),
                "y": pd.Categorical(rng.choice(classes, 20), categories=classes),
                "f": pd.Categorical(["u"] * 20, categories=["u", "v"] if i < 30 else ["v", "u"]),
            }
        )
        path = local / f"part.{i:02d}.parquet"
        frame.to_parquet(path)
        fs.pipe_file(f"{bucket}/src/{path.name}", path.read_bytes())
    remote = f"s3://{bucket}/src"

    expected = mixup(pd.read_parquet(local, columns=["a", "y"]), seed=SEED, labels="y")
    assert len(expected.columns) > files  # every file's new class, united
    for src, storage_options in [(str(local), {}), (remote, options)]:
        dst = tmp_path / f"out-{len(storage_options)}"
        augment_parquet(
            src, str(dst), columns=["a", "y"], labels="y", seed=SEED,
            storage_options=storage_options, dst_storage_options={},
        )  # fmt: skip
        pd.testing.assert_frame_equal(pd.read_parquet(dst), expected, check_exact=True)

    # A feature's categories, the same set in another order from file 30 on: united in
    # file order ("u" first), as pandas reads them; read out of order, "v" would be.
    expected = mixup(pd.read_parquet(local, columns=["a", "f"]), seed=SEED, categorical="dominant")
    assert list(expected["f"].cat.categories) == ["u", "v"]
    for src, storage_options in [(str(local), {}), (remote, options)]:
        dst = tmp_path / f"features-{len(storage_options)}"
        augment_parquet(
            src, str(dst), columns=["a", "f"], categorical="dominant", seed=SEED,
            storage_options=storage_options, dst_storage_options={},
        )  # fmt: skip
        pd.testing.assert_frame_equal(pd.read_parquet(dst), expected, check_exact=True)

    for i in (12, 25):  # two broken files: the first is named
        fs.pipe_file(f"{bucket}/src/part.{i:02d}.parquet", b"PAR1 not parquet PAR1")
    with pytest.raises(MixupError, match="not a readable Parquet") as info:
        augment_parquet(remote, str(tmp_path / "never"), storage_options=options)
    assert "part.12.parquet" in str(info.value)
    assert "part.25.parquet" not in str(info.value)
    assert not (tmp_path / "never").exists()


def test_augment_series_parquet_and_make_data_on_s3(fs, options, bucket, cluster_client):
    """The other two writers commit to S3 the same way, with the same bits as locally."""
    rng = np.random.default_rng(5)
    lengths = rng.integers(5, 30, 40)
    long = pd.DataFrame(
        {
            "id": np.repeat(np.arange(40), lengths),
            "t": np.concatenate([np.arange(n) for n in lengths]),
            "v": rng.standard_normal(lengths.sum()),
        }
    )
    upload(fs, long, f"{bucket}/long", files=2, row_group=200)
    summary = augment_series_parquet(
        f"s3://{bucket}/long", f"s3://{bucket}/mixed", series="id", time="t", k=3,
        seed=SEED, client=cluster_client, storage_options=options,
    )  # fmt: skip
    expected = mixup_series(long, series="id", time="t", k=3, seed=SEED)
    out = read(f"{bucket}/mixed", options)
    pd.testing.assert_frame_equal(out, expected, check_exact=True)
    assert_committed(fs, f"{bucket}/mixed", out)
    assert summary.rows_out == len(out)

    files = make_data(
        f"s3://{bucket}/made", 2_000, 3, classes=2, partitions=3, seed=4,
        client=cluster_client, storage_options=options,
    )  # fmt: skip
    made = read(f"{bucket}/made", options)
    assert files == 3
    record = assert_committed(fs, f"{bucket}/made", made)
    assert record["job"] == {"rows": 2_000, "columns": 3, "classes": 2, "seed": 4}
    assert staging(fs, bucket) == []
    assert_no_secret_stored(fs, bucket)


def test_failed_run_removes_what_it_wrote(fs, options, bucket, cluster_client):
    """A non-finite value found by a task after others wrote their files: the error
    names the column, not the secret, and the destination is left absent."""
    frame = pd.DataFrame({"a": np.arange(3_000.0), "b": np.ones(3_000)})
    frame.loc[2_900, "b"] = np.inf  # in the last file: its task fails after others wrote
    upload(fs, frame, f"{bucket}/src", files=6, row_group=500)
    with pytest.raises(NonFiniteError, match="'b'") as info:
        augment_parquet(
            f"s3://{bucket}/src", f"s3://{bucket}/out", seed=1, blocksize=1,
            client=cluster_client, storage_options=options,
        )  # fmt: skip
    assert_no_secret(info.value)
    assert listing(fs, f"{bucket}/out") == {}
    assert staging(fs, bucket) == []


@pytest.fixture
def store(fs, options):
    # s3fs reads no credentials from a URL: it takes KEY:SECRET@bucket as the bucket.
    return Store("s3", fs, options, leaky=lambda path: f"s3://{KEY}:{SECRET}@{path}")


@pytest.mark.slow
def test_credentials_in_urls_on_s3(store, tmp_path):
    """``s3://KEY:SECRET@bucket/...`` as SRC or DST, to the library and the command:
    refused before anything is read or written, shown as ``s3://***@bucket/...``."""
    check_credentials_in_urls(store, tmp_path)


@pytest.mark.parametrize("overwrite", [False, True], ids=["new-dst", "overwrite"])
def test_two_writers_on_s3(store, overwrite):
    """Two runs at once on one S3 ``dst``: exactly one commits (the conditional put of
    the claim, ``If-None-Match: *``, lets one through), the other is refused before it
    writes and removes nothing of the winner's."""
    check_two_writers(store, overwrite)


def test_killed_runs_claim_on_s3(store):
    check_killed_claim(store)


# --- the command, on an embedded cluster ------------------------------------------------


def start(*args, cwd, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        cli_command(*args), cwd=cwd, env={**ENV, **(env or {})}, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


EMBEDDED = ["--workers", "1", "--threads-per-worker", "2"]


@pytest.mark.slow
def test_cli_augment_with_storage_options(small, fs, options, tmp_path):
    """``--storage-option`` (a JSON ``client_kwargs`` among them) for SRC and
    ``--dst-storage-option`` for DST; the summary and the output show no secret."""
    bucket, src, frame, _ = small
    dst = f"{bucket}/cli"
    result = run(
        "augment", f"s3://{src}", f"s3://{dst}", "--seed", SEED, "--labels", "y",
        *option_args(options), *option_args(options, "--dst-storage-option"), *EMBEDDED,
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert f"at s3://{dst}" in result.stdout
    out = read(dst, options)
    pd.testing.assert_frame_equal(out, mixup(frame, seed=SEED, labels="y"), check_exact=True)
    assert_committed(fs, dst, out)
    assert_no_secret(result.stdout, result.stderr)
    assert_no_secret_stored(fs, bucket)


@pytest.mark.slow
def test_cli_series_and_make_data_with_environment_credentials(fs, options, aws_env, tmp_path):
    """No option at all: the key, secret and endpoint come from ``AWS_*`` variables, in
    the command and in its embedded cluster's workers."""
    bucket = new_bucket(fs)
    result = run(
        "make-data", f"s3://{bucket}/made", "--rows", "3000", "--columns", "2",
        "--partitions", "3", "--seed", "2", *EMBEDDED, cwd=tmp_path, env=aws_env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    made = read(f"{bucket}/made", options)
    make_data(str(tmp_path / "local"), 3000, 2, partitions=3, seed=2)
    pd.testing.assert_frame_equal(made, pd.read_parquet(tmp_path / "local"), check_exact=True)
    assert_committed(fs, f"{bucket}/made", made)

    long = made.assign(id=np.arange(3000) % 50, t=np.arange(3000) // 50)
    upload(fs, long, f"{bucket}/long", files=2, row_group=500)
    result = run(
        "augment-series", f"s3://{bucket}/long", f"s3://{bucket}/mixed", "--series", "id",
        "--time", "t", "--k", "3", "--seed", SEED, "--quiet", *EMBEDDED, cwd=tmp_path,
        env=aws_env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    out = read(f"{bucket}/mixed", options)
    expected = mixup_series(long, series="id", time="t", k=3, seed=SEED)
    pd.testing.assert_frame_equal(out, expected, check_exact=True)
    assert_committed(fs, f"{bucket}/mixed", out)
    assert_no_secret(result.stdout, result.stderr)
    assert_no_secret_stored(fs, bucket)


@pytest.mark.parametrize(
    "given", [SECRET, f"={SECRET}", f"not a key={SECRET}"], ids=["no-key", "empty", "bad-key"]
)
def test_cli_bad_storage_option_is_not_echoed(given, tmp_path):
    result = run("augment", "s3://b/src", "s3://b/dst", "--storage-option", given, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    [error] = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert "KEY=VALUE" in error
    assert "Traceback" not in result.stderr
    assert_no_secret(result.stdout, result.stderr)


@pytest.mark.slow
def test_two_commands_at_once_on_s3(small, fs, aws_env, tmp_path):
    """The bug this protocol fixes: two ``mixupy-dask augment`` runs started together on
    one S3 ``dst``. One exits 0 with its complete output left behind; the other exits 2
    with one ``error:`` line naming the claim, having removed nothing of the winner's."""
    bucket, src, frame, _ = small
    dst = f"{bucket}/two-commands"
    procs = [
        start("augment", f"s3://{src}", f"s3://{dst}", "--seed", seed, "--labels", "y",
              "--quiet", *EMBEDDED, cwd=tmp_path, env=aws_env)
        for seed in (1, 2)
    ]  # fmt: skip
    results = [(proc.communicate(timeout=HANG_GUARD), proc.returncode) for proc in procs]
    assert sorted(code for _, code in results) == [0, 2], results
    [(_, err)] = [out for out, code in results if code == 2]
    [error] = [line for line in err.splitlines() if line.startswith("error:")]
    assert "claimed by another run" in error, err
    assert "Traceback" not in err
    [winner] = [seed for seed, (_, code) in zip((1, 2), results, strict=True) if code == 0]
    out = read(dst, {"key": KEY, "secret": SECRET,
                     "client_kwargs": {"endpoint_url": aws_env["AWS_ENDPOINT_URL"]}})  # fmt: skip
    pd.testing.assert_frame_equal(out, mixup(frame, seed=winner, labels="y"), check_exact=True)
    assert_committed(fs, dst, out)
    assert staging(fs, bucket) == []
    assert_no_secret(*(text for (o, e), _ in results for text in (o, e)))


#: The presigned URL's own credential: a session token, as a role's presigned URLs carry
#: (moto serves them without checking); searched for apart from the storage options'.
TOKEN = "mixupy-TOKEN-8b3e5d"


def presigned(fs, path: str) -> str:
    """An HTTP URL of ``path`` on the S3 server whose query is its credential."""
    url = fs.sign(path, expiration=3600) + f"&X-Amz-Security-Token={TOKEN}"
    assert url.startswith("http://")
    return url


def worker_started(proc: subprocess.Popen) -> bool:
    """Whether the command has started a worker process (spawned by multiprocessing)."""
    import psutil  # a dependency of distributed

    try:
        children = psutil.Process(proc.pid).children(recursive=True)
        return any("spawn_main" in " ".join(child.cmdline()) for child in children)
    except psutil.Error:  # a process ended while it was looked at
        return False


def leftovers(directory) -> dict[str, bytes]:
    """Every file under ``directory`` (the runs' TMPDIR) and its bytes."""
    return {str(p): p.read_bytes() for p in directory.rglob("*") if p.is_file()}


@pytest.mark.slow
def test_verbose_logs_of_a_presigned_source_show_no_credential(fs, options, bucket, tmp_path):
    """A presigned URL as SRC: an HTTP URL whose query is the credential, read by the
    workers themselves. With ``--verbose`` the cluster's logs reach the terminal: they
    pass through the same scrubbing as the command's other output. The run is exact;
    then the source vanishes mid-run, and the workers' errors, which quote the URL, show
    it masked on stderr (``--verbose``) and in the kept log file (without). Neither the
    URL's token nor the secret key of the storage options is in stdout, stderr, any file
    the runs leave in TMPDIR, or any object of the bucket."""
    rng = np.random.default_rng(5)
    frame = pd.DataFrame(rng.standard_normal((ROWS, 8)), columns=[f"x{i}" for i in range(8)])
    upload(fs, frame, f"{bucket}/one", files=1, row_group=ROW_GROUP)  # 24 row groups
    [path] = listing(fs, f"{bucket}/one")
    src = presigned(fs, path)
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {"TMPDIR": str(tmp)}
    # The options are the S3 destination's: the source needs none but its URL.
    flags = ["--seed", SEED, "--blocksize", BLOCKSIZE, *EMBEDDED,
             *option_args(options, "--dst-storage-option")]  # fmt: skip

    def no_credential(*texts) -> None:
        for secret in (TOKEN, SECRET):
            assert_no_secret(*texts, *leftovers(tmp).values(), secret=secret)
            assert_no_secret_stored(fs, bucket, secret=secret)

    result = run("augment", src, f"s3://{bucket}/out", *flags, "--verbose", cwd=tmp_path,
                 env=env)  # fmt: skip
    assert result.returncode == 0, result.stderr
    out = read(f"{bucket}/out", options)
    pd.testing.assert_frame_equal(out, mixup(frame, seed=SEED), check_exact=True)
    record = assert_committed(fs, f"{bucket}/out", out)
    assert "X-Amz-Security-Token=***" in record["job"]["source"]
    no_credential(result.stdout, result.stderr)
    assert not list(tmp.glob("mixupy-dask-*.log"))  # the session's log file is removed

    for verbose in (True, False):
        name = f"vanished-{verbose}"
        proc = start("augment", src, f"s3://{bucket}/{name}", *flags,
                     *(["--verbose"] if verbose else []), cwd=tmp_path, env=env)  # fmt: skip
        # The command read the footers before it started its cluster; its worker, still
        # starting, has read nothing: the source is gone for every task that reads it.
        wait_until(proc, lambda proc=proc: worker_started(proc), "a worker process", DEADLINE)
        fs.rm_file(path)
        out_text, err = proc.communicate(timeout=HANG_GUARD)
        upload(fs, frame, f"{bucket}/one", files=1, row_group=ROW_GROUP)
        assert proc.returncode == 1, err
        [error] = [line for line in err.splitlines() if line.startswith("error:")]
        # fsspec's FileNotFoundError, which distributed could not pickle whole.
        assert "FileNotFoundError('http://127.0.0.1:" in error, err
        logs = err if verbose else named_logs(err)
        # The workers' own lines, quoting the URL: there, and masked.
        assert "Compute Failed" in logs, logs
        assert "X-Amz-Security-Token=***" in logs, logs
        assert ("Traceback" in err) is verbose
        no_credential(out_text, err, logs)
        assert listing(fs, f"{bucket}/{name}") == {}
        assert staging(fs, bucket) == []


# --- faults on the object store ---------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    ("signum", "status", "message", "existing"),
    [(signal.SIGINT, 130, "error: interrupted", False),
     (signal.SIGTERM, 143, "error: terminated", True)],
    ids=["SIGINT-new-dst", "SIGTERM-overwrite"],
)  # fmt: skip
def test_interrupted_run_on_s3(
    faults, expected, fs, options, aws_env, tmp_path, signum, status, message, existing
):
    """Signalled once its first file is in the store: 128 + the signal, no manifest, no
    file of the run left (a new ``dst`` absent, an old one unchanged: keys, sizes,
    ETags), the workers gone; a re-run gives the undisturbed result."""
    bucket, src, _, _ = faults
    dst = f"{bucket}/interrupted-{signum}"
    name = dst.rsplit("/", 1)[1]
    before = old_dataset(fs, dst) if existing else {}
    flags = ["--seed", SEED, "--quiet", *(["--overwrite"] if existing else [])]
    proc = start("augment", f"s3://{src}", f"s3://{dst}", *flags, *EMBEDDED, "--blocksize",
                 BLOCKSIZE, cwd=tmp_path, env=aws_env)  # fmt: skip
    ready = first_file(fs, bucket, name, before)
    _, out, err, children = interrupt(proc, ready, "a first output file", signum, DEADLINE)
    assert proc.returncode == status, err
    assert "Traceback" not in err, err
    assert message in err.splitlines(), err
    assert_no_secret(out, err)
    assert listing(fs, dst) == before  # nothing new, and no manifest of this run
    assert staging(fs, bucket) == []
    assert children
    assert_ended(children)

    result = run("augment", f"s3://{src}", f"s3://{dst}", *flags, "--workers", "2",
                 "--threads-per-worker", "1", cwd=tmp_path, env=aws_env)  # fmt: skip
    assert result.returncode == 0, result.stderr
    out = read(dst, options)
    pd.testing.assert_frame_equal(out, expected, check_exact=True)
    assert_committed(fs, dst, out)
    assert staging(fs, bucket) == []


# --- a real `dask scheduler` + `dask worker` cluster ------------------------------------


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, aws_env):
    """A scheduler and two ``dask worker`` processes, started (and, after a worker is
    killed, restarted) with the ``AWS_*`` variables: workers configured as on AWS."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in aws_env.items():
            patch.setenv(name, value)
        with real_cluster(tmp_path_factory.mktemp("s3-cluster")) as cluster:
            yield cluster


def on_cluster(cluster, *args) -> list:
    return [*args, "--seed", SEED, "--blocksize", BLOCKSIZE, "--quiet",
            "--scheduler-file", cluster.scheduler_file]  # fmt: skip


def cluster_log(cluster) -> str:
    cluster.logs.flush()
    return (cluster.base / "cluster.log").read_text()


@pytest.fixture(scope="module")
def undisturbed(cluster, faults, expected, fs, options, aws_env, tmp_path_factory):
    """The user guide's example (docs/large-data.md): S3 to S3 on a real cluster, with the
    endpoint and the credentials in the environment only. Returns its objects' contents."""
    bucket, src, _, _ = faults
    dst = f"{bucket}/undisturbed"
    result = run(*on_cluster(cluster, "augment", f"s3://{src}", f"s3://{dst}"),
                 cwd=tmp_path_factory.mktemp("undisturbed"), env=aws_env)  # fmt: skip
    assert result.returncode == 0, result.stderr
    out = read(dst, options)
    pd.testing.assert_frame_equal(out, expected, check_exact=True)
    assert_committed(fs, dst, out)
    assert_no_secret(result.stdout, result.stderr, cluster_log(cluster))
    return contents(fs, dst)


def wait_idle(cluster) -> None:
    """Until the scheduler holds no task: a killed client's tasks have all ended."""

    def tasks(dask_scheduler) -> int:  # pickled by value: not importable by the scheduler
        return len(dask_scheduler.tasks)

    with cluster.client() as client:
        deadline = time.monotonic() + DEADLINE
        while client.run_on_scheduler(tasks) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert client.run_on_scheduler(tasks) == 0


@pytest.mark.slow
def test_worker_killed_mid_write_on_s3(cluster, faults, undisturbed, fs, aws_env, tmp_path):
    """SIGKILL of the ``dask worker`` (nanny and worker) holding most results once the
    first file is in the store: the run finishes on the survivor with the same objects,
    byte for byte, manifest included."""
    bucket, src, _, _ = faults
    dst = f"{bucket}/worker-killed"
    with cluster.client() as client:
        client.wait_for_workers(2, timeout=WAIT_GUARD)
        proc = start(*on_cluster(cluster, "augment", f"s3://{src}", f"s3://{dst}"),
                     cwd=tmp_path, env=aws_env)  # fmt: skip
        cluster.kill_busiest(
            client, proc, first_file(fs, bucket, "worker-killed"), "a first output file", DEADLINE
        )
        cluster.start_worker()  # two workers again for the tests that follow
        client.wait_for_workers(2, timeout=WAIT_GUARD)
    assert contents(fs, dst) == undisturbed
    assert staging(fs, bucket) == []


@pytest.mark.slow
@pytest.mark.parametrize("existing", [False, True], ids=["new-dst", "overwrite"])
def test_client_killed_mid_write_on_s3(
    cluster, faults, undisturbed, fs, options, aws_env, tmp_path, existing
):
    """SIGKILL of the command itself, which nothing can clean up after: a new ``dst`` has
    no manifest and is refused as claimed by the killed run; an old one is untouched and
    readable beside the stale staging prefix, which readers skip. The next
    ``--overwrite`` run releases the killed run's claim, gives the undisturbed objects
    and removes the stale staging."""
    bucket, src, _, _ = faults
    name = f"client-killed-{existing}"
    dst = f"{bucket}/{name}"
    before = old_dataset(fs, dst) if existing else None
    flags = ["--overwrite"] if existing else []
    proc = start(*on_cluster(cluster, "augment", f"s3://{src}", f"s3://{dst}", *flags),
                 cwd=tmp_path, env=aws_env)  # fmt: skip
    try:
        wait_until(proc, first_file(fs, bucket, name, before or {}), "a first output file")
        proc.kill()
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    wait_idle(cluster)  # tasks that were running when the client died have finished
    if existing:
        assert listing(fs, dst) == before
        pd.testing.assert_frame_equal(read(dst, options), pd.DataFrame({"old": [1.0, 2.0, 3.0]}))
        assert staging(fs, bucket)  # left behind, hidden
    else:
        assert not fs.exists(f"{dst}/_SUCCESS")
        result = run(*on_cluster(cluster, "augment", f"s3://{src}", f"s3://{dst}"),
                     cwd=tmp_path, env=aws_env)  # fmt: skip
        assert result.returncode == 2, result.stderr
        # The killed run's claim names it; --overwrite releases it.
        [error] = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        assert "claimed by another run" in error, error
        assert "--overwrite" in error, error
    assert fs.exists(f"{bucket}/.{name}.mixupy-claim")  # the killed run's claim, left
    result = run(*on_cluster(cluster, "augment", f"s3://{src}", f"s3://{dst}", "--overwrite"),
                 cwd=tmp_path, env=aws_env)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert contents(fs, dst) == undisturbed
    assert staging(fs, bucket) == []


@pytest.mark.slow
def test_failed_overwrite_on_s3_keeps_the_old_dataset(cluster, fs, options, aws_env, tmp_path):
    """A non-finite value found mid-run fails an ``--overwrite`` run on the real cluster
    with exit 2: the old dataset is complete and readable, the staging removed, and
    neither the error nor the workers' logs show the secret."""
    bucket = new_bucket(fs)
    frame = pd.DataFrame({"a": np.arange(3_000.0), "b": np.ones(3_000)})
    frame.loc[2_900, "b"] = np.inf
    upload(fs, frame, f"{bucket}/src", files=6, row_group=500)
    made = listing(fs, f"{bucket}/src")
    before = old_dataset(fs, f"{bucket}/out")
    result = run(
        "augment", f"s3://{bucket}/src", f"s3://{bucket}/out", "--seed", "1", "--overwrite",
        "--blocksize", "8kB", "--quiet", "--scheduler-file", cluster.scheduler_file,
        *option_args(options), cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    [error] = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert "'b' (1)" in error, error
    assert listing(fs, f"{bucket}/out") == before
    pd.testing.assert_frame_equal(
        read(f"{bucket}/out", options), pd.DataFrame({"old": [1.0, 2.0, 3.0]})
    )
    assert staging(fs, bucket) == []
    assert listing(fs, f"{bucket}/src") == made
    log = cluster_log(cluster)
    assert "Compute Failed" in log  # the workers logged the failing task ...
    assert_no_secret(result.stdout, result.stderr, log)  # ... and no credential

"""What the object-store test modules (S3, GCS, Azure) share: what a test looks at in a
store (listings, manifests, hidden objects, the secret), and the checks every store
gets, written once: the three writers exact against pandas, ``overwrite``, two writers
at once, a killed run's claim. Each module brings its server (started on 127.0.0.1 by
its fixtures) and a ``Store``: the scheme, an fsspec filesystem of its own and the
storage options of every run."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import signal
import subprocess
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import dask
import fsspec
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from mixupy_dask import (
    DestinationBusyError,
    MixupError,
    MixupStream,
    augment_parquet,
    augment_series_parquet,
    make_data,
    mixup,
    mixup_series,
)

from .helpers import (
    ENV,
    HANG_GUARD,
    assert_ended,
    assert_user_error,
    cli_command,
    interrupt,
    start_cli,
)

#: The credential of every run: the emulators accept it (or any), so it is only
#: searched for, in everything a run shows or writes.
SECRET = "mixupy-SECRET-4f1c9e"
SEED = 11


@dataclass
class Store:
    """One object store under test: ``scheme://bucket/key`` through ``fs``.

    ``leaky(path)`` is the URL of ``path`` with the secret in the URL itself, in the
    form the store's users would write it (``KEY:SECRET@bucket``, a SAS token)."""

    scheme: str
    fs: Any
    options: dict[str, Any] = field(repr=False)
    leaky: Callable[[str], str] = field(repr=False, default=lambda path: "")

    def url(self, path: str) -> str:
        return f"{self.scheme}://{path}"

    def new_bucket(self) -> str:
        name = f"b-{uuid.uuid4().hex[:12]}"
        self.fs.mkdir(name)
        return name

    def read(self, path: str) -> pd.DataFrame:
        return pd.read_parquet(self.url(path), storage_options=self.options)


def _version(info: dict) -> str:
    """What changes when an object is written again: its ETag, generation or MD5."""
    for key in ("ETag", "etag", "generation", "md5Hash", "content_settings"):
        if info.get(key) is not None:
            return str(info[key])
    return ""


def listing(fs, prefix: str) -> dict[str, tuple[int, str]]:
    """Every object under ``prefix`` -> (size, version), fresh from the server."""
    fs.invalidate_cache()
    return {
        path: (info["size"], _version(info))
        for path, info in fs.find(prefix, detail=True).items()
        if info["type"] == "file"
    }


def contents(fs, prefix: str) -> dict[str, str]:
    """Every object under ``prefix`` by name relative to it -> sha256 of its bytes."""
    return {
        path[len(prefix) + 1 :]: hashlib.sha256(fs.cat_file(path)).hexdigest()
        for path in listing(fs, prefix)
    }


def staging(fs, bucket: str) -> list[str]:
    """Hidden objects of any run in ``bucket``: staging prefixes and claims."""
    fs.invalidate_cache()
    return sorted(p for p in fs.find(bucket) if ".mixupy-" in p)


def manifest(fs, dst: str) -> dict:
    return json.loads(fs.cat_file(f"{dst}/_SUCCESS"))


def assert_committed(fs, dst: str, frame: pd.DataFrame) -> dict:
    """``dst`` is complete: its manifest lists exactly its Parquet files, with their row
    counts (as in their footers) and sizes; nothing else is there."""
    record = manifest(fs, dst)
    objects = listing(fs, dst)
    files = {path.rsplit("/", 1)[1]: size for path, (size, _) in objects.items()}
    assert files.pop("_SUCCESS") > 0
    assert {f["name"]: f["bytes"] for f in record["files"]} == files
    for f in record["files"]:
        with fs.open(f"{dst}/{f['name']}", "rb") as handle:
            assert pq.ParquetFile(handle).metadata.num_rows == f["rows"]
    assert record["rows"] == len(frame)
    assert set(record["versions"]) >= {"mixupy_dask", "numpy", "pandas", "dask", "pyarrow"}
    return record


def assert_no_secret(*texts, secret: str = SECRET) -> None:
    for text in texts:
        if isinstance(text, bytes):
            assert secret.encode() not in text
        else:
            assert secret not in str(text)


def assert_no_secret_stored(fs, bucket: str, secret: str = SECRET) -> None:
    """No object of ``bucket`` (data files' metadata, manifests, claims) holds it."""
    for path in listing(fs, bucket):
        assert_no_secret(fs.cat_file(path), secret=secret)


def upload(fs, frame: pd.DataFrame, prefix: str, files: int, row_group: int) -> None:
    for i, rows in enumerate(np.array_split(np.arange(len(frame)), files)):
        buffer = io.BytesIO()
        frame.iloc[rows].to_parquet(buffer, row_group_size=row_group)
        fs.pipe_file(f"{prefix}/part.{i}.parquet", buffer.getvalue())


def small_frame(n: int = 3_000) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    return pd.DataFrame(
        {
            "a": rng.standard_normal(n),
            "b": rng.integers(0, 5, n),
            "y": rng.choice(["cat", "dog", "eel"], n),
        }
    )


def at_once(*calls: Callable[[], Any]) -> list[Any]:
    """Run ``calls`` in threads released together; each one's result or exception."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[Any] = [None] * len(calls)

    def one(i: int) -> None:
        barrier.wait()
        try:
            outcomes[i] = calls[i]()
        except Exception as exc:
            outcomes[i] = exc

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(HANG_GUARD)
    return outcomes


# --- the checks every store gets ---------------------------------------------------------


def check_writers(store: Store, client=None) -> None:
    """``augment_parquet``, ``augment_series_parquet`` and ``make_data``, store to store,
    each equal to the pandas route bit for bit, committed with a manifest that matches
    the listing and the footers; no object, summary or log holds the secret."""
    fs, bucket = store.fs, store.new_bucket()
    frame = small_frame()
    upload(fs, frame, f"{bucket}/src", files=3, row_group=500)
    made = listing(fs, f"{bucket}/src")
    summary = augment_parquet(
        store.url(f"{bucket}/src"), store.url(f"{bucket}/out"), seed=SEED, labels="y",
        blocksize=1, client=client, storage_options=store.options,
    )  # fmt: skip
    out = store.read(f"{bucket}/out")
    pd.testing.assert_frame_equal(out, mixup(frame, seed=SEED, labels="y"), check_exact=True)
    record = assert_committed(fs, f"{bucket}/out", out)
    assert summary.files_written == len(record["files"]) == 6
    assert record["job"]["source"] == store.url(f"{bucket}/src")
    assert_no_secret(repr(summary))

    long = frame.assign(id=np.arange(3000) % 40, t=np.arange(3000) // 40)[["id", "t", "a"]]
    upload(fs, long, f"{bucket}/long", files=2, row_group=400)
    augment_series_parquet(
        store.url(f"{bucket}/long"), store.url(f"{bucket}/mixed"), series="id", time="t",
        k=3, seed=SEED, client=client, storage_options=store.options,
    )  # fmt: skip
    out = store.read(f"{bucket}/mixed")
    expected = mixup_series(long, series="id", time="t", k=3, seed=SEED)
    pd.testing.assert_frame_equal(out, expected, check_exact=True)
    assert_committed(fs, f"{bucket}/mixed", out)

    files = make_data(
        store.url(f"{bucket}/made"), 2_000, 3, classes=2, partitions=3, seed=4,
        client=client, storage_options=store.options,
    )  # fmt: skip
    out = store.read(f"{bucket}/made")
    assert files == 3
    assert assert_committed(fs, f"{bucket}/made", out)["job"]["seed"] == 4
    assert listing(fs, f"{bucket}/src") == made
    assert staging(fs, bucket) == []
    assert_no_secret_stored(fs, bucket)


def check_overwrite(store: Store) -> None:
    """An existing ``dst`` is refused, then replaced with ``overwrite`` only once the new
    dataset is complete; no staging or claim is left."""
    fs, bucket = store.fs, store.new_bucket()
    frame = small_frame(600)
    upload(fs, frame, f"{bucket}/src", files=2, row_group=300)
    dst = f"{bucket}/replaced"
    upload(fs, frame[["a"]].iloc[:10], dst, files=2, row_group=5)
    fs.pipe_file(f"{dst}/_SUCCESS", b"{}")
    src, out = store.url(f"{bucket}/src"), store.url(dst)
    with pytest.raises(MixupError, match="already exists"):
        augment_parquet(src, out, seed=1, storage_options=store.options)
    summary = augment_parquet(
        src, out, seed=1, columns=["a", "b"], overwrite=True, storage_options=store.options
    )
    result = store.read(dst)
    pd.testing.assert_frame_equal(result, mixup(frame[["a", "b"]], seed=1), check_exact=True)
    assert_committed(fs, dst, result)
    assert summary.files_written == 1
    assert staging(fs, bucket) == []


def check_two_writers(store: Store, overwrite: bool = False, exclusive: bool = True) -> None:
    """Two runs started at once on one ``dst`` (with different seeds, so their outputs
    differ): exactly one commits, the other fails with ``DestinationBusyError`` and
    leaves nothing of its own; ``dst`` holds exactly the winner's output; no claim or
    staging is left. Without exclusive create (``exclusive=False``) the loser may instead
    meet the winner's dataset being swapped in and fail on the destination check: still
    a named error, nothing of its own left, the winner's output whole."""
    fs, bucket = store.fs, store.new_bucket()
    frame = small_frame(2_000)
    upload(fs, frame, f"{bucket}/src", files=4, row_group=250)
    dst = f"{bucket}/out"
    if overwrite:
        upload(fs, frame[["a"]].iloc[:10], dst, files=1, row_group=10)
        fs.pipe_file(f"{dst}/_SUCCESS", b"{}")

    def run(seed: int) -> Callable[[], Any]:
        return lambda: augment_parquet(
            store.url(f"{bucket}/src"), store.url(dst), seed=seed, labels="y",
            blocksize=1, overwrite=overwrite, storage_options=store.options,
            # Each on a thread pool of its own (the threaded scheduler shares one).
            client=None,
        )  # fmt: skip

    conversion = dask.config.get("dataframe.convert-string", None)
    outcomes = at_once(run(1), run(2))
    # Two jobs building graphs at once must leave Dask's config as it was.
    assert dask.config.get("dataframe.convert-string", None) == conversion
    errors = [o for o in outcomes if isinstance(o, Exception)]
    assert len(errors) == 1, outcomes
    if exclusive or isinstance(errors[0], DestinationBusyError):
        assert isinstance(errors[0], DestinationBusyError), repr(errors[0])
        assert "claimed by another run" in str(errors[0])
    else:
        assert isinstance(errors[0], MixupError), repr(errors[0])
        assert "already exists" in str(errors[0]), repr(errors[0])
    [winner] = [seed for seed, o in zip((1, 2), outcomes, strict=True) if o is not errors[0]]
    out = store.read(dst)
    pd.testing.assert_frame_equal(out, mixup(frame, seed=winner, labels="y"), check_exact=True)
    assert manifest(fs, dst)["job"]["seed"] == winner
    assert_committed(fs, dst, out)
    assert staging(fs, bucket) == []


def check_killed_claim(store: Store) -> None:
    """What a killed run leaves (its claim and some files, no manifest): a new run is
    refused with ``DestinationBusyError`` naming the claim's owner; ``overwrite``
    releases the claim and commits; nothing hidden is left."""
    fs, bucket = store.fs, store.new_bucket()
    frame = small_frame(600)
    upload(fs, frame, f"{bucket}/src", files=2, row_group=300)
    dst = f"{bucket}/killed"
    claim = {"format": "mixupy_dask-claim/1", "token": "0" * 32, "created": "2026-01-01",
             "host": "gone", "pid": 1}  # fmt: skip
    fs.pipe_file(f"{bucket}/.killed.mixupy-claim", json.dumps(claim).encode())
    upload(fs, frame.iloc[:5], dst, files=1, row_group=5)
    src, out = store.url(f"{bucket}/src"), store.url(dst)
    with pytest.raises(DestinationBusyError, match="claimed by another run") as info:
        augment_parquet(src, out, seed=1, labels="y", storage_options=store.options)
    assert "0" * 32 in str(info.value)
    assert "--overwrite" in str(info.value)
    augment_parquet(src, out, seed=1, labels="y", overwrite=True, storage_options=store.options)
    result = store.read(dst)
    pd.testing.assert_frame_equal(result, mixup(frame, seed=1, labels="y"), check_exact=True)
    assert_committed(fs, dst, result)
    assert staging(fs, bucket) == []


def option_args(options: dict, flag: str = "--storage-option") -> list[str]:
    """``options`` as repeated ``--storage-option KEY=VALUE`` (JSON values as JSON)."""
    args = []
    for key, value in options.items():
        text = value if isinstance(value, str) else json.dumps(value)
        args += [flag, f"{key}={text}"]
    return args


def run(*args, cwd, env: dict | None = None, timeout: float = HANG_GUARD):
    """Run ``mixupy-dask ARGS`` to completion with extra environment variables."""
    return subprocess.run(
        # os.environ as it is now: a module may set variables after helpers read it
        # (test_gcs.py's GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT, without which gcsfs waits
        # 60 s per bucket for a gRPC answer the emulator never gives).
        cli_command(*args), cwd=cwd, env={**ENV, **os.environ, **(env or {})},
        capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def named_logs(stderr: str) -> str:
    """The text of every log file the command's error names (kept on failures)."""
    paths = re.findall(r"are in (\S+)$", stderr, flags=re.MULTILINE)
    texts = []
    for path in paths:
        with open(path) as file:
            texts.append(file.read())
    return "\n".join(texts)


def check_credentials_in_urls(store: Store, tmp_path, *secrets: str) -> None:
    """A URL carrying the secret (as SRC, as DST, through the library and the command,
    with ``--verbose`` too): the store cannot read credentials from it, so the run is
    refused before it reads or writes, naming the URL redacted. No error, summary line,
    log file or object holds the secret; nothing is written; the source is untouched."""
    secrets = (SECRET, *secrets)
    fs, bucket = store.fs, store.new_bucket()
    upload(fs, small_frame(300), f"{bucket}/src", files=1, row_group=300)
    before = listing(fs, bucket)
    src, dst = store.url(f"{bucket}/src"), store.url(f"{bucket}/out")
    leaky_src, leaky_dst = store.leaky(f"{bucket}/src"), store.leaky(f"{bucket}/out")
    assert SECRET in leaky_src
    assert SECRET in leaky_dst

    for given, name in ((dict(src=leaky_src, dst=dst), "src"),
                        (dict(src=src, dst=leaky_dst), "dst")):  # fmt: skip
        with pytest.raises(MixupError, match=f"`{name}` carries credentials") as info:
            augment_parquet(**given, seed=1, storage_options=store.options)
        assert "***" in str(info.value)
        for secret in secrets:
            assert_no_secret(str(info.value), repr(info.value), info.getrepr(), secret=secret)
    with pytest.raises(MixupError, match="`dst` carries credentials") as info:
        make_data(leaky_dst, 100, 2, storage_options=store.options)
    for secret in secrets:
        assert_no_secret(str(info.value), secret=secret)

    options = option_args(store.options)
    for args in (("augment", leaky_src, dst, "--seed", 1, *options),
                 ("augment", src, leaky_dst, "--seed", 1, "--verbose", *options),
                 ("make-data", leaky_dst, "--rows", 100, "--columns", 2, *options)):  # fmt: skip
        result = run(*args, "--workers", 1, "--threads-per-worker", 1, cwd=tmp_path)
        assert_user_error(result, "carries credentials", "***")
        for secret in secrets:
            assert_no_secret(result.stdout, result.stderr, named_logs(result.stderr),
                             secret=secret)  # fmt: skip
    assert listing(fs, bucket) == before
    for secret in secrets:
        assert_no_secret_stored(fs, bucket, secret=secret)


#: The streams' options: a class column, a categorical feature chosen from a parent
#: with keyed draws (its categories from the files' dictionaries), integers rounded.
STREAM_OPTIONS = {"labels": "y", "categorical": "sample", "integers": "round"}


def stream_frame(n: int = 3_000) -> pd.DataFrame:
    """``small_frame`` with a categorical column (unsorted categories, one unused by the
    first file), its categories read from the files' dictionaries."""
    frame = small_frame(n)
    rng = np.random.default_rng(5)
    city = rng.choice(["oslo", "rome", "lima", "kyiv"], n)
    city[: n // 3] = "rome"
    return frame.assign(c=pd.Categorical(city, categories=["rome", "oslo", "lima", "kyiv"]))


def stream_batches(stream: MixupStream, epoch: int, **kwargs) -> list[pd.DataFrame]:
    return list(stream.batches(epoch, **kwargs))


def assert_same_batches(got: list[pd.DataFrame], expected: list[pd.DataFrame], what) -> None:
    assert len(got) == len(expected), what
    for k, (a, b) in enumerate(zip(got, expected, strict=True)):
        pd.testing.assert_frame_equal(a, b, check_exact=True, obj=f"{what} batch {k}")


def check_stream(store: Store, tmp_path, *secrets: str) -> None:
    """``MixupStream`` over a Parquet dataset in the store, read through fsspec with the
    run's ``storage_options``: with ``window=None`` and windowed, every batch equals bit
    for bit the same stream's over the same files on local disk and over the frame in
    memory, and ``window=None`` is ``mixup`` (each epoch, a rank's batches from a
    ``start`` too). Neither ``repr(stream)`` nor any error (a bad option, a missing
    ``src``, a URL carrying the secret, an object gone mid-epoch) shows the secret."""
    fs, bucket = store.fs, store.new_bucket()
    frame = stream_frame()
    upload(fs, frame, f"{bucket}/src", files=3, row_group=170)
    local = tmp_path / "stream-src"
    upload(fsspec.filesystem("file", auto_mkdir=True), frame, str(local), files=3, row_group=170)
    src = store.url(f"{bucket}/src")
    for window in (None, 700):
        kw = dict(seed=SEED, window=window, provenance=True, **STREAM_OPTIONS)
        remote = MixupStream(src, 256, storage_options=store.options, **kw)
        on_disk = MixupStream(str(local), 256, **kw)
        in_memory = MixupStream(frame, 256, **kw)
        for secret in (SECRET, *secrets):
            assert_no_secret(repr(remote), str(remote), secret=secret)
        assert remote.rows == len(frame)
        assert remote.num_batches() == in_memory.num_batches() == 12
        for epoch in (0, 1):
            got = stream_batches(remote, epoch)
            what = f"{store.scheme} window={window} epoch {epoch}"
            assert_same_batches(got, stream_batches(on_disk, epoch), f"{what} vs local files")
            assert_same_batches(got, stream_batches(in_memory, epoch), f"{what} vs pandas")
            if window is None:
                mixed = pd.concat(got, ignore_index=True).sort_values("mixup_left")
                expected = mixup(frame, seed=(SEED, epoch), provenance=True, **STREAM_OPTIONS)
                pd.testing.assert_frame_equal(
                    mixed.reset_index(drop=True), expected, check_exact=True
                )
        resumed = stream_batches(remote, 1, rank=1, world_size=2, start=2)
        assert_same_batches(resumed, stream_batches(in_memory, 1, rank=1, world_size=2)[2:],
                            f"{store.scheme} window={window} rank 1 from batch 2")  # fmt: skip

    def refused(call: Callable[[], Any], match: str) -> None:
        with pytest.raises(MixupError, match=match) as info:
            call()
        for secret in (SECRET, *secrets):
            assert_no_secret(str(info.value), repr(info.value), info.getrepr(), secret=secret)

    refused(lambda: MixupStream(src, 8, columns=["a", "nope"], storage_options=store.options),
            "`columns` not in")  # fmt: skip
    refused(lambda: MixupStream(src, 8, labels="nope", storage_options=store.options),
            "no column named")  # fmt: skip
    refused(lambda: MixupStream(store.url(f"{bucket}/absent"), 8, storage_options=store.options),
            "`src` does not exist")  # fmt: skip
    refused(lambda: MixupStream(store.leaky(f"{bucket}/src"), 8, storage_options=store.options),
            "`src` carries credentials")  # fmt: skip
    # An object gone after the stream was made: the store's own error, without the secret.
    stream = MixupStream(src, 256, seed=SEED, window=700, storage_options=store.options,
                         **STREAM_OPTIONS)  # fmt: skip
    for path in listing(fs, f"{bucket}/src"):
        fs.rm(path)
    with pytest.raises(Exception) as info:  # noqa: PT011 - whatever the store raises
        stream_batches(stream, 0)
    for secret in (SECRET, *secrets):
        assert_no_secret(str(info.value), repr(info.value), info.getrepr(), secret=secret)
    assert staging(fs, bucket) == []
    assert_no_secret_stored(fs, bucket)


# --- the command against a store, interrupted and killed (slow: real processes) ---------

#: The fault checks' source: 48,000 x 8 float64 (3 MiB) in 4 files of 3 row groups; with
#: BLOCKSIZE one partition per row group, so 12 files are written one after another.
FAULT_ROWS, FAULT_FILES, FAULT_ROW_GROUP = 48_000, 4, 4_000
BLOCKSIZE = "256KiB"
#: Deadline for a run to reach the state a check waits for (a bound, not a measurement).
DEADLINE = 150
EMBEDDED = ["--workers", "1", "--threads-per-worker", "2"]


@dataclass
class Faults:
    """A store's fault source, made once: its bucket, prefix, frame and objects."""

    bucket: str
    src: str
    frame: pd.DataFrame
    made: dict[str, tuple[int, str]]

    @classmethod
    def make(cls, store: Store) -> Faults:
        bucket = store.new_bucket()
        rng = np.random.default_rng(0)
        frame = pd.DataFrame(
            rng.standard_normal((FAULT_ROWS, 8)), columns=[f"x{i}" for i in range(8)]
        )
        upload(store.fs, frame, f"{bucket}/src", files=FAULT_FILES, row_group=FAULT_ROW_GROUP)
        return cls(bucket, f"{bucket}/src", frame, listing(store.fs, f"{bucket}/src"))

    def untouched(self, store: Store) -> None:
        assert listing(store.fs, self.src) == self.made


def first_file(fs, bucket: str, name: str, old: Any = ()) -> Callable[[], list[str]]:
    """A function finding a first Parquet object of a run on ``bucket/name``: in place,
    or staged (``overwrite``, or a store without exclusive create, as GCS's emulator);
    not one of the ``old`` objects there before the run."""

    def find() -> list[str]:
        fs.invalidate_cache()
        prefixes = (f"{bucket}/{name}/", f"{bucket}/.{name}.mixupy-tmp-")
        return [
            p
            for p in fs.find(bucket)
            if p.startswith(prefixes) and p.endswith(".parquet") and p not in old
        ]

    return find


def old_dataset(fs, dst: str) -> dict:
    """A small complete dataset at ``dst`` to be replaced: its objects when made."""
    upload(fs, pd.DataFrame({"old": [1.0, 2.0, 3.0]}), dst, files=1, row_group=3)
    fs.pipe_file(f"{dst}/_SUCCESS", b"{}")
    return listing(fs, dst)


def check_cli(store: Store, faults: Faults, tmp_path, *secrets: str) -> None:
    """``mixupy-dask augment`` store to store with the options on the command line:
    exact against pandas, committed, the summary naming ``dst``; no output, object or
    (on a failure) log file holds the secret."""
    dst = f"{faults.bucket}/cli"
    result = run(
        "augment", store.url(faults.src), store.url(dst), "--seed", SEED, "--blocksize",
        BLOCKSIZE, *option_args(store.options), *EMBEDDED, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert f"at {store.url(dst)}" in result.stdout
    out = store.read(dst)
    pd.testing.assert_frame_equal(out, mixup(faults.frame, seed=SEED), check_exact=True)
    assert_committed(store.fs, dst, out)
    for secret in (SECRET, *secrets):
        assert_no_secret(result.stdout, result.stderr, secret=secret)
        assert_no_secret_stored(store.fs, faults.bucket, secret=secret)
    faults.untouched(store)


def check_interrupted(
    store: Store, faults: Faults, tmp_path, signum: int, existing: bool, *secrets: str
) -> None:
    """Signalled once its first file is in the store: 128 + the signal and one
    ``error:`` line, no manifest, no file of the run left (a new ``dst`` absent, an old
    one unchanged), no claim, the workers gone, the source untouched."""
    status, message = {signal.SIGINT: (130, "error: interrupted"),
                       signal.SIGTERM: (143, "error: terminated")}[signum]  # fmt: skip
    dst = f"{faults.bucket}/interrupted-{int(signum)}"
    name = dst.rsplit("/", 1)[1]
    before = old_dataset(store.fs, dst) if existing else {}
    flags = ["--seed", SEED, "--quiet", *(["--overwrite"] if existing else [])]
    proc = start_cli(
        "augment", store.url(faults.src), store.url(dst), *flags, *EMBEDDED, "--blocksize",
        BLOCKSIZE, *option_args(store.options), cwd=tmp_path, env=_current_env(),
    )  # fmt: skip
    ready = first_file(store.fs, faults.bucket, name, before)
    _, out, err, children = interrupt(proc, ready, "a first output file", signum, DEADLINE)
    assert proc.returncode == status, err
    assert "Traceback" not in err, err
    assert message in err.splitlines(), err
    for secret in (SECRET, *secrets):
        assert_no_secret(out, err, secret=secret)
    assert listing(store.fs, dst) == before
    assert staging(store.fs, faults.bucket) == []
    assert children
    assert_ended(children)
    faults.untouched(store)


def check_killed_command(store: Store, faults: Faults, tmp_path, *secrets: str) -> None:
    """SIGKILL of the command mid-write: its claim and some files are left, no
    manifest; a new run is refused naming the claim (one ``error:`` line, exit 2);
    ``--overwrite`` releases the claim and commits the pandas result; nothing hidden is
    left, the source untouched, no output shows the secret."""
    dst = f"{faults.bucket}/killed-command"
    name = dst.rsplit("/", 1)[1]
    args = ["augment", store.url(faults.src), store.url(dst), "--seed", SEED, "--quiet",
            *EMBEDDED, "--blocksize", BLOCKSIZE, *option_args(store.options)]  # fmt: skip
    proc = start_cli(*args, cwd=tmp_path, env=_current_env(), group=True)
    # The whole group, as an OOM killer or `kill -9` of a job would: no cleanup at all.
    _, _, _, children = interrupt(
        proc, first_file(store.fs, faults.bucket, name), "a first output file",
        signal.SIGKILL, DEADLINE, group=True,
    )  # fmt: skip
    assert proc.returncode == -signal.SIGKILL
    assert_ended(children)
    store.fs.invalidate_cache()
    assert not store.fs.exists(f"{dst}/_SUCCESS")
    assert f"{faults.bucket}/.{name}.mixupy-claim" in staging(store.fs, faults.bucket)

    refused = run(*args, cwd=tmp_path)
    assert_user_error(refused, "claimed by another run", "--overwrite")
    result = run(*args, "--overwrite", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = store.read(dst)
    pd.testing.assert_frame_equal(out, mixup(faults.frame, seed=SEED), check_exact=True)
    assert_committed(store.fs, dst, out)
    assert staging(store.fs, faults.bucket) == []
    for secret in (SECRET, *secrets):
        for text in (refused.stdout, refused.stderr, result.stdout, result.stderr):
            assert_no_secret(text, secret=secret)
        assert_no_secret_stored(store.fs, faults.bucket, secret=secret)
    faults.untouched(store)


def _current_env() -> dict[str, str]:
    """os.environ as it is now, for ``start_cli`` (which adds to helpers' ENV)."""
    return dict(os.environ)

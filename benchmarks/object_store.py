"""Parquet to Parquet on object stores: S3, GCS and Azure through servers on 127.0.0.1,
and local disk, all in the same run.

The same data at 1x and 4x, every job on every store in the same run, taking turns,
each run on a two-worker LocalCluster of its own (``parquet_route.fresh_client``):

- ``parquet copy``: ``dd.read_parquet`` + ``to_parquet``, which writes each file straight
  to its final key and commits nothing: the least a job can do on the store.
- ``mixupy_dask``: ``augment_parquet`` into a new destination: the claim, the files
  (written in place where the store creates objects exclusively), then the ``_SUCCESS``
  manifest, then the claim's removal.
- ``mixupy_dask overwrite``: ``augment_parquet(overwrite=True)`` over a complete
  dataset: staged under a hidden prefix, then swapped in (server-side copies).

Each store's server runs in a process of its own, so that serving requests does not
share the client's interpreter: moto's ``ThreadedMotoServer`` (S3),
``gcp-storage-emulator`` (GCS) and Azurite (Azure Blob Storage, from ``.ci/node``:
``npm ci --prefix .ci/node``). A store whose server is not installed is reported as not
run, never left out silently.

What the protocol adds to writing the files is timed by the library itself and read
from its ``mixupy_dask.commit`` log record, so its share of each run is measured in that
run: taking the claim (an exclusive create, before the first file), the commit (after
the last file: the claim's check, the listing, the manifest, rename or swap) and the
claim's removal.
"""

from __future__ import annotations

import base64
import importlib
import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from dask.utils import format_bytes

from .parquet_route import COLUMNS, WORKER_MEMORY, WRITE, fresh_client
from .timing import Stats, take_turns

__all__ = ["STORES", "markdown", "run", "table", "targets", "write"]

SCALES = (1, 4)
#: Files per 1x: enough that the commit's per-file requests show, if they cost.
FILES_PER_UNIT = 8
STORES = ("local", "s3", "gcs", "azure")
METHODS = ("parquet copy", "mixupy_dask", "mixupy_dask overwrite")
#: The target (issue #38): what the protocol adds (claim, commit, release) to a run into
#: a new destination, as a share of that run, on every store, at every size.
COMMIT_SHARE_MAX = 0.05
#: How long a server may take to listen (a bound, not a measurement).
START_SECONDS = 120
HERE = os.path.dirname(os.path.abspath(__file__))
AZURITE = os.path.join(HERE, "..", ".ci", "node", "node_modules", ".bin", "azurite-blob")
#: The S3 server, in its own process; it stops when its standard input closes.
MOTO = (
    "import logging, sys\n"
    "from moto.server import ThreadedMotoServer\n"
    "logging.getLogger('werkzeug').setLevel(logging.ERROR)\n"
    "server = ThreadedMotoServer(ip_address='127.0.0.1', port=0, verbose=False)\n"
    "server.start()\n"
    "print(server.get_host_and_port()[1], flush=True)\n"
    "sys.stdin.read()\n"
    "server.stop()\n"
)
AZURE_ACCOUNT = "benchacct"
AZURE_KEY = base64.b64encode(b"mixupy-bench-key").decode()


@dataclass
class _Store:
    """One store: ``fs`` and the options of every job, the benchmark's data under
    ``root`` (a local directory, or a bucket), and the server process, if any."""

    name: str
    fs: Any
    options: dict[str, Any]
    root: str
    scheme: str = ""
    server: str = "the disk"
    proc: subprocess.Popen | None = field(default=None, repr=False)

    def path(self, key: str) -> str:
        return os.path.join(self.root, key) if not self.scheme else f"{self.root}/{key}"

    def url(self, key: str) -> str:
        return self.path(key) if not self.scheme else f"{self.scheme}://{self.path(key)}"

    def clean(self, key: str) -> None:
        if not self.scheme:
            shutil.rmtree(self.path(key), ignore_errors=True)
            return
        self.fs.invalidate_cache()
        if self.fs.exists(self.path(key)):
            self.fs.rm(self.path(key), recursive=True)

    def stop(self) -> None:
        """End the server we started (by its process), waiting for it."""
        if self.proc is None:
            return
        if self.proc.stdin is not None:
            self.proc.stdin.close()  # moto's script stops on end of input
        else:
            self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class _Commits(logging.Handler):
    """Collects the library's commit records (mode, seconds of each step)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        if hasattr(record, "mixupy_commit"):
            self.records.append(record.mixupy_commit)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _listening(port: int, proc: subprocess.Popen, what: str) -> None:
    deadline = time.monotonic() + START_SECONDS
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with status {proc.returncode}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"{what} did not listen on 127.0.0.1:{port}")
        time.sleep(0.1)


def _package(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "?"


def _s3() -> _Store:
    import s3fs

    proc = subprocess.Popen(
        [sys.executable, "-c", MOTO], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    endpoint = f"http://127.0.0.1:{int(proc.stdout.readline())}"
    options = {"key": "bench", "secret": "bench", "client_kwargs": {"endpoint_url": endpoint}}
    fs = s3fs.S3FileSystem(skip_instance_cache=True, **options)
    fs.mkdir("bench")
    server = f"moto {_package('moto')} ThreadedMotoServer"
    return _Store("s3", fs, options, "bench", "s3", server, proc)


def _gcs() -> _Store:
    # Read when gcsfs is imported: without it gcsfs asks each bucket's type over gRPC,
    # which the emulator does not serve, and waits 60 s (see tests/test_gcs.py).
    os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")
    import gcsfs

    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gcp_storage_emulator", "start", "--host", "127.0.0.1",
         "--port", str(port), "--in-memory", "--quiet"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    _listening(port, proc, "gcp-storage-emulator")
    options = {"endpoint_url": f"http://127.0.0.1:{port}", "token": "anon", "project": "bench"}
    fs = gcsfs.GCSFileSystem(skip_instance_cache=True, **options)
    fs.mkdir("bench")
    server = f"gcp-storage-emulator {_package('gcp-storage-emulator')}, in memory"
    return _Store("gcs", fs, options, "bench", "gs", server, proc)


def _azurite_version(executable: str) -> str:
    package = os.path.join(os.path.dirname(executable), "..", "azurite", "package.json")
    try:
        with open(package) as file:
            return str(json.load(file)["version"])
    except (OSError, ValueError, KeyError):
        return "?"


def _azure(workdir: str) -> _Store:
    import adlfs

    executable = AZURITE if os.path.exists(AZURITE) else shutil.which("azurite-blob")
    if executable is None:
        raise FileNotFoundError("Azurite is not installed: npm ci --prefix .ci/node")
    port = _free_port()
    home = os.path.join(workdir, "azurite")
    os.makedirs(home, exist_ok=True)
    proc = subprocess.Popen(
        [executable, "--blobHost", "127.0.0.1", "--blobPort", str(port),
         "--inMemoryPersistence", "--skipApiVersionCheck", "--silent"],
        cwd=home, env={**os.environ, "AZURITE_ACCOUNTS": f"{AZURE_ACCOUNT}:{AZURE_KEY}"},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    _listening(port, proc, "Azurite")
    connection = (
        f"DefaultEndpointsProtocol=http;AccountName={AZURE_ACCOUNT};AccountKey={AZURE_KEY};"
        f"BlobEndpoint=http://127.0.0.1:{port}/{AZURE_ACCOUNT};"
    )
    options = {"connection_string": connection}
    fs = adlfs.AzureBlobFileSystem(skip_instance_cache=True, **options)
    fs.mkdir("bench")
    server = f"Azurite {_azurite_version(executable)}, in memory"
    return _Store("azure", fs, options, "bench", "az", server, proc)


def _copy(client, src: str, dst: str, options: dict[str, Any]) -> None:
    import dask.dataframe as dd

    frame = dd.read_parquet(src, storage_options=options)
    write = frame.to_parquet(dst, compute=False, storage_options=options, **WRITE)
    with client.as_current():
        client.compute(write).result()


def _mixup(client, src: str, dst: str, options: dict[str, Any], overwrite: bool = False):
    from mixupy_dask import augment_parquet

    return augment_parquet(
        src, dst, seed=0, client=client, storage_options=options, overwrite=overwrite
    )


def run(base_bytes: int, repeats: int, workdir: str, log=print) -> dict[str, Any]:
    """Time every job on every store at 1x and 4x; return rows of results."""
    from mixupy_dask import make_data

    base_rows = max(1000, base_bytes // (COLUMNS * 8))
    stores = [_Store("local", None, {}, os.path.join(workdir, "stores"))]
    os.makedirs(stores[0].root, exist_ok=True)
    skipped = []
    commits = _Commits()
    logger = logging.getLogger("mixupy_dask.commit")
    logger.addHandler(commits)
    previous_level = logger.level
    logger.setLevel(logging.INFO)
    results: list[dict[str, Any]] = []
    try:
        starts: dict[str, Callable[[], _Store]] = {
            "s3": _s3, "gcs": _gcs, "azure": lambda: _azure(workdir)}  # fmt: skip
        for name, start in starts.items():
            try:
                stores.append(start())
            except (ImportError, FileNotFoundError) as exc:
                skipped.append({"store": name, "reason": f"{type(exc).__name__}: {exc}"})
                log(f"object     {name}: not run ({exc})")
        # The data: one make-data run of the largest size; 1x is its first files.
        biggest = os.path.join(workdir, "data-4x")
        log(f"object     generating {base_rows * max(SCALES):,} rows with make_data")
        with fresh_client() as client:
            make_data(biggest, base_rows * max(SCALES), COLUMNS,
                      partitions=FILES_PER_UNIT * max(SCALES), client=client)  # fmt: skip
        files = sorted(f for f in os.listdir(biggest) if f.endswith(".parquet"))
        for scale in SCALES:
            chosen = files[: FILES_PER_UNIT * scale]
            for store in stores:
                key = f"data-{scale}x"
                if not store.scheme:
                    os.makedirs(store.path(key), exist_ok=True)
                    for name in chosen:
                        shutil.copy2(os.path.join(biggest, name), os.path.join(store.path(key)))
                else:
                    store.fs.put([os.path.join(biggest, n) for n in chosen],
                                 [store.path(f"{key}/{n}") for n in chosen])  # fmt: skip
        for scale in SCALES:
            results += _one_scale(stores, scale, base_rows, repeats, commits, log)
    finally:
        logger.removeHandler(commits)
        logger.setLevel(previous_level)
        for store in stores:
            store.stop()
    return {
        "results": results,
        "servers": {s.name: s.server for s in stores},
        "skipped": skipped,
        "cluster": {"workers": 2, "threads_per_worker": 1, "memory": WORKER_MEMORY},
        "base_rows": base_rows,
        "files_per_1x": FILES_PER_UNIT,
    }


@contextmanager
def _fresh(store: _Store) -> Iterator[Any]:
    """A client of a cluster of its own (``fresh_client``), the store's filesystem
    imported on its workers before the clock starts, as on a cluster that has used it.

    Every run gets one: on one cluster for every job, the 4x round stalled (both
    workers idle, the job waiting) after some twenty earlier jobs."""
    with fresh_client() as client:
        if store.fs is not None:
            client.run(importlib.import_module, type(store.fs).__module__.split(".")[0])
        yield client


def _job(run: Callable[..., Any], *args: Any, **kwargs: Any) -> Callable[[Any], Any]:
    """``run(client, *args, **kwargs)``, for the client each timed run gets."""
    return lambda client: run(client, *args, **kwargs)


def _one_scale(stores, scale, base_rows, repeats, commits, log):
    """Every job on every store at one size, ``repeats`` times each, taking turns."""
    local = stores[0]
    src_key = f"data-{scale}x"
    src_dir = local.path(src_key)
    parquet_bytes = sum(os.path.getsize(os.path.join(src_dir, f)) for f in os.listdir(src_dir))
    jobs: dict[tuple[str, str], tuple[_Store, Callable[[Any], Any], Callable[[], None]]] = {}
    for store in stores:
        src, out, over = store.url(src_key), store.url("out"), store.url("over")
        opts = store.options
        clean = partial(store.clean, "out")
        jobs[(store.name, "parquet copy")] = (store, _job(_copy, src, out, opts), clean)
        jobs[(store.name, "mixupy_dask")] = (store, _job(_mixup, src, out, opts), clean)
        overwrite = _job(_mixup, src, over, opts, overwrite=True)
        jobs[(store.name, "mixupy_dask overwrite")] = (store, overwrite, lambda: None)
        # The dataset that the overwrite job replaces, complete before the first timing.
        with _fresh(store) as client:
            overwrite(client)
    names = list(jobs)
    times: dict[tuple[str, str], list[float]] = {job: [] for job in names}
    records: dict[tuple[str, str], list[dict[str, Any]]] = {job: [] for job in names}
    for job in take_turns(names, repeats):
        store, once, clean = jobs[job]
        clean()
        with _fresh(store) as client:
            commits.records.clear()
            start = time.perf_counter()
            once(client)
            times[job].append(time.perf_counter() - start)
        if commits.records:
            records[job].append(commits.records[-1])
    for store in stores:
        store.clean("out")
        store.clean("over")
    rows = []
    for store, method in names:
        stats = Stats(tuple(times[(store, method)]))
        copy = Stats(tuple(times[(store, "parquet copy")]))
        row = {
            "store": store,
            "method": method,
            "scale": scale,
            "rows": base_rows * scale,
            "columns": COLUMNS,
            "parquet_bytes": parquet_bytes,
            **stats.to_dict(),
            "vs_copy": stats.median / copy.median,
        }
        found = records[(store, method)]
        if found:
            row["commit_mode"] = found[-1]["mode"]
            row["exclusive"] = found[-1]["exclusive"]
            for step in ("claim", "commit", "release"):
                row[f"{step}_seconds"] = Stats(tuple(r[f"{step}_seconds"] for r in found)).median
            # Each run's claim + commit + release over that same run's time, then their
            # median: what the protocol adds to writing the files.
            runs = zip(found, times[(store, method)], strict=True)
            row["commit_share"] = Stats(tuple(_added(r) / t for r, t in runs)).median
        rows.append(row)
        share = f"  claim+commit {row['commit_share']:6.1%}" if found else ""
        log(f"object     {scale}x {store:<5} {method:<22} median {stats.median:7.2f} s  "
            f"/ copy {row['vs_copy']:5.2f}{share}")  # fmt: skip
    return rows


def _added(record: dict[str, Any]) -> float:
    """Seconds the protocol added to one run: claim, commit and the claim's removal."""
    return record["claim_seconds"] + record["commit_seconds"] + record["release_seconds"]


# --- the report -----------------------------------------------------------------------

_NAMES = {"local": "local disk", "s3": "S3", "gcs": "GCS", "azure": "Azure"}


def targets(found: dict[str, Any]) -> list[dict[str, Any]]:
    """One target per store: the claim + commit share of a run into a new destination,
    the worst over the sizes run, at most ``COMMIT_SHARE_MAX``."""
    rows = found.get("results") or []
    out = []
    for store in STORES:
        ours = [r for r in rows if r["store"] == store and r["method"] == "mixupy_dask"]
        if not ours:
            continue
        worst = max(ours, key=lambda r: r["commit_share"])
        scales = ", ".join(f"{r['scale']}x" for r in sorted(ours, key=lambda r: r["scale"]))
        out.append(
            {
                "target": (
                    f"{_NAMES[store]}: claim + commit share of a run into a new dst "
                    f"(worst of {scales}: {worst['scale']}x, {worst['commit_mode']})"
                ),
                "value": worst["commit_share"],
                "bound": f"<= {COMMIT_SHARE_MAX}",
                "met": worst["commit_share"] <= COMMIT_SHARE_MAX,
            }
        )
    return out


def _secs(row: dict[str, Any]) -> str:
    return f"{row['median']:.3g} s ({row['min']:.3g} to {row['max']:.3g})"


def _pick(rows: list[dict[str, Any]], store: str, method: str, scale: int) -> dict | None:
    for r in rows:
        if (r["store"], r["method"], r["scale"]) == (store, method, scale):
            return r
    return None


def _notes(found: dict[str, Any]) -> list[str]:
    """What the figures say about the servers, from the figures themselves."""
    rows = found.get("results") or []
    notes = []
    largest = max((r["scale"] for r in rows), default=None)
    copy = {r["store"]: r for r in rows if r["method"] == "parquet copy" and r["scale"] == largest}
    if "local" in copy:
        # Read and written once each: twice the Parquet bytes through the store.
        speed = {s: 2 * r["parquet_bytes"] / r["median"] / 2**20 for s, r in copy.items()}
        slower = ", ".join(
            f"{_NAMES[s]} {copy[s]['median'] / copy['local']['median']:.1f}x "
            f"({speed[s]:.0f} MiB/s read and written)"
            for s in STORES
            if s in copy and s != "local"
        )
        if slower:
            notes.append(
                f"- The plain Parquet copy at {largest}x took, relative to local disk "
                f"({speed['local']:.0f} MiB/s): {slower}. Every server here is an emulator "
                "on this machine, sharing its cores with the cluster; a cloud store's "
                "throughput is not measured here, which is why each job is compared with "
                "the copy on the same store."
            )
    notes.append(
        "- The claim and a new dst's commit are a fixed number of requests whatever the "
        "data's size (the commit's listing aside, which grows with the files): their "
        "seconds stay about the same from 1x to 4x, so their share falls as runs grow and "
        "rises for runs shorter than these; each request's latency to a remote store "
        "adds to them."
    )
    for store in STORES:
        swapped = [
            r
            for r in rows
            if r["store"] == store and r["method"] == "mixupy_dask" and r["commit_mode"] == "swap"
        ]
        if store == "local" or not swapped:
            continue
        note = (
            f"- {_NAMES[store]}: a new dst was staged and copied in (`swap`), not written "
            "in place: this server accepted a second exclusive create of the claim, so the "
            "library treated it as a store without exclusive create."
        )
        if store == "gcs":
            note += (
                " gcp-storage-emulator ignores `ifGenerationMatch=0`; real GCS honours it, "
                "and a new dst is then written in place as on S3 and Azure here. The share "
                "measured here is that of the swap's server-side copies on the emulator, "
                "not real GCS's."
            )
        worst = max(swapped, key=lambda r: r["commit_seconds"])
        plain = _pick(rows, store, "parquet copy", worst["scale"])
        if plain is not None:
            commit = worst["commit_seconds"]
            note += (
                f" This server's copies are slow: at {worst['scale']}x the commit took "
                f"{commit:.1f} s, {commit / plain['median']:.1f}x a plain Parquet copy of the "
                f"same data through the cluster ({plain['median']:.1f} s)."
            )
        notes.append(note)
    for s in found.get("skipped") or []:
        notes.append(f"- {_NAMES.get(s['store'], s['store'])}: not run ({s['reason']}).")
    return notes


def table(found: dict[str, Any]) -> list[str]:
    """The section's Markdown: servers, the table of every job, and the notes."""
    rows = found.get("results") or []
    servers = "; ".join(f"{_NAMES[s]}: {v}" for s, v in found["servers"].items() if s != "local")
    lines = [
        "## Object stores: S3, GCS and Azure servers on 127.0.0.1, and local disk, same run",
        "",
        f"Servers, each in a process of its own: {servers}. Every run on a LocalCluster "
        f"of its own, {found['cluster']['workers']} workers x "
        f"{found['cluster']['threads_per_worker']} thread of {found['cluster']['memory']}; "
        f"{found['files_per_1x']} files per 1x. Claim = taking the claim before the "
        "first file (an exclusive create) plus removing it after the run; commit = the "
        "step after the last file is written (the claim's check, the listing, the manifest, "
        "rename or swap); share = (claim + commit) / the run's time, each run's own, timed "
        "by the library in that run.",
        "",
        "| data | store | job | time | / copy, same store | claim | commit | share | commit mode |",
        "|---:|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        claim = commit = share = "-"
        if "commit_seconds" in r:
            claim = f"{r['claim_seconds'] + r['release_seconds']:.3f} s"
            commit = f"{r['commit_seconds']:.3f} s"
            share = f"{r['commit_share']:.1%}"
        lines.append(
            f"| {r['scale']}x ({format_bytes(r['parquet_bytes'])} Parquet) | {r['store']} "
            f"| {r['method']} | {_secs(r)} | {r['vs_copy']:.2f} | {claim} | {commit} | {share} "
            f"| {r.get('commit_mode', '-')} |"
        )
    notes = _notes(found)
    if notes:
        lines += ["", *notes]
    lines.append("")
    return lines


def markdown(found: dict[str, Any]) -> str:
    """The section run on its own: machine and load, targets, the table."""
    m = found["machine"]
    v = m["versions"]
    lines = [
        "# mixupy_dask benchmarks: object stores",
        "",
        f"`python -m benchmarks {' '.join(found['argv'])}`".replace(" `", "`"),
        f"on {m['cpu_count']} cores, {format_bytes(m['memory_bytes'])} RAM, {m['platform']}; "
        f"Python {m['python']}, mixupy_dask {v['mixupy_dask']}, numpy {v['numpy']}, "
        f"pandas {v['pandas']}, dask {v['dask']}, pyarrow {v['pyarrow']}; "
        f"load average (1, 5, 15 min) {m['load_average']} at start, "
        f"{found['load_average_after']} at end ({found['when_utc']}).",
        "",
        f"Times: median of {found['repeats']} runs (min to max); the jobs take turns, so a "
        "burst of load falls on all of them alike.",
        "",
        "## Targets",
        "",
        "| target | measured | bound | met |",
        "|---|---:|---|---|",
    ]
    lines += [
        f"| {t['target']} | {t['value']:.3f} | {t['bound']} | {'yes' if t['met'] else 'NO'} |"
        for t in found["targets"]
    ]
    lines += ["", *table(found)]
    noise = found.get("noise")
    if noise:
        lines += [
            f"Noise: the widest (max - min) / median spread of any figure was "
            f"{noise['widest_spread']:.0%} ({noise['where']}); the median spread "
            f"{noise['median_spread']:.0%}.",
            "",
        ]
    return "\n".join(lines)


def write(found: dict[str, Any], out: str) -> dict[str, str]:
    """Write ``results-object-store.json`` and ``.md`` into ``out``; return their paths."""
    from .report import write_json_and_markdown

    return write_json_and_markdown(found, markdown(found), out, "results-object-store")

"""The ``mixupy-dask`` command: augment Parquet data sets on a laptop or a Dask cluster.

A thin click layer over the library: each command turns its options into the
arguments of ``augment_parquet``, ``augment_series_parquet`` or ``make_data``, checks
everything (options, the data's footers, the destination) before it starts a
cluster, and runs on ``connect``'s client. User errors (bad options, missing or
unreadable data, non-numeric columns, non-finite values found during the run) print
one ``error: ...`` line on stderr, with parameters named as the command's options,
and exit with status 2; anything else exits with status 1, its traceback and the
cluster's logs in a file named on a second line (``--verbose`` prints both on the
terminal instead). Ctrl-C prints ``error: interrupted`` alone.
"""

from __future__ import annotations

import codecs
import contextlib
import inspect
import json
import os
import re
import signal
import sys
import tempfile
import threading
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import click
import pandas as pd
from dask.utils import format_bytes, parse_bytes

from . import _datasets
from ._core.balancing import ClassNames
from ._core.validation import (
    BANDWIDTH,
    MAKE_DATA_RULES,
    MIXUP_DEFAULTS,
    MIXUP_RULES,
    SERIES_RULES,
    STRATEGIES,
    Int,
    OneOf,
    Real,
    Rule,
)
from ._dask.cluster import connect
from ._dask.source import DEFAULT_BLOCKSIZE
from ._io.commit import Destination
from ._io.job import AugmentSummary, plan
from ._io.redact import scrub
from ._series.mixup import mixup_series
from ._version import __version__
from .errors import MixupError

#: Exit statuses: 2 for anything the user can fix, 1 for failures of ours or the system.
EXIT_USER_ERROR = 2
EXIT_FAILURE = 1


def _whole(text: str) -> int:
    """``"1e6"`` or ``"1_000_000"`` -> 1000000; anything but a whole number is refused."""
    number = float(text.replace("_", ""))
    if not number.is_integer():
        raise ValueError(text)
    return int(number)


class _Positive(click.ParamType):  # type: ignore[type-arg]  # generic from click 8.5 only
    """A positive whole number, read by ``parse`` (``example`` says what it reads)."""

    def __init__(self, name: str, parse: Callable[[str], int], example: str) -> None:
        self.name, self.parse, self.example = name, parse, example

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, int):
            number = value
        else:
            try:
                number = self.parse(str(value))
            except (ValueError, TypeError, OverflowError):
                self.fail(f"{value!r} is not {self.example}", param, ctx)
        if number < 1:
            self.fail(f"{value!r} must be at least 1", param, ctx)
        return number


_SIZE = _Positive("size", parse_bytes, "a size such as 400MB or 2GiB")
_COUNT = _Positive("integer", _whole, "a whole number such as 1e6 or 1_000_000")


def _typed(rule: Rule) -> click.ParamType:  # type: ignore[type-arg]
    """The click type of what ``rule`` allows: its range or its choices, so the command
    line refuses what the library does, in click's words, before anything is read."""
    if isinstance(rule, Real):
        return click.FloatRange(min=rule.low, min_open=rule.strict)
    if isinstance(rule, Int):
        return click.IntRange(min=rule.low, max=rule.high)
    if isinstance(rule, OneOf) and all(isinstance(o, str) for o in rule.options):
        return click.Choice(rule.options)
    raise TypeError(f"no click type for {rule!r}")


_F = TypeVar("_F", bound=Callable[..., Any])


def _ruled(decl: str, rule: Rule, default: Any, help: str | None = None) -> Callable[[_F], _F]:
    """An option that follows a library parameter's rule, with the library's default."""
    return click.option(decl, type=_typed(rule), default=default, show_default=True, help=help)


def _default(function: Callable[..., Any], name: str) -> Any:
    """The default of ``function``'s parameter ``name``: the library's, never retyped."""
    return inspect.signature(function).parameters[name].default


def _class_rows(text: str) -> ClassNames | None:
    """``a:500,b:300`` or JSON ``{"a": 500}`` as rows per class, keyed by the classes'
    text; None if ``text`` is not of either form."""
    text = text.strip()
    if text.startswith("{"):
        try:
            pairs = list(json.loads(text).items())
        except (ValueError, AttributeError):
            return None
    elif ":" in text:
        pairs = [item.rsplit(":", 1) for item in text.split(",") if item.strip()]
    else:
        return None
    rows = ClassNames()
    for key, value in pairs:
        try:
            number = float(str(value).strip().replace("_", ""))
        except ValueError:
            return None
        if not number.is_integer():
            return None
        rows[str(key).strip()] = int(number)
    return rows


class _BatchSize(click.ParamType):  # type: ignore[type-arg]  # generic from click 8.5 only
    """A number of rows (``1e6``), or rows per class (``a:500,b:0`` or JSON)."""

    name = "rows"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, (int, dict)):
            return value
        if ":" in str(value):
            rows = _class_rows(str(value))
            if rows is None:
                self.fail(f"{value!r} is not rows per class such as a:500,b:300", param, ctx)
            return rows
        return _COUNT.convert(value, param, ctx)


class _Strategy(click.ParamType):  # type: ignore[type-arg]  # generic from click 8.5 only
    """``auto`` and the other strategy names, a ratio such as ``0.5``, or ``a:500,b:300``."""

    name = "strategy"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if not isinstance(value, str):
            return value
        if value in STRATEGIES or value == "majority":
            return value  # "majority" is refused by the library, in its own words
        rows = _class_rows(value)
        if rows is not None:
            return rows
        try:
            return float(value)
        except ValueError:
            self.fail(
                f"{value!r} is not one of {', '.join(STRATEGIES)}, a ratio such as 0.5 or "
                f"rows per class after resampling such as a:500,b:300",
                param,
                ctx,
            )


class _Seed(click.ParamType):  # type: ignore[type-arg]  # generic from click 8.5 only
    """A seed: ``42``, or ``42,3`` for ``(base, epoch)`` as the Python API takes it."""

    name = "seed"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, (int, tuple)):
            return value
        try:
            parts = tuple(int(p) for p in str(value).split(","))
        except ValueError:
            self.fail(f"{value!r} is not an int or comma-separated ints such as 42,3", param, ctx)
        if any(p < 0 for p in parts):
            self.fail(f"{value!r} must be non-negative", param, ctx)
        return parts[0] if len(parts) == 1 else parts


def _names(value: str | None) -> list[str] | None:
    """``"a,b, c"`` → ``["a", "b", "c"]``."""
    if value is None:
        return None
    names = [name.strip() for name in value.split(",") if name.strip()]
    if not names:
        raise click.BadParameter("give one or more comma-separated column names")
    return names


def _options(*options: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """Apply several click options, in the order they are listed in ``--help``."""

    def apply(command: Any) -> Any:
        for option in reversed(options):
            command = option(command)
        return command

    return apply


#: The options of every command that writes a dataset.
_OUTPUT_OPTIONS = _options(
    click.option(
        "--seed",
        type=_Seed(),
        help="Fixes the output bit for bit; BASE,EPOCH for independent epochs (default: "
        "fresh, printed in the summary).",
    ),
    click.option("--columns", metavar="A,B,...", help="Columns to read (default: all)."),
    click.option("--overwrite", is_flag=True, help="Replace DST once the new output is complete."),
    click.option(
        "--blocksize",
        type=_SIZE,
        help="Target uncompressed size of a partition, e.g. 32MiB; larger row groups are "
        "read in slices (default: 1/64 of a worker thread's memory, at most "
        f"{format_bytes(DEFAULT_BLOCKSIZE)}).",
    ),
)


class _StorageOption(click.ParamType):  # type: ignore[type-arg]  # generic from click 8.5 only
    """One fsspec storage option, ``KEY=VALUE``; the value is read as JSON where it is
    JSON (``true``, ``3``, ``{"endpoint_url": "http://..."}``) and is a string otherwise.

    Messages never show the value: it may be a credential.
    """

    name = "key=value"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, tuple):
            return value
        key, sep, text = str(value).partition("=")
        key = key.strip()
        if not sep or not key.isidentifier():
            self.fail("expected KEY=VALUE with KEY an option name, e.g. anon=true", param, ctx)
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = text
        return key, parsed


#: Storage options for SRC and DST, and for DST alone.
_STORAGE_OPTIONS = _options(
    click.option(
        "--storage-option",
        type=_StorageOption(),
        multiple=True,
        metavar="KEY=VALUE",
        help="fsspec option for SRC and DST, repeatable, e.g. "
        '\'client_kwargs={"endpoint_url": "http://127.0.0.1:9000"}\' (values are JSON '
        "where they parse). Without any, the filesystem reads its own settings, such as "
        "the AWS_* environment variables.",
    ),
    click.option(
        "--dst-storage-option",
        type=_StorageOption(),
        multiple=True,
        metavar="KEY=VALUE",
        help="fsspec option for DST alone, repeatable; if any is given, DST uses these "
        "instead of --storage-option.",
    ),
)


def _storage(options: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """Pop the repeated ``KEY=VALUE`` options: (for SRC and DST, for DST alone), each a
    dict (a later key wins) or None when not given."""
    both, dst = options.pop("storage_option"), options.pop("dst_storage_option")
    return (dict(both) if both else None), (dict(dst) if dst else None)


#: Where the work runs: ``connect``'s parameters, then --quiet.
_CLUSTER_OPTIONS = _options(
    click.option(
        "--scheduler",
        metavar="ADDRESS",
        help="Address of a running Dask scheduler, e.g. tcp://10.0.0.5:8786.",
    ),
    click.option(
        "--scheduler-file",
        type=click.Path(dir_okay=False),
        help="Scheduler file written by `dask scheduler --scheduler-file`.",
    ),
    click.option(
        "--workers",
        type=click.IntRange(min=1),
        help="Embedded cluster: worker processes (default: Dask's choice for this machine).",
    ),
    click.option(
        "--threads-per-worker", type=click.IntRange(min=1), help="Embedded cluster: threads."
    ),
    click.option(
        "--memory-limit",
        type=_SIZE,
        help="Embedded cluster: memory per worker, e.g. 2GB (default: RAM / workers).",
    ),
    click.option("-q", "--quiet", is_flag=True, help="Print no progress bar and no summary."),
    click.option(
        "-v",
        "--verbose",
        is_flag=True,
        help="Print the cluster's warnings and a failure's traceback here (default: into a "
        "temporary file, named if the run fails).",
    ),
)
_CLUSTER = ("scheduler", "scheduler_file", "workers", "threads_per_worker", "memory_limit")


@dataclass
class _Session:
    """One run of the command: whether it is verbose, and the file that holds the
    cluster's logs (warnings and up, and what worker processes print) and, unless it is
    verbose, a failure's traceback; verbose, the logs are copied from the file to stderr
    as they come, scrubbed (``_Relay``). The file is removed after the run unless the
    run failed with something else than a user error or an interrupt (``keep``)."""

    verbose: bool = False
    log_file: str | None = None
    kept: bool = False
    #: The command line's URLs, whose credentials (``redact``) nothing shown may hold.
    urls: tuple[str, ...] = ()

    def scrub(self, text: str) -> str:
        return scrub(text, self.urls)

    @contextlib.contextmanager
    def connect(self, **cluster: Any) -> Iterator[Any]:
        """``connect(**cluster)`` with the logs going to the session's file and, with
        ``--verbose``, from there to stderr, scrubbed (``_Relay``): the worker processes
        write the file themselves, so it is the one place all their lines pass through."""
        path = self._open()
        relay = _Relay(path, self.scrub) if self.verbose else contextlib.nullcontext()
        # The relay outlasts the cluster: its shutdown's lines are relayed too.
        with relay, connect(**cluster, log_file=path, verbose=self.verbose) as client:
            yield client

    def _open(self) -> str:
        if self.log_file is None:
            fd, self.log_file = tempfile.mkstemp(prefix="mixupy-dask-", suffix=".log")
            os.close(fd)
        return self.log_file

    def keep(self, text: str) -> str:
        """Append ``text`` to the log file and keep the file; its path."""
        path = self._open()
        with open(path, "a") as file:
            file.write(text)
        # Worker processes write their logs here too: what a store's error quoted of a
        # URL given on the command line is masked before the file is handed over.
        with open(path) as file:
            logged = file.read()
        if self.scrub(logged) != logged:
            with open(path, "w") as file:
                file.write(self.scrub(logged))
        self.kept = True
        return path

    def discard(self) -> None:
        """Remove the log file, unless kept."""
        if self.log_file is not None and not self.kept:
            with contextlib.suppress(OSError):
                os.remove(self.log_file)


class _Relay:
    """While the cluster runs (``--verbose``): what is appended to the log file, copied
    to stderr with the command line's URLs scrubbed, whole lines at a time (a secret is
    never split between two writes to the terminal)."""

    #: Seconds between looks at the file.
    INTERVAL = 0.1

    def __init__(self, path: str, scrub: Callable[[str], str]) -> None:
        self.path, self.scrub = path, scrub
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._copy, name="mixupy-dask-logs", daemon=True)
        self.start = 0

    def __enter__(self) -> _Relay:
        self.start = os.path.getsize(self.path)
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.thread.join()

    def _copy(self) -> None:
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        with open(self.path, "rb") as file:
            file.seek(self.start)
            pending = ""
            while True:
                last = self.done.wait(self.INTERVAL)
                pending += decoder.decode(file.read(), final=last)
                if last:
                    text, pending = pending, ""
                else:
                    end = pending.rfind("\n") + 1
                    text, pending = pending[:end], pending[end:]
                if text:
                    try:
                        sys.stderr.write(self.scrub(text))
                        sys.stderr.flush()
                    except (OSError, ValueError):  # stderr closed: nothing to show them on
                        return
                if last:
                    return


def _session(verbose: bool = False) -> _Session:
    """The run's session (``main`` passes one as the context's object), verbose if asked."""
    session = click.get_current_context().ensure_object(_Session)
    session.verbose = session.verbose or verbose
    return session


def _progress(quiet: bool) -> Callable[[Any], None] | None:
    """Dask's own progress bar, on a terminal only."""
    if quiet or not sys.stdout.isatty():
        return None
    from distributed import progress

    return progress


def _say(quiet: bool, message: str) -> None:
    if not quiet:
        click.echo(message)


def _augment(function: str, src: str, dst: str, options: dict[str, Any], done: str) -> None:
    """Plan the job (everything checked, nothing started), connect, run, report."""
    cluster = {name: options.pop(name) for name in _CLUSTER}
    quiet, session = options.pop("quiet"), _session(options.pop("verbose"))
    for name in ("columns", "labels"):
        options[name] = _names(options[name])
    options["storage_options"], options["dst_storage_options"] = _storage(options)
    job = plan(function, src, dst, **options)
    with session.connect(**cluster) as client:
        summary = job.run(client, _progress(quiet))
    _say(
        quiet,
        f"{done} {summary.rows_in:,} rows into {summary.rows_out:,} rows "
        f"({summary.files_written} files) at {summary.dst} in {summary.seconds:.1f} s, "
        f"seed {summary.seed}",
    )
    _class_report(quiet, summary)


def _class_report(quiet: bool, summary: AugmentSummary) -> None:
    """Rows per class before and after, when rows were made per class."""
    if not summary.classes:
        return
    width = max(5, *(len(str(c)) for c, *_ in summary.classes))
    lines = [f"{'class':<{width}}  {'before':>12}  {'synthetic':>12}  {'after':>12}"]
    for c, before, made, after in summary.classes:
        lines.append(f"{c!s:<{width}}  {before:>12,}  {made:>12,}  {after:>12,}")
    _say(quiet, "\n".join(lines))


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "-V", "--version", prog_name="mixupy-dask")
def cli() -> None:
    """Exact, partition-invariant mixup augmentation of Parquet data, on one machine or a
    Dask cluster. The same seed gives the same rows, bit for bit, as mixupy_dask.mixup on
    pandas.

    \b
    Try it:
      mixupy-dask demo
      mixupy-dask make-data data.parquet --rows 1e6 --columns 10
      mixupy-dask augment data.parquet augmented.parquet --seed 1
    """


@cli.command()
@click.argument("src")
@click.argument("dst")
@_ruled(
    "--alpha",
    MIXUP_RULES["alpha"],
    MIXUP_DEFAULTS["alpha"],
    "Beta(alpha, alpha).",
)
@click.option(
    "--batch-size",
    type=_BatchSize(),
    help="Number of mixed rows, any value >= 1 (default: as many as SRC has), or mixed rows "
    "per class, e.g. a:500,b:0 (needs --labels).",
)
@click.option("--concat", is_flag=True, help="Write the original rows first, then the mixed rows.")
@click.option("--labels", metavar="A,B,...", help="Label column(s), as mixup's `labels`.")
@click.option("--within-class", is_flag=True, help="Mix rows only with rows of the same class.")
@click.option("--label-preserving", is_flag=True, help="Keep the left row's label; lambda >= 0.5.")
@click.option(
    "--sampling-strategy",
    type=_Strategy(),
    help="Balance the classes as imbalanced-learn over-samples: auto, minority, 'not "
    "minority', 'not majority', all, a ratio (two classes) or rows per class after "
    "resampling such as a:500,b:300. Writes the originals, then the synthetic rows; "
    "needs --labels and --within-class or --label-preserving.",
)
@_ruled(
    "--categorical",
    MIXUP_RULES["categorical"],
    MIXUP_DEFAULTS["categorical"],
    "Categorical and string columns: raise, dominant (the value of the parent with "
    "the larger weight), sample (the left value with probability lambda) or onehot (soft "
    "one-hot columns).",
)
@_ruled(
    "--max-categories",
    MIXUP_RULES["max_categories"],
    MIXUP_DEFAULTS["max_categories"],
    "With --categorical onehot: refuse columns with more categories than this.",
)
@_ruled(
    "--integers",
    MIXUP_RULES["integers"],
    MIXUP_DEFAULTS["integers"],
    "Integer columns: float (mixed into floats) or round (rounded half to even, in "
    "their own type, within the parents' range; bools take the dominant parent's value).",
)
@_ruled(
    "--missing",
    MIXUP_RULES["missing"],
    MIXUP_DEFAULTS["missing"],
    "Missing values: raise, propagate (missing where a parent's is) or available "
    "(the other parent's value where one is missing).",
)
@click.option(
    "--provenance",
    is_flag=True,
    help="Add the columns mixup_left, mixup_partner (input row positions) and mixup_lambda.",
)
@click.option(
    "--bandwidth",
    type=_typed(BANDWIDTH),
    default=MIXUP_DEFAULTS["bandwidth"],
    metavar="SIGMA",
    help="C-Mixup for regression: draw each row's partner by label distance, row j with "
    "weight exp(-|y_j - y_i|^2 / (2 SIGMA^2)) (needs numeric --labels; default: "
    "partners as in plain mixup).",
)
@click.option(
    "--synthetic-only",
    is_flag=True,
    help="With --sampling-strategy: write the synthetic rows only, not the originals.",
)
@_OUTPUT_OPTIONS
@_STORAGE_OPTIONS
@_CLUSTER_OPTIONS
def augment(src: str, dst: str, **options: Any) -> None:
    """Mix the rows of the Parquet file or dataset SRC into a new Parquet dataset DST.

    SRC and DST are paths or fsspec URLs (s3://, gs://, ...). DST is complete once its
    _SUCCESS manifest exists, written last; on a local disk DST is written under a
    hidden name beside itself and renamed into place. A failed run leaves nothing
    behind. Without --scheduler or --scheduler-file the work runs on an embedded local
    cluster.

    \b
    Examples:
      mixupy-dask augment train.parquet train-mixed.parquet --alpha 0.4 --seed 7
      mixupy-dask augment data/ out/ --batch-size 5e6 --columns x1,x2,y --overwrite
      mixupy-dask augment data/ out/ --workers 4 --memory-limit 2GB
      mixupy-dask augment s3://bucket/data s3://bucket/mixed --scheduler tcp://10.0.0.5:8786
      mixupy-dask augment s3://bucket/data s3://bucket/mixed \\
          --storage-option 'client_kwargs={"endpoint_url": "http://127.0.0.1:9000"}'
      mixupy-dask augment train/ balanced/ --labels y --within-class --sampling-strategy auto
      mixupy-dask augment houses/ mixed/ --labels price --bandwidth 0.5 --seed 7
    """
    synthetic_only = options.pop("synthetic_only")
    if synthetic_only and options["sampling_strategy"] is None:
        raise click.UsageError(
            "--synthetic-only applies with --sampling-strategy (without it only the mixed "
            "rows are written, unless --concat)"
        )
    if synthetic_only and options["concat"]:
        raise click.UsageError("--synthetic-only and --concat contradict each other")
    if options["sampling_strategy"] is not None:
        options["concat"] = not synthetic_only
    _augment("mixup", src, dst, options, "augmented")


@cli.command("augment-series")
@click.argument("src")
@click.argument("dst")
@click.option("--series", required=True, metavar="COL", help="Series id column.")
@click.option("--time", required=True, metavar="COL", help="Time column ordering each series.")
@_ruled(
    "--alpha",
    SERIES_RULES["alpha"],
    _default(mixup_series, "alpha"),
    "Dirichlet(alpha) weights; Beta(alpha, alpha) for k=2.",
)
@_ruled(
    "--k",
    SERIES_RULES["k"],
    _default(mixup_series, "k"),
    "Input series mixed into each output series.",
)
@click.option("--batch-size", type=_COUNT, help="Number of output series (default: as in SRC).")
@click.option(
    "--scale",
    type=click.Choice(["mean", "none"]),
    default=_default(mixup_series, "scale"),
    show_default=True,
    callback=lambda ctx, param, value: None if value == "none" else value,
    help="Divide each series by its mean |value| before mixing, or mix raw values.",
)
@click.option("--labels", metavar="A,B,...", help="Series-level numeric label columns.")
@_ruled(
    "--categorical",
    SERIES_RULES["categorical"],
    _default(mixup_series, "categorical"),
    "Categorical and string columns constant within each series: raise, or dominant "
    "(each output series takes its series of largest weight's value).",
)
@_OUTPUT_OPTIONS
@_STORAGE_OPTIONS
@_CLUSTER_OPTIONS
def augment_series(src: str, dst: str, **options: Any) -> None:
    """Mix whole time series of the long-format Parquet data SRC into a new dataset DST.

    SRC has one row per (series, time step). Each output series is a Dirichlet-weighted
    sum of K input series, ordered by time and aligned step by step (TSMixup); DST has
    the SERIES column (new ids 0, 1, ...), the TIME column (step 0, 1, ...) and the
    value columns. DST is committed as by `augment`, its _SUCCESS manifest last.
    Without --scheduler or --scheduler-file the work runs on an embedded local cluster.

    \b
    Examples:
      mixupy-dask augment-series sensors.parquet mixed/ --series id --time ts --seed 7
      mixupy-dask augment-series data/ out/ --series id --time ts --k 3 --alpha 0.5 \\
          --batch-size 1e5 --labels class_a,class_b --overwrite
    """
    _augment("mixup_series", src, dst, options, "mixed the series of")


@cli.command("make-data")
@click.argument("dst")
@click.option("--rows", type=_COUNT, required=True, help="Number of rows, e.g. 1e6.")
@click.option("--columns", type=_COUNT, required=True, help="Number of float64 features.")
@_ruled(
    "--classes",
    MAKE_DATA_RULES["classes"],
    _default(_datasets.make_data, "classes"),
    "Add a categorical `label` column with this many classes (0: none).",
)
@click.option("--partitions", type=_COUNT, help="Number of files (default: sized like augment's).")
@_ruled("--seed", MAKE_DATA_RULES["seed"], _default(_datasets.make_data, "seed"))
@click.option("--overwrite", is_flag=True, help="Replace DST once the new data set is complete.")
@_STORAGE_OPTIONS
@_CLUSTER_OPTIONS
def make_data(dst: str, **options: Any) -> None:
    """Write a synthetic Parquet dataset DST: normal features, optionally with classes.

    Each file is generated and written on its own (out of core, any size), from its
    own random stream: the same options give the same data on any cluster.

    \b
    Examples:
      mixupy-dask make-data data.parquet --rows 1e6 --columns 10
      mixupy-dask make-data big/ --rows 3e8 --columns 20 --classes 3 --workers 4
    """
    cluster = {name: options.pop(name) for name in _CLUSTER}
    quiet, session = options.pop("quiet"), _session(options.pop("verbose"))
    # DST is make-data's only dataset: either option names its storage options.
    both, own = _storage(options)
    options["storage_options"] = own or both or {}
    Destination.check(dst, options["storage_options"], options["overwrite"])  # before a cluster
    with session.connect(**cluster) as client:
        files = _datasets.make_data(dst, client=client, progress=_progress(quiet), **options)
    _say(quiet, f"wrote {options['rows']:,} rows x {options['columns']} columns ({files} files)")


@cli.command()
@click.option("--alpha", type=float, default=0.4, show_default=True, help="Beta(alpha, alpha).")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("-q", "--quiet", is_flag=True, help="Print nothing.")
def demo(alpha: float, seed: int, quiet: bool) -> None:
    """Augment the iris data shipped with the package on an embedded local cluster.

    Writes iris to a temporary Parquet dataset, runs it through the same path as
    `augment`, prints per-column statistics before and after, and cleans up.

    \b
    Example:
      mixupy-dask demo --alpha 1.0
    """
    iris = _datasets.load_iris()
    with tempfile.TemporaryDirectory(prefix="mixupy-dask-demo-") as tmp:
        src, dst = os.path.join(tmp, "iris.parquet"), os.path.join(tmp, "augmented.parquet")
        iris.to_parquet(src, index=False)
        # species becomes soft one-hot labels, mixed with the same weights as the features
        job = plan("mixup", src, dst, alpha=alpha, seed=seed, labels="species")
        with _session().connect(workers=2, threads_per_worker=1) as client:
            summary = job.run(client, _progress(quiet))
        after = pd.read_parquet(dst)
    if quiet:
        return
    stats = pd.concat(
        {
            "before": pd.get_dummies(iris, columns=["species"])
            .astype(float)
            .agg(["mean", "min", "max"])
            .T,
            "after": after.agg(["mean", "min", "max"]).T,
        },
        axis=1,
    )
    click.echo(
        f"iris: {summary.rows_in} rows in, {summary.rows_out} mixed rows out "
        f"(alpha={alpha}, seed={seed}, {summary.seconds:.1f} s)\n"
    )
    click.echo(stats.round(3).to_string())
    click.echo("\nfirst mixed rows:")
    click.echo(after.head().round(3).to_string())


class _Terminated(BaseException):
    """SIGTERM, raised in the main thread like Ctrl-C's ``KeyboardInterrupt``.

    A ``BaseException`` so that no ``except Exception`` swallows it on the way out.
    """


@contextlib.contextmanager
def _sigterm_unwinds() -> Iterator[None]:
    """Turn SIGTERM into ``_Terminated`` while the command runs.

    Python's default for SIGTERM ends the process at once: no ``finally`` block runs,
    so the hidden output directory stays behind and the embedded cluster's worker
    processes are not shut down. Raising instead unwinds the command the way Ctrl-C
    does. Only the first SIGTERM raises: later ones are ignored so that they cannot
    cut the clean-up short (SIGKILL remains for a process that must die now).
    """

    def handler(signum: int, frame: Any) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise _Terminated

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread (main() called from a thread): leave it be
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _flags() -> dict[str, str]:
    """Python parameter name -> the option that sets it, over every command."""
    flags = {}
    for command in cli.commands.values():
        for param in command.params:
            for opt in param.opts:
                if opt.startswith("--"):
                    flags[opt[2:].replace("-", "_")] = opt
    return flags


def _as_options(message: str) -> str:
    """The library names parameters as in Python (`batch_size`, `within_class=True`);
    on the command line they are options: --batch-size, --within-class."""
    flags = _flags()

    def option(match: re.Match[str]) -> str:
        return flags.get(match.group(1), match.group(0))

    def option_value(match: re.Match[str]) -> str:
        flag = flags.get(match.group(1))
        return f"{flag} {match.group(2)}" if flag else match.group(0)

    message = re.sub(r"`(\w+)='(\w+)'`", option_value, message)  # `missing='raise'`
    return re.sub(r"`(\w+)(?:=True)?`", option, message)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit status (the console script exits with it).

    Interrupted runs remove their partial output and exit with 128 + the signal's
    number, as shells report it: 130 for SIGINT (Ctrl-C), 143 for SIGTERM. Every
    outcome but success prints one ``error:`` line; a failure of ours (status 1) adds
    a line naming the file that holds its traceback and the cluster's logs, unless
    ``--verbose`` printed them.
    """
    given = sys.argv[1:] if argv is None else argv
    session = _Session(urls=tuple(str(a) for a in given if "://" in str(a)))
    try:
        return _run(argv, session)
    finally:
        session.discard()


def _run(argv: Sequence[str] | None, session: _Session) -> int:
    try:
        with _sigterm_unwinds():
            result = cli.main(
                args=argv, prog_name="mixupy-dask", standalone_mode=False, obj=session
            )
    except click.exceptions.Exit as exc:  # --help, --version
        return exc.exit_code
    except click.ClickException as exc:  # usage errors and bad option values
        click.echo(f"error: {session.scrub(exc.format_message())}", err=True)
        return EXIT_USER_ERROR
    except MixupError as exc:  # bad data or option values, found before or during the run
        click.echo(f"error: {session.scrub(_as_options(str(exc)))}", err=True)
        return EXIT_USER_ERROR
    except (KeyboardInterrupt, click.exceptions.Abort):
        click.echo("error: interrupted", err=True)
        return 128 + signal.SIGINT
    except _Terminated:
        click.echo("error: terminated", err=True)
        return 128 + signal.SIGTERM
    except Exception as exc:
        if session.verbose:
            click.echo(session.scrub(traceback.format_exc()), err=True, nl=False)
        lines = session.scrub(str(exc)).strip().splitlines() or [""]
        more = " ..." if len(lines) > 1 else ""
        click.echo(f"error: {type(exc).__name__}: {lines[0]}{more}", err=True)
        if not session.verbose:
            path = session.keep(traceback.format_exc())
            click.echo(f"the traceback and the cluster's logs are in {path}", err=True)
        return EXIT_FAILURE
    return result if isinstance(result, int) else 0


if __name__ == "__main__":  # worker processes re-import __main__: keep start-up here
    sys.exit(main())

"""The ``mixupy-dask`` command: augment Parquet data sets on a laptop or a Dask cluster.

A thin click layer over the library: each command turns its options into the
arguments of ``augment_parquet``, ``augment_series_parquet`` or ``make_data``, checks
everything (options, the data's footers, the destination) before it starts a
cluster, and runs on ``connect``'s client. User errors (bad options, missing or
unreadable data, non-numeric columns, non-finite values found during the run) print
one ``error: ...`` line on stderr, with parameters named as the command's options,
and exit with status 2; anything else exits with status 1.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import sys
import tempfile
import traceback
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import click
import pandas as pd
from dask.utils import format_bytes, parse_bytes

from . import __version__, _datasets
from ._balancing import STRATEGIES, ClassNames
from ._cluster import connect
from ._commit import Destination
from ._job import AugmentSummary, Job, plan_rows, plan_series
from ._source import DEFAULT_BLOCKSIZE
from ._validation import MAX_K
from .errors import MixupError

#: Exit statuses: 2 for anything the user can fix, 1 for failures of ours or the system.
EXIT_USER_ERROR = 2
EXIT_FAILURE = 1


class _Bytes(click.ParamType):
    """A size such as ``400MB``, ``2GiB`` or a plain number of bytes."""

    name = "size"

    def convert(self, value, param, ctx):
        if isinstance(value, int):
            return value
        try:
            size = parse_bytes(value)
        except (ValueError, TypeError):
            self.fail(f"{value!r} is not a size such as 400MB or 2GiB", param, ctx)
        if size < 1:
            self.fail(f"{value!r} must be a positive size", param, ctx)
        return size


class _Count(click.ParamType):
    """A positive whole number, also written as ``1e6`` or ``1_000_000``."""

    name = "integer"

    def convert(self, value, param, ctx):
        if isinstance(value, int):
            number = value
        else:
            try:
                number = float(str(value).replace("_", ""))
            except ValueError:
                self.fail(f"{value!r} is not a whole number", param, ctx)
            if not number.is_integer():
                self.fail(f"{value!r} is not a whole number", param, ctx)
            number = int(number)
        if number < 1:
            self.fail(f"{value!r} must be at least 1", param, ctx)
        return number


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


class _BatchSize(click.ParamType):
    """A number of rows (``1e6``), or rows per class (``a:500,b:0`` or JSON)."""

    name = "rows"

    def convert(self, value, param, ctx):
        if isinstance(value, (int, dict)):
            return value
        if ":" in str(value):
            rows = _class_rows(str(value))
            if rows is None:
                self.fail(f"{value!r} is not rows per class such as a:500,b:300", param, ctx)
            return rows
        return _Count().convert(value, param, ctx)


class _Strategy(click.ParamType):
    """``auto`` and the other strategy names, a ratio such as ``0.5``, or ``a:500,b:300``."""

    name = "strategy"

    def convert(self, value, param, ctx):
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


class _Seed(click.ParamType):
    """A seed: ``42``, or ``42,3`` for ``(base, epoch)`` as the Python API takes it."""

    name = "seed"

    def convert(self, value, param, ctx):
        if isinstance(value, (int, tuple)):
            return value
        try:
            parts = tuple(int(p) for p in str(value).split(","))
        except ValueError:
            self.fail(f"{value!r} is not an int or comma-separated ints such as 42,3", param, ctx)
        if any(p < 0 for p in parts):
            self.fail(f"{value!r} must be non-negative", param, ctx)
        return parts[0] if len(parts) == 1 else parts


SEED_OPTION = click.option(
    "--seed",
    type=_Seed(),
    help="Fixes the output bit for bit; BASE,EPOCH for independent epochs (default: "
    "fresh, printed in the summary).",
)
BLOCKSIZE_OPTION = click.option(
    "--blocksize",
    type=_Bytes(),
    help="Target uncompressed size of a partition, e.g. 32MiB; partitions are whole row "
    "groups (default: 1/64 of a worker thread's memory, at most "
    f"{format_bytes(DEFAULT_BLOCKSIZE)}).",
)
OVERWRITE_OPTION = click.option(
    "--overwrite", is_flag=True, help="Replace DST once the new output is complete."
)


def _names(value: str | None) -> list[str] | None:
    """``"a,b, c"`` → ``["a", "b", "c"]``."""
    if value is None:
        return None
    names = [name.strip() for name in value.split(",") if name.strip()]
    if not names:
        raise click.BadParameter("give one or more comma-separated column names")
    return names


def _cluster_options(command: Callable) -> Callable:
    """The options choosing where the work runs, shared by the commands that compute."""
    options = [
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
            "--threads-per-worker",
            type=click.IntRange(min=1),
            help="Embedded cluster: threads per worker.",
        ),
        click.option(
            "--memory-limit",
            type=_Bytes(),
            help="Embedded cluster: memory per worker, e.g. 2GB (default: RAM / workers).",
        ),
        click.option("-q", "--quiet", is_flag=True, help="Print no progress bar and no summary."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _progress(quiet: bool) -> Callable[[Any], None] | None:
    """Dask's own progress bar, on a terminal only."""
    if quiet or not sys.stdout.isatty():
        return None
    from distributed import progress

    return progress


def _say(quiet: bool, message: str) -> None:
    if not quiet:
        click.echo(message)


def _report(quiet: bool, done: str, summary: AugmentSummary, dst: str) -> None:
    """The one-line summary of a finished run: ``done`` N rows into M rows ..."""
    _say(
        quiet,
        f"{done} {summary.rows_in:,} rows into {summary.rows_out:,} rows "
        f"({summary.files_written} files) at {dst} in {summary.seconds:.1f} s, "
        f"seed {summary.seed}",
    )


def _class_report(quiet: bool, summary: AugmentSummary) -> None:
    """Rows per class before and after, when rows were made per class."""
    if not summary.classes:
        return
    width = max(5, *(len(str(c)) for c, *_ in summary.classes))
    lines = [f"{'class':<{width}}  {'before':>12}  {'synthetic':>12}  {'after':>12}"]
    for c, before, made, after in summary.classes:
        lines.append(f"{c!s:<{width}}  {before:>12,}  {made:>12,}  {after:>12,}")
    _say(quiet, "\n".join(lines))


def _run(job: Job, cluster: dict[str, Any], quiet: bool) -> AugmentSummary:
    """Run a planned job on the cluster the options choose, with a progress bar."""
    with connect(**cluster) as client:
        return job.run(client, _progress(quiet))


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
@click.option("--alpha", type=float, default=4.0, show_default=True, help="Beta(alpha, alpha).")
@click.option(
    "--batch-size",
    type=_BatchSize(),
    help="Number of mixed rows, any value >= 1 (default: as many as SRC has), or mixed rows "
    "per class, e.g. a:500,b:0 (needs --labels).",
)
@click.option("--concat", is_flag=True, help="Write the original rows first, then the mixed rows.")
@SEED_OPTION
@click.option("--columns", metavar="A,B,...", help="Columns to read and mix (default: all).")
@click.option("--labels", metavar="A,B,...", help="Label column(s), passed to mixup.")
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
@click.option(
    "--synthetic-only",
    is_flag=True,
    help="With --sampling-strategy: write the synthetic rows only, not the originals.",
)
@OVERWRITE_OPTION
@BLOCKSIZE_OPTION
@_cluster_options
def augment(
    src: str,
    dst: str,
    alpha: float,
    batch_size: int | None,
    concat: bool,
    seed: int | tuple[int, ...] | None,
    columns: str | None,
    labels: str | None,
    within_class: bool,
    label_preserving: bool,
    sampling_strategy: str | float | dict | None,
    synthetic_only: bool,
    overwrite: bool,
    blocksize: int | None,
    quiet: bool,
    **cluster: Any,
) -> None:
    """Mix the rows of the Parquet file or dataset SRC into a new Parquet dataset DST.

    SRC and DST are paths or fsspec URLs (s3://, gs://, ...). DST is written beside
    itself under a hidden name and renamed into place when complete, so a failed run
    leaves nothing behind. Without --scheduler or --scheduler-file the work runs on an
    embedded local cluster.

    \b
    Examples:
      mixupy-dask augment train.parquet train-mixed.parquet --alpha 0.4 --seed 7
      mixupy-dask augment data/ out/ --batch-size 5e6 --columns x1,x2,y --overwrite
      mixupy-dask augment data/ out/ --workers 4 --memory-limit 2GB
      mixupy-dask augment s3://bucket/data s3://bucket/mixed --scheduler tcp://10.0.0.5:8786
      mixupy-dask augment train/ balanced/ --labels y --within-class --sampling-strategy auto
    """
    if synthetic_only and sampling_strategy is None:
        raise click.UsageError(
            "--synthetic-only applies with --sampling-strategy (without it only the mixed "
            "rows are written, unless --concat)"
        )
    if synthetic_only and concat:
        raise click.UsageError("--synthetic-only and --concat contradict each other")
    if sampling_strategy is not None:
        concat = not synthetic_only
    names = _names(labels)
    job = plan_rows(
        src,
        dst,
        alpha=alpha,
        concat=concat,
        batch_size=batch_size,
        seed=seed,
        labels=names[0] if names and len(names) == 1 else names,
        within_class=within_class,
        label_preserving=label_preserving,
        sampling_strategy=sampling_strategy,
        columns=_names(columns),
        overwrite=overwrite,
        blocksize=blocksize,
    )
    summary = _run(job, cluster, quiet)
    _report(quiet, "augmented", summary, dst)
    _class_report(quiet, summary)


@cli.command("augment-series")
@click.argument("src")
@click.argument("dst")
@click.option("--series", required=True, metavar="COL", help="Series id column.")
@click.option(
    "--time", "time_column", required=True, metavar="COL", help="Time column ordering each series."
)
@click.option(
    "--alpha",
    type=float,
    default=1.5,
    show_default=True,
    help="Dirichlet(alpha) weights; Beta(alpha, alpha) for k=2.",
)
@click.option(
    "--k",
    type=click.IntRange(1, MAX_K),
    default=2,
    show_default=True,
    help="Input series mixed into each output series.",
)
@click.option(
    "--batch-size",
    type=_Count(),
    help="Number of output series (default: as many as SRC has).",
)
@click.option(
    "--scale",
    type=click.Choice(["mean", "none"]),
    default="mean",
    show_default=True,
    help="Divide each series by its mean |value| before mixing, or mix raw values.",
)
@SEED_OPTION
@click.option(
    "--labels", metavar="A,B,...", help="Series-level numeric label columns (soft labels)."
)
@click.option(
    "--columns", metavar="A,B,...", help="Columns to read (default: all), with SERIES and TIME."
)
@OVERWRITE_OPTION
@BLOCKSIZE_OPTION
@_cluster_options
def augment_series(
    src: str,
    dst: str,
    series: str,
    time_column: str,
    alpha: float,
    k: int,
    batch_size: int | None,
    scale: str,
    seed: int | tuple[int, ...] | None,
    labels: str | None,
    columns: str | None,
    overwrite: bool,
    blocksize: int | None,
    quiet: bool,
    **cluster: Any,
) -> None:
    """Mix whole time series of the long-format Parquet data SRC into a new dataset DST.

    SRC has one row per (series, time step). Each output series is a Dirichlet-weighted
    sum of K input series, ordered by time and aligned step by step (TSMixup); DST has
    the SERIES column (new ids 0, 1, ...), the TIME column (step 0, 1, ...) and the
    value columns. DST is written under a hidden name and renamed into place when
    complete. Without --scheduler or --scheduler-file the work runs on an embedded
    local cluster.

    \b
    Examples:
      mixupy-dask augment-series sensors.parquet mixed/ --series id --time ts --seed 7
      mixupy-dask augment-series data/ out/ --series id --time ts --k 3 --alpha 0.5 \\
          --batch-size 1e5 --labels class_a,class_b --overwrite
    """
    job = plan_series(
        src,
        dst,
        series=series,
        time=time_column,
        alpha=alpha,
        k=k,
        batch_size=batch_size,
        scale=None if scale == "none" else scale,
        seed=seed,
        labels=_names(labels),
        columns=_names(columns),
        overwrite=overwrite,
        blocksize=blocksize,
    )
    _report(quiet, "mixed the series of", _run(job, cluster, quiet), dst)


@cli.command("make-data")
@click.argument("dst")
@click.option("--rows", type=_Count(), required=True, help="Number of rows, e.g. 1e6.")
@click.option("--columns", type=_Count(), required=True, help="Number of float64 features.")
@click.option(
    "--classes",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Add a categorical `label` column with this many classes (0: none).",
)
@click.option(
    "--partitions",
    type=_Count(),
    help="Number of files (default: sized like augment's --blocksize).",
)
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True)
@OVERWRITE_OPTION
@_cluster_options
def make_data_command(
    dst: str,
    rows: int,
    columns: int,
    classes: int,
    partitions: int | None,
    seed: int,
    overwrite: bool,
    quiet: bool,
    **cluster: Any,
) -> None:
    """Write a synthetic Parquet dataset DST: normal features, optionally with classes.

    Each file is generated and written on its own (out of core, any size), from its
    own random stream: the same options give the same data on any cluster.

    \b
    Examples:
      mixupy-dask make-data data.parquet --rows 1e6 --columns 10
      mixupy-dask make-data big/ --rows 3e8 --columns 20 --classes 3 --workers 4
    """
    Destination.check(dst, {}, overwrite)  # before a cluster starts, as everywhere
    with connect(**cluster) as client:
        files = _datasets.make_data(
            dst,
            rows,
            columns,
            classes=classes,
            partitions=partitions,
            seed=seed,
            overwrite=overwrite,
            client=client,
            progress=_progress(quiet),
        )
    _say(quiet, f"wrote {rows:,} rows x {columns} columns ({files} files) to {dst}")


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
        job = plan_rows(src, dst, alpha=alpha, seed=seed, labels="species")
        summary = _run(job, {"workers": 2, "threads_per_worker": 1}, quiet)
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

    def option(match: re.Match) -> str:
        return flags.get(match.group(1), match.group(0))

    return re.sub(r"`(\w+)(?:=True)?`", option, message)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit status (the console script exits with it).

    Interrupted runs remove their partial output and exit with 128 + the signal's
    number, as shells report it: 130 for SIGINT (Ctrl-C), 143 for SIGTERM.
    """
    try:
        with _sigterm_unwinds():
            result = cli.main(args=argv, prog_name="mixupy-dask", standalone_mode=False)
    except click.exceptions.Exit as exc:  # --help, --version
        return exc.exit_code
    except click.ClickException as exc:  # usage errors and bad option values
        click.echo(f"error: {exc.format_message()}", err=True)
        return EXIT_USER_ERROR
    except MixupError as exc:  # bad data or option values, found before or during the run
        click.echo(f"error: {_as_options(str(exc))}", err=True)
        return EXIT_USER_ERROR
    except (KeyboardInterrupt, click.exceptions.Abort):
        click.echo("error: interrupted", err=True)
        return 128 + signal.SIGINT
    except _Terminated:
        click.echo("error: terminated", err=True)
        return 128 + signal.SIGTERM
    except Exception as exc:
        traceback.print_exc()
        click.echo(f"error: {type(exc).__name__}: {exc}", err=True)
        return EXIT_FAILURE
    return result if isinstance(result, int) else 0


if __name__ == "__main__":  # worker processes re-import __main__: keep start-up here
    sys.exit(main())

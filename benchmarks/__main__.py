"""Run the benchmark suite: ``python -m benchmarks [--quick | --large] [--out DIR]``.

``--sections object-store`` (or ``s3``) times S3, GCS, Azure and local disk alone and
writes ``results-object-store.{json,md}`` only.

Cluster start-up happens only under ``if __name__ == "__main__":`` because worker
processes re-import the main module.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from typing import Any

from dask.utils import parse_bytes

from . import (
    balancing,
    graph,
    in_memory,
    mixed,
    object_store,
    parquet_route,
    parquet_variants,
    peak_memory,
    report,
    small_classes,
    variants,
)
from .timing import machine

SECTIONS = (
    "in-memory",
    "memory",
    "variants",
    "mixed",
    "graph",
    "parquet",
    "parquet-variants",
    "object-store",
    "balancing",
    "small-classes",
)
#: Run only when asked for (``--sections small-classes``): it times CLI runs too.
OPT_IN = ("small-classes",)
#: Other names of sections: ``s3`` is what the object-store section was called when it
#: timed S3 alone.
ALIASES = {"s3": "object-store"}
HERE = os.path.dirname(os.path.abspath(__file__))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Time mixupy_dask against its peers and write results.{json,md,png}.",
    )
    size = parser.add_mutually_exclusive_group()
    size.add_argument(
        "--quick", action="store_true", help="Tiny sizes (a few MB), for tests: seconds."
    )
    size.add_argument(
        "--large", action="store_true", help="Also 1e7 rows in memory (needs ~10 GB RAM)."
    )
    parser.add_argument(
        "--out", default=HERE, help="Directory for the results (default: benchmarks/)."
    )
    parser.add_argument(
        "--repeats", type=int, default=3, help="Repetitions per figure (default: 3)."
    )
    parser.add_argument(
        "--base-size",
        default=None,
        help="Parquet route: in-memory size of the 1x data set, e.g. 1GB "
        "(default: 1GB, or 2MB with --quick).",
    )
    parser.add_argument(
        "--s3-base-size",
        "--store-base-size",
        dest="s3_base_size",
        default=None,
        help="object-store: in-memory size of the 1x data set on each store "
        "(default: 128MB, or 1MB with --quick).",
    )
    parser.add_argument(
        "--sections",
        default=",".join(s for s in SECTIONS if s not in OPT_IN),
        help=f"Comma-separated subset of: {', '.join(SECTIONS)} (default: all but "
        f"{', '.join(OPT_IN)}; s3 is object-store). object-store, balancing and "
        "small-classes also write results files of their own; run alone, only those.",
    )
    parser.add_argument(
        "--smote-timeout",
        type=float,
        default=900.0,
        help="balancing: stop SMOTE after this many seconds (default: 900).",
    )
    parser.add_argument(
        "--balancing-rows",
        default=None,
        help="balancing: rows of the Parquet run, e.g. 6e7 (default: 1.5 GiB of data, "
        "or 2e4 with --quick).",
    )
    parser.add_argument(
        "--workdir",
        default=None,
        help="Directory for the generated Parquet data (default: a temporary directory).",
    )
    return parser


def _log_targets(log: Any, targets: list[dict[str, Any]], digits: int = 2) -> None:
    """One line per target: its value against its bound, met or not."""
    for t in targets:
        log(
            f"target     {t['target']}: {t['value']:.{digits}f} ({t['bound']}) "
            f"{'met' if t['met'] else 'NOT met'}"
        )


def _noise(results: dict[str, Any]) -> dict[str, Any]:
    """How far repetitions of the same figure were apart: (max - min) / median."""
    spreads = []
    for row in results.get("in_memory") or []:
        spreads.append((row, f"in-memory {row['method']} {row['rows']:,} rows"))
    for row in results.get("variants") or []:
        if not row.get("skipped"):
            spreads.append((row, f"variant {row['variant']}"))
    for row in (results.get("parquet") or {}).get("results") or []:
        spreads.append((row, f"Parquet {row['method']} {row['scale']}x"))
    for row in results.get("parquet_variants") or []:
        spreads.append((row, f"Parquet variant {row['variant']}"))
    for row in (results.get("object_store") or {}).get("results") or []:
        spreads.append((row, f"{row['store']} {row['method']} {row['scale']}x"))
    if not spreads:
        return {"widest_spread": 0.0, "median_spread": 0.0, "where": "nothing timed"}
    values = sorted(((r["max"] - r["min"]) / r["median"], where) for r, where in spreads)
    return {
        "widest_spread": values[-1][0],
        "where": values[-1][1],
        "median_spread": values[len(values) // 2][0],
    }


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    sections = [ALIASES.get(s, s) for s in sections]
    unknown = sorted(set(sections) - set(SECTIONS))
    if unknown or args.repeats < 1:
        _parser().error(f"unknown sections {unknown}" if unknown else "--repeats must be >= 1")
    if args.quick:
        sizes, memory_sizes, variant_rows = [10**3, 10**4], [10**4], 10**4
        widths: tuple[tuple[int, int], ...] = ((10**3, 3),)
        base = parse_bytes(args.base_size or "2MB")
        s3_base = parse_bytes(args.s3_base_size or "1MB")
    else:
        sizes = [10**4, 10**5, 10**6] + ([10**7] if args.large else [])
        widths = ((10**6, 3), (10**6, 100))
        memory_sizes, variant_rows = [10**6] + ([10**7] if args.large else []), 10**6
        base = parse_bytes(args.base_size or "1GB")
        s3_base = parse_bytes(args.s3_base_size or "128MB")

    def log(message: str) -> None:
        print(message, flush=True)

    if args.workdir:
        os.makedirs(args.workdir, exist_ok=True)
    results: dict[str, Any] = {
        "argv": list(sys.argv[1:] if argv is None else argv),
        "repeats": args.repeats,
        "machine": machine(),
        "when_utc": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    if "in-memory" in sections:
        results["in_memory"] = in_memory.run(sizes, args.repeats, log, widths)
    if "memory" in sections:
        results["peak_memory"] = peak_memory.run(memory_sizes, log)
    if "variants" in sections:
        results["variants"] = variants.run(variant_rows, args.repeats, log)
    if "mixed" in sections:
        mixed_rows, mixed_parquet_rows = (20_000, 20_000) if args.quick else (10**6, 2 * 10**6)
        with tempfile.TemporaryDirectory(prefix="mixupy-bench-mixed-", dir=args.workdir) as work:
            results["mixed"] = mixed.run(mixed_rows, mixed_parquet_rows, args.repeats, work, log)
    if "graph" in sections:
        results["graph"] = graph.run([100] if args.quick else [1000, 10000], args.repeats, log)
    if "parquet" in sections:
        with tempfile.TemporaryDirectory(prefix="mixupy-bench-", dir=args.workdir) as work:
            results["parquet"] = parquet_route.run(base, args.repeats, work, log)
    if "parquet-variants" in sections:
        with tempfile.TemporaryDirectory(prefix="mixupy-bench-var-", dir=args.workdir) as work:
            results["parquet_variants"] = parquet_variants.run(base, args.repeats, work, log)
    if "object-store" in sections:
        log(f"object     load average at start {machine()['load_average']}")
        with tempfile.TemporaryDirectory(prefix="mixupy-bench-obj-", dir=args.workdir) as work:
            found = object_store.run(s3_base, args.repeats, work, log)
        found.update(
            argv=results["argv"],
            repeats=args.repeats,
            machine=results["machine"],
            when_utc=results["when_utc"],
            load_average_after=machine()["load_average"],
        )
        found["targets"] = object_store.targets(found)
        found["noise"] = _noise({"object_store": found})
        results["object_store"] = found
        log(f"object     load average at end {found['load_average_after']}")
        _log_targets(log, found["targets"], digits=3)
        log(f"wrote {', '.join(object_store.write(found, args.out).values())}")
        if sections == ["object-store"]:  # leave the other sections' committed results be
            return 0
    if "small-classes" in sections:
        with tempfile.TemporaryDirectory(prefix="mixupy-small-", dir=args.workdir) as work:
            found = small_classes.run(args.repeats, work, log, every=20 if args.quick else 1)
        found.update(machine=results["machine"], when_utc=results["when_utc"])
        log(f"wrote {', '.join(small_classes.write(found, args.out).values())}")
        if sections == ["small-classes"]:  # leave the other sections' committed results be
            return 0
    if "balancing" in sections:
        if args.quick:
            balance_sizes, balance_rows, balance_files = [2000, 10**4], 20_000, 4
        else:
            balance_sizes = [10**5, 10**6] + ([10**7] if args.large else [])
            default_rows = int(1.5 * 2**30 / ((balancing.COLUMNS + 1) * 8))
            balance_rows = int(float(args.balancing_rows or default_rows))
            balance_files = max(4, balance_rows // 10**6)
        found = {
            "when_utc": results["when_utc"],
            "machine": results["machine"],
            "in_memory": balancing.run(balance_sizes, args.repeats, log, args.smote_timeout),
        }
        with tempfile.TemporaryDirectory(prefix="mixupy-balance-", dir=args.workdir) as work:
            found["parquet"] = balancing.run_parquet(balance_rows, balance_files, work, log)
        found["targets"] = balancing.targets(found)
        results["balancing"] = found
        _log_targets(log, found["targets"])
        log(f"wrote {', '.join(balancing.write(found, args.out).values())}")
        if sections == ["balancing"]:  # leave the other sections' committed results be
            return 0
    results["load_average_after"] = machine()["load_average"]
    results["targets"] = report.targets(results)
    results["noise"] = _noise(results)
    paths = report.write(results, args.out)
    _log_targets(log, results["targets"])
    log(f"wrote {', '.join(paths.values())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

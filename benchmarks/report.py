"""Write the results: ``results.json`` (everything), ``results.md`` (tables), ``results.png``."""

from __future__ import annotations

import json
import os
from typing import Any

from dask.utils import format_bytes

from . import in_memory, object_store, parquet_route

__all__ = ["targets", "write"]

#: Columns of the in-memory tables the targets are read from.
COLUMNS = 10
#: The performance targets (issue #17), and how each is read from the results.
IN_MEMORY_TARGET_ROWS = 10**6
#: Time over the numpy floor: at most this at 1e5 rows and more, ...
FLOOR_RATIO_MAX = 1.2
#: ... and this below, where fixed costs (validation, frame construction) dominate.
SMALL_FLOOR_RATIO_MAX = 2.0
SMALL_ROWS = 10**4
MIXUPY_SPEEDUP_MIN = 5.0
#: Parquet route time over a plain p2p hash shuffle + write of the same data.
SHUFFLE_RATIO_MAX = 1.1
SCALING_4X_MAX = 4.2
#: A mixed-type table's time over an all-numeric one of the same width.
MIXED_RATIO_MAX = 1.3
#: Peak worker memory counts as bounded when 4x the data needs at most this many
#: times the peak memory of 1x (it would be 4x if a worker held O(n)).
MEMORY_GROWTH_MAX = 1.5


def _gb(nbytes: float | None) -> str:
    return "-" if nbytes is None else format_bytes(int(nbytes))


def _secs(row: dict[str, Any]) -> str:
    return f"{row['median']:.3g} s ({row['min']:.3g} to {row['max']:.3g})"


def _ratio(value: float | None) -> str:
    return "unknown" if value is None else f"{value:.2f}x"


def _bound(bound: float | str) -> str:
    """A variant's bound: a ratio, or why there is none (``REPORT_ONLY``)."""
    return bound if isinstance(bound, str) else f"{bound:.2f}"


def _pick(table: list[dict[str, Any]], **where: Any) -> dict[str, Any] | None:
    for row in table:
        if all(row.get(k) == v for k, v in where.items()):
            return row
    return None


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Each performance target: the measured value, the bound and whether it is met."""
    found = []
    memory = [r for r in results.get("in_memory") or [] if r["columns"] == COLUMNS]
    if memory:
        sizes = sorted({r["rows"] for r in memory})
        for rows in sizes:
            row = _pick(memory, method="mixupy_dask", rows=rows)
            bound = SMALL_FLOOR_RATIO_MAX if rows <= SMALL_ROWS else FLOOR_RATIO_MAX
            found.append(
                {
                    "target": f"in-memory time / numpy floor at {rows:,} x 10",
                    "value": row["vs_floor"],
                    "bound": f"<= {bound}",
                    "met": row["vs_floor"] <= bound,
                }
            )
        n = IN_MEMORY_TARGET_ROWS if IN_MEMORY_TARGET_ROWS in sizes else sizes[-1]
        ours = _pick(memory, method="mixupy_dask", rows=n)
        found.append(
            {
                "target": f"mixupy time / mixupy_dask time at {n:,} x 10",
                "value": ours["mixupy_over_this"],
                "bound": f">= {MIXUPY_SPEEDUP_MIN}",
                "met": ours["mixupy_over_this"] >= MIXUPY_SPEEDUP_MIN,
            }
        )
    parquet = (results.get("parquet") or {}).get("results") or []
    ours = [r for r in parquet if r["method"] == "mixupy_dask"]
    if ours:
        worst = max(ours, key=lambda r: r["vs_hash_shuffle"])
        found.append(
            {
                "target": "Parquet route time / p2p hash shuffle + write (worst size)",
                "value": worst["vs_hash_shuffle"],
                "bound": f"<= {SHUFFLE_RATIO_MAX}",
                "met": worst["vs_hash_shuffle"] <= SHUFFLE_RATIO_MAX,
            }
        )
        worst = max(ours, key=lambda r: r["vs_shuffle_and_read"])
        found.append(
            {
                "target": "(design floor) Parquet route time / (hash shuffle + one more read)",
                "value": worst["vs_shuffle_and_read"],
                "bound": f"<= {SHUFFLE_RATIO_MAX}",
                "met": worst["vs_shuffle_and_read"] <= SHUFFLE_RATIO_MAX,
            }
        )
        largest = max(ours, key=lambda r: r["scale"])
        found.append(
            {
                "target": f"Parquet route time at {largest['scale']}x / time at 1x",
                "value": largest["vs_own_1x"],
                "bound": f"<= {SCALING_4X_MAX}",
                "met": largest["vs_own_1x"] <= SCALING_4X_MAX,
            }
        )
        smallest = min(ours, key=lambda r: r["scale"])
        if largest["peak_worker_memory_bytes"] and smallest["peak_worker_memory_bytes"]:
            growth = largest["peak_worker_memory_bytes"] / smallest["peak_worker_memory_bytes"]
            found.append(
                {
                    "target": (
                        f"peak worker memory at {largest['scale']}x / at 1x "
                        f"({_gb(largest['peak_worker_memory_bytes'])} at "
                        f"{largest['scale']}x)"
                    ),
                    "value": growth,
                    "bound": f"<= {MEMORY_GROWTH_MAX} (bounded)",
                    "met": growth <= MEMORY_GROWTH_MAX,
                }
            )
    for row in results.get("parquet_variants") or []:
        if row["baseline"] != row["variant"] and not isinstance(row["bound"], str):
            kind = " (proportional: rows out / rows in)" if row["bound_is_proportional"] else ""
            found.append(
                {
                    "target": f"Parquet route {row['variant']} / {row['baseline']}",
                    "value": row["vs_baseline"],
                    "bound": f"<= {row['bound']:.2f}{kind}",
                    "met": row["vs_baseline"] <= row["bound"],
                }
            )
    for row in results.get("mixed") or []:
        if row["table"] == "mixed":
            found.append(
                {
                    "target": (
                        f"mixed-type table / all-numeric, {row['route']}, {row['rows']:,} rows"
                    ),
                    "value": row["vs_numeric"],
                    "bound": f"<= {MIXED_RATIO_MAX}",
                    "met": row["vs_numeric"] <= MIXED_RATIO_MAX,
                }
            )
    if results.get("object_store"):
        found += object_store.targets(results["object_store"])
    return found


def _markdown(results: dict[str, Any]) -> str:
    m = results["machine"]
    v = m["versions"]
    lines = [
        "# mixupy_dask benchmarks",
        "",
        f"`python -m benchmarks {' '.join(results['argv'])}`".replace(" `", "`"),
        f"on {m['cpu_count']} cores, {_gb(m['memory_bytes'])} RAM, {m['platform']}; "
        f"Python {m['python']}, mixupy_dask {v['mixupy_dask']}, mixupy {v['mixupy']}, "
        f"numpy {v['numpy']}, pandas {v['pandas']}, dask {v['dask']}, "
        f"pyarrow {v['pyarrow']}; load average {m['load_average']} at start, "
        f"{results['load_average_after']} at end ({results['when_utc']}).",
        "",
        f"Times: median of {results['repeats']} runs (min to max). Ratios use medians; "
        "the contenders take turns; on Parquet every run has a fresh cluster, and in "
        f"memory a run is a loop of calls lasting at least {in_memory.MIN_SECONDS:g} s, "
        "timed per call (one call from 1e6 rows), and the ratios of the fastest runs are "
        "shown too (less sensitive to the machine's load).",
        "",
    ]
    found = results["targets"]
    if found:
        lines += ["## Targets", "", "| target | measured | bound | met |", "|---|---:|---|---|"]
        lines += [
            f"| {t['target']} | {t['value']:.2f} | {t['bound']} | {'yes' if t['met'] else 'NO'} |"
            for t in found
        ]
        lines.append("")
    memory = results.get("in_memory") or []
    if memory:
        lines += [
            "## In-memory route (pandas, n x 10 float64 unless said)",
            "",
            "| rows | numpy floor | mixupy 0.1.2 | mixupy_dask | mixupy_dask / floor "
            "| mixupy / mixupy_dask | same two ratios, fastest runs |",
            "|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for n, columns in sorted({(r["rows"], r["columns"]) for r in memory}):
            shape = f"{n:,}" if columns == COLUMNS else f"{n:,} x {columns}"
            floor = _pick(memory, method="numpy floor", rows=n, columns=columns)
            peer = _pick(memory, method="mixupy", rows=n, columns=columns)
            ours = _pick(memory, method="mixupy_dask", rows=n, columns=columns)
            lines.append(
                f"| {shape} | {_secs(floor)} | {_secs(peer)} | {_secs(ours)} "
                f"| {ours['vs_floor']:.2f} | {ours['mixupy_over_this']:.1f} "
                f"| {ours['vs_floor_of_min']:.2f} / {ours['mixupy_over_this_of_min']:.1f} |"
            )
        lines.append("")
    parquet = results.get("parquet") or {}
    if parquet.get("results"):
        rows = parquet["results"]
        cluster = parquet["cluster"]
        lines += [
            "## Parquet to Parquet on a LocalCluster "
            f"({cluster['workers']} workers x {cluster['threads_per_worker']} thread)",
            "",
            "| data | rows | Parquet copy | Parquet read | set_index shuffle | hash shuffle "
            "| naive dask "
            "| mixupy_dask | / copy | / set_index | / hash shuffle | / (hash shuffle + read) "
            "| time vs 1x | peak worker memory | peak cluster memory |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for scale in sorted({r["scale"] for r in rows}):
            copy = _pick(rows, method="parquet copy", scale=scale)
            read = _pick(rows, method="parquet read", scale=scale)
            shuffle = _pick(rows, method="dask shuffle", scale=scale)
            hashed = _pick(rows, method="hash shuffle", scale=scale)
            naive = _pick(rows, method="naive dask", scale=scale)
            ours = _pick(rows, method="mixupy_dask", scale=scale)
            lines.append(
                f"| {scale}x ({_gb(ours['input_bytes'])}) | {ours['rows']:,} | {_secs(copy)} "
                f"| {_secs(read)} "
                f"| {_secs(shuffle)} | {_secs(hashed)} | {_secs(naive)} | {_secs(ours)} "
                f"| {ours['vs_copy']:.2f} | {ours['vs_shuffle']:.2f} "
                f"| {ours['vs_hash_shuffle']:.2f} | {ours['vs_shuffle_and_read']:.2f} "
                f"| {ours['vs_own_1x']:.2f} "
                f"| {_gb(ours['peak_worker_memory_bytes'])} "
                f"| {_gb(ours['peak_cluster_memory_bytes'])} |"
            )
        lines += [
            "",
            "Peak memory of the same runs for the peers (worker / cluster): "
            + "; ".join(
                f"{r['method']} {r['scale']}x {_gb(r['peak_worker_memory_bytes'])} / "
                f"{_gb(r['peak_cluster_memory_bytes'])}"
                for r in rows
                if r["method"] != "mixupy_dask"
            )
            + ".",
            "",
            "Reproducible output (two runs of the 1x data, same seed, identical files): "
            + ", ".join(f"{k} {'yes' if v else 'no'}" for k, v in parquet["reproducible"].items())
            + ".",
            "",
        ]
    store = results.get("object_store") or {}
    if store.get("results"):
        lines += object_store.table(store)
    peaks = results.get("peak_memory") or []
    if peaks:
        lines += [
            "## Peak memory of the in-memory route (fresh process per call)",
            "",
            "| rows | method | input | peak above input (tracemalloc) | peak RSS growth |",
            "|---:|---|---:|---:|---:|",
        ]
        lines += [
            f"| {p['rows']:,} | {p['method']} | {_gb(p['input_bytes'])} "
            f"| {p['tracemalloc_peak_over_input']:.2f}x | {_ratio(p['rss_peak_over_input'])} |"
            for p in peaks
        ]
        lines += ["", "The output alone is 1x the input (mixed rows are new values).", ""]
    variants = results.get("variants") or []
    if variants:
        lines += [
            "## Variants (in memory), as ratios to plain mixup",
            "",
            "| variant | rows | time | / plain mixup | fastest / fastest plain |",
            "|---|---:|---:|---:|---:|",
        ]
        for r in variants:
            if r.get("skipped"):
                lines.append(f"| {r['variant']} | {r['rows']:,} | {r['skipped']} | - | - |")
            else:
                lines.append(
                    f"| {r['variant']} | {r['rows']:,} | {_secs(r)} | {r['vs_plain']:.2f} "
                    f"| {r['vs_plain_of_min']:.2f} |"
                )
        lines.append("")
    variants = results.get("parquet_variants") or []
    if variants:
        lines += [
            "## Variants on the Parquet route (a fresh cluster every run, 1x rows), "
            "as ratios to their baseline",
            "",
            "| variant | rows out | time | baseline | / baseline | bound |",
            "|---|---:|---:|---|---:|---:|",
        ]
        lines += [
            f"| {r['variant']} | {r['rows_out']:,} | {_secs(r)} | {r['baseline']} "
            f"| {r['vs_baseline']:.2f} | {_bound(r['bound'])} |"
            for r in variants
        ]
        lines.append("")
    mixed = results.get("mixed") or []
    if mixed:
        lines += [
            "## Mixed-type tables, as ratios to an all-numeric table of the same width",
            "",
            "| route | rows | table | time | / all-numeric |",
            "|---|---:|---|---:|---:|",
        ]
        for r in mixed:
            lines.append(
                f"| {r['route']} | {r['rows']:,} | {r['table']} | {_secs(r)} "
                f"| {r['vs_numeric']:.2f} |"
            )
        lines.append("")
    lines += [
        f"Noise: the widest (max - min) / median spread of any figure was "
        f"{results['noise']['widest_spread']:.0%} ({results['noise']['where']}); "
        f"the median spread {results['noise']['median_spread']:.0%}.",
        "",
    ]
    return "\n".join(lines)


def _legend(ax) -> None:
    if ax.get_legend_handles_labels()[0]:  # a section that did not run has no lines
        ax.legend()


def _plot(results: dict[str, Any], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(12, 9))
    ax = axes[0, 0]
    memory = [r for r in results.get("in_memory") or [] if r["columns"] == COLUMNS]
    for method in ("numpy floor", "mixupy", "mixupy_dask"):
        rows = sorted((r for r in memory if r["method"] == method), key=lambda r: r["rows"])
        if rows:
            x = [r["rows"] for r in rows]
            y = [r["median"] for r in rows]
            err = [[r["median"] - r["min"] for r in rows], [r["max"] - r["median"] for r in rows]]
            ax.errorbar(x, y, yerr=err, marker="o", capsize=3, label=method)
    ax.set(xscale="log", yscale="log", xlabel="rows (x 10 float64)", ylabel="seconds")
    ax.set_title("in-memory route (pandas)")
    _legend(ax)

    ax = axes[0, 1]
    parquet = (results.get("parquet") or {}).get("results") or []
    for method in parquet_route.METHODS:
        rows = sorted((r for r in parquet if r["method"] == method), key=lambda r: r["scale"])
        if rows:
            x = [r["input_bytes"] / 1e9 for r in rows]
            y = [r["median"] for r in rows]
            err = [[r["median"] - r["min"] for r in rows], [r["max"] - r["median"] for r in rows]]
            ax.errorbar(x, y, yerr=err, marker="o", capsize=3, label=method)
    ax.set(xlabel="data in memory (GB)", ylabel="seconds")
    ax.set_title("Parquet to Parquet, LocalCluster of 2 workers")
    _legend(ax)

    ax = axes[1, 0]
    peaks = results.get("peak_memory") or []
    if peaks:
        n = max(p["rows"] for p in peaks)
        chosen = [p for p in peaks if p["rows"] == n]
        x = range(len(chosen))
        ax.bar(
            [i - 0.2 for i in x],
            [p["tracemalloc_peak_over_input"] for p in chosen],
            0.4,
            label="tracemalloc",
        )
        ax.bar(
            [i + 0.2 for i in x],
            [p["rss_peak_over_input"] or 0.0 for p in chosen],
            0.4,
            label="RSS",
        )
        ax.set_xticks(list(x), [p["method"] for p in chosen])
        ax.set(ylabel="peak memory above input / input size")
        ax.set_title(f"in-memory peak memory, {n:,} x 10")
        ax.legend()

    ax = axes[1, 1]
    variants = [r for r in results.get("variants") or [] if not r.get("skipped")]
    if variants:
        ax.bar([r["variant"] for r in variants], [r["vs_plain"] for r in variants])
        ax.axhline(1.0, color="grey", linewidth=0.8)
        ax.set(ylabel="time / plain mixup")
        ax.set_title(f"variants, {variants[0]['rows']:,} rows")
    fig.suptitle(f"mixupy_dask benchmarks ({results['when_utc']})")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write(results: dict[str, Any], out: str) -> dict[str, str]:
    """Write the three files into the directory ``out``; return their paths."""
    paths = write_json_and_markdown(results, _markdown(results), out, "results")
    paths["png"] = os.path.join(out, "results.png")
    _plot(results, paths["png"])
    return paths


def write_json_and_markdown(
    results: dict[str, Any], markdown: str, out: str, stem: str
) -> dict[str, str]:
    """``out/stem.json`` (the results) and ``out/stem.md`` (``markdown``); their paths."""
    os.makedirs(out, exist_ok=True)
    paths = {"json": os.path.join(out, f"{stem}.json"), "md": os.path.join(out, f"{stem}.md")}
    with open(paths["json"], "w") as f:
        json.dump(results, f, indent=2)
        f.write("\n")
    with open(paths["md"], "w") as f:
        f.write(markdown)
    return paths

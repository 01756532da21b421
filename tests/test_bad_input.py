"""The bad input catalogue: every odd input, on every route it applies to.

One table, ``CASES``. Each row is an input a user may have (a frame, or files on disk)
and its decision from "How inputs are treated" in docs/guarantees.md: *supported* (then every route
gives exactly the pandas route's bits) or *rejected* (then every route raises the same
exception type, with a message naming the column, the parameter or the path). The
routes are the pandas ``mixup``, the lazy dask ``mixup`` (partitions of uneven sizes,
empty ones included), ``augment_parquet`` on real Parquet files, and the real
``mixupy-dask augment`` command in a subprocess (exit status 2, one ``error:`` line).
Every Parquet run, failed or not, must leave the source's bytes and mtimes as they
were and nothing but its output beside it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import dask
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mixupy_dask import MixupError, MixupTypeError, NonFiniteError, augment_parquet, mixup
from mixupy_dask._core.dtypes import output_dtype

from .helpers import (
    assert_user_error,
    irregular_lengths,
    on_cluster,
    run_cli,
    snapshot,
    split_frame,
)

SEED = 7
N = 12
F64, F32 = np.finfo(np.float64), np.finfo(np.float32)


# --- inputs -------------------------------------------------------------------------


def base(n: int = N) -> pd.DataFrame:
    return pd.DataFrame({"x": np.linspace(-1.0, 1.0, n), "y": np.arange(n) % 3})


def with_missing(dtype: str, values: list) -> Callable[[], pd.DataFrame]:
    # The missing value sits in row 5: one partition on every route (count 1 everywhere).
    def make() -> pd.DataFrame:
        column = list(values) * (N // len(values))
        column[5] = None
        return base().assign(i=pd.array(column, dtype=dtype))

    return make


def with_column(name: str, values) -> Callable[[], pd.DataFrame]:
    return lambda: base().assign(**{name: values})


def non_finite_in_last_partition() -> pd.DataFrame:
    # Rows 8 and 9: in the last file's first row group, and in the last non-empty
    # partition of ``irregular_lengths`` on dask, with good rows on either side.
    df = base().assign(z=np.arange(N, dtype=np.float32))
    df.loc[8, "x"] = -np.inf
    df.loc[9, ["x", "z"]] = [np.nan, np.inf]
    return df


def extremes(n: int = 400) -> pd.DataFrame:
    """The float limits: same-sign pairs of the largest values, where a careless
    ``x + lam * (y - x)`` or a rounded ``1 - lam`` could overflow, and subnormals."""
    pattern = {
        "big": [F64.max, F64.max, -F64.max, F64.max, -F64.max],
        "big32": np.array([F32.max, F32.max, -F32.max], dtype=np.float32),
        "tiny": [F64.smallest_subnormal, -F64.smallest_subnormal, 3 * F64.smallest_subnormal],
        "tiny32": np.array([F32.smallest_subnormal, 5 * F32.smallest_subnormal], np.float32),
        "spread": [F64.max, F64.smallest_subnormal, -F64.max, 0.0, 1.0],
    }
    return pd.DataFrame({k: np.resize(np.asarray(v), n) for k, v in pattern.items()})


def check_extremes(df: pd.DataFrame, out: pd.DataFrame) -> None:
    """No overflow to inf; every column within its input range up to one rounding;
    subnormal results survive (no flush to zero)."""
    assert np.isfinite(out.to_numpy(dtype=np.float64)).all()
    for name in df:
        values, mixed = df[name].to_numpy(), out[name].to_numpy()
        assert mixed.dtype == values.dtype
        low, high = values.min(), values.max()
        with np.errstate(over="ignore"):  # one step beyond the largest float is inf: fine
            assert (mixed >= np.nextafter(low, -np.inf)).all()
            assert (mixed <= np.nextafter(high, np.inf)).all()
    for name, dtype in [("tiny", np.float64), ("tiny32", np.float32)]:
        mixed = np.abs(out[name].to_numpy())
        assert ((mixed > 0) & (mixed < np.finfo(dtype).tiny)).any()


def check_times(df: pd.DataFrame, out: pd.DataFrame) -> None:
    """Same dtype (unit, timezone) out, every value within the input's range."""
    assert out["t"].dtype == df["t"].dtype
    assert out["t"].between(df["t"].min(), df["t"].max()).all()


#: Options that change which columns are mixed how: outputs keep other dtypes.
POLICIES = ("categorical", "integers", "missing", "provenance")


def plain_twin(dtypes: dict[str, str]) -> Callable[[pd.DataFrame], pd.DataFrame]:
    """The same frame with numpy dtypes: extension dtypes must mix exactly like these."""
    return lambda df: df.astype(dtypes)


# --- inputs that only exist as files ----------------------------------------------


def write_parquet(df: pd.DataFrame, path, files: int = 3) -> None:
    """``df`` as a dataset of ``files`` files of small row groups (empty files allowed)."""
    os.makedirs(path)
    for i, rows in enumerate(np.array_split(np.arange(len(df)), files)):
        part = df.iloc[rows]
        if df.columns.has_duplicates:  # pandas refuses to write these; pyarrow does not
            table = pa.Table.from_arrays(
                [pa.array(part.iloc[:, j]) for j in range(part.shape[1])],
                names=[str(c) for c in df.columns],
            )
        else:
            table = pa.Table.from_pandas(part, preserve_index=False)
        # About 8 row groups in all (at least 3 rows each): partitions of blocksize=1.
        pq.write_table(
            table, os.path.join(path, f"{i}.parquet"), row_group_size=max(3, len(df) // 8)
        )


def good_file(path) -> None:
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"a": rng.standard_normal(2000), "b": rng.integers(0, 9, 2000)})
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), path, row_group_size=500)


def truncated(path) -> None:
    good_file(path)
    with open(path, "rb") as f:
        data = f.read()
    with open(path, "wb") as f:
        f.write(data[: len(data) // 2])


def corrupt_pages(path) -> None:
    """Footer intact, a data page overwritten: found only when a task reads it."""
    good_file(path)
    offset = pq.ParquetFile(path).metadata.row_group(2).column(0).data_page_offset
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(b"\xff" * 64)


def csv_named_parquet(path) -> None:
    base().to_csv(path, index=False)


def dataset(*frames: pd.DataFrame | pa.Table) -> Callable[[Any], None]:
    """A directory of one file per frame (or Arrow table, for exact Parquet types)."""

    def write(path) -> None:
        os.makedirs(path)
        for i, frame in enumerate(frames):
            table = frame if isinstance(frame, pa.Table) else pa.Table.from_pandas(frame)
            pq.write_table(table, os.path.join(path, f"{i}.parquet"))

    return write


def file_with_repeated_names(path) -> None:
    table = pa.Table.from_arrays(
        [pa.array([1.0, 2.0, 3.0])] * 2 + [pa.array([0, 1, 0])], ["x"] * 2 + ["y"]
    )
    pq.write_table(table, path)


def strings(kind: pa.DataType, values: list[str]) -> pa.Table:
    return pa.table(
        {"a": pa.array(np.arange(len(values), dtype=np.float64)), "y": pa.array(values, kind)}
    )


AB = pd.DataFrame({"a": np.linspace(0, 1, 8), "b": np.arange(8)})


# --- the table ----------------------------------------------------------------------

FRAME_ROUTES = ("pandas", "dask", "parquet")
FILE_ROUTES = ("parquet",)
IN_MEMORY = ("pandas", "dask")  # for frames that cannot be written to Parquet


@dataclass(frozen=True)
class Case:
    """One input and its decision.

    ``frame`` builds it in memory (written to Parquet for the file routes); ``files``
    writes it to a path instead (inputs that exist only as files). ``error`` is None
    when supported, else (exception type, regex the message must match on every
    route). ``words`` must appear in the CLI's error line; ``cli`` runs the real
    command for this case. ``lazy``: the dask graph builds, the error comes from the
    task that reads the offending partition.
    """

    name: str
    frame: Callable[[], pd.DataFrame] | None = None
    files: Callable[[Any], None] | None = None
    error: tuple[type[Exception], str] | None = None
    options: dict[str, Any] = field(default_factory=dict)
    routes: tuple[str, ...] = FRAME_ROUTES
    cli: bool = False
    words: tuple[str, ...] = ()
    lazy: bool = False
    twin: Callable[[pd.DataFrame], pd.DataFrame] | None = None
    check: Callable[[pd.DataFrame, pd.DataFrame], None] | None = None
    single_file: bool = False  # ``files`` writes one file rather than a directory
    #: dask without its string conversion, which would turn any object column into
    #: strings (``str(1)``) before mixup sees it
    keep_objects: bool = False


NOT_NUMERIC = r"must be bool, integer.* to be mixed; not so: "

CASES = [
    # --- sizes
    Case("zero-rows", lambda: base().iloc[:0], error=(MixupError, r"at least 2 rows.*has 0"),
         cli=True, words=("at least 2 rows",)),
    Case("one-row", lambda: base().iloc[:1], error=(MixupError, r"at least 2 rows.*has 1")),
    # A Parquet file always has columns (pyarrow writes no rows without them).
    Case("no-columns", lambda: pd.DataFrame(index=range(N)), routes=IN_MEMORY,
         error=(MixupError, r"`data` has no columns")),
    # --- missing and non-finite values
    Case("all-nan-column", with_column("z", np.nan), error=(NonFiniteError, r"'z' \(\d+\)")),
    Case("nan-inf-in-one-partition", non_finite_in_last_partition, lazy=True,
          error=(NonFiniteError, r"'x' \(2\), 'z' \(1\)"), cli=True, words=("'x' (2)", "'z' (1)")),
    Case("Int64-with-NA", with_missing("Int64", [1, 2, 3]), error=(NonFiniteError, r"'i' \(1\)"),
         lazy=True),
    Case("Float64-with-NA", with_missing("Float64", [0.5, 1.5]),
         error=(NonFiniteError, r"'i' \(1\)"), lazy=True),
    Case("boolean-with-NA", with_missing("boolean", [True, False]),
         error=(NonFiniteError, r"'i' \(1\)"), lazy=True),
    Case("arrow-float-with-null", with_missing("float64[pyarrow]", [0.5, 1.5]),
         error=(NonFiniteError, r"'i' \(1\)"), lazy=True),
    # --- columns that cannot be mixed
    Case("object", with_column("s", pd.Series(list("abcd") * 3, dtype=object)),
         error=(MixupTypeError, NOT_NUMERIC + r"'s' \(")),
    Case("string", with_column("s", pd.array(list("abcd") * 3, dtype="string")),
         error=(MixupTypeError, NOT_NUMERIC + r"'s' \(")),
    Case("categorical", with_column("c", pd.Categorical(list("abc") * 4)),
         error=(MixupTypeError, NOT_NUMERIC + r"'c' \(category\)")),
    # --- mixed-type tables (see test_mixed.py): times are always mixed, exactly
    Case("datetime", with_column("t", pd.date_range("2024-01-01", periods=N, freq="h")),
         check=check_times),
    # Parquet's coarsest unit is ms (pyarrow writes seconds as ms).
    Case("datetime-tz-milliseconds",
         with_column("t", pd.date_range("2024-01-01", periods=N, freq="D", tz="Asia/Tokyo",
                                        unit="ms")), check=check_times),
    Case("timedelta", with_column("t", pd.to_timedelta(np.arange(N), unit="s")),
         check=check_times),
    Case("unknown-categorical-policy", base, options={"categorical": "mode"},
         error=(MixupError, r"`categorical` must be one of 'raise', 'dominant', 'sample', "
                            r"'onehot', got 'mode'"), cli=True, words=("--categorical",)),
    Case("unknown-integers-policy", base, options={"integers": "floor"},
         error=(MixupError, r"`integers` must be 'float' or 'round', got 'floor'")),
    Case("unknown-missing-policy", base, options={"missing": "drop"},
         error=(MixupError, r"`missing` must be one of 'raise', 'propagate', 'available'")),
    Case("inf-under-propagate", non_finite_in_last_partition, lazy=True,
         options={"missing": "propagate"},
         error=(NonFiniteError, r"infinite under `missing='propagate'`.*'x' \(1\), 'z' \(1\)")),
    Case("all-missing-column-propagates", with_column("z", np.nan),
         options={"missing": "propagate"}, check=lambda df, out: out["z"].isna().all()),
    Case("missing-labels-under-available",
         lambda: base().assign(y=pd.array(["a", None] * (N // 2), dtype="string")),
         options={"missing": "available", "labels": "y"},
         error=(NonFiniteError, r"label column 'y' has missing values")),
    Case("strings-and-numbers-in-object",
         with_column("s", pd.Series(["a", 1] * (N // 2), dtype=object)), routes=IN_MEMORY,
         options={"categorical": "dominant"}, keep_objects=True,
         error=(MixupTypeError, r"object column 's' must hold only strings.*mixed")),
    Case("onehot-above-max-categories",
         with_column("s", pd.array(list("abcd") * 3, dtype="string[pyarrow]")),
         options={"categorical": "onehot", "max_categories": 3},
         error=(MixupError, r"column 's' has 4 categories, more than `max_categories` \(3\)")),
    Case("onehot-strings-and-categorical",
         lambda: base().assign(c=pd.Categorical(list("abc") * 4, categories=list("cbaz")),
                               s=pd.array(list("pq") * 6, dtype="string[pyarrow]")),
         options={"categorical": "onehot"}),
    Case("categorical-and-strings-dominant",
         lambda: base().assign(c=pd.Categorical(list("abc") * 4, categories=list("cbaz")),
                               s=pd.array(list("pq") * 6, dtype="string[pyarrow]")),
         options={"categorical": "dominant", "integers": "round"}),
    # Parquet has no complex type (pyarrow cannot write one): in-memory routes only.
    Case("complex", with_column("z", np.arange(N) * 1j), routes=IN_MEMORY,
         error=(MixupTypeError, NOT_NUMERIC + r"'z' \(complex128\)")),
    Case("arrow-string", with_column("s", pd.array(list("abcd") * 3, dtype="string[pyarrow]")),
         error=(MixupTypeError, NOT_NUMERIC + r"'s' \(")),
    Case("arrow-decimal",
         with_column("d", pd.array(pa.array(range(N), pa.decimal128(5, 2)),
                                   dtype=pd.ArrowDtype(pa.decimal128(5, 2)))),
         error=(MixupTypeError, NOT_NUMERIC + r"'d' \(decimal128\(5, 2\)")),
    # --- extension dtypes without missing values: mixed exactly like numpy's
    Case("nullable-Int64-Float64-boolean",
         lambda: base().assign(i=pd.array(np.arange(N), dtype="Int64"),
                               f=pd.array(np.linspace(0, 2, N), dtype="Float64"),
                               b=pd.array(np.arange(N) % 2 == 0, dtype="boolean")),
         twin=plain_twin({"i": "int64", "f": "float64", "b": "bool"})),
    Case("arrow-backed-numeric",
         lambda: base().assign(i=pd.array(np.arange(N), dtype="int64[pyarrow]"),
                               f=pd.array(np.linspace(0, 2, N, dtype=np.float32),
                                          dtype="float[pyarrow]"),
                               b=pd.array(np.arange(N) % 2 == 0, dtype="bool[pyarrow]")),
         twin=plain_twin({"i": "int64", "f": "float32", "b": "bool"})),
    Case("float16-and-uint64-limits",
         lambda: base().assign(h=np.linspace(-F32.eps, 60000, N).astype(np.float16),
                               u=np.full(N, 2**64 - 1, dtype=np.uint64))),
    # --- column names
    Case("duplicate-names", lambda: pd.concat([base(), base()["x"]], axis=1),
         error=(MixupError, r"unique.*'x'")),
    # Parquet names are strings: the Parquet route reads them as pandas does ("0", "1").
    Case("non-string-names", lambda: pd.DataFrame(np.arange(24.0).reshape(N, 2), columns=[0, 1])),
    Case("mixed-type-names", lambda: base().set_axis([0, "a"], axis=1)),
    Case("multiindex-columns",
         lambda: base().set_axis(pd.MultiIndex.from_tuples([("f", "x"), ("f", "y")]), axis=1)),
    # --- float limits
    Case("float-limits-and-subnormals", extremes, options={"alpha": 0.05, "batch_size": 800},
         check=check_extremes),
    # --- batch_size where positions stop being exact in int64/float64
    Case("batch-size-2**53", base, options={"batch_size": 2**53},
         error=(MixupError, r"`batch_size`.*2\*\*53")),
    Case("batch-size-2**64", base, options={"batch_size": 2**64},
         error=(MixupError, r"`batch_size`.*2\*\*53"), cli=True, words=("--batch-size",)),
    Case("batch-size-numpy-int64-max", base, options={"batch_size": np.int64(2**63 - 1)},
         error=(MixupError, r"`batch_size`.*2\*\*53")),
    Case("rows-plus-batch-size-2**53", base, options={"batch_size": 2**53 - 1},
         error=(MixupError, r"`batch_size`.*below 2\*\*53")),
    # --- files
    Case("missing-file", files=lambda path: None, routes=FILE_ROUTES, single_file=True,
         error=(MixupError, r"`src` does not exist: {src}"), cli=True),
    Case("directory-without-parquet", files=os.makedirs, routes=FILE_ROUTES,
         error=(MixupError, r"`src` holds no Parquet files: {src}"), cli=True),
    Case("directory-of-csv",
         files=lambda path: (os.makedirs(path), csv_named_parquet(os.path.join(path, "a.csv"))),
         routes=FILE_ROUTES, error=(MixupError, r"not a readable Parquet.*{src}.*a\.csv")),
    Case("csv-named-parquet", files=csv_named_parquet, routes=FILE_ROUTES, single_file=True,
         error=(MixupError, r"not a readable Parquet file or dataset: {src}"), cli=True),
    Case("zero-byte-file", files=lambda path: open(path, "wb").close(), routes=FILE_ROUTES,
         single_file=True, error=(MixupError, r"not a readable Parquet file or dataset: {src}")),
    Case("truncated-file", files=truncated, routes=FILE_ROUTES, single_file=True,
         error=(MixupError, r"not a readable Parquet file or dataset: {src}"), cli=True),
    Case("truncated-file-in-dataset",
         files=lambda path: (dataset(AB, AB)(path), truncated(os.path.join(path, "1.parquet"))),
         routes=FILE_ROUTES, error=(MixupError, r"not a readable Parquet.*{src}.*1\.parquet")),
    Case("corrupt-data-page", files=corrupt_pages, routes=FILE_ROUTES, single_file=True,
         lazy=True, error=(MixupError, r"corrupt Parquet file: {src} \(row group 2: "),
         cli=True),
    Case("repeated-names-in-file", files=file_with_repeated_names, routes=FILE_ROUTES,
         single_file=True, error=(MixupError, r"unique; {src} repeats: 'x'"), cli=True),
    Case("files-of-zero-rows", files=dataset(AB.iloc[:0], AB.iloc[:0]), routes=FILE_ROUTES,
         error=(MixupError, r"at least 2 rows.*has 0")),
    Case("empty-files-between", files=dataset(AB.iloc[:0], AB, AB.iloc[:0], AB.iloc[:3]),
         routes=FILE_ROUTES),
    # --- files that disagree: refused unless the columns read agree (see parquet.py)
    Case("schemas-int-vs-double", files=dataset(AB, AB.astype({"b": float})),
         routes=FILE_ROUTES, error=(MixupError, r"{src}/1\.parquet has 'b' as double"),
         cli=True, words=("1.parquet", "'b'")),
    Case("schemas-float32-vs-double", files=dataset(AB, AB.astype({"a": np.float32})),
         routes=FILE_ROUTES, error=(MixupError, r"{src}/1\.parquet has 'a' as float")),
    Case("schemas-missing-column", files=dataset(AB, AB[["a"]]), routes=FILE_ROUTES,
         error=(MixupError, r"{src}/1\.parquet lacks 'b'")),
    Case("schemas-extra-column", files=dataset(AB, AB.assign(c=1.0)), routes=FILE_ROUTES,
         error=(MixupError, r"{src}/1\.parquet has 'c', which {src}/0\.parquet lacks")),
    Case("schemas-extra-column-not-read", files=dataset(AB, AB.assign(c=1.0)),
         routes=FILE_ROUTES, options={"columns": ["a", "b"]}),
    Case("schemas-reordered-columns", files=dataset(AB, AB[["b", "a"]]), routes=FILE_ROUTES),
    # A categorical feature's, like a class column's, are united in file order, as
    # pandas.read_parquet unites them (rows re-coded by value).
    Case("categories-differ-between-files",
         files=dataset(pd.DataFrame({"a": [0.0, 1.0], "c": pd.Categorical(["x", "y"])}),
                       pd.DataFrame({"a": [2.0, 3.0], "c": pd.Categorical(["z", "y"])}),
                       pd.DataFrame({"a": [4.0, 5.0], "c": pd.Categorical(["y", "x"])})),
         routes=FILE_ROUTES, options={"categorical": "dominant"}, cli=True),
    Case("same-categories-in-every-file",
         files=dataset(*[pd.DataFrame({"a": [0.0, 1.0, 2.0], "c": pd.Categorical(
             ["y", "x", "y"], categories=list("yxw"))}) for _ in range(3)]),
         routes=FILE_ROUTES, options={"categorical": "sample"}),
    # A class column's classes are its dtype's as pandas reads it: in order, unused ones
    # kept, and files that disagree united in file order (not refused: re-coded by value).
    Case("label-categories-unsorted-and-unused",
         files=dataset(*[pd.DataFrame({"a": [0.0, 1.0, 2.0], "c": pd.Categorical(
             ["y", "x", "y"], categories=list("yxw"))}) for _ in range(2)]),
         routes=FILE_ROUTES, options={"labels": "c"}),
    Case("label-categories-differ-between-files",
         files=dataset(
             pd.DataFrame({"a": [0.0, 1.0], "c": pd.Categorical(list("yx"), list("yx"))}),
             pd.DataFrame({"a": [2.0, 3.0], "c": pd.Categorical(list("zx"), list("zx"))})),
         routes=FILE_ROUTES, options={"labels": "c", "categorical": "dominant"}),
    # --- bandwidth (C-Mixup): numeric labels only, nothing that needs classes
    Case("bandwidth-float-label", lambda: base().assign(y=np.linspace(0, 3, N)),
         options={"labels": "y", "bandwidth": 0.5}),
    Case("bandwidth-zero", base, options={"labels": "x", "bandwidth": 0},
         error=(MixupError, r"^`bandwidth` must be None or a finite real number > 0, got 0$"),),
    Case("bandwidth-nan", base, options={"labels": "x", "bandwidth": float("nan")},
         error=(MixupError, r"`bandwidth` must be None or a finite real number > 0, got nan")),
    Case("bandwidth-inf", base, options={"labels": "x", "bandwidth": np.inf},
         error=(MixupError, r"`bandwidth` must be None or a finite real number > 0, got inf"),),
    Case("bandwidth-string", base, options={"labels": "x", "bandwidth": "1"},
         error=(MixupTypeError, r"`bandwidth` must be None or a finite real number > 0"),
         routes=IN_MEMORY),
    Case("bandwidth-without-labels", base, options={"bandwidth": 1.0},
         error=(MixupError, r"^`bandwidth` needs `labels`"), cli=True,
         words=("--bandwidth", "--labels")),
    Case("bandwidth-class-column", base, options={"labels": "y", "bandwidth": 1.0},
         error=(MixupError, r"`bandwidth` needs numeric labels .*'y' is a class column"),
         cli=True, words=("--bandwidth", "'y'")),
    Case("bandwidth-within-class", base,
         options={"labels": "x", "bandwidth": 1.0, "within_class": True},
         error=(MixupError, r"^`within_class` cannot be combined with `bandwidth`")),
    Case("bandwidth-label-preserving", base,
         options={"labels": "x", "bandwidth": 1.0, "label_preserving": True},
         error=(MixupError, r"^`label_preserving` cannot be combined with `bandwidth`")),
    Case("bandwidth-sampling-strategy", base,
         options={"labels": "x", "bandwidth": 1.0, "sampling_strategy": "auto"},
         error=(MixupError, r"^`sampling_strategy` cannot be combined with `bandwidth`")),
    Case("bandwidth-dict-batch-size", base,
         options={"labels": "x", "bandwidth": 1.0, "batch_size": {"x": 3}},
         error=(MixupError, r"^a dict `batch_size` cannot be combined with `bandwidth`")),
    Case("bandwidth-missing-label", with_column("z", [0.5, 1.0, np.nan] * 4),
         options={"labels": "z", "bandwidth": 1.0, "missing": "available"},
         error=(NonFiniteError, r"label columns must not have missing values.*'z' \(\d+\)")),
    Case("schemas-string-vs-large-string",
         files=dataset(strings(pa.string(), list("abab")), strings(pa.large_string(), list("ba"))),
         routes=FILE_ROUTES, options={"labels": "y", "blocksize": 2**30}),
]  # fmt: skip


ROUTES = [
    pytest.param(case, route, id=f"{case.name}-{route}") for case in CASES for route in case.routes
] + [
    pytest.param(case, "cli", id=f"{case.name}-cli", marks=pytest.mark.slow)
    for case in CASES
    if case.cli
]


# --- the routes -----------------------------------------------------------------------

PARQUET_ONLY = ("columns", "blocksize")


def mixup_options(case: Case) -> dict[str, Any]:
    return {k: v for k, v in case.options.items() if k not in PARQUET_ONLY}


def expect_error(case: Case, src: str = ""):
    exc, pattern = case.error
    return pytest.raises(exc, match=pattern.format(src=re.escape(src)))


def run_pandas(case: Case, request) -> None:
    df = case.frame()
    if case.error:
        with expect_error(case):
            mixup(df, seed=SEED, **mixup_options(case))
        return
    out = mixup(df, seed=SEED, **mixup_options(case))
    if case.options.get("categorical") != "onehot":  # one-hot: columns per category
        assert list(out.columns) == list(df.columns)
    assert isinstance(out.index, pd.RangeIndex)
    numeric = [c for c in out.columns if c in df and output_dtype(df[c].dtype) is not None]
    if not any(k in case.options for k in POLICIES):  # numbers come out as finite floats
        assert set(out[numeric].dtypes) <= {np.dtype(np.float64), np.dtype(np.float32)}
        assert np.isfinite(out[numeric].to_numpy(dtype=np.float64)).all()
    if case.twin:
        twin = mixup(case.twin(df), seed=SEED, **mixup_options(case))
        pd.testing.assert_frame_equal(out, twin, check_exact=True)
    if case.check:
        case.check(df, out)


def run_dask(case: Case, request) -> None:
    if case.keep_objects:
        with dask.config.set({"dataframe.convert-string": False}):
            _run_dask(case, request)
    else:
        _run_dask(case, request)


def _run_dask(case: Case, request) -> None:
    df = case.frame()
    data = split_frame(df, irregular_lengths(len(df)))  # empty partitions first, between, last
    if not case.error:
        out = mixup(data, seed=SEED, **mixup_options(case)).compute(scheduler="threads")
        expected = mixup(df, seed=SEED, **mixup_options(case))
        pd.testing.assert_frame_equal(out, expected, check_exact=True)
        return
    if not case.lazy:  # found at once, or at the latest when computed
        with expect_error(case):
            mixup(data, seed=SEED, **mixup_options(case)).compute(scheduler="threads")
        return
    # Found lazily, by the task holding the bad rows, on a real cluster (the exception
    # travels back from a worker process).
    client = request.getfixturevalue("cluster_client")
    out = mixup(data, seed=SEED, **mixup_options(case))
    with expect_error(case):
        on_cluster(client, out)


def write_source(case: Case, tmp_path) -> str:
    src = tmp_path / ("src.parquet" if case.single_file else "src")
    if case.files:
        case.files(src)
    else:
        write_parquet(case.frame(), src)
    return str(src)


def expected_from_parquet(case: Case, src: str) -> pd.DataFrame:
    return mixup(
        pd.read_parquet(src, columns=case.options.get("columns")), seed=SEED, **mixup_options(case)
    )


def run_parquet(case: Case, request) -> None:
    tmp_path = request.getfixturevalue("tmp_path")
    src = write_source(case, tmp_path)
    before, listing = snapshot(tmp_path), sorted(os.listdir(tmp_path))
    dst = str(tmp_path / "out")
    options = {"blocksize": 1, **case.options}  # one partition per row group
    client = request.getfixturevalue("cluster_client") if case.lazy else None
    if case.error:
        with expect_error(case, src):
            augment_parquet(src, dst, seed=SEED, client=client, **options)
        assert sorted(os.listdir(tmp_path)) == listing  # no dst, no hidden temporary dir
    else:
        augment_parquet(src, dst, seed=SEED, client=client, **options)
        assert sorted(os.listdir(tmp_path)) == sorted([*listing, "out"])
        out = pd.read_parquet(dst)
        pd.testing.assert_frame_equal(out, expected_from_parquet(case, src), check_exact=True)
        if case.frame is not None:  # and the same bits as the pandas route on the frame
            expected = mixup(case.frame(), seed=SEED, **mixup_options(case))
            assert out.dtypes.tolist() == expected.dtypes.tolist()
            assert out.set_axis(expected.columns, axis=1).equals(expected)  # NaN == NaN
            if case.check:
                case.check(case.frame(), out.set_axis(case.frame().columns, axis=1))
    assert {k: v for k, v in snapshot(tmp_path).items() if "out" not in k} == before


def cli_flags(options: dict[str, Any]) -> list[str]:
    flags = []
    for key, value in options.items():
        flag = "--" + key.replace("_", "-")
        flags += [flag, ",".join(value) if isinstance(value, list) else str(value)]
    return flags


def run_command(case: Case, request) -> None:
    tmp_path = request.getfixturevalue("tmp_path")
    src = write_source(case, tmp_path)
    before, listing = snapshot(tmp_path), sorted(os.listdir(tmp_path))
    result = run_cli(
        "augment", src, tmp_path / "out", "--seed", SEED, *cli_flags(case.options),
        "--workers", "1", "--threads-per-worker", "1", "--quiet", cwd=tmp_path,
    )  # fmt: skip
    if case.error:
        assert_user_error(result, *(case.words or (src,)))
        assert sorted(os.listdir(tmp_path)) == listing
    else:
        assert result.returncode == 0, result.stderr
        out = pd.read_parquet(tmp_path / "out")
        pd.testing.assert_frame_equal(out, expected_from_parquet(case, src), check_exact=True)
        if case.check:
            case.check(case.frame(), out)
    assert {k: v for k, v in snapshot(tmp_path).items() if "out" not in k} == before


RUNNERS = {"pandas": run_pandas, "dask": run_dask, "parquet": run_parquet, "cli": run_command}


@pytest.mark.parametrize(("case", "route"), ROUTES)
def test_catalogue(case: Case, route: str, request) -> None:
    RUNNERS[route](case, request)


def test_the_table_is_well_formed() -> None:
    """Unique names; a frame or files, not both; frames on every route they can reach."""
    assert len({case.name for case in CASES}) == len(CASES)
    for case in CASES:
        assert (case.frame is None) != (case.files is None), case.name
        assert case.routes in ((FRAME_ROUTES, IN_MEMORY) if case.files is None else (FILE_ROUTES,))
        assert not case.words or case.cli, case.name
    # Each CLI run costs seconds; the CLI's range refusals are tests/test_parameters.py's.
    assert sum(case.cli for case in CASES) <= 14

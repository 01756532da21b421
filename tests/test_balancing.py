"""Rows per class: a dict batch_size and sampling_strategy, on every route."""

from __future__ import annotations

import itertools
from collections import Counter

import dask
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mixupy_dask import MixupError, MixupTypeError, augment_parquet, mixup
from mixupy_dask._core.balancing import over_sampling_targets
from mixupy_dask._dask.source import Source
from mixupy_dask._rows.call import prepare
from mixupy_dask._rows.dask_route import mixup_dask

from .helpers import run_cli, split_frame

assert_exact = pd.testing.assert_frame_equal
FLAGS = [
    {"within_class": True},
    {"label_preserving": True},
    {"within_class": True, "label_preserving": True},
]


def _labelled(sizes: dict, seed: int = 0) -> pd.DataFrame:
    """Row-id features (row i is e_i) and a shuffled class column of these sizes."""
    y = np.concatenate([[c] * k for c, k in sizes.items()])
    y = np.random.default_rng(seed).permutation(y)
    n = len(y)
    return pd.DataFrame(np.eye(n), columns=[f"r{i}" for i in range(n)]).assign(y=y)


def _classes(out: pd.DataFrame) -> pd.Series:
    labels = out.filter(regex=r"^y_")
    return labels.columns[labels.to_numpy().argmax(axis=1)].str.removeprefix("y_")


# --- sampling_strategy means what imbalanced-learn means -------------------------------


def _imblearn(strategy, counts):
    from imblearn.utils import check_sampling_strategy

    y = np.concatenate([[c] * k for c, k in counts.items()])
    return dict(check_sampling_strategy(strategy, y, "over-sampling"))


def _outcome(function):
    try:
        return "ok", function()
    except ValueError as error:  # MixupError is a ValueError, as imbalanced-learn raises
        return "error", str(error)


@st.composite
def strategy_cases(draw):
    k = draw(st.integers(1, 5))
    names = draw(st.sampled_from([list("abcde"), [0, 1, 2, 3, 4], [10, 3, 7, 1, 5]]))[:k]
    counts = {c: draw(st.integers(1, 60)) for c in sorted(names)}
    choice = draw(st.integers(0, 4))
    if choice == 0:
        strategy = draw(st.sampled_from(["auto", "minority", "not minority", "not majority"]))
        strategy = draw(st.sampled_from([strategy, "all", "majority", "bogus"]))
    elif choice == 1:
        strategy = draw(st.sampled_from([0.1, 0.25, 0.5, 0.75, 1.0, 1, 0.0, -0.5, 1.5, 0.999]))
    elif choice == 2:
        keys = draw(st.lists(st.sampled_from([*names, "zz"]), max_size=3, unique=True))
        strategy = {key: draw(st.integers(-5, 120)) for key in keys}
    elif choice == 3:
        strategy = [names[0]]
    else:
        targets = {names[0]: draw(st.integers(0, 120))}

        def strategy(y, targets=targets):
            return targets

    return strategy, counts


@settings(max_examples=400, deadline=None)
@given(case=strategy_cases())
def test_strategy_resolution_equals_imbalanced_learn(case):
    strategy, counts = case
    ours = _outcome(lambda: over_sampling_targets(strategy, counts))
    theirs = _outcome(lambda: _imblearn(strategy, counts))
    assert ours[0] == theirs[0], (ours, theirs)
    if ours[0] == "ok":
        assert ours[1] == theirs[1]
    elif strategy == "bogus" and len(counts) > 1:  # theirs lists functions; ours the names
        assert ours[1].startswith("When 'sampling_strategy' is a string, it needs to be one")
        assert ours[1].endswith("Got 'bogus' instead.")
    else:  # the same words; ours may name the class where theirs does not
        assert ours[1].startswith(theirs[1].removesuffix("."))


def test_strategy_refusals_name_the_class_and_the_column():
    counts = {"a": 50, "b": 10}
    with pytest.raises(MixupError, match=r"there is 10 samples and 3 samples .* class 'b'"):
        over_sampling_targets({"b": 3}, counts)
    with pytest.raises(MixupError, match=r"The target 'species' needs to have more than 1"):
        over_sampling_targets("auto", {"a": 5}, target="species")
    with pytest.raises(MixupTypeError, match=r"whole number"):
        over_sampling_targets({"b": 12.5}, counts)
    with pytest.raises(MixupTypeError, match=r"must return a dict"):
        over_sampling_targets(lambda y: 5, counts)


# --- class counts after resampling, on every route --------------------------------------

STRATEGIES = ["auto", "not minority", {"c": 13, "a": 14}]


@pytest.mark.parametrize("flags", FLAGS, ids=["within", "preserving", "both"])
def test_counts_after_resampling_are_what_the_strategy_asks_on_every_route(route, flags):
    sizes = {"a": 12, "b": 5, "c": 2, "d": 1}  # 12 cycles for d: keep the graphs small
    df = _labelled(sizes, seed=1)
    for strategy in STRATEGIES:

        def call(d, strategy=strategy):
            return mixup(d, 1.0, True, seed=4, labels="y", sampling_strategy=strategy, **flags)

        out = route(call, df)
        assert_exact(out, call(df), check_exact=True)
        made = over_sampling_targets(strategy, sizes)
        expected = {c: k + made.get(c, 0) for c, k in sizes.items()}
        assert dict(Counter(_classes(out))) == expected
        labels = out.filter(regex=r"^y_").to_numpy()
        assert set(np.unique(labels)) <= {0.0, 1.0}  # hard labels: every row has a class


# --- what the rows are -------------------------------------------------------------------


@st.composite
def per_class_cases(draw):
    k = draw(st.integers(1, 4))
    sizes = {c: draw(st.integers(1, 12)) for c in "abcd"[:k]}
    sizes["z"] = 1  # a class with a single row
    n = sum(sizes.values())
    df = _labelled(sizes, seed=draw(st.integers(0, 1000)))
    if draw(st.booleans()):  # one class sits in one partition only: sort it to the end
        df = pd.concat([df[df.y != "a"], df[df.y == "a"]], ignore_index=True)
    cuts = sorted(draw(st.lists(st.integers(0, n), max_size=4)))
    rows = {c: draw(st.integers(0, 3 * sizes[c] + 2)) for c in sizes if draw(st.booleans())}
    options = {
        **draw(st.sampled_from([*FLAGS, {}])),
        "alpha": draw(st.sampled_from([0.0, 0.4, 2.0])),
        "seed": draw(st.integers(0, 2**32)),
    }
    return df, sizes, np.diff([0, *cuts, n]).tolist(), rows, options


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=per_class_cases())
def test_rows_per_class_for_any_partitioning(case):
    df, _, lengths, rows, options = case
    expected = mixup(df, batch_size=rows, labels="y", **options)
    out = mixup(split_frame(df, lengths), batch_size=rows, labels="y", **options)
    assert_exact(out.compute(scheduler="sync"), expected, check_exact=True)
    assert len(expected) == sum(rows.values())
    ids = expected.filter(regex=r"^r\d+$").to_numpy()
    y = np.empty(len(df), dtype=object)  # the class of the row whose id is i
    y[df.filter(regex=r"^r\d+$").to_numpy().argmax(axis=1)] = df.y.to_numpy()
    assert np.allclose(ids.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    for row in ids:
        support = np.flatnonzero(row)
        assert 1 <= len(support) <= 2
        if options.get("within_class"):  # convex pairs of two rows of one class
            assert len(set(y[support])) == 1
    # Output rows group by left-row class as asked: its class when labels are kept.
    if options.get("within_class") or options.get("label_preserving"):
        assert dict(Counter(_classes(expected))) == {c: r for c, r in rows.items() if r}


def test_each_class_makes_its_own_full_passes_then_a_partial_one():
    sizes = {"a": 30, "b": 7, "c": 1}
    df = _labelled(sizes, seed=3)
    rows = {"a": 12, "b": 2 * 7 + 3, "c": 4}
    # label_preserving: the left row carries lam >= 1/2, so it is the larger weight.
    out = mixup(
        df, 1.0, batch_size=rows, seed=8, labels="y", within_class=True, label_preserving=True
    )
    ids = out.filter(regex=r"^r\d+$").to_numpy()
    y = df.y.to_numpy()
    left = ids.argmax(axis=1)
    rest = ids.copy()
    rest[np.arange(len(ids)), left] = 0
    partner = np.where(rest.max(axis=1) > 0, rest.argmax(axis=1), left)
    uses = Counter(left)
    members_b = np.flatnonzero(y == "b")
    assert sorted(uses[i] for i in members_b) == [2] * 4 + [3] * 3  # 2 passes, 3 more
    assert sorted(uses[i] for i in np.flatnonzero(y == "a")) == [0] * 18 + [1] * 12
    assert uses[np.flatnonzero(y == "c")[0]] == 4  # a class of one row: itself, 4 times
    # Cycle by cycle, left rows in input order; a full pass over b uses every b once
    # as a partner (b's first two passes are in cycles 0 and 1).
    cycle_of = np.zeros(len(out), dtype=int)
    seen: Counter = Counter()
    for k, i in enumerate(left):
        cycle_of[k] = seen[i]
        seen[i] += 1
    assert (np.diff(cycle_of) >= 0).all()
    for c in range(3):
        in_cycle = left[cycle_of == c]
        assert (np.diff(in_cycle) > 0).all()
    for c in range(2):
        b_rows = (cycle_of == c) & (y[left] == "b")
        assert sorted(partner[b_rows]) == sorted(members_b)
    assert (ids[y[left] == "c"] == np.eye(len(y))[y == "c"]).all()  # copies of that row


def test_pooled_partners_come_from_every_class_and_the_label_is_the_left_rows():
    df = _labelled({"a": 50, "b": 5}, seed=2)
    out = mixup(df, 1.0, batch_size={"b": 45}, seed=1, labels="y", label_preserving=True)
    ids = out.filter(regex=r"^r\d+$").to_numpy()
    y = df.y.to_numpy()
    left = ids.argmax(axis=1)
    assert (y[left] == "b").all()
    assert (_classes(out) == "b").all()
    partners = [set(np.flatnonzero(row)) - {i} for row, i in zip(ids, left, strict=True)]
    assert "a" in {y[j] for p in partners for j in p}


def test_no_rows_asked_gives_an_empty_result_or_the_originals(route):
    df = _labelled({"a": 6, "b": 6})

    def call(d):
        return mixup(d, concat=True, labels="y", within_class=True, sampling_strategy="auto")

    out = route(call, df)
    assert len(out) == 12
    assert_exact(out, call(df), check_exact=True)
    empty = mixup(df, batch_size={"a": 0}, labels="y", within_class=True, seed=0)
    assert len(empty) == 0
    assert empty.columns.tolist() == out.columns.tolist()


def test_an_int_batch_size_is_todays_and_a_dict_is_another_plan():
    df = _labelled({"a": 20, "b": 10})
    today = mixup(df, 1.0, False, 30, seed=3, labels="y", within_class=True)
    per_class = mixup(df, 1.0, False, {"a": 20, "b": 10}, seed=3, labels="y", within_class=True)
    # One full cycle of every class: the same left rows, partners and weights.
    assert_exact(per_class, today, check_exact=True)


PER_CLASS_ERRORS = [
    (MixupError, r"`batch_size`: no class 'q' in the labels", {"batch_size": {"q": 3}}),
    (
        MixupError,
        r"`batch_size`: class 'gone' has no rows to mix",
        {"batch_size": {"gone": 3}, "categorical": True},
    ),
    (
        MixupError,
        r"`batch_size`: the rows of class 'a' must be between 0",
        {"batch_size": {"a": -1}},
    ),
    (
        MixupTypeError,
        r"`batch_size`: the rows of class 'a' must be an int",
        {"batch_size": {"a": 1.5}},
    ),
    (
        MixupError,
        r"give `batch_size` or `sampling_strategy`, not both",
        {"batch_size": 3, "sampling_strategy": "auto"},
    ),
    (
        MixupError,
        r"`sampling_strategy` needs `within_class=True` or `label_preserving=True`",
        {"sampling_strategy": "auto", "within_class": False},
    ),
    (
        MixupError,
        r"`sampling_strategy` needs `labels`",
        {"sampling_strategy": "auto", "labels": None, "within_class": False},
    ),
    (
        MixupError,
        r"`batch_size` as a dict of rows per class needs `labels`",
        {"batch_size": {"a": 1}, "labels": None, "within_class": False},
    ),
    (MixupTypeError, r"`sampling_strategy` must be None, one of", {"sampling_strategy": True}),
    (
        MixupError,
        r"'sampling_strategy'='majority' cannot be used with over-sampler",
        {"sampling_strategy": "majority"},
    ),
    (MixupError, r"sampling_strategy.*float.*binary", {"sampling_strategy": 0.5}),
]


@pytest.mark.parametrize("lazy", [False, True], ids=["pandas", "dask"])
@pytest.mark.parametrize(("exc", "match", "options"), PER_CLASS_ERRORS)
def test_per_class_errors(exc, match, options, lazy):
    import dask.dataframe as dd

    df = _labelled({"a": 5, "b": 3, "c": 2})
    options = {"labels": "y", "within_class": True, **options}
    if options.pop("categorical", False):
        df["y"] = pd.Categorical(df.y, categories=["a", "b", "c", "gone"])
    data = dd.from_pandas(df, npartitions=2) if lazy else df
    with pytest.raises(exc, match=match):
        mixup(data, **options)


# --- output partitions: laid out by rows, not by (cycle, input partition) ---------------


def assert_laid_out_by_rows(sizes: list[int], largest_input: int) -> None:
    """No output partition holds more rows than the largest input partition, none is
    empty, and two neighbours together hold more: at most ``2 m / largest + 1`` of them."""
    assert all(0 < size <= max(largest_input, 1) for size in sizes), sizes
    assert all(a + b > largest_input for a, b in itertools.pairwise(sizes)), sizes
    assert len(sizes) <= 2 * sum(sizes) / max(largest_input, 1) + 1


def _partitions(lazy) -> list[pd.DataFrame]:
    """Every partition of ``lazy``, computed once."""
    return list(dask.compute(*lazy.to_delayed(), scheduler="sync"))


def _skewed(n: int = 400) -> pd.DataFrame:
    """80/15/5 % classes: 'auto' balances the minority up over 15 passes."""
    sizes = {"a": n * 80 // 100, "b": n * 15 // 100, "c": n * 5 // 100}
    return _labelled(sizes, seed=2).iloc[:, -20:]  # 19 row-id columns: small graphs


@pytest.mark.parametrize("flags", FLAGS, ids=["within", "preserving", "both"])
def test_a_skewed_balance_makes_partitions_of_about_an_input_partitions_rows(flags):
    df = _skewed()
    options = {"seed": 1, "labels": "y", "sampling_strategy": "auto", **flags}
    parts = _partitions(mixup(split_frame(df, [50] * 8), **options))
    # One partition per (cycle, input partition) would be 16 x 8 = 128, most of 2 rows.
    assert_laid_out_by_rows([len(part) for part in parts], 50)
    assert len(parts) <= 24
    assert_exact(pd.concat(parts), mixup(df, **options), check_exact=True)


def test_parquet_balancing_writes_files_of_about_a_partitions_rows(tmp_path):
    df = _skewed()
    df.to_parquet(tmp_path / "src.parquet", row_group_size=50)
    options = {"seed": 1, "labels": "y", "within_class": True, "sampling_strategy": "auto"}
    summary = augment_parquet(tmp_path / "src.parquet", tmp_path / "dst", blocksize=1, **options)
    files = sorted((tmp_path / "dst").glob("*.parquet"))
    assert summary.files_written == len(files) <= 24
    assert_laid_out_by_rows([len(pd.read_parquet(f)) for f in files], 50)
    assert_exact(pd.read_parquet(tmp_path / "dst"), mixup(df, **options), check_exact=True)


@st.composite
def layout_cases(draw):
    sizes = {
        c: draw(st.integers(2 if c == "a" else 1, 30)) for c in "abc"[: draw(st.integers(1, 3))]
    }
    df = _labelled(sizes, seed=draw(st.integers(0, 1000)))
    n = len(df)
    cuts = sorted(draw(st.lists(st.integers(0, n), max_size=5)))
    options = {"seed": draw(st.integers(0, 2**32)), "labels": "y"}
    if draw(st.booleans()):  # rows per class: later passes of small classes
        options["batch_size"] = {c: draw(st.integers(0, 4 * k)) for c, k in sizes.items()}
        options.update(draw(st.sampled_from([*FLAGS, {}])))
    else:  # one number: whole-partition slots (re-read) next to partial ones
        options["batch_size"] = draw(st.integers(1, 3 * n))
        options["within_class"] = draw(st.booleans())
    return df, np.diff([0, *cuts, n]).tolist(), options, draw(st.booleans())


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=layout_cases())
def test_layout_by_rows_is_exact_for_any_partitioning(case):
    """Left rows come with their partners, or are re-read for slots that are a whole
    input partition: the same bits either way, whatever the partitioning."""
    df, lengths, options, reread = case
    expected = mixup(df, **options)
    frame = split_frame(df, lengths)
    cuts = np.cumsum([0, *lengths])
    pieces = [df.iloc[a:b] for a, b in itertools.pairwise(cuts)]
    source = Source(frame, read=pieces.__getitem__ if reread else None)
    parts = _partitions(mixup_dask(source, prepare(frame, **options)))
    assert_exact(pd.concat(parts), expected, check_exact=True)
    if len(expected):
        assert_laid_out_by_rows([len(part) for part in parts], max(lengths))


# --- Parquet and the command line -------------------------------------------------------


def _augment_cli(tmp_path, dst: str, *args: str):
    """``mixupy-dask augment src.parquet DST --labels y --within-class ARGS`` on one
    worker, in ``tmp_path``."""
    return run_cli("augment", str(tmp_path / "src.parquet"), str(tmp_path / dst), "--labels",
                   "y", "--within-class", *args, "--workers", "1", cwd=tmp_path)  # fmt: skip


@pytest.mark.slow
def test_parquet_and_cli_balance_exactly_as_pandas(tmp_path):
    sizes = {"a": 300, "b": 60, "c": 9}
    df = _labelled(sizes, seed=5).iloc[:, -40:]  # 39 row-id columns and y: small files
    df.to_parquet(tmp_path / "src.parquet", row_group_size=50)
    options = {"seed": 3, "labels": "y", "within_class": True, "sampling_strategy": "auto"}
    summary = augment_parquet(tmp_path / "src.parquet", tmp_path / "dst", concat=True, **options)
    expected = mixup(df, concat=True, **options)
    assert_exact(pd.read_parquet(tmp_path / "dst"), expected, check_exact=True)
    assert summary.rows_out == len(expected) == 3 * 300
    assert summary.classes == (("a", 300, 0, 300), ("b", 60, 240, 300), ("c", 9, 291, 300))

    done = _augment_cli(tmp_path, "cli", "--sampling-strategy", "auto", "--seed", "3")
    assert done.returncode == 0, done.stderr
    assert_exact(pd.read_parquet(tmp_path / "cli"), expected, check_exact=True)
    table = [line.split() for line in done.stdout.splitlines()[-4:]]
    assert table == [
        ["class", "before", "synthetic", "after"],
        ["a", "300", "0", "300"],
        ["b", "60", "240", "300"],
        ["c", "9", "291", "300"],
    ]
    only = _augment_cli(
        tmp_path, "only", "--sampling-strategy", "c:100", "--synthetic-only", "--seed", "3"
    )
    assert only.returncode == 0, only.stderr
    synthetic = mixup(df, **{**options, "sampling_strategy": {"c": 100}})
    assert_exact(pd.read_parquet(tmp_path / "only"), synthetic, check_exact=True)
    assert len(synthetic) == 91


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--sampling-strategy", "b:3"], "Originally, there is 9 samples and 3 samples"),
        (["--synthetic-only"], "--synthetic-only applies with --sampling-strategy"),
        (["--sampling-strategy", "fewest"], "is not one of auto"),
        (["--batch-size", "q:5"], "--batch-size: no class 'q'"),
    ],
)
def test_cli_refusals(tmp_path, args, words):
    df = _labelled({"a": 30, "b": 9}).iloc[:, -5:]
    df.to_parquet(tmp_path / "src.parquet")
    done = _augment_cli(tmp_path, "dst", *args)
    assert done.returncode == 2
    assert words in done.stderr
    assert done.stderr.startswith("error: ")
    assert not (tmp_path / "dst").exists()


@pytest.mark.slow
def test_cli_batch_size_per_class_keys_match_integer_classes(tmp_path):
    df = pd.DataFrame({"x": np.arange(20.0), "y": np.arange(20) % 4 == 0}).astype({"y": int})
    df.to_parquet(tmp_path / "src.parquet")
    done = _augment_cli(tmp_path, "dst", "--batch-size", "1:7", "--seed", "2")
    assert done.returncode == 0, done.stderr
    expected = mixup(df, batch_size={1: 7}, seed=2, labels="y", within_class=True)
    assert_exact(pd.read_parquet(tmp_path / "dst"), expected, check_exact=True)

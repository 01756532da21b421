"""Each parameter rule once, at its callable: the defaults, ranges, choices and docs of
every entry point that takes a parameter agree with ``_core/validation.py``.

The command line is run in-process through ``main`` (its one ``error:`` line and exit
status are made there), on a six-row source: no cluster is ever started.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from typing import Any

import click
import pandas as pd
import pytest
from numpydoc.docscrape import FunctionDoc

from mixupy_dask import (
    MixupError,
    MixupTypeError,
    augment_parquet,
    augment_series_parquet,
    make_data,
    mixup,
    mixup_series,
)
from mixupy_dask._core.docs import MIXUP_PARAMETERS, shared_docs
from mixupy_dask._core.validation import (
    CATEGORICAL,
    JOB_RULES,
    MAKE_DATA_RULES,
    MIXUP_ALPHA,
    MIXUP_DEFAULTS,
    MIXUP_RULES,
    SERIES_DEFAULTS,
    SERIES_RULES,
    STRATEGIES,
    Either,
    Int,
    Optional,
    Real,
    Rule,
    Seed,
    rules_of,
    validates,
)
from mixupy_dask.cli import cli, main

#: The over-sampler's own defaults, imbalanced-learn's conventions (a sampler that
#: balances by default, partners from the class, uniform weights as SMOTE draws them).
OVERSAMPLER_OWN = {"alpha": 1.0, "sampling_strategy": "auto", "within_class": True}


def defaults(function: Callable[..., Any], names: Any = None) -> dict[str, Any]:
    """The signature's defaults (of ``names``, if given)."""
    parameters = inspect.signature(function).parameters
    return {
        name: p.default
        for name, p in parameters.items()
        if (names is None or name in names) and p.default is not inspect.Parameter.empty
    }


def cli_params(command: str) -> dict[str, click.Parameter]:
    return {p.name: p for p in cli.commands[command].params if p.name}


def cli_defaults(command: str, *args: str) -> dict[str, Any]:
    """What ``command`` passes on for the options not given (parsed, not run)."""
    with cli.commands[command].make_context(command, list(args)) as ctx:
        return dict(ctx.params)


# --- the rules, attached -----------------------------------------------------------------


def test_each_public_function_carries_its_rules():
    assert dict(rules_of(mixup)) == MIXUP_RULES
    assert dict(rules_of(augment_parquet)) == {**MIXUP_RULES, **JOB_RULES}
    assert dict(rules_of(augment_series_parquet)) == {**SERIES_RULES, **JOB_RULES}
    assert dict(rules_of(make_data)) == MAKE_DATA_RULES


def test_every_default_passes_its_rule():
    for function, rules in [
        (mixup, MIXUP_RULES),
        (augment_parquet, {**MIXUP_RULES, **JOB_RULES}),
        (augment_series_parquet, {**SERIES_RULES, **JOB_RULES}),
        (mixup_series, SERIES_RULES),
        (make_data, MAKE_DATA_RULES),
    ]:
        for name, default in defaults(function, rules).items():
            assert rules[name](name, default) == default, (function.__name__, name)


def test_validates_checks_normalises_and_keeps_python_errors():
    @validates({"n": Int(1), "flag": MIXUP_RULES["concat"]})
    def f(x: Any, n: int = 1, *, flag: bool = False) -> tuple[Any, ...]:
        return x, n, flag

    assert f.__name__ == "f"
    assert f(pd.NA, pd.Series([3]).iloc[0]) == (pd.NA, 3, False)
    assert type(f(None, pd.Series([3]).iloc[0])[1]) is int  # numpy int -> int
    with pytest.raises(MixupError, match=r"^`n` must be an int >= 1, got 0$"):
        f(None, 0)
    with pytest.raises(MixupTypeError, match=r"^`flag` must be True or False, not 1$"):
        f(None, flag=1)
    with pytest.raises(TypeError, match=r"f\(\) got an unexpected keyword argument 'm'"):
        f(None, m=1)
    with pytest.raises(TypeError, match=r"f\(\) missing 1 required positional argument"):
        f()
    with pytest.raises(TypeError, match=r"has no parameter 'nope'"):
        validates({"nope": Int(0)})(f.__wrapped__)


def test_make_data_refuses_before_touching_anything(tmp_path):
    with pytest.raises(MixupError, match=r"^`rows` must be an int >= 1, got 0$"):
        make_data(str(tmp_path / "data"), 0, 2)
    with pytest.raises(MixupTypeError, match=r"^`overwrite` must be True or False"):
        make_data(str(tmp_path / "data"), 5, 2, overwrite="yes")
    assert list(tmp_path.iterdir()) == []


# --- the defaults, written once --------------------------------------------------------


def test_mixup_defaults_are_the_signatures():
    names = list(MIXUP_RULES)
    assert list(MIXUP_DEFAULTS) == [*names[:4], "labels", *names[4:]]
    assert defaults(mixup) == MIXUP_DEFAULTS
    assert defaults(augment_parquet, MIXUP_DEFAULTS) == MIXUP_DEFAULTS


def test_series_defaults_are_the_signatures():
    assert defaults(mixup_series, SERIES_DEFAULTS) == SERIES_DEFAULTS
    assert defaults(augment_series_parquet, SERIES_DEFAULTS) == SERIES_DEFAULTS


def test_oversampler_shares_the_defaults_it_can():
    from mixupy_dask import MixupOverSampler

    own = defaults(MixupOverSampler.__init__, MIXUP_DEFAULTS)
    assert set(OVERSAMPLER_OWN) <= set(own)
    assert own == {**{name: MIXUP_DEFAULTS[name] for name in own}, **OVERSAMPLER_OWN}
    constraints = MixupOverSampler._parameter_constraints
    (alpha,) = constraints["alpha"]
    assert (alpha.left, alpha.right, alpha.closed) == (MIXUP_ALPHA.low, None, "left")
    (categorical,) = constraints["categorical"]
    assert categorical.options == set(CATEGORICAL) - {"onehot"}


def test_cli_augment_defaults_are_mixups():
    given = cli_defaults("augment", "src", "dst")
    assert {name: given[name] for name in MIXUP_DEFAULTS} == MIXUP_DEFAULTS


def test_cli_series_and_make_data_defaults_are_the_librarys():
    series = cli_defaults("augment-series", "src", "dst", "--series", "id", "--time", "t")
    library = defaults(mixup_series, SERIES_RULES)
    assert {name: series[name] for name in library} == library
    made = cli_defaults("make-data", "dst", "--rows", "10", "--columns", "2")
    library = defaults(make_data, MAKE_DATA_RULES)
    del library["storage_options"]  # the command's --storage-option (none given: none)
    assert {name: made[name] for name in library} == library


# --- choices and ranges ------------------------------------------------------------------

COMMANDS = [
    ("augment", {**MIXUP_RULES, **JOB_RULES}),
    ("augment-series", SERIES_RULES),
    ("make-data", MAKE_DATA_RULES),
]


def bounded(rule: Rule) -> Rule:
    """The rule that bounds a number, under ``Optional`` and ``Either``."""
    while isinstance(rule, (Optional, Either)):
        rule = rule.rule if isinstance(rule, Optional) else rule.first
    return rule


def test_cli_choices_are_the_rules():
    for command, rules in COMMANDS:
        params = cli_params(command)
        for name, rule in rules.items():
            if isinstance(getattr(params.get(name), "type", None), click.Choice):
                if name == "scale":  # None, spelt "none"
                    continue
                assert tuple(params[name].type.choices) == rule.options, (command, name)
    for name in ("categorical", "integers", "missing"):
        assert isinstance(cli_params("augment")[name].type, click.Choice), name
    strategy = cli_params("augment")["sampling_strategy"]
    for option in STRATEGIES:
        assert option in strategy.help.replace("'", ""), option


def test_cli_ranges_are_the_rules():
    checked = 0
    for command, rules in COMMANDS:
        params = cli_params(command)
        for name, rule in rules.items():
            if name not in params:
                continue
            kind, number = params[name].type, bounded(rule)
            if isinstance(kind, click.IntRange):
                assert isinstance(number, Int), (command, name)
                assert (kind.min, kind.max, kind.min_open) == (number.low, number.high, False)
                checked += 1
            elif isinstance(kind, click.FloatRange):
                assert isinstance(number, Real), (command, name)
                assert (kind.min, kind.max) == (number.low, None), (command, name)
                assert kind.min_open == number.strict, (command, name)
                checked += 1
    assert checked == 7  # alpha, max_categories, bandwidth; alpha, k; classes, seed


def out_of_range(rule: Rule) -> Iterator[tuple[str, Any]]:
    """Values ``rule`` refuses as out of range, as typed on the command line and as the
    library gets them."""
    number = bounded(rule)
    if isinstance(number, Seed):
        yield "-1", -1
    elif isinstance(number, Int):
        yield str(number.low - 1), number.low - 1
        if number.high is not None:
            yield str(number.high + 1), number.high + 1
    elif isinstance(number, Real):
        low = number.low if number.strict else number.low - 1
        yield f"{low:g}", low


REFUSALS = [
    pytest.param(command, name, text, id=f"{command}-{name}={text}")
    for command, rules in COMMANDS
    for name, rule in rules.items()
    for text, value in out_of_range(rule)
    if name in cli_params(command)
]


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("parameters") / "src.parquet"
    frame = pd.DataFrame({"id": [0, 0, 1, 1, 2, 2], "t": [0, 1] * 3, "x": [0.5, 1.0, 1.5] * 2})
    frame.to_parquet(path)
    return str(path)


@pytest.mark.parametrize(("command", "name", "text"), REFUSALS)
def test_cli_refuses_what_the_rules_refuse(command, name, text, source, tmp_path, capsys):
    rules = dict(COMMANDS)[command]
    value = dict(out_of_range(rules[name]))[text]
    with pytest.raises(MixupError):  # the library refuses it...
        rules[name](name, value)
    dst = str(tmp_path / "out")
    flag = "--" + name.replace("_", "-")
    args = {
        "augment": [source, dst],
        "augment-series": [source, dst, "--series", "id", "--time", "t"],
        "make-data": [dst, "--rows", "10", "--columns", "2"],
    }[command]
    status = main([command, *args, flag, text])  # ... and so does the command line
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert status == 2, err
    assert len(errors) == 1, err
    assert flag in errors[0], err
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_the_refusals_cover_every_numeric_rule():
    covered = {(command, name) for command, name, _ in (p.values for p in REFUSALS)}
    assert {
        ("augment", "alpha"),
        ("augment", "bandwidth"),
        ("augment", "max_categories"),
        ("augment", "batch_size"),
        ("augment", "seed"),
        ("augment", "blocksize"),
        ("augment-series", "alpha"),
        ("augment-series", "k"),
        ("make-data", "rows"),
        ("make-data", "partitions"),
    } <= covered


# --- the docs, written once --------------------------------------------------------------


@pytest.mark.parametrize("function", [mixup, augment_parquet], ids=lambda f: f.__name__)
def test_shared_parameter_docs(function):
    doc = FunctionDoc(function)
    names = [p.name for p in doc["Parameters"]]
    assert names == list(inspect.signature(function).parameters)  # each, in order
    entries = {p.name: p for p in doc["Parameters"]}
    signature = inspect.signature(function).parameters
    for name, text in MIXUP_PARAMETERS.items():
        header, *description = text.splitlines()
        assert entries[name].type == header.split(" : ", 1)[1], name
        assert " ".join(entries[name].desc).startswith(" ".join(d.strip() for d in description))
        if "default " in header:  # the docs say the signature's default
            shown = header.rsplit("default ", 1)[1].strip('"')
            assert shown == str(signature[name].default), name
        else:
            assert signature[name].default is None, name
    assert "{alpha}" not in function.__doc__


def test_accessor_docs_are_mixups():
    assert pd.DataFrame({"x": [1.0]}).mixup.__call__.__doc__ == mixup.__doc__


def test_shared_docs_refuses_an_unknown_entry():
    def f() -> None:
        """Doc.

        Parameters
        ----------
        {nope}
        """

    with pytest.raises(KeyError, match="nope"):
        shared_docs(MIXUP_PARAMETERS)(f)


def test_seed_takes_a_generator_as_the_sampler_takes_a_random_state(tmp_path):
    """A numpy ``Generator`` (or ``RandomState``) gives each call a seed drawn from it:
    two ints, the same for the same generator state on every route, recorded by a
    Parquet job so that passing them back reproduces its output."""
    import dask.dataframe as dd
    import numpy as np

    df = pd.DataFrame({"x": np.arange(40.0), "y": np.arange(40) % 2})
    drawn = tuple(int(v) for v in np.random.default_rng(7).integers(0, 2**32, 2, np.uint64))
    expected = mixup(df, seed=drawn)
    pd.testing.assert_frame_equal(mixup(df, seed=np.random.default_rng(7)), expected)
    lazy = mixup(dd.from_pandas(df, npartitions=3), seed=np.random.default_rng(7))
    pd.testing.assert_frame_equal(lazy.compute(), expected, check_exact=True)
    pd.testing.assert_frame_equal(lazy.compute(), expected, check_exact=True)  # drawn once
    generator = np.random.default_rng(7)
    assert mixup(df, seed=generator).equals(expected)
    assert not mixup(df, seed=generator).equals(expected)  # the next call, the next seed
    legacy = tuple(
        int(v) for v in np.random.RandomState(3).randint(0, 2**32, size=2, dtype=np.uint64)
    )
    assert mixup(df, seed=np.random.RandomState(3)).equals(mixup(df, seed=legacy))
    df.to_parquet(tmp_path / "src.parquet")
    summary = augment_parquet(
        str(tmp_path / "src.parquet"), str(tmp_path / "dst"), seed=np.random.default_rng(7)
    )
    assert summary.seed == drawn
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "dst"), expected, check_exact=True)

"""Every parameter rule, written once, and the checks of columns and row counts.

In the spirit of scikit-learn's ``_param_validation``: a ``Rule`` knows what it allows
and says so when it refuses, naming the parameter, the value and the rule::

    `alpha` must be a finite real number >= 0, got -1

Each public function declares which rule each of its parameters follows (the
``*_RULES`` tables below) with ``@validates(TABLE, ...)``, as scikit-learn's
``validate_params`` does: the table is attached to the function
(``function.__mixup_rules__``) and checked at each call, before anything is read or
started, so the body and the routes only ever see clean, normalised values. Internal
entry points that the public functions share (``_rows.call.prepare``, the Parquet
job's ``plan``, which the CLI calls) check the same tables with ``validate``; no rule
is written anywhere else. A value of the wrong type raises ``MixupTypeError``, a value
out of range ``MixupError``.
"""

from __future__ import annotations

import functools
import inspect
import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, TypeVar, cast

import numpy as np
import pandas as pd

from ..errors import MixupError, MixupTypeError

#: Output positions stay exact as int64 and float64 below this many rows.
MAX_ROWS = 2**53
#: The strings ``sampling_strategy`` may be, in imbalanced-learn's words.
STRATEGIES = ("auto", "minority", "not minority", "not majority", "all")
#: Largest ``k`` of series mixup. Every output series pulls ``k`` whole input series
#: through the shuffle and a worker holds them all at once, so data moved and memory
#: grow linearly with ``k``; with more than a handful of components the Dirichlet mix
#: also tends to the plain average of the series and stops adding diversity.
MAX_K = 16


def is_int(value: object) -> bool:
    """An integer, and not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


class Rule:
    """What one parameter may be. ``allows`` says it in the words of the error."""

    allows: str

    def __call__(self, name: str, value: Any) -> Any:
        """Return ``value`` normalised (e.g. numpy ints as ints), or raise."""
        raise NotImplementedError

    def wrong_type(self, name: str, value: Any) -> MixupTypeError:
        return MixupTypeError(f"`{name}` must be {self.allows}, not {value!r}")

    def out_of_range(self, name: str, value: Any) -> MixupError:
        return MixupError(f"`{name}` must be {self.allows}, got {value!r}")


@dataclass(frozen=True)
class Flag(Rule):
    allows: str = "True or False"

    def __call__(self, name: str, value: Any) -> bool:
        if not isinstance(value, (bool, np.bool_)):
            raise self.wrong_type(name, value)
        return bool(value)


@dataclass(frozen=True)
class Real(Rule):
    """A finite real number above ``low`` (strictly, or not), never a bool."""

    low: float
    strict: bool = False
    note: str = ""

    @property
    def allows(self) -> str:  # type: ignore[override]
        return f"a finite real number {'>' if self.strict else '>='} {self.low:g}{self.note}"

    def __call__(self, name: str, value: Any) -> float:
        if not isinstance(value, numbers.Real) or isinstance(value, (bool, np.bool_)):
            raise self.wrong_type(name, value)
        number = float(value)
        if not (np.isfinite(number) and (number > self.low if self.strict else number >= self.low)):
            raise self.out_of_range(name, value)
        return number


@dataclass(frozen=True)
class Int(Rule):
    """An int in ``[low, high]``, never a bool; ``allows`` may say it in other words."""

    low: int
    high: int | None = None
    words: str = ""

    @property
    def allows(self) -> str:  # type: ignore[override]
        if self.words:
            return self.words
        if self.high is None:
            return f"an int >= {self.low}"
        return f"an int between {self.low} and {self.high}"

    def __call__(self, name: str, value: Any) -> int:
        if not is_int(value):
            raise self.wrong_type(name, value)
        if value < self.low or (self.high is not None and value > self.high):
            raise self.out_of_range(name, value)
        return int(value)


@dataclass(frozen=True)
class OneOf(Rule):
    options: tuple[Any, ...]

    @property
    def allows(self) -> str:  # type: ignore[override]
        shown = [repr(o) for o in self.options]
        return " or ".join(shown) if len(shown) < 3 else f"one of {', '.join(shown)}"

    def __call__(self, name: str, value: Any) -> Any:
        for option in self.options:
            if value is option or (isinstance(value, str) and value == option):
                return option
        raise self.out_of_range(name, value)


@dataclass(frozen=True)
class Optional(Rule):
    """None, or what ``rule`` allows."""

    rule: Rule

    @property
    def allows(self) -> str:  # type: ignore[override]
        return f"None or {self.rule.allows}"

    def __call__(self, name: str, value: Any) -> Any:
        if value is None:
            return None
        try:
            return self.rule(name, value)
        except MixupError as exc:  # the rule's own words (and way of showing the value)
            message = str(exc).replace(f"must be {self.rule.allows}", f"must be {self.allows}", 1)
            raise type(exc)(message) from None


@dataclass(frozen=True)
class Seed(Rule):
    allows: str = (
        "None, a non-negative int, a sequence of them, a numpy SeedSequence, Generator or "
        "RandomState"
    )

    def __call__(self, name: str, value: Any) -> Any:
        if value is None or isinstance(value, np.random.SeedSequence):
            return value
        if isinstance(value, np.random.Generator):
            # This call's seed drawn from it, as MixupOverSampler draws one from a
            # RandomState: successive calls differ, reproducibly from the generator's
            # state; the two ints are the seed a Parquet job records.
            return tuple(int(v) for v in value.integers(0, 2**32, size=2, dtype=np.uint64))
        if isinstance(value, np.random.RandomState):
            return tuple(int(v) for v in value.randint(0, 2**32, size=2, dtype=np.uint64))
        if is_int(value):
            values = [value]
        elif isinstance(value, Sequence) and not isinstance(value, (str, bytes)) and value:
            values = list(value)
        else:
            raise self.wrong_type(name, value)
        if not all(is_int(v) for v in values):
            raise self.wrong_type(name, value)
        if any(v < 0 for v in values):
            raise self.out_of_range(name, value)
        return int(value) if is_int(value) else tuple(int(v) for v in values)


@dataclass(frozen=True)
class Names(Rule):
    """One column name, or a non-empty list of them (returned as a list)."""

    allows: str = "a column name or a non-empty list of column names"

    def __call__(self, name: str, value: Any) -> list[str]:
        names = [value] if isinstance(value, str) else value
        if not isinstance(names, (list, tuple, pd.Index)) or not len(names):
            raise self.wrong_type(name, value)
        if not all(isinstance(n, str) for n in names):
            raise self.wrong_type(name, value)
        return list(names)


@dataclass(frozen=True)
class Options(Rule):
    """A dict of fsspec options with string keys. They hold credentials, so an error
    names the value's type, never the value."""

    allows: str = "a dict of fsspec options with string keys"

    def __call__(self, name: str, value: Any) -> dict[str, Any]:
        if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
            raise MixupTypeError(f"`{name}` must be {self.allows}, not {type(value).__name__}")
        return dict(value)


@dataclass(frozen=True)
class IsCallable(Rule):
    allows: str = "a callable"

    def __call__(self, name: str, value: Any) -> Callable[..., Any]:
        if not callable(value):
            raise self.wrong_type(name, value)
        return value


@dataclass(frozen=True)
class ProgressBar(Rule):
    """A progress switch as tqdm and Dask users pass one: None or False for none, True
    for Dask's progress bar, or a callable given each pass's futures."""

    allows: str = "None, True, False or a callable given the futures"

    def __call__(self, name: str, value: Any) -> Any:
        if value is None or isinstance(value, (bool, np.bool_)):
            return True if value else None
        if not callable(value):
            raise self.wrong_type(name, value)
        return value


@dataclass(frozen=True)
class ClassRows(Rule):
    """A dict of rows per class, ``{class: int >= 0}`` (classes are checked later,
    against the labels)."""

    allows: str = "a dict {class: rows >= 0}"

    def __call__(self, name: str, value: Any) -> Mapping[Any, int]:
        if not isinstance(value, Mapping):
            raise self.wrong_type(name, value)
        for key, rows in value.items():
            if not is_int(rows):
                raise MixupTypeError(
                    f"`{name}`: the rows of class {key!r} must be an int >= 0, not {rows!r}"
                )
            if rows < 0 or rows >= MAX_ROWS:
                raise MixupError(
                    f"`{name}`: the rows of class {key!r} must be between 0 and 2**53 - 1, "
                    f"got {rows!r}"
                )
        return value  # as given: the CLI's ClassNames match classes by their text


@dataclass(frozen=True)
class Either(Rule):
    """What ``first`` allows (tried for ints), else what ``second`` allows."""

    first: Rule
    second: Rule

    @property
    def allows(self) -> str:  # type: ignore[override]
        return f"{self.first.allows}, or {self.second.allows}"

    def __call__(self, name: str, value: Any) -> Any:
        if isinstance(value, Mapping):
            return self.second(name, value)
        try:
            return self.first(name, value)
        except MixupTypeError:
            raise self.wrong_type(name, value) from None
        except MixupError:
            raise self.out_of_range(name, value) from None


@dataclass(frozen=True)
class Strategy(Rule):
    """``sampling_strategy``'s types; its values are checked against the class counts
    (``_balancing.over_sampling_targets``), once they are known."""

    allows: str = (
        f"None, one of {', '.join(map(repr, STRATEGIES))}, a float in (0, 1], a dict "
        "{class: rows after resampling} or a callable"
    )

    def __call__(self, name: str, value: Any) -> Any:
        if value is None or isinstance(value, (str, Mapping, list)) or callable(value):
            return value
        if isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_)):
            return value
        raise self.wrong_type(name, value)


FLAG = Flag()
SEED = Seed()
BATCH_SIZE = Optional(Int(1, MAX_ROWS - 1, words="an int between 1 and 2**53 - 1"))
#: mixup's ``batch_size``: one number of rows, or rows per class.
ROW_BATCH_SIZE = Either(BATCH_SIZE, ClassRows())

#: ``categorical=``, ``integers=``, ``missing=``: the values each policy takes.
CATEGORICAL = ("raise", "dominant", "sample", "onehot")
INTEGERS = ("float", "round")
MISSING = ("raise", "propagate", "available")
#: ``provenance=True``: the trailing columns (left row, partner row, lambda).
PROVENANCE = ("mixup_left", "mixup_partner", "mixup_lambda")

#: ``mixup``'s ``alpha`` (the over-sampler's scikit-learn constraint is made from it).
MIXUP_ALPHA = Real(0)
#: ``bandwidth``: the width of C-Mixup's Gaussian kernel over the labels (the CLI's
#: range is made from it).
BANDWIDTH = Real(0, strict=True)

#: ``mixup``'s parameters (``labels`` is a column rule: ``_labels.resolve_labels``).
MIXUP_RULES: dict[str, Rule] = {
    "alpha": MIXUP_ALPHA,
    "concat": FLAG,
    "batch_size": ROW_BATCH_SIZE,
    "seed": SEED,
    "within_class": FLAG,
    "label_preserving": FLAG,
    "sampling_strategy": Strategy(),
    "categorical": OneOf(CATEGORICAL),
    "max_categories": Int(1, words="an int >= 1 (categories of a one-hot encoded column)"),
    "integers": OneOf(INTEGERS),
    "missing": OneOf(MISSING),
    "provenance": FLAG,
    "bandwidth": Optional(BANDWIDTH),
}

#: ``mixup``'s keywords and their defaults: the one place they are written. The public
#: signatures that take them (``mixup``, ``augment_parquet``, ``MixupOverSampler``, the
#: CLI, which takes its defaults from here) are tested against it
#: (``tests/test_parameters.py``).
MIXUP_DEFAULTS: dict[str, Any] = {
    "alpha": 4.0,
    "concat": False,
    "batch_size": None,
    "seed": None,
    "labels": None,
    "within_class": False,
    "label_preserving": False,
    "sampling_strategy": None,
    "categorical": "raise",
    "max_categories": 64,
    "integers": "float",
    "missing": "raise",
    "provenance": False,
    "bandwidth": None,
}

#: ``mixup_series``'s keywords with defaults (``series`` and ``time`` have none): the one
#: place they are written, tested against the signature (``tests/test_parameters.py``).
SERIES_DEFAULTS: dict[str, Any] = {
    "alpha": 1.5,
    "k": 2,
    "batch_size": None,
    "scale": "mean",
    "seed": None,
    "labels": None,
    "categorical": "raise",
}

#: ``MixupStream``'s formats of a batch.
FORMATS = ("pandas", "numpy", "arrow", "polars", "torch")

#: ``MixupStream``'s own parameters; the others are ``mixup``'s (``STREAM_MIXUP_RULES``).
STREAM_RULES: dict[str, Rule] = {
    "batch_size": Int(1, MAX_ROWS - 1, words="an int between 1 and 2**53 - 1 (rows per batch)"),
    "window": Optional(Int(4, MAX_ROWS - 1, words="an int >= 4 (rows)")),
    "drop_last": FLAG,
    "columns": Optional(Names()),
    "storage_options": Optional(Options()),
}
#: ``mixup``'s options that ``MixupStream`` takes, with ``mixup``'s rules.
STREAM_MIXUP_RULES: dict[str, Rule] = {
    name: rule
    for name, rule in MIXUP_RULES.items()
    # An epoch is one full pass over the rows, so neither extra rows nor rows per class.
    if name not in ("concat", "batch_size", "sampling_strategy")
}
#: ``MixupStream.batches``' parameters (``rank < world_size`` is checked beside them).
BATCHES_RULES: dict[str, Rule] = {
    "epoch": Int(0),
    "rank": Int(0),
    "world_size": Int(1),
    "start": Int(0),
    "format": OneOf(FORMATS),
}

#: ``mixup_series``'s parameters (``series``, ``time`` and ``labels`` are column rules).
SERIES_RULES: dict[str, Rule] = {
    "alpha": Real(0, strict=True, note=" (the Dirichlet concentration)"),
    "k": Int(1, MAX_K),
    "batch_size": BATCH_SIZE,
    "scale": OneOf(("mean", None)),
    "seed": SEED,
    "categorical": OneOf(("raise", "dominant")),
}

#: The Parquet jobs' own parameters, the same for rows and series.
JOB_RULES: dict[str, Rule] = {
    "columns": Optional(Names()),
    "overwrite": FLAG,
    "blocksize": Optional(Int(1, words="a positive number of bytes")),
    "storage_options": Optional(Options()),
    "dst_storage_options": Optional(Options()),
    "progress": ProgressBar(),
}


#: ``make_data``'s parameters.
MAKE_DATA_RULES: dict[str, Rule] = {
    "rows": Int(1),
    "columns": Int(1),
    "classes": Int(0),
    "partitions": Optional(Int(1)),
    "seed": Int(0),
    "overwrite": FLAG,
    "storage_options": Optional(Options()),  # as for augment_parquet
}


def validate(rules: Mapping[str, Rule], **values: Any) -> dict[str, Any]:
    """Check each of ``values`` against its rule; return them normalised."""
    return {name: rules[name](name, value) for name, value in values.items()}


F = TypeVar("F", bound=Callable[..., Any])


def validates(*tables: Mapping[str, Rule]) -> Callable[[F], F]:
    """Attach the rules of ``tables`` to the decorated function and check them at each
    call, as scikit-learn's ``validate_params`` does.

    The merged table is the function's ``__mixup_rules__`` (read-only); every rule must
    name one of its parameters. At each call the parameters given are checked in the
    tables' order (defaults are valid by construction, see ``tests/test_parameters.py``)
    and the body runs with their normalised values. A call that does not fit the
    signature raises Python's own ``TypeError``.
    """
    rules = {name: rule for table in tables for name, rule in table.items()}

    def decorate(function: F) -> F:
        signature = inspect.signature(function)
        unknown = [name for name in rules if name not in signature.parameters]
        if unknown:
            raise TypeError(f"{function.__qualname__} has no parameter {unknown[0]!r}")

        @functools.wraps(function)
        def checked(*args: Any, **kwargs: Any) -> Any:
            try:
                bound = signature.bind(*args, **kwargs)
            except TypeError:
                return function(*args, **kwargs)  # raises, in Python's own words
            given = bound.arguments
            for name, rule in rules.items():
                if name in given:
                    given[name] = rule(name, given[name])
            return function(*bound.args, **bound.kwargs)

        checked.__mixup_rules__ = MappingProxyType(rules)  # type: ignore[attr-defined]
        return cast(F, checked)

    return decorate


def rules_of(function: Callable[..., Any]) -> Mapping[str, Rule]:
    """The rules ``@validates`` attached to ``function``."""
    return function.__mixup_rules__  # type: ignore[attr-defined]


@functools.cache
def _signature(function: Callable[..., Any]) -> inspect.Signature:
    return inspect.signature(function)  # ~0.15 ms a call: a tenth of a small mixup


def arguments(function: Callable[..., Any], *args: Any, **kwargs: Any) -> dict[str, Any]:
    """The arguments of a call of ``function``, its defaults filled in.

    The public signature is the one place a parameter's default is written; an
    unknown keyword raises ``TypeError`` as the call itself would.
    """
    bound = _signature(function).bind(*args, **kwargs)
    bound.apply_defaults()
    return dict(bound.arguments)


def with_defaults(defaults: Mapping[str, Any], options: Mapping[str, Any]) -> dict[str, Any]:
    """``options`` with ``defaults`` filled in; an unknown keyword raises ``TypeError``
    as a call with it would."""
    unknown = [name for name in options if name not in defaults]
    if unknown:
        raise TypeError(f"got an unexpected keyword argument {unknown[0]!r}")
    return {**defaults, **options}


def needs_labels(labels: Any, **flags: bool) -> None:
    """Options that only make sense with ``labels``."""
    for name, flag in flags.items():
        if flag and labels is None:
            raise MixupError(f"`{name}=True` needs `labels`: the label column(s) to use")


def check_data(data: Any) -> None:
    """A pandas or dask frame with uniquely named columns."""
    import dask.dataframe as dd

    if not isinstance(data, (pd.DataFrame, dd.DataFrame)):
        raise MixupTypeError(
            f"`data` must be a pandas or dask DataFrame, not {type(data).__module__}."
            f"{type(data).__qualname__}"
        )
    columns = data.columns
    if len(columns) == 0:
        raise MixupError("`data` has no columns to mix")
    if columns.has_duplicates:
        dups = sorted({repr(c) for c in columns[columns.duplicated()]})
        raise MixupError(f"column names must be unique; repeated: {', '.join(dups)}")


def per_class_rules(
    labels: Any, batch_size: Any, sampling_strategy: Any, within_class: bool, label_preserving: bool
) -> None:
    """Rows per class need labels; a strategy counts classes, so its rows need one."""
    if sampling_strategy is not None and batch_size is not None:
        raise MixupError("give `batch_size` or `sampling_strategy`, not both")
    if isinstance(batch_size, Mapping) and labels is None:
        raise MixupError("`batch_size` as a dict of rows per class needs `labels`")
    if sampling_strategy is not None:
        if labels is None:
            raise MixupError("`sampling_strategy` needs `labels`: the label column(s) to balance")
        if not (within_class or label_preserving):
            raise MixupError(
                "`sampling_strategy` needs `within_class=True` or `label_preserving=True`: "
                "otherwise a mixed row's label is soft and it belongs to no class"
            )


def bandwidth_rules(
    labels: Any,
    bandwidth: float | None,
    within_class: bool,
    label_preserving: bool,
    sampling_strategy: Any,
    batch_size: Any,
) -> None:
    """``bandwidth`` draws partners by label distance (C-Mixup): it needs numeric labels
    and takes the place of what only classes give (the label column's own kind is
    checked once resolved: ``_rows.call.prepare``)."""
    if bandwidth is None:
        return
    if labels is None:
        raise MixupError(
            "`bandwidth` needs `labels`: the numeric label column(s) whose distance "
            "chooses the partners"
        )
    for name, given in (
        ("sampling_strategy", sampling_strategy is not None),
        ("batch_size", isinstance(batch_size, Mapping)),
        ("within_class", within_class),
        ("label_preserving", label_preserving),
    ):
        if given:
            shown = "a dict `batch_size`" if name == "batch_size" else f"`{name}`"
            raise MixupError(
                f"{shown} cannot be combined with `bandwidth`: it needs classes, and "
                f"`bandwidth` takes numeric labels (a regression target) and chooses "
                f"partners by label distance"
            )


def check_rows(n: int, batch_size: int | None) -> int:
    """Check the number of input rows; return the number of mixed rows to make."""
    if n < 2:
        raise MixupError(f"`data` must have at least 2 rows to mix, it has {n}")
    m = n if batch_size is None else batch_size
    if n + m >= MAX_ROWS:
        raise MixupError("`data` and `batch_size` together must stay below 2**53 rows")
    return m

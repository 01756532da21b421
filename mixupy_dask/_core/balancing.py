"""Class balancing: how many mixed rows each class gets, from the rows each class has.

``over_sampling_targets`` gives ``sampling_strategy`` imbalanced-learn's meaning for
over-sampling, as a pure function of the class counts (it needs no rows, so on Dask and
Parquet the counts of the one label pass suffice). Its refusals use imbalanced-learn's
words, naming the class where imbalanced-learn does not. Written from imbalanced-learn's
documentation and tested against ``imblearn.utils.check_sampling_strategy``; nothing here
imports imbalanced-learn.

=================  ==========================================================
strategy           rows made for class ``g`` (``N`` = rows of the majority)
=================  ==========================================================
``'auto'``         ``N - n_g`` for every class but the majority (= 'not majority')
``'not majority'`` ``N - n_g`` for every class but the majority
``'minority'``     ``N - n_g`` for the minority class only
``'not minority'`` ``N - n_g`` for every class but the minority (majority: 0)
``'all'``          ``N - n_g`` for every class (majority: 0)
float ``r``        two classes only: ``int(N * r - n_min)`` for the minority
dict               ``{class: rows after}``: ``rows - n_g`` for the classes named
callable           returns such a dict
=================  ==========================================================

The majority and the minority are the first class, in the classes' order, with the
most and the fewest rows (imbalanced-learn's order is sorted, as mixup's for a class
column without a categorical order).
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Hashable, Mapping
from typing import Any

from ..errors import MixupError, MixupTypeError
from .validation import STRATEGIES, is_int


class ClassNames(dict):
    """A dict whose keys are the text of class values (from the command line).

    Its keys match a class whose ``str()`` is the key, so ``--sampling-strategy 1:500``
    names the class ``1`` of an integer label column.
    """


def _named(mapping: Mapping, classes: list) -> dict:
    """``mapping`` keyed by the classes themselves (text keys of ``ClassNames`` matched)."""
    if not isinstance(mapping, ClassNames):
        return dict(mapping)
    by_text = {str(c): c for c in classes}
    return {by_text.get(k, k): v for k, v in mapping.items()}


def _rows_after(value: Any, key: Hashable) -> int:
    """Rows of a class after resampling, from a strategy dict (possibly returned by a
    callable, so it is checked here, after the classes are, in imbalanced-learn's order)."""
    if not is_int(value):
        raise MixupTypeError(
            f"`sampling_strategy`: the rows of class {key!r} must be a whole number, not {value!r}"
        )
    return int(value)


def over_sampling_targets(
    strategy: Any,
    counts: Mapping[Hashable, int],
    *,
    target: str = "y",
    argument: Any = None,
) -> dict[Hashable, int]:
    """Rows to make per class for ``strategy``, as imbalanced-learn over-samples.

    Parameters
    ----------
    strategy : str, float, dict or callable
        As ``sampling_strategy`` of imbalanced-learn's over-samplers (see the module).
    counts : mapping
        Rows of each class present in the data (counts > 0), in the classes' order.
    target : str
        What the classes are called in errors ("y", or the label column).
    argument : object
        What a callable ``strategy`` is called with (imbalanced-learn passes ``y``);
        by default ``counts`` as a dict.

    Returns
    -------
    dict
        ``{class: rows to make}`` for the classes the strategy targets, in the classes'
        order (classes left out get none).

    Raises
    ------
    MixupError
        With imbalanced-learn's words: one class only, an unknown string, a float
        outside (0, 1] or with more than two classes, a ratio that would remove rows,
        a dict naming a missing class, asking for fewer rows than a class has, or
        negative rows.
    MixupTypeError
        A strategy of another type, or rows that are not whole numbers.

    Examples
    --------
    >>> over_sampling_targets("auto", {"a": 80, "b": 15, "c": 5})
    {'b': 65, 'c': 75}
    >>> over_sampling_targets({"c": 20}, {"a": 80, "b": 15, "c": 5})
    {'c': 15}
    >>> over_sampling_targets(0.5, {0: 90, 1: 10})
    {1: 35}
    """
    classes = list(counts)
    if len(classes) <= 1:
        raise MixupError(
            f"The target {target!r} needs to have more than 1 class. "
            f"Got {len(classes)} class instead"
        )
    if callable(strategy) and not isinstance(strategy, (str, Mapping)):
        wanted = strategy(dict(counts) if argument is None else argument)
        if not isinstance(wanted, Mapping):
            raise MixupTypeError(
                f"a callable `sampling_strategy` must return a dict {{class: rows after "
                f"resampling}}, not {type(wanted).__name__}"
            )
        return _from_dict(wanted, counts, classes)
    if isinstance(strategy, str):
        return _from_string(strategy, counts, classes)
    if isinstance(strategy, Mapping):
        return _from_dict(strategy, counts, classes)
    if isinstance(strategy, list):
        raise MixupError(
            "'sampling_strategy' cannot be a list for samplers which are not cleaning methods."
        )
    if isinstance(strategy, numbers.Real) and not isinstance(strategy, bool):
        return _from_ratio(float(strategy), counts, classes)
    raise MixupTypeError(
        f"`sampling_strategy` must be one of {', '.join(map(repr, STRATEGIES))}, a float in "
        f"(0, 1], a dict {{class: rows after resampling}} or a callable, not {strategy!r}"
    )


def _extremes(counts: Mapping, classes: list) -> tuple[Hashable, Hashable, int]:
    majority = max(classes, key=lambda c: counts[c])  # max/min keep the first on ties
    minority = min(classes, key=lambda c: counts[c])
    return majority, minority, counts[majority]


def _from_string(strategy: str, counts: Mapping, classes: list) -> dict:
    if strategy == "majority":
        raise MixupError("'sampling_strategy'='majority' cannot be used with over-sampler.")
    if strategy not in STRATEGIES:
        raise MixupError(
            f"When 'sampling_strategy' is a string, it needs to be one of "
            f"{', '.join(map(repr, STRATEGIES))}. Got {strategy!r} instead."
        )
    majority, minority, most = _extremes(counts, classes)
    chosen = {
        "auto": [c for c in classes if c != majority],
        "not majority": [c for c in classes if c != majority],
        "minority": [minority],
        "not minority": [c for c in classes if c != minority],
        "all": classes,
    }[strategy]
    return {c: most - counts[c] for c in chosen}


def _from_ratio(ratio: float, counts: Mapping, classes: list) -> dict:
    if not 0 < ratio <= 1:
        raise MixupError(
            f"When 'sampling_strategy' is a float, it should be in the range (0, 1]. "
            f"Got {ratio} instead."
        )
    if len(classes) != 2:
        raise MixupError(
            '"sampling_strategy" can be a float only when the type of target is binary. '
            "For multi-class, use a dict."
        )
    majority, _, most = _extremes(counts, classes)
    # The minority's rows after resampling are ratio * N, truncated as imbalanced-learn does.
    made = {c: int(most * ratio - counts[c]) for c in classes if c != majority}
    if any(rows <= 0 for rows in made.values()):
        raise MixupError(
            "The specified ratio required to remove samples from the minority class while "
            "trying to generate new samples. Please increase the ratio."
        )
    return made


def _from_dict(wanted: Mapping, counts: Mapping, classes: list) -> dict:
    wanted = _named(wanted, classes)
    missing = set(wanted) - set(classes)
    if missing:
        raise MixupError(f"The {missing} target class is/are not present in the data.")
    after = {c: _rows_after(v, c) for c, v in wanted.items()}
    if any(v < 0 for v in after.values()):
        raise MixupError(
            "The number of samples in a class cannot be negative."
            f"'sampling_strategy' contains some negative value: {dict(wanted)}"
        )
    for c, rows in after.items():
        if rows < counts[c]:
            raise MixupError(
                "With over-sampling methods, the number of samples in a class should be "
                "greater or equal to the original number of samples. Originally, there is "
                f"{counts[c]} samples and {rows} samples are asked. That is class {c!r}."
            )
    return {c: after[c] - counts[c] for c in classes if c in after}


def class_rows(
    batch_size: Mapping,
    classes: tuple,
    sizes: tuple[int, ...],
) -> tuple[int, ...]:
    """A dict ``batch_size`` ``{class: rows to make}`` as rows per class, in class order.

    The rows are ``batch_size``'s rule's (``validation.ClassRows``: ints >= 0), checked at
    the call; here only the classes, against the labels.

    Examples
    --------
    >>> class_rows({"b": 4}, ("a", "b"), (10, 2))
    (0, 4)
    """
    named = _named(batch_size, list(classes))
    unknown = [k for k in named if k not in classes]
    if unknown:
        raise MixupError(
            f"`batch_size`: no class {unknown[0]!r} in the labels; the classes are "
            f"{', '.join(map(repr, classes))}"
        )
    rows = tuple(int(named.get(c, 0)) for c in classes)
    for c, r, n in zip(classes, rows, sizes, strict=True):
        if r and not n:
            raise MixupError(f"`batch_size`: class {c!r} has no rows to mix, {r} asked")
    return rows


def strategy_rows(
    strategy: Any,
    classes: tuple,
    sizes: tuple[int, ...],
    target: str,
    argument: Callable[[], Any] | None = None,
) -> tuple[int, ...]:
    """``sampling_strategy`` resolved against the class sizes, as rows per class."""
    counts = {c: n for c, n in zip(classes, sizes, strict=True) if n}
    made = over_sampling_targets(
        strategy, counts, target=target, argument=None if argument is None else argument()
    )
    return tuple(made.get(c, 0) for c in classes)

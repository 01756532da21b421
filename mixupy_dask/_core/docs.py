"""Parameter docs written once: the numpydoc entries of ``mixup``'s keywords, shared by
the docstrings of every function that takes them (as numpydoc-based projects share
theirs, e.g. imbalanced-learn's ``Substitution``).

A docstring names an entry by a line holding only ``{name}``; ``shared_docs`` puts the
entry there, indented as that line. Each entry's default and choices are read from
the rules (``validation.MIXUP_DEFAULTS`` and the policies' options), so they cannot
drift from the code.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TypeVar

from .validation import CATEGORICAL, INTEGERS, MISSING, MIXUP_DEFAULTS

T = TypeVar("T")


def _choices(options: tuple[str, ...]) -> str:
    return "{" + ", ".join(f'"{option}"' for option in options) + "}"


def _default(name: str) -> str:
    value = MIXUP_DEFAULTS[name]
    return f'"{value}"' if isinstance(value, str) else repr(value)


#: ``mixup``'s keywords, ``alpha`` to ``provenance``, as numpydoc parameter entries.
MIXUP_PARAMETERS: dict[str, str] = {
    "alpha": f"""alpha : float, default {_default("alpha")}
    Beta(alpha, alpha) shape, >= 0. Small values keep rows close to the
    originals; ``alpha=0`` makes exact copies of the left rows, missing values
    included (see ``missing``).""",
    "concat": f"""concat : bool, default {_default("concat")}
    Put the original rows (as floats) before the mixed rows.""",
    "batch_size": """batch_size : int or dict, optional
    Number of mixed rows, any value >= 1 (default: as many as there are input rows).
    Every full pass over the data uses each row once as left row and once as
    partner; a last partial pass uses a uniform random subset of rows. A dict
    ``{class: rows}`` (needs ``labels``) says how many mixed rows to make with left
    rows of each class (absent classes: none); each class then makes its own full
    passes and a partial pass of a uniform random subset of its rows.""",
    "seed": """seed : int, sequence of int, numpy SeedSequence, Generator or RandomState, optional
    Fixes the result: the same seed gives bit-identical output on pandas and
    dask, for any partitioning and number of workers. ``seed=(base, epoch)``
    gives independent epochs. ``None`` draws fresh entropy once, at this call,
    so a lazy result recomputes to the same values. A ``Generator`` (or
    ``RandomState``) gives each call a seed drawn from it, as
    ``MixupOverSampler``'s ``random_state`` does: two draws from one generator
    differ, and the same generator state gives the same output.""",
    "labels": """labels : column name or list of column names, optional
    One class column (categorical, string, object, bool or integer) is one-hot
    encoded into soft-label columns named ``f"{column}_{class}"``, in place of
    the column; several numeric columns are taken as a one-hot or probability
    block. Without ``labels`` every column is mixed as it is.""",
    "within_class": f"""within_class : bool, default {_default("within_class")}
    Take each row's partner from its own class (the argmax of its labels), so
    class-conditional distributions are augmented separately. Needs ``labels``.""",
    "label_preserving": f"""label_preserving : bool, default {_default("label_preserving")}
    Use ``max(lam, 1 - lam)``, so each row stays closest to its left row, and
    give it the left row's own label as a hard one-hot. Needs ``labels``.""",
    "sampling_strategy": """sampling_strategy : str, float, dict or callable, optional
    Balance the classes, with imbalanced-learn's meaning for over-sampling:
    ``'auto'`` (= ``'not majority'``), ``'minority'``, ``'not minority'``, ``'all'``,
    a float (two classes: minority / majority rows after resampling), a dict
    ``{class: rows after resampling}``, or a callable given the rows per class (a
    pandas Series) that returns such a dict. Resolved into rows per class, as a dict
    ``batch_size``, from the class counts; needs ``labels`` and ``within_class`` or
    ``label_preserving`` (so each mixed row has a class); instead of ``batch_size``.
    With ``concat=True`` the result holds the originals and the synthetic rows.""",
    "categorical": f"""categorical : {_choices(CATEGORICAL)}, default {_default("categorical")}
    Categorical, string and object (string) feature columns. ``"raise"`` refuses
    them. ``"dominant"`` takes the value of the parent with the larger weight (the
    left row when ``lam >= 0.5``). ``"sample"`` takes the left row's value with
    probability ``lam``, else the partner's: one uniform draw per output row,
    shared by all such columns of the row (values that belong together stay
    together). Both keep the column's dtype: a categorical its categories in
    their order (unused ones too), strings their storage. ``"onehot"`` replaces
    the column by soft one-hot float columns ``f"{{column}}_{{category}}"``, as
    ``labels`` encodes a class column (a categorical's categories in order,
    others' sorted values).""",
    "max_categories": f"""max_categories : int, default {_default("max_categories")}
    ``categorical="onehot"`` refuses a column with more categories than this.""",
    "integers": f"""integers : {_choices(INTEGERS)}, default {_default("integers")}
    ``"float"`` mixes integer columns into float64. ``"round"`` rounds the mixed
    value half to even (``numpy.rint``), clips it to the two parents' range and
    returns it in the column's own dtype (exact below 2**53); bool columns then
    take the dominant parent's value and stay bool.""",
    "missing": f"""missing : {_choices(MISSING)}, default {_default("missing")}
    Missing values (NaN, None, ``pd.NA``, NaT, Arrow nulls): ``"raise"`` refuses
    them; ``"propagate"`` makes a mixed value missing when either parent's is (a
    chosen column takes the chosen parent's value, missing or not);
    ``"available"`` takes the other parent's value where one is missing, missing
    only when both are. Under both, a parent whose weight is exactly 0 takes no
    part: a row with ``lam == 1`` is its left row as it is, missing values
    included (the partner's neither blanks nor fills them), and one with
    ``lam == 0`` its partner (a float32 column judges the weight in float32).
    Infinite values and missing labels are always refused.
    Nullable integer and boolean columns stay nullable where their dtype is
    kept; float output holds NaN.""",
    "provenance": f"""provenance : bool, default {_default("provenance")}
    Append the columns ``mixup_left`` and ``mixup_partner`` (int64: the input
    positions of the left and partner rows, counted from 0 over the whole data)
    and ``mixup_lambda`` (float64: the row's ``lam``). With ``concat=True`` an
    original row is its own left row and partner, with ``lam = 1``.""",
    "bandwidth": """bandwidth : float, optional
    C-Mixup (Yao et al., 2022) for regression: with numeric ``labels`` (one column,
    or a block of them) and ``bandwidth=sigma > 0``, the partner of each output row
    is drawn from all rows (the left row itself included), row ``j`` with
    probability proportional to ``exp(-||y_j - y_i||^2 / (2 sigma^2))`` for the left
    row ``i``: rows with close labels mix more often. Left rows, ``lam`` and the
    column policies are as without it; the labels mix with ``lam`` like the features.
    Exact, seeded and the same on every route, at O(N log N). ``None``: partners
    are a permutation, as in plain mixup. Refused with a class column, with
    ``within_class``, ``label_preserving``, ``sampling_strategy`` or a dict
    ``batch_size`` (they need classes).""",
}

_PLACEHOLDER = re.compile(r"^(\s*)\{(\w+)\}\s*$")


def shared_docs(entries: Mapping[str, str]) -> Callable[[T], T]:
    """Put ``entries`` into the decorated object's docstring, each at the line that
    holds only ``{name}``, indented as that line; an unknown name is refused."""

    def decorate(obj: T) -> T:
        lines: list[str] = []
        for line in (obj.__doc__ or "").splitlines():
            match = _PLACEHOLDER.match(line)
            if match is None:
                lines.append(line)
                continue
            indent, name = match.groups()
            if name not in entries:
                raise KeyError(f"no shared parameter doc {name!r}")
            lines += [indent + text if text else text for text in entries[name].splitlines()]
        obj.__doc__ = "\n".join(lines)
        return obj

    return decorate

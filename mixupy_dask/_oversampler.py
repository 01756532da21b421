"""``MixupOverSampler``: mixup within a class as an imbalanced-learn over-sampler.

Imported only when ``mixupy_dask.MixupOverSampler`` is asked for, so that importing
``mixupy_dask`` imports neither scikit-learn nor imbalanced-learn (the ``balance``
extra installs them).

Three routes, one set of bits: numpy (and lists) through a direct kernel that writes
the output in place, pandas through ``mixup``'s pandas route, dask through its lazy
route. All three build the same ``Sampler`` (classes in sorted order, rows per class
from ``_balancing``), so the synthetic rows agree bit for bit.
"""

from __future__ import annotations

from collections import OrderedDict
from numbers import Real
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pyarrow as pa
from imblearn.over_sampling.base import BaseOverSampler
from imblearn.utils import check_target_type
from sklearn.preprocessing import label_binarize
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_feature_names, _check_n_features, validate_data

from ._core.balancing import over_sampling_targets
from ._core.dtypes import output_dtype
from ._core.labels import _is_class_dtype
from ._core.random import Keys
from ._core.sampler import Sampler
from ._core.validation import CATEGORICAL, MIXUP_ALPHA, MIXUP_RULES, check_rows, validate
from ._kernel.mix import mix
from ._rows.call import prepare
from ._rows.mixup import mixup
from ._rows.pandas_route import pairs
from .errors import MixupError, MixupTypeError, NonFiniteError

#: Output rows mixed per step of the numpy kernel: bounds its temporaries.
_CHUNK = 1 << 16


def _seed(random_state: Any) -> Any:
    """``random_state`` as a mixup seed.

    A ``RandomState`` is converted: each call draws a fresh 64-bit seed from it (so
    successive fits differ, as scikit-learn's estimators do with one), reproducible
    from the ``RandomState``'s state.
    """
    if isinstance(random_state, np.random.RandomState):
        return tuple(int(v) for v in random_state.randint(0, 2**32, size=2, dtype=np.uint64))
    return random_state


def _label_name(columns) -> str:
    """A column name for the labels that no column of ``X`` has."""
    name = "__mixupy_y"
    taken = {str(c) for c in columns}
    while any(t == name or t.startswith(f"{name}_") for t in taken):
        name += "_"
    return name


class MixupOverSampler(BaseOverSampler):
    """Over-sample classes with mixup: synthetic rows mix two rows of the class.

    Like SMOTE, a synthetic row lies on the segment between two rows of the class, but
    the partner is a keyed random permutation of the class instead of a nearest
    neighbour: no neighbour search, so it scales to data of any size, and it runs out
    of core on dask input with the same bits as on pandas. Every row of a class is a
    left row once per full pass over the class, and a partner once.

    Parameters
    ----------
    alpha : float, default 1.0
        Beta(alpha, alpha) mixing weights; 1.0 draws them uniformly, as SMOTE draws its
        gaps. 0 copies the left rows (random over-sampling without replacement).
    sampling_strategy : float, str, dict or callable, default 'auto'
        Which classes to grow and to how many rows, as in imbalanced-learn:
        ``'auto'`` (= ``'not majority'``), ``'minority'``, ``'not minority'``, ``'all'``,
        a float (binary: minority / majority after resampling), a dict ``{class: rows
        after resampling}``, or a callable ``f(y) -> dict``.
    within_class : bool, default True
        Partners from the left row's own class: synthetic rows of class ``g`` are
        convex combinations of two rows of class ``g``.
    label_preserving : bool, default False
        ``lam >= 1/2`` and the left row's class; with ``within_class=False`` partners
        come from any class.
    categorical : {'raise', 'dominant', 'sample'}, default 'raise'
        Categorical and string columns of a pandas or dask ``X``, as ``mixup``'s
        ``categorical``: refused, the dominant parent's value, or a parent's value
        drawn with probability ``lam``; they keep their dtype. (``'onehot'`` would
        change ``X``'s columns, which a sampler must not.) Numpy ``X`` must be numeric.
    random_state : int, numpy SeedSequence, RandomState or None, default None
        Fixes the synthetic rows. None draws fresh entropy at each call. A
        ``RandomState`` gives each call a seed drawn from it.

    Attributes
    ----------
    sampling_strategy_ : OrderedDict
        ``{class: synthetic rows}`` for the targeted classes, as imbalanced-learn's.
    classes_ : ndarray
        The classes, sorted.
    n_features_in_ : int
        Number of features seen in ``fit_resample``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen in ``fit_resample``, when ``X`` has string column names.

    Notes
    -----
    ``fit_resample`` returns the originals then the synthetic rows, with hard labels.
    numpy in, numpy out; Polars and Arrow in, Polars and Arrow out (as pandas, and y's
    type kept); pandas in, pandas out (column names kept, float32 columns
    float32, other columns float64: mixed values of integer columns are not integers;
    pandas sparse columns come back sparse); dask in, lazy dask out, equal bit for bit
    to the pandas result (compute ``X_res`` and ``y_res`` together, e.g. with
    ``dask.compute``, to run the graph once). A class of one row can only be mixed with
    itself: its synthetic rows are copies up to the last bit. scipy sparse matrices,
    missing values (impute them first, or use ``mixup(..., missing=...)``) and
    non-numeric features (unless ``categorical``) are refused.

    Examples
    --------
    >>> import numpy as np
    >>> from mixupy_dask import MixupOverSampler
    >>> X = np.arange(20.0).reshape(10, 2)
    >>> y = np.array([0] * 8 + [1] * 2)
    >>> X_res, y_res = MixupOverSampler(random_state=0).fit_resample(X, y)
    >>> np.bincount(y_res).tolist()
    [8, 8]
    >>> bool((X_res[10:] >= X[8]).all() and (X_res[10:] <= X[9]).all())  # between the two
    True
    """

    # mixup's rules in scikit-learn's words (``validation.MIXUP_RULES``), but for the
    # categorical policy that would change X's columns.
    _parameter_constraints: ClassVar[dict] = {
        "alpha": [
            Interval(
                Real, MIXUP_ALPHA.low, None, closed="neither" if MIXUP_ALPHA.strict else "left"
            )
        ],
        "sampling_strategy": BaseOverSampler._parameter_constraints["sampling_strategy"],
        "within_class": ["boolean"],
        "label_preserving": ["boolean"],
        "categorical": [StrOptions(set(CATEGORICAL) - {"onehot"})],
        "random_state": ["random_state", np.random.SeedSequence],
    }

    def __init__(
        self,
        *,
        alpha: float = 1.0,
        sampling_strategy: Any = "auto",
        within_class: bool = True,
        label_preserving: bool = False,
        categorical: str = "raise",
        random_state: Any = None,
    ) -> None:
        super().__init__(sampling_strategy=sampling_strategy)
        self.alpha = alpha
        self.within_class = within_class
        self.label_preserving = label_preserving
        self.categorical = categorical
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # scipy sparse matrices: refused. A mixed row is as dense as the union of its two
        # rows, and the out-of-core routes have no sparse kernel; pandas sparse columns
        # are accepted (densified to mix, returned sparse).
        tags.input_tags.sparse = False
        tags.input_tags.dataframe = True
        # NaN: refused, as by mixup (a convex combination with NaN is NaN).
        tags.input_tags.allow_nan = False
        # Strings and other non-numeric features: refused (categorical="raise").
        tags.input_tags.string = False
        return tags

    # -- checks shared by fit and fit_resample ------------------------------------------

    def _check_params(self) -> None:
        self._validate_params()
        if not (self.within_class or self.label_preserving):
            raise MixupError(
                "MixupOverSampler needs within_class=True or label_preserving=True: "
                "otherwise a synthetic row's label is soft and it belongs to no class"
            )

    def _targets(self, strategy: Any, classes, sizes, y: Any) -> OrderedDict:
        counts = {c: int(n) for c, n in zip(classes, sizes, strict=True) if n}
        made = over_sampling_targets(strategy, counts, target="y", argument=y)
        return OrderedDict((c, rows) for c, rows in made.items())

    def _in_memory_targets(self, X, y):
        """Validated X (numpy or pandas), 1-d y, one-vs-all flag, classes and codes."""
        if _frame_kind(X) is not None:
            return self._frame_targets(X, y)
        check_classification_targets(y)
        y1d, binarize = check_target_type(y, indicate_one_vs_all=True)
        if isinstance(X, pd.DataFrame):
            _check_n_features(self, X, reset=True)
            _check_feature_names(self, X, reset=True)
            y1d = np.asarray(y1d)
            if len(y1d) != len(X):
                raise MixupError(f"X has {len(X)} rows but y has {len(y1d)}")
        else:
            X, y1d = validate_data(self, X=X, y=y1d, reset=True, accept_sparse=False)
        self.classes_, codes = np.unique(y1d, return_inverse=True)
        sizes = np.bincount(codes, minlength=len(self.classes_))
        self.sampling_strategy_ = self._targets(self.sampling_strategy, self.classes_, sizes, y)
        return X, binarize, codes, sizes

    def _frame_targets(self, X, y):
        """As ``_in_memory_targets``, for a Polars or Arrow ``X`` (and y of any kind)."""
        y1d = _y_values(y)
        check_classification_targets(y1d)
        y1d, binarize = check_target_type(y1d, indicate_one_vs_all=True)
        names = list(X.columns) if _frame_kind(X) == "polars" else X.column_names
        self.n_features_in_ = len(names)
        self.feature_names_in_ = np.asarray(names, dtype=object)
        y1d = np.asarray(y1d)
        if len(y1d) != len(X):
            raise MixupError(f"X has {len(X)} rows but y has {len(y1d)}")
        self.classes_, codes = np.unique(y1d, return_inverse=True)
        sizes = np.bincount(codes, minlength=len(self.classes_))
        self.sampling_strategy_ = self._targets(self.sampling_strategy, self.classes_, sizes, y1d)
        return X, binarize, codes, sizes

    def fit(self, X, y, **params):
        """Check the inputs and resolve ``sampling_strategy_``; no rows are made.

        Returns
        -------
        self : MixupOverSampler
        """
        self._check_params()
        if _is_dask(X):
            self._dask(X, y, build=False)
        else:
            self._in_memory_targets(X, y)
        return self

    def fit_resample(self, X, y, **params):
        """Originals then synthetic rows, and their hard labels.

        Parameters
        ----------
        X : array-like, pandas, Polars or dask DataFrame, or pyarrow Table
            Numeric features, finite; shape (n_samples, n_features).
        y : array-like, pandas, Polars or dask Series, or pyarrow Array
            Classes (or their one-vs-all encoding); shape (n_samples,).

        Returns
        -------
        X_resampled, y_resampled
            Of the same kinds as ``X`` and ``y`` (dask: lazy).
        """
        self._check_params()
        if _is_dask(X):
            return self._dask(X, y, build=True)
        X_in, y_in = X, y
        X, binarize, codes, sizes = self._in_memory_targets(X, y)
        rows = tuple(int(self.sampling_strategy_.get(c, 0)) for c in self.classes_)
        if isinstance(X, pd.DataFrame) or _frame_kind(X) is not None:
            X_res, codes_res = self._frame(X, codes, rows)
        else:
            X_res, codes_res = self._numpy(np.asarray(X), codes, tuple(int(s) for s in sizes), rows)
        y_res = self.classes_[codes_res]
        if binarize:
            y_res = label_binarize(y_res, classes=self.classes_)
        return _like(X_res, X_in), _like_y(y_res, y_in)

    def _fit_resample(self, X, y, **params):  # imbalanced-learn's abstract hook
        return self.fit_resample(X, y)

    # -- routes --------------------------------------------------------------------------

    def _numpy(self, X: np.ndarray, codes: np.ndarray, sizes: tuple, rows: tuple):
        """Mix a numeric array straight into the preallocated output, chunk by chunk."""
        dtype = output_dtype(X.dtype)
        if dtype is None:
            raise MixupTypeError(
                f"X must be numeric (bool, integer or float) to be mixed, not {X.dtype} "
                f"(categorical='raise')"
            )
        p = validate(MIXUP_RULES, alpha=self.alpha, seed=_seed(self.random_state))
        n = len(X)
        m = check_rows(n, sum(rows))
        sampler = Sampler(
            Keys.from_seed(p["seed"]),
            sizes,
            m,
            p["alpha"],
            self.label_preserving,
            class_rows=rows,
            pooled=not self.within_class,
        )
        order = np.argsort(codes, kind="stable")
        bounds = np.concatenate([[0], np.cumsum(sizes)])
        members = [order[bounds[g] : bounds[g + 1]] for g in range(len(sizes))]
        left, partner = pairs(sampler, members)
        out = np.empty((n + m, X.shape[1]), dtype=dtype)
        out[:n] = X
        for a in range(0, m, _CHUNK):
            b = min(a + _CHUNK, m)
            lam = sampler.weights(a, b)[:, None]
            # Rows as columns of (features, rows) blocks, as the kernel takes them.
            left_rows = X[left[a:b]].astype(dtype, copy=False).T
            right_rows = X[partner[a:b]].astype(dtype, copy=False).T
            out[n + a : n + b] = mix(left_rows, right_rows, lam[:, 0]).T
        return out, np.concatenate([codes, codes[left]])

    def _frame(self, X: Any, codes: np.ndarray, rows: tuple):
        """Through mixup's in-memory route (pandas, Polars or Arrow), classes as codes in
        sorted order."""
        kind = _frame_kind(X)
        if kind == "polars":
            import polars as pl

            name = _label_name(X.columns)
            frame = X.with_columns(pl.Series(name, codes))
        elif kind == "pyarrow":
            name = _label_name(X.column_names)
            frame = X.append_column(name, pa.array(codes))
        else:
            dense = X.sparse.to_dense() if _all_sparse(X) else _densify(X)
            _refuse_missing(dense)
            name = _label_name(X.columns)
            frame = dense.assign(**{name: codes})
        width = frame.shape[1] - 1
        out: Any = mixup(
            frame,
            self.alpha,
            True,
            {g: r for g, r in enumerate(rows)},
            seed=_seed(self.random_state),
            labels=name,
            within_class=self.within_class,
            label_preserving=self.label_preserving,
            categorical=self.categorical,
        )
        if kind == "polars":
            return out[:, :width], out[:, width:].to_numpy().argmax(axis=1)
        if kind == "pyarrow":
            labels = np.stack([c.to_numpy() for c in out.columns[width:]], axis=1)
            return out.select(range(width)), labels.argmax(axis=1)
        labels = out.iloc[:, width:].to_numpy()
        return out.iloc[:, :width], labels.argmax(axis=1)

    def _dask(self, X, y, build: bool):
        """Through mixup's lazy route: one pass over y counts the classes."""
        import dask.dataframe as dd

        from ._dask.source import Source
        from ._rows.dask_route import place_and_mix

        if isinstance(y, dd.DataFrame) and len(y.columns) == 1:
            y = y[y.columns[0]]
        if not isinstance(X, dd.DataFrame) or not isinstance(y, dd.Series):
            raise MixupTypeError(
                "dask input must be a dask DataFrame X and a dask Series y, not "
                f"{type(X).__name__} and {type(y).__name__}"
            )
        if not _is_class_dtype(y.dtype) or pd.api.types.is_float_dtype(y.dtype):
            raise MixupTypeError(
                f"a dask y must hold classes (int, bool, string or categorical), not {y.dtype}"
            )
        _check_n_features(self, X, reset=True)
        _check_feature_names(self, X, reset=True)
        name = _label_name(X.columns)
        if isinstance(y.dtype, pd.CategoricalDtype):
            y = y.cat.as_unknown()  # classes sorted by value, as np.unique sorts them
        if X.npartitions != y.npartitions:
            raise MixupError(
                f"dask X and y must be partitioned alike: {X.npartitions} partitions of X, "
                f"{y.npartitions} of y"
            )
        # Partition by partition, by position: assign would align on the index, and with
        # unknown divisions that is a join that reorders rows.
        frame = dd.map_partitions(
            _with_labels,
            X,
            y,
            name,
            meta=X._meta.assign(**{name: y._meta.to_numpy()}),
            align_dataframes=False,
        )
        strategy = self.sampling_strategy
        if callable(strategy) and not isinstance(strategy, (str, dict)):
            strategy = strategy(y)  # imbalanced-learn calls it with y
        call = prepare(
            frame,
            alpha=self.alpha,
            concat=True,
            seed=_seed(self.random_state),
            labels=name,
            within_class=self.within_class,
            label_preserving=self.label_preserving,
            sampling_strategy=strategy,
            categorical=self.categorical,
        )
        out, plan, labels = place_and_mix(Source.of(frame), call)
        assert labels is not None
        self.classes_ = np.asarray(labels.categories)
        sizes = plan.class_starts[:, -1]
        self.sampling_strategy_ = self._targets(strategy, labels.categories, sizes, y)
        if not build:
            return self
        features = out.iloc[:, : len(X.columns)]
        label_columns = list(out.columns[len(X.columns) :])
        classes = self.classes_
        meta = pd.Series(classes[:0], name=y.name)
        y_res = out[label_columns].map_partitions(
            lambda part: pd.Series(
                classes[part.to_numpy().argmax(axis=1)], index=part.index, name=y.name
            ),
            meta=meta,
        )
        return features, y_res


def _with_labels(X: pd.DataFrame, y: pd.Series, name: str) -> pd.DataFrame:
    if len(X) != len(y):
        raise MixupError(f"a partition of X has {len(X)} rows but that of y has {len(y)}")
    _refuse_missing(X)
    return X.assign(**{name: y.to_numpy()})


def _refuse_missing(X: pd.DataFrame) -> None:
    """Refuse missing values in the sampler's words: mixup's own refusal suggests its
    ``missing=``, a parameter the sampler does not have (imbalanced-learn samplers take
    no NaN; its tags say so). On dask, raised by the task of the partition."""
    counts = X.isna().sum()
    found = counts[counts.to_numpy() > 0]
    if len(found):
        where = ", ".join(f"{name!r} ({int(n)})" for name, n in found.items())
        raise NonFiniteError(
            f"MixupOverSampler takes no missing values; X has them in: {where} (impute "
            f"them first, e.g. with sklearn.impute.SimpleImputer in a pipeline, or mix "
            f"them with mixupy_dask.mixup(..., missing='propagate' or 'available'))"
        )


def _is_dask(X: Any) -> bool:
    return type(X).__module__.startswith("dask")


def _all_sparse(X: pd.DataFrame) -> bool:
    return len(X.columns) > 0 and all(isinstance(d, pd.SparseDtype) for d in X.dtypes)


def _densify(X: pd.DataFrame) -> pd.DataFrame:
    sparse = [c for c, d in X.dtypes.items() if isinstance(d, pd.SparseDtype)]
    if not sparse:
        return X
    return X.assign(**{c: X[c].sparse.to_dense() for c in sparse})


def _frame_kind(X: Any) -> str | None:
    """ "polars" or "pyarrow" for the frames of those libraries ``mixup`` takes, else None
    (Polars is not imported unless ``X`` is a Polars object)."""
    if isinstance(X, pa.Table):
        return "pyarrow"
    if type(X).__module__.partition(".")[0] == "polars":
        import polars as pl

        if isinstance(X, pl.DataFrame):
            return "polars"
    return None


def _y_values(y: Any) -> Any:
    """``y`` as numpy for scikit-learn's target checks: a Polars Series or an Arrow
    array as their values, anything else as it is."""
    if isinstance(y, (pa.Array, pa.ChunkedArray)):
        return y.to_numpy(zero_copy_only=False)
    if type(y).__module__.partition(".")[0] == "polars" and hasattr(y, "to_numpy"):
        return y.to_numpy()
    return y


def _like(X_res: Any, X: Any) -> Any:
    """The resampled features in the kind of container ``X`` was."""
    if _frame_kind(X) is not None:
        return X_res
    if isinstance(X, pd.DataFrame):
        frame = X_res if isinstance(X_res, pd.DataFrame) else pd.DataFrame(X_res)
        frame = frame.set_axis(X.columns, axis=1).reset_index(drop=True)
        sparse = {
            c: pd.SparseDtype(frame[c].dtype, d.fill_value)
            for c, d in X.dtypes.items()
            if isinstance(d, pd.SparseDtype)
        }
        return frame.astype(sparse) if sparse else frame
    if isinstance(X, list):
        return X_res.tolist()
    return X_res


def _like_y(y_res: np.ndarray, y: Any) -> Any:
    if isinstance(y, (pa.Array, pa.ChunkedArray)):
        out = pa.array(y_res)
        return out if out.type == y.type else out.cast(y.type)
    if type(y).__module__.partition(".")[0] == "polars" and hasattr(y, "dtype"):
        import polars as pl

        if isinstance(y, pl.Series):
            return pl.Series(y.name, y_res).cast(y.dtype)
    if isinstance(y, pd.Series):
        return pd.Series(y_res, name=y.name, dtype=y.dtype)
    if isinstance(y, pd.DataFrame):
        values = y_res.reshape(len(y_res), -1)
        return pd.DataFrame(values, columns=y.columns).astype(y.dtypes.to_dict())
    if isinstance(y, list):
        return y_res.tolist()
    return y_res

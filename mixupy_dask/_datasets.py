"""Data to try things on: iris, shipped with the package, and synthetic data of any size."""

from __future__ import annotations

import math
from importlib.resources import files
from typing import Any

import dask.dataframe as dd
import numpy as np
import pandas as pd

from ._core.validation import MAKE_DATA_RULES, validates
from ._dask.cluster import auto_blocksize, resolve_client
from ._io.commit import Destination
from .errors import MixupError

_SPECIES = ["setosa", "versicolor", "virginica"]


def load_iris() -> pd.DataFrame:
    """Fisher's iris data: 150 flowers, four measurements in cm and the species.

    Returns
    -------
    pandas.DataFrame
        Columns ``sepal_length``, ``sepal_width``, ``petal_length``, ``petal_width``
        (float64) and ``species`` (categorical: setosa, versicolor, virginica; 50 each).

    Examples
    --------
    >>> from mixupy_dask import load_iris
    >>> iris = load_iris()
    >>> iris.shape
    (150, 5)
    >>> iris.species.value_counts().tolist()
    [50, 50, 50]
    """
    with files("mixupy_dask").joinpath("data/iris.csv").open("r", encoding="utf-8") as f:
        frame = pd.read_csv(f)
    frame["species"] = pd.Categorical(frame["species"], categories=_SPECIES)
    return frame


@validates(MAKE_DATA_RULES)
def make_data(
    dst: str,
    rows: int,
    columns: int,
    *,
    classes: int = 0,
    partitions: int | None = None,
    seed: int = 0,
    overwrite: bool = False,
    client: Any = None,
    storage_options: dict[str, Any] | None = None,
    progress: Any = None,
) -> int:
    """Write a synthetic Parquet dataset: normal features, optionally with classes.

    Each file is generated and written on its own (out of core, any size), from its
    own random stream: the same arguments give the same data on any cluster.

    Parameters
    ----------
    dst : str
        The new dataset directory (path or fsspec URL); its parent must exist.
    rows, columns : int
        Rows, and float64 feature columns ``x0, x1, ...`` (standard normal).
    classes : int, default 0
        With ``classes > 0``, a categorical ``label`` column of ``class_0, class_1,
        ...``, drawn uniformly, each class's features shifted by its own mean.
    partitions : int, optional
        Number of files (default: sized like ``augment_parquet``'s partitions).
    seed : int, default 0
    overwrite : bool, default False
        Replace an existing ``dst``, once the new dataset is complete.
    client, storage_options, progress
        As for :func:`mixupy_dask.augment_parquet`.

    Returns
    -------
    int
        The number of files written.

    Examples
    --------
    >>> import os, tempfile
    >>> import pandas as pd
    >>> from mixupy_dask import make_data
    >>> path = os.path.join(tempfile.mkdtemp(), "data")
    >>> make_data(path, rows=1000, columns=3, classes=2, partitions=4)
    4
    >>> frame = pd.read_parquet(path)
    >>> frame.shape, list(frame.label.cat.categories)
    ((1000, 4), ['class_0', 'class_1'])
    """
    if partitions is not None and partitions > rows:
        raise MixupError(f"`partitions` ({partitions}) must not exceed `rows` ({rows})")
    destination = Destination.check(dst, storage_options or {}, overwrite)
    centers = None
    if classes:
        # Class means, from a stream apart from every partition's (those have one key).
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0, 0)))
        centers = rng.normal(scale=2.0, size=(classes, columns))
    client = resolve_client(client)
    if partitions is None:
        partitions = min(rows, math.ceil(rows * columns * 8 / auto_blocksize(client)))
    base, extra = divmod(rows, partitions)
    frame = dd.from_map(
        _make_partition,
        range(partitions),
        [base + (q < extra) for q in range(partitions)],
        args=(columns, classes, seed, centers),
        meta=_make_partition(0, 0, columns, classes, seed, centers),
        label="make-data",
        enforce_metadata=False,
    )
    metadata = {"rows": rows, "columns": columns, "classes": classes, "seed": seed}
    return destination.write(frame, metadata, client, progress)


def _make_partition(
    part: int, rows: int, width: int, classes: int, seed: int, centers: np.ndarray | None
) -> pd.DataFrame:
    """One partition of synthetic data, a pure function of (seed, partition number)."""
    # Counter-based: partition p draws from its own spawned stream, so the data set is
    # the same whatever the scheduler, the order or the number of workers.
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(part,)))
    values = rng.standard_normal((rows, width))
    frame = pd.DataFrame(values, columns=[f"x{i}" for i in range(width)], copy=False)
    if classes:
        assert centers is not None
        codes = rng.integers(0, classes, rows)
        frame += centers[codes]
        frame["label"] = pd.Categorical.from_codes(
            codes, categories=[f"class_{k}" for k in range(classes)]
        )
    return frame

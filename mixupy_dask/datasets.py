"""Small data sets shipped with the package, for examples, the ``demo`` command and tests."""

from __future__ import annotations

from importlib.resources import files

import pandas as pd

__all__ = ["load_iris"]

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
    >>> from mixupy_dask.datasets import load_iris
    >>> iris = load_iris()
    >>> iris.shape
    (150, 5)
    >>> iris.species.value_counts().tolist()
    [50, 50, 50]
    """
    with files("mixupy_dask").joinpath("data", "iris.csv").open("r", encoding="utf-8") as f:
        frame = pd.read_csv(f)
    frame["species"] = pd.Categorical(frame["species"], categories=_SPECIES)
    return frame

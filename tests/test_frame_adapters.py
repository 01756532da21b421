"""The dataframe engine's extension point, as the recipe in ``docs/design.md`` says:
a frame adapter (``_frames.base.FrameAdapter``) for a toy frame of numpy columns,
registered for the test, takes the in-memory route and gives a frame of its own kind
holding exactly what pandas gives; an unsupported type's error names the kinds taken."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from mixupy_dask import mixup
from mixupy_dask._core.labels import Encoders
from mixupy_dask._core.validation import PROVENANCE
from mixupy_dask._frames.base import FrameAdapter
from mixupy_dask._frames.registry import adapter_for, registered
from mixupy_dask._kernel.layout import Layout
from mixupy_dask._kernel.rows import Rows
from mixupy_dask.errors import MixupTypeError


class Toy:
    """A tiny frame: named 1-D numpy columns of one length, in order."""

    def __init__(self, columns: dict[str, np.ndarray]) -> None:
        self.columns = dict(columns)

    def to_pandas(self) -> pd.DataFrame:
        return pd.DataFrame(self.columns)


class ToyAdapter(FrameAdapter):
    """Numeric features and a string class column; the values reach the kernel as
    numpy blocks, with no pandas frame in between."""

    name = "toy"

    def accepts(self, data: Any) -> bool:
        return isinstance(data, Toy)

    def schema(self, data: Toy) -> pd.Series:
        return pd.Series({k: v.dtype for k, v in data.columns.items()}, dtype=object)

    def value_counts(self, data: Toy, column: Any) -> pd.Series:
        values, counts = np.unique(data.columns[column], return_counts=True)
        return pd.Series(counts, index=pd.Index(values, dtype=object))

    def encode(self, data: Toy, encoders: Encoders) -> Toy:
        for part in encoders.parts:
            values = data.columns[part.column]
            onehot = values[None, :] == np.array(part.classes, dtype=object)[:, None]
            columns: dict[str, np.ndarray] = {}
            for name, column in data.columns.items():
                if name == part.column:
                    columns.update(zip(part.names, onehot.astype(np.float64), strict=True))
                else:
                    columns[name] = column
            data = Toy(columns)
        return data

    def to_rows(self, data: Toy, layout: Layout) -> Rows:
        assert not layout.passengers  # the toy mixes numbers only
        names = list(data.columns)
        blocks = [
            np.stack([data.columns[names[p]].astype(dtype) for p in positions])
            for dtype, positions in layout.block_columns
        ]
        return Rows(blocks, [])

    def from_rows(self, rows, layout, like, provenance=None) -> Toy:
        columns: dict[int, np.ndarray] = {}
        for block, (_, positions) in zip(rows.blocks, layout.block_columns, strict=True):
            columns.update(zip(positions, block, strict=True))
        out = {layout.columns[p]: columns[p] for p in range(len(layout.columns))}
        if provenance is not None:
            left, partner, lam = provenance
            out.update(
                zip(PROVENANCE, (left.astype(np.int64), partner.astype(np.int64), lam), strict=True)
            )
        return Toy(out)


def _toy(n: int = 13) -> Toy:
    rng = np.random.default_rng(5)
    return Toy(
        {
            "x": rng.normal(size=n),
            "y": np.array(["b", "a", "c"] * (n // 3) + ["a"] * (n % 3), dtype=object),
            "k": rng.integers(-9, 9, size=n),
            "f": rng.random(n).astype(np.float32),
        }
    )


@pytest.mark.parametrize(
    "options",
    [
        {"labels": "y"},
        {"labels": "y", "alpha": 0.3, "batch_size": 30, "concat": True, "provenance": True},
        {"labels": "y", "within_class": True, "sampling_strategy": "all"},
        {"labels": "y", "label_preserving": True, "batch_size": {"a": 4, "c": 9}},
    ],
    ids=["labels", "concat-provenance", "balanced", "preserving"],
)
def test_a_registered_adapter_mixes_its_own_frames_exactly_as_pandas(options):
    toy = _toy()
    expected = mixup(toy.to_pandas(), seed=11, **options)
    with registered(ToyAdapter()):
        out = mixup(toy, seed=11, **options)
    assert isinstance(out, Toy)
    assert list(out.columns) == expected.columns.tolist()
    for name, values in out.columns.items():
        want = expected[name].to_numpy()
        assert values.dtype == want.dtype, name
        assert values.tobytes() == want.tobytes(), name  # bit for bit


def test_features_alone_take_the_adapter_too():
    toy = Toy({k: v for k, v in _toy().columns.items() if k != "y"})
    with registered(ToyAdapter()):
        out = mixup(toy, seed=3, batch_size=20)
    expected = mixup(toy.to_pandas(), seed=3, batch_size=20)
    assert isinstance(out, Toy)
    assert all(out.columns[c].tobytes() == expected[c].to_numpy().tobytes() for c in out.columns)


def test_an_unsupported_type_is_told_the_kinds_accepted():
    accepted = (
        r"^`data` must be a pandas DataFrame, polars DataFrame, pyarrow Table, toy DataFrame "
        r"or dask DataFrame, not builtins\.list$"
    )
    with registered(ToyAdapter()), pytest.raises(MixupTypeError, match=accepted):
        mixup([[1.0, 2.0], [3.0, 4.0]])
    # Unregistered again: a toy is no longer taken, and the message is today's.
    with pytest.raises(
        MixupTypeError,
        match=r"^`data` must be a pandas DataFrame, polars DataFrame, pyarrow Table or dask "
        r"DataFrame, not .*test_frame_adapters\.Toy$",
    ):
        mixup(_toy())


def test_pandas_is_the_first_adapter():
    assert adapter_for(pd.DataFrame({"x": [1.0]})).name == "pandas"

"""Polars and Arrow frames through ``MixupStream``: an epoch given as the input's own kind
(``format="polars"`` / ``"arrow"``) is exactly ``mixup`` of that frame, types included
(``mixup`` itself is tested against the pandas route in tests/test_polars_arrow.py),
and a lazy frame is refused with what to do."""

from __future__ import annotations

import re

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mixupy_dask import MixupStream, MixupTypeError, mixup

from .test_polars_arrow import polars_frames

pl = pytest.importorskip("polars")

OPTIONS = st.fixed_dictionaries(
    {},
    optional={
        "alpha": st.sampled_from([0.0, 0.4, 4.0]),
        "categorical": st.sampled_from(["dominant", "sample", "onehot"]),
        "integers": st.just("round"),
        "missing": st.sampled_from(["propagate", "available"]),
    },
)
LABELS = st.sampled_from(
    [
        {},
        {"labels": "y"},
        {"labels": "y", "within_class": True},
        {"labels": "y", "label_preserving": True},
    ]
)


def epoch(data, batch_size: int, seed: int, e: int, format: str, **options):
    """Epoch ``e`` of the stream, its batches put together in ``mixup``'s row order."""
    stream = MixupStream(data, batch_size, seed=seed, provenance=True, **options)
    batches = list(stream.batches(e, format=format))
    assert sum(len(b) for b in batches) == len(data)
    if format == "polars":
        assert all(isinstance(b, pl.DataFrame) for b in batches)
        return pl.concat(batches).sort("mixup_left")
    assert all(isinstance(b, pa.Table) for b in batches)
    return pa.concat_tables(batches).sort_by("mixup_left")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    frame=polars_frames(),
    options=OPTIONS,
    labels=LABELS,
    seed=st.integers(0, 99),
    batch_size=st.integers(1, 30),
)
def test_an_epoch_of_a_polars_or_arrow_frame_is_mixup_of_it(
    frame, options, labels, seed, batch_size
):
    options = {**options, **labels}
    if not labels:
        frame = frame.drop("y")
        if not frame.width:
            return
    try:
        want = mixup(frame, seed=(seed, 3), provenance=True, **options)
    except Exception as error:  # refused alike, with the same words (values: when read)
        refused = error
    else:
        refused = None
    if refused is not None:
        with pytest.raises(type(refused), match=re.escape(str(refused))):
            epoch(frame, batch_size, seed, 3, "polars", **options)
        return
    got = epoch(frame, batch_size, seed, 3, "polars", **options)
    assert got.schema == want.schema
    assert got.equals(want, null_equal=True)
    table = frame.to_arrow()
    got = epoch(table, batch_size, seed, 3, "arrow", **options)
    want = mixup(table, seed=(seed, 3), provenance=True, **options)
    assert got.schema == want.schema
    assert got.equals(want)


def test_other_formats_of_a_polars_frame_are_those_of_its_pandas_conversion():
    frame = pl.DataFrame({"x": [0.5, 1.5, 2.5, 3.5, 4.5], "y": ["a", "b", "a", "b", "a"]})
    stream = MixupStream(frame, 2, seed=4, labels="y")
    as_pandas = MixupStream(frame.to_pandas(), 2, seed=4, labels="y")
    for got, want in zip(stream.batches(1), as_pandas.batches(1), strict=True):
        assert got.equals(want)
    numpy = next(iter(stream.batches(1, format="numpy")))
    assert set(numpy) == {"x", "y_a", "y_b"}


def test_lazy_frames_are_refused_with_what_to_do():
    lazy = pl.DataFrame({"x": [1.0, 2.0, 3.0]}).lazy()
    with pytest.raises(MixupTypeError, match=r"`data` is a lazy polars frame.*collect\(\)"):
        MixupStream(lazy, 2)

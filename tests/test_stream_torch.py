"""``MixupStream.torch_dataset`` in a real ``torch.utils.data.DataLoader`` with real worker
processes: the rank's batches in the global order for any number of workers, and a
run stopped mid-epoch resumes with exactly the batches it would have had."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mixupy_dask import MixupStream

torch = pytest.importorskip("torch")
DataLoader = torch.utils.data.DataLoader

pytestmark = [
    pytest.mark.slow,  # worker processes
    # More workers than this machine's cores is the point of the test (3 on 2 cores).
    pytest.mark.filterwarnings("ignore:This DataLoader will create:UserWarning"),
]


def frame(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "a": rng.normal(size=n),
            "b": rng.normal(size=n).astype(np.float32),
            "y": rng.choice(["u", "v"], n),
        }
    )


@pytest.fixture(scope="module")
def stream():
    return MixupStream(frame(203), 10, seed=4, window=48, labels="y", provenance=True)


def expected(stream, epoch, rank=0, world_size=1, start=0):
    return list(stream.batches(epoch, rank, world_size, start, format="torch"))


def assert_same(got, want):
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert list(g) == list(w)
        for c in g:
            assert g[c].dtype == w[c].dtype
            assert torch.equal(g[c], w[c]), c


@pytest.mark.parametrize("workers", [0, 1, 3])
def test_dataloader_gives_the_global_order_for_any_workers(stream, workers):
    ds = stream.torch_dataset()
    loader = DataLoader(ds, batch_size=None, num_workers=workers)
    for epoch in (0, 1):
        ds.set_epoch(epoch)
        got = list(loader)
        assert_same(got, expected(stream, epoch))
        assert got[0]["b"].dtype == torch.float32


@pytest.mark.parametrize("workers", [0, 2])
def test_ranks_in_dataloaders_make_the_global_sequence(stream, workers):
    world = 3
    per_rank = []
    for rank in range(world):
        ds = stream.torch_dataset(rank=rank, world_size=world)
        ds.set_epoch(2)
        per_rank.append(list(DataLoader(ds, batch_size=None, num_workers=workers)))
        assert_same(per_rank[-1], expected(stream, 2, rank, world))
    everything = expected(stream, 2)
    assert {len(r) for r in per_rank} == {stream.num_batches(world)}
    lefts = sorted(int(x) for r in per_rank for b in r for x in b["mixup_left"])
    # every batch once, and the first batches again to even the ranks out
    extra = world * stream.num_batches(world) - len(everything)
    again = sorted(int(x) for b in everything[:extra] for x in b["mixup_left"])
    assert lefts == sorted(list(range(203)) + again)


# torchdata 0.11 calls an API torch 2.13 deprecated (telemetry, not behaviour).
@pytest.mark.filterwarnings("ignore:'set_vital' is deprecated:UserWarning")
@pytest.mark.parametrize("workers", [0, 1, 3])
def test_stateful_dataloader_resumes_mid_epoch(stream, workers):
    stateful = pytest.importorskip("torchdata.stateful_dataloader")
    ds = stream.torch_dataset()
    ds.set_epoch(3)
    loader = stateful.StatefulDataLoader(ds, batch_size=None, num_workers=workers)
    first, stop = [], 7
    for i, batch in enumerate(loader):
        first.append(batch)
        if i + 1 == stop:
            state = loader.state_dict()
            break
    del loader
    again = stream.torch_dataset()
    resumed = stateful.StatefulDataLoader(again, batch_size=None, num_workers=workers)
    resumed.load_state_dict(state)
    rest = list(resumed)
    assert_same(first + rest, expected(stream, 3))


@pytest.mark.parametrize("workers", [0, 3])
def test_plain_dataloader_resumes_from_a_few_integers(stream, workers):
    ds = stream.torch_dataset()
    ds.load_state_dict({"epoch": 1, "start": 5, "seen": 0})
    assert ds.state_dict() == {"epoch": 1, "start": 5, "seen": 0}
    got = list(DataLoader(ds, batch_size=None, num_workers=workers))
    assert_same(got, expected(stream, 1)[5:])


def test_numbers_only_for_tensors():
    from mixupy_dask import MixupError

    df = frame(20).assign(city=["x", "y"] * 10)
    stream = MixupStream(df, 4, labels="y", categorical="dominant")
    with pytest.raises(MixupError, match="needs numeric columns; 'city'"):
        stream.torch_dataset()

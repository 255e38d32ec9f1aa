"""Batches built by loader worker processes: each worker batches its own share, none is lost."""

from __future__ import annotations

import functools
import itertools
from pathlib import Path

import pytest
import torch

from lab import loader
from lab.data import PreparedData
from lab.datasets.faces import main as faces_main


@pytest.fixture(scope="module")
def faces(tmp_path_factory) -> PreparedData:
    out = Path(tmp_path_factory.mktemp("faces")) / "faces.npz"
    faces_main(["--n", "130", "--seed", "1", "--out", str(out), "--quiet"])
    return PreparedData.load(out)


def make(data: PreparedData, rank: int = 0, world: int = 1) -> loader.MakeBatcher:
    return functools.partial(
        loader.train_batcher,
        data=data,
        sharded=None,
        batch_size=8,
        seed=3,
        rank=rank,
        world=world,
        batch_args=dict(max_len=250, augment=True, raster_size=16),
    )


def test_workers_take_turns_each_with_its_own_share(faces: PreparedData) -> None:
    train = faces.indices("train")
    batches = loader.batches(make(faces), 2, torch.device("cpu"))
    seen = [set(b.indices.tolist()) for b in itertools.islice(batches, 40)]
    for w in (0, 1):
        mine = set().union(*seen[w::2])
        assert mine == set(train[w::2].tolist())  # 20 batches of 8 cover a 52-face share


def test_no_workers_is_the_rank_share_in_this_process(faces: PreparedData) -> None:
    train = faces.indices("train")
    here = loader.batches(make(faces, rank=1, world=2), 0, torch.device("cpu"))
    seen = set().union(*(set(b.indices.tolist()) for b in itertools.islice(here, 20)))
    assert seen == set(train[1::2].tolist())
    with pytest.raises(ValueError, match="loader_workers must be 0 or more"):
        loader.batches(make(faces), -1, torch.device("cpu"))


def test_ranks_and_workers_split_the_sketches_without_overlap(faces: PreparedData) -> None:
    """Two ranks with two workers each: four disjoint shares that together are the split."""
    shares = [
        set(make(faces, rank, 2)(worker, 2).indices.tolist())  # type: ignore[attr-defined]
        for rank in (0, 1)
        for worker in (0, 1)
    ]
    assert sum(len(s) for s in shares) == len(set().union(*shares))
    assert set().union(*shares) == set(faces.indices("train").tolist())

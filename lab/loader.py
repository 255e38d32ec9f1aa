"""Training batches: which sketches each rank and worker batches, built in background worker
processes so that a GPU does not wait for them.

Each DataLoader worker runs its own batcher on its own share of the rank's sketches; with no
workers the batcher runs in the training process, as it always did.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from lab import shards
from lab.batches import Batch, Batcher
from lab.data import PreparedData

# make(worker, workers): the batcher of worker `worker` of `workers` (0 and 1 without workers)
MakeBatcher = Callable[[int, int], Iterator[Batch]]


class _WorkerBatches(IterableDataset):
    """An endless stream of batches; in a DataLoader worker, that worker's batcher."""

    def __init__(self, make: MakeBatcher) -> None:
        self.make = make

    def __iter__(self) -> Iterator[Batch]:
        info = get_worker_info()
        return self.make(0, 1) if info is None else self.make(info.id, info.num_workers)


def batches(make: MakeBatcher, workers: int, device: torch.device) -> Iterator[Batch]:
    """Endless training batches: from `workers` processes (into pinned memory for a GPU) that
    take turns, or from this process when workers is 0."""
    if workers < 0:
        raise ValueError(f"loader_workers must be 0 or more; got {workers}")
    if workers == 0:
        return make(0, 1)
    loader = DataLoader(
        _WorkerBatches(make),
        batch_size=None,  # the batchers already batch
        num_workers=workers,
        pin_memory=device.type == "cuda",
        prefetch_factor=4,
        persistent_workers=True,
    )
    return iter(loader)


def train_batcher(
    worker: int,
    workers: int,
    *,
    data: PreparedData,
    sharded: shards.ShardedData | None,
    batch_size: int,
    seed: int,
    rank: int,
    world: int,
    batch_args: dict[str, Any],
) -> Iterator[Batch]:
    """The batches of one loader worker of one rank, each pair with its own share of the
    training sketches (with no workers: worker 0 of 1, the rank's share)."""
    part, parts = rank * workers + worker, world * workers
    if sharded is not None:  # blocks of random shards; every part reads only its own blocks
        return shards.StreamBatcher(
            sharded, batch_size, rank=part, world=parts, seed=seed, **batch_args
        )
    return Batcher(
        data,
        "train",
        batch_size,
        seed=seed + 7919 * part,
        indices=data.indices("train")[part::parts],
        **batch_args,
    )

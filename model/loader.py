"""Training batches built in background worker processes, so a GPU does not wait for them.

Each DataLoader worker runs its own batcher on its own share of the sketches; with no workers
the batcher runs in the training process, as it always did.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import torch
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from model.batches import Batch

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

"""Data-parallel training across processes: torchrun's environment, rank helpers, collectives.

`torchrun --nproc_per_node=N -m lab.train ...` sets RANK, WORLD_SIZE and LOCAL_RANK; `init`
reads them and joins the process group (NCCL on CUDA, gloo on the CPU). A plain
`python -m lab.train` has none of them and gets a one-process context that never touches
torch.distributed, so the single-process path is unchanged.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as dist


class DistributedError(RuntimeError):
    """torchrun's environment is incomplete or inconsistent; the message says what to set."""


@dataclass(frozen=True)
class Context:
    """Where this process stands: rank 0..world-1, its GPU index on the node, and its device."""

    rank: int = 0  # global rank; rank 0 alone writes checkpoints, logs and the progress bar
    world: int = 1  # processes in all, across every node
    local_rank: int = 0  # index on this node; picks cuda:local_rank on a GPU machine
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        """True when a process group is joined (more than one process)."""
        return self.world > 1


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise DistributedError(f"{name}={raw!r} is not a whole number (torchrun sets it)") from None


def init(device: torch.device, timeout_minutes: float = 30.0) -> Context:
    """Join torchrun's process group when WORLD_SIZE > 1; one GPU per process on CUDA."""
    world = _env_int("WORLD_SIZE", 1)
    rank, local_rank = _env_int("RANK", 0), _env_int("LOCAL_RANK", 0)
    if world < 1 or not 0 <= rank < world:
        raise DistributedError(f"RANK {rank} must lie in 0..WORLD_SIZE-1 (WORLD_SIZE {world})")
    if world == 1:
        return Context(device=device)
    if device.type == "cuda":
        if local_rank >= torch.cuda.device_count():
            raise DistributedError(
                f"LOCAL_RANK {local_rank} but this node has {torch.cuda.device_count()} GPUs; "
                "give torchrun --nproc_per_node at most the GPU count"
            )
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    backend = "nccl" if device.type == "cuda" else "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend, timeout=timedelta(minutes=timeout_minutes))
    return Context(rank=rank, world=world, local_rank=local_rank, device=device)


def shutdown(ctx: Context) -> None:
    """Leave the process group (a no-op for one process)."""
    if ctx.active and dist.is_initialized():
        dist.destroy_process_group()


def barrier(ctx: Context) -> None:
    """Wait for every rank (a no-op for one process)."""
    if ctx.active:
        if ctx.device.type == "cuda":
            dist.barrier(device_ids=[ctx.device.index or 0])
        else:
            dist.barrier()


def mean(ctx: Context, values: dict[str, float]) -> dict[str, float]:
    """The mean of each metric over the ranks, so rank 0 reports the whole step, not its share."""
    if not ctx.active or not values:
        return values
    names = sorted(values)
    t = torch.tensor([values[k] for k in names], dtype=torch.float64, device=ctx.device)
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return {k: float(v) / ctx.world for k, v in zip(names, t.tolist())}


def param_checksums(model: torch.nn.Module) -> list[float]:
    """One float64 sum per parameter tensor: equal lists mean (almost surely) equal weights."""
    return [float(p.detach().double().sum()) for p in model.parameters()]


def gather_checksums(ctx: Context, model: torch.nn.Module) -> list[list[float]]:
    """Every rank's `param_checksums`, rank order; data-parallel ranks must all agree."""
    mine = torch.tensor(param_checksums(model), dtype=torch.float64, device=ctx.device)
    if not ctx.active:
        return [mine.tolist()]
    out = [torch.empty_like(mine) for _ in range(ctx.world)]
    dist.all_gather(out, mine)
    return [t.tolist() for t in out]


def gather_int(ctx: Context, value: int) -> list[int]:
    """Every rank's `value`, rank order (to check that all ranks resumed the same step)."""
    if not ctx.active:
        return [value]
    mine = torch.tensor([value], dtype=torch.int64, device=ctx.device)
    out = [torch.empty_like(mine) for _ in range(ctx.world)]
    dist.all_gather(out, mine)
    return [int(t.item()) for t in out]

"""Data-parallel training under torchrun on the CPU (gloo): ranks in sync, rank 0 writes, resume."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from lab import distributed
from lab.train import main as train_main
from model import checkpoint

from .test_train_eval import prepared  # noqa: F401  (the module-scoped data fixture)

ROOT = Path(__file__).resolve().parents[1]


def torchrun(nproc: int, args: list[str]) -> subprocess.CompletedProcess[str]:
    """`torchrun --standalone --nproc_per_node=nproc -m lab.train ARGS` from the repo root."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    cmd += [f"--nproc_per_node={nproc}", "-m", "lab.train", *args]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)


def test_two_processes_stay_in_sync_rank0_writes_and_one_process_resumes(
    prepared,  # noqa: F811
    tmp_path,
):
    """Two gloo ranks end with equal weights, only rank 0 writes, and one process resumes."""
    out = tmp_path / "run"
    args = ["--small", "--data", prepared, "--out", str(out), "--batch-size", "8", "--quiet"]
    args += ["--set", "eval_every=3", "--set", "save_every=3"]
    run = torchrun(2, [*args, "--steps", "3"])
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.count("checkpoint:") == 1  # rank 0 alone reports
    assert run.stderr.count("effective batch 16") == 1
    assert sorted(p.name for p in out.iterdir()) == [
        "config.json",
        "optimizer.safetensors",
        "weights.safetensors",
    ]
    ckpt = checkpoint.load(out)
    assert ckpt.step == 3
    # Both ranks' per-tensor checksums were gathered at the save and found identical.
    assert ckpt.meta["ranks_in_sync"] == 2 and ckpt.meta["processes"] == 2
    assert ckpt.meta["effective_batch_size"] == 16
    train_main([*args, "--steps", "5"])  # one process, plain call: resumes the 2-rank run
    again = checkpoint.load(out)
    assert again.step == 5 and again.meta["processes"] == 1


def test_a_plain_run_is_one_process_without_a_process_group(monkeypatch):
    """Without torchrun's variables the context is rank 0 of 1 and joins no process group."""
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    ctx = distributed.init(distributed.torch.device("cpu"))
    assert (ctx.rank, ctx.world, ctx.is_main, ctx.active) == (0, 1, True, False)
    assert distributed.mean(ctx, {"loss": 2.0}) == {"loss": 2.0}


def test_a_bad_rank_is_reported(monkeypatch):
    """A RANK outside 0..WORLD_SIZE-1 is a clear error, not a hang."""
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "5")
    with pytest.raises(distributed.DistributedError, match="RANK 5"):
        distributed.init(distributed.torch.device("cpu"))


def test_two_processes_stream_shards_in_sync(tmp_path):
    """Under torchrun each rank streams its own shard blocks and the ranks stay in sync."""
    from lab.shards import ShardWriter

    from .test_shards import synthetic

    writer = ShardWriter(tmp_path / "shards", 60)
    writer.add(synthetic(240, 12, 2))
    out = tmp_path / "run"
    args = ["--small", "--data", str(writer.close()), "--out", str(out), "--batch-size", "4"]
    run = torchrun(2, [*args, "--quiet", "--steps", "2"])
    assert run.returncode == 0, run.stderr[-3000:]
    ckpt = checkpoint.load(out)
    assert ckpt.step == 2 and ckpt.meta["ranks_in_sync"] == 2

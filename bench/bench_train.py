"""Training throughput: sketches/s for 1 and 2 CPU processes (torchrun, gloo) and the GPU path.

    python bench/bench_train.py             # small model, 30 steps a run, batch 32 per process
    python bench/bench_train.py --steps 100 --batch-size 64
    python bench/bench_train.py --gpu-only  # the GPU rows alone, at batch 32 and the recipe's 256

Generates procedural faces into a temporary folder, then runs `python -m lab.train` (1 CPU
process, with 1 thread and with a thread per core), `torchrun --nproc_per_node=2 -m lab.train`
(2 CPU processes, cores/2 threads each) and, where CUDA exists, the paper-size model on the GPU
with bf16 autocast, at --batch-size and at the GPU recipe's 256 (also with batches built by 4
loader worker processes). Each figure is lab.train's own meta.throughput: optimiser steps x
processes x batch over the training time, evaluation and saving left out; "data" is the share
of that time the training process spent building or waiting for batches.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lab.recipes import GPU  # noqa: E402

RECIPE_BATCH = GPU.batch_size  # the GPU recipe's batch size, benched beside --batch-size
GPU_LOADER_WORKERS = 4  # the GPU row that builds batches in background processes


def run(cmd: list[str], threads: int | None) -> dict:
    """Run one training command; its checkpoint's throughput record."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    if out.returncode:
        sys.exit(f"bench_train: {' '.join(cmd[:6])} ... failed:\n{out.stderr[-2000:]}")
    ckpt = cmd[cmd.index("--out") + 1]
    return json.loads((Path(ckpt) / "config.json").read_text())["meta"]["throughput"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=30, help="steps per run")
    ap.add_argument("--batch-size", type=int, default=32, help="sketches per step per process")
    ap.add_argument("--faces", type=int, default=2000, help="faces to generate")
    ap.add_argument("--gpu-only", action="store_true", help="skip the CPU rows")
    args = ap.parse_args()
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as tmp:
        data = str(Path(tmp) / "faces.npz")
        subprocess.run(
            [sys.executable, "-m", "lab.datasets.faces", "--n", str(args.faces), "--out", data]
            + ["--quiet", "--workers", str(cores)],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        train = ["-m", "lab.train", "--data", data, "--steps", str(args.steps), "--quiet"]
        train += ["--set", f"eval_every={10**9}"]
        batch = ["--batch-size", str(args.batch_size)]
        rows: list[tuple[str, str, int, dict | None]] = []
        small = [*train, *batch, "--small", "--device", "cpu"]
        for threads in [] if args.gpu_only else sorted({1, cores}):
            one = run([sys.executable, *small, "--out", f"{tmp}/one{threads}"], threads)
            rows.append(("cpu, 1 process", f"{threads} thread(s)", args.batch_size, one))
        if not args.gpu_only:
            two = run(
                [sys.executable, "-m", "torch.distributed.run", "--standalone"]
                + ["--nproc_per_node=2", *small, "--out", f"{tmp}/two"],
                max(1, cores // 2),
            )
            each = f"{max(1, cores // 2)} thread(s) each"
            rows.append(("cpu, 2 processes", each, 2 * args.batch_size, two))
        import torch

        if torch.cuda.is_available():
            name = f"cuda ({torch.cuda.get_device_name()}), paper size, bf16"
            runs = [(size, 0) for size in sorted({args.batch_size, RECIPE_BATCH})]
            for size, workers in [*runs, (RECIPE_BATCH, GPU_LOADER_WORKERS)]:
                cmd = [*train, "--batch-size", str(size), "--device", "cuda"]
                cmd += ["--set", f"loader_workers={workers}", "--out", f"{tmp}/gpu{size}-{workers}"]
                used = f"{workers} loader workers" if workers else "-"
                rows.append((name, used, size, run([sys.executable, *cmd], None)))
        else:
            rows.append(("cuda", "not available here", 0, None))
    print(f"{args.steps} steps of the faces model ({args.faces} faces); small sizes on the CPU")
    head = f"{'path':52} {'threads':22} {'eff. batch':>10} {'steps/s':>8} {'sketches/s':>11}"
    print(f"{head} {'data':>5}")
    for name, used, size, t in rows:
        if t is None:
            print(f"{name:52} {used:22} {'-':>10} {'-':>8} {'-':>11} {'-':>5}")
        else:
            print(
                f"{name:52} {used:22} {size:>10} {t['steps_per_s']:>8.2f} "
                f"{t['sketches_per_s']:>11.0f} {t['data_share']:>5.0%}"
            )


if __name__ == "__main__":
    main()

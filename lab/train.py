"""Train a sketch model: python -m lab.train --config ai-sketcher --data PREPARED... --out DIR

Runs unchanged on a 2-core CPU (use --small) and on a GPU (cuDNN LSTM, bf16 autocast). The output
folder is always a loadable checkpoint; running the same command again resumes from it.
Under `torchrun --nproc_per_node=N -m lab.train ...` it trains one model with
DistributedDataParallel (lab/distributed.py); rank 0 alone writes and reports.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import math
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from model import checkpoint, cli
from model.config import PRESETS, ModelConfig, TrainConfig, from_dict, preset
from model.device import DeviceError, resolve_device
from model.losses import kl_weight
from model.network import SketchModel

from . import distributed, loader, shards, transfer
from .data import DEFAULT_ROW0, PreparedData
from .validation import evaluate_losses, to_inputs

VALID_SAMPLE = 5000  # validation sketches held in memory when training streams shards


def pick_device(name: str) -> torch.device:
    """'auto' means CUDA when there is a GPU, else the CPU (model.device reads every name)."""
    try:
        return resolve_device(name)
    except DeviceError as e:
        raise cli.CommandError(f"--device: {e}") from None


def learning_rate(step: int, cfg: TrainConfig) -> float:
    """lr(t) = (lr - min_lr) * decay ** t + min_lr, magenta's schedule, with t counted from
    cfg.lr_restart_step once a run passes it (a warm restart)."""
    t = step - cfg.lr_restart_step if step >= cfg.lr_restart_step else step
    return (cfg.learning_rate - cfg.min_learning_rate) * cfg.lr_decay**t + cfg.min_learning_rate


def git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            cwd=Path(__file__).parent,
            timeout=5,
        )
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def train(
    model_cfg: ModelConfig,
    train_cfg: TrainConfig,
    data_paths: list[str],
    out: Path,
    device: torch.device,
    description: str = "",
    quiet: bool = False,
    ctx: distributed.Context | None = None,
    budget_seconds: float | None = None,
    n_max_from_data: bool = True,
    init_from: Path | None = None,
) -> Path:
    """Train (or resume) into `out`; returns the checkpoint folder.

    ctx is this process's place in a torchrun job (None: one process). budget_seconds stops the
    run early, saving a checkpoint, when that much wall time has passed. A new model takes
    N_max (max_seq_len) from the data's meta unless n_max_from_data is False (it was given).
    init_from starts a new model from that checkpoint's weights (lab.transfer); a run that
    resumes from `out` ignores it.
    """
    ctx = ctx or distributed.Context(device=device)
    say = print if ctx.is_main else (lambda *a, **k: None)
    sharded = None
    if any(shards.is_shard_folder(p) for p in data_paths):
        if len(data_paths) > 1:
            raise cli.CommandError("--data: a shard folder is streamed alone; name only it")
        sharded = shards.ShardedData(data_paths[0])  # streamed; only a validation sample is held
        data = sharded.sample("valid", VALID_SAMPLE)
    else:
        data = PreparedData.merge([PreparedData.load(p) for p in data_paths])
    if train_cfg.cross_reconstruction:
        if sharded is not None:
            raise cli.CommandError(
                "--set cross_reconstruction needs prepared .npz data with identities (the "
                "procedural faces); a shard folder carries none"
            )
        if not (data.identity >= 0).any():
            raise cli.CommandError(
                "--set cross_reconstruction needs data that records who each drawing is: "
                "prepare faces with python -m lab.datasets.faces"
            )
    vocab = data.vocab
    step, optimizer_state = 0, False
    pretrained: dict[str, Any] | None = None  # where the weights started, when not from scratch
    weights_scale: float | None = None  # the scale factor the weights were trained with
    if (out / checkpoint.CONFIG).exists():
        ckpt = checkpoint.load(out, device)
        pretrained = ckpt.meta.get("init_from")
        weights_scale = ckpt.scale_factor
        asked = dataclasses.replace(model_cfg, condition_dim=ckpt.config.condition_dim)
        if n_max_from_data:
            asked = dataclasses.replace(asked, max_seq_len=data.n_max)
        ignored = [
            f"{f.name}={getattr(asked, f.name)!r} (it has {getattr(ckpt.config, f.name)!r})"
            for f in dataclasses.fields(asked)
            if getattr(asked, f.name) != getattr(ckpt.config, f.name)
        ]
        if ignored:
            say(
                f"note: {out} keeps the model config it was built with, so these are ignored: "
                f"{', '.join(ignored)}; use a new --out to train that model",
                file=sys.stderr,
            )
        model_cfg, step = ckpt.config, ckpt.step
        model = ckpt.model
        if ckpt.vocab != vocab:
            raise cli.CommandError(
                f"{out} was trained with other conditions than the --data holds; use a new --out"
            )
        trained_row0 = ckpt.meta.get("row0", DEFAULT_ROW0)
        if trained_row0 != data.row0:
            raise cli.CommandError(
                f"{out} was trained on data whose row 0 is '{trained_row0}'; the --data's is "
                f"'{data.row0}' (docs/experiments.md, Data conventions); use a new --out"
            )
        say(f"resuming {out} at step {step}", file=sys.stderr)
    else:
        model_cfg = dataclasses.replace(model_cfg, condition_dim=vocab.dim)
        if n_max_from_data:
            model_cfg = dataclasses.replace(model_cfg, max_seq_len=data.n_max)
        model = SketchModel(model_cfg).to(device)
        if init_from is not None:
            source = checkpoint.load(init_from, device)
            weights_scale = source.scale_factor
            same_vocab = source.vocab == vocab  # then the condition's weights are copied too
            try:
                copied = transfer.copy_weights(model, source.model, conditions=same_vocab)
            except transfer.TransferError as e:
                raise cli.CommandError(f"--init-from {init_from}: {e}") from None
            pretrained = {
                "checkpoint": str(init_from),
                "step": source.step,
                "data_files": source.meta.get("data_files", []),
                "data": source.meta.get("data", []),
            }
            say(
                f"starting from {init_from} (step {source.step}): {copied:,} of "
                f"{sum(p.numel() for p in model.parameters()):,} weights copied"
                + ("" if same_vocab else "; the condition's start afresh"),
                file=sys.stderr,
            )
    if weights_scale is not None and not math.isclose(weights_scale, data.scale_factor):
        # Pretrained or resumed weights learned offsets in their own units: the new data is
        # normalised by the same factor, or every input would start off by the ratio.
        say(
            f"normalising the data by {weights_scale:.4g}, the scale factor the weights were "
            f"trained with (the data's own is {data.scale_factor:.4g})",
            file=sys.stderr,
        )
        data.meta["scale_factor"] = weights_scale
    steps = distributed.gather_int(ctx, step)
    if len(set(steps)) > 1:
        raise cli.CommandError(
            f"the ranks found different checkpoints in {out} (steps {steps}); on several "
            "machines --out must be a folder every machine sees (shared storage)"
        )
    model.train()
    torch.manual_seed(train_cfg.seed + step)
    optimizer = torch.optim.Adam(model.parameters(), lr=train_cfg.learning_rate)
    if step:
        optimizer_state = checkpoint.load_optimizer(out, optimizer)
        if not optimizer_state:
            say("no optimizer state saved; Adam starts fresh", file=sys.stderr)
    net: torch.nn.Module = model
    if ctx.active:
        # DDP broadcasts rank 0's weights at wrap time and averages gradients in backward().
        ids = [ctx.device.index] if ctx.device.type == "cuda" else None
        net = torch.nn.parallel.DistributedDataParallel(model, device_ids=ids)
        torch.manual_seed(train_cfg.seed + step + 7919 * ctx.rank)  # own dropout and z noise
    say(
        f"{ctx.world} process{'es' if ctx.world > 1 else ''} x batch {train_cfg.batch_size} = "
        f"effective batch {ctx.world * train_cfg.batch_size}; learning rate "
        f"{train_cfg.learning_rate:g} (not scaled with the process count)",
        file=sys.stderr,
    )
    raster = model_cfg.raster_size if model_cfg.needs_raster else 0
    batch_args: dict[str, Any] = dict(
        max_len=model_cfg.max_seq_len,
        augment=True,
        raster_size=raster,
        scale_jitter=train_cfg.augment_scale,
        drop_prob=train_cfg.augment_drop,
        prefix_prob=train_cfg.prefix_prob if model_cfg.encoder == "rnn" else 0.0,
        pad_to_max_len=train_cfg.pen_loss_rows == "padded",
        scale=data.scale_factor,  # streamed shards' blocks carry their own; the run has one
    )
    if train_cfg.cross_reconstruction:
        batch_args["cross"] = train_cfg.cross_reconstruction
    make = functools.partial(
        loader.train_batcher,
        data=data,
        sharded=sharded,
        batch_size=train_cfg.batch_size,
        seed=train_cfg.seed + step,
        rank=ctx.rank,
        world=ctx.world,
        batch_args=batch_args,
    )
    batches = loader.batches(make, train_cfg.loader_workers, ctx.device)
    use_amp = train_cfg.amp and device.type == "cuda"
    params = sum(p.numel() for p in model.parameters())
    meta: dict[str, Any] = {
        "description": description,
        "data": data.meta.get("sources", []),
        "data_files": [Path(p).name for p in data_paths],
        "row0": data.row0,  # the row-0 convention of the training data (N_max: max_seq_len)
        "parameters": params,
        "command": " ".join(["python -m lab.train", *sys.argv[1:]]) if sys.argv else "",
        "commit": git_commit(),
        "device": str(ctx.device),
        "host": platform.node(),
        "processes": ctx.world,
        "effective_batch_size": ctx.world * train_cfg.batch_size,
    }
    if pretrained is not None:
        meta["init_from"] = pretrained  # its sources' licences bind the weights too
    metrics: dict[str, Any] = {}
    saved_at, paused = -1, 0.0  # paused: seconds spent evaluating and saving, not training
    waited = 0.0  # seconds spent building batches and handing them to the device

    def throughput() -> dict[str, float]:
        """Training speed of this run so far, evaluation and saving left out; data_share is the
        part spent building batches, when the device waits (each step ends by reading the loss)."""
        seconds = max(time.perf_counter() - started - paused, 1e-9)
        sketches = (step - first_step) * ctx.world * train_cfg.batch_size
        return {
            "steps": step - first_step,
            "seconds": round(seconds, 2),
            "steps_per_s": round((step - first_step) / seconds, 3),
            "sketches_per_s": round(sketches / seconds, 1),
            "data_share": round(min(waited / seconds, 1.0), 3),
        }

    def save(at: int) -> None:
        nonlocal saved_at
        saved_at = at
        sums = distributed.gather_checksums(ctx, model)  # a collective: every rank takes part
        if any(s != sums[0] for s in sums):
            raise RuntimeError(f"the {ctx.world} ranks' weights differ at step {at}; DDP broke")
        if not ctx.is_main:
            distributed.barrier(ctx)
            return
        meta.update(
            metrics=metrics, trained_steps=at, ranks_in_sync=len(sums), throughput=throughput()
        )
        checkpoint.save(
            out,
            model,
            vocab,
            data.scale_factor,
            train=train_cfg,
            step=at,
            meta=meta,
            optimizer=optimizer,
        )
        distributed.barrier(ctx)

    bar = tqdm(
        total=train_cfg.steps,
        initial=step,
        desc=f"{model_cfg.preset}",
        unit="step",
        disable=quiet or not ctx.is_main,
        dynamic_ncols=True,
    )
    started = time.perf_counter()
    first_step = step
    while step < train_cfg.steps:
        lr = learning_rate(step, train_cfg)
        for group in optimizer.param_groups:
            group["lr"] = lr
        alpha = kl_weight(
            step, model_cfg.kl_weight, model_cfg.kl_weight_start, model_cfg.kl_decay_rate
        )
        fetch_from = time.perf_counter()
        inp = to_inputs(next(batches), ctx.device)
        waited += time.perf_counter() - fetch_from
        with torch.autocast(ctx.device.type, dtype=torch.bfloat16, enabled=use_amp):
            terms = net(inp, alpha)
        optimizer.zero_grad(set_to_none=True)
        terms.loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), train_cfg.grad_clip)
        optimizer.step()
        step += 1
        shown = {k: float(getattr(terms, k).detach()) for k in ("loss", "l_r", "l_kl", "l_img")}
        spent = budget_seconds is not None and time.perf_counter() - started > budget_seconds
        shown = distributed.mean(ctx, {**shown, "spent": float(spent)})  # one collective a step
        loss_value, spent = shown.pop("loss"), shown.pop("spent") > 0
        if not math.isfinite(loss_value):
            raise SystemExit(
                f"the loss became {loss_value} at step {step}; "
                "lower the learning rate or check the data"
            )
        bar.update(1)
        bar.set_postfix(
            loss=f"{loss_value:.3f}",
            **{k: f"{v:.3f}" for k, v in shown.items()},
            lr=f"{lr:.1e}",
            refresh=False,
        )
        pause_from = time.perf_counter()
        if ctx.is_main and (step % train_cfg.eval_every == 0 or step == train_cfg.steps):
            valid = evaluate_losses(model, data, "valid", ctx.device, train_cfg.batch_size)
            metrics = {
                "step": step,
                "valid": valid,
                "seconds": round(time.perf_counter() - started, 1),
            }
            bar.write(
                f"step {step}: valid l_r {valid['l_r']:.4f}  l_kl {valid['l_kl']:.4f}  "
                f"l_img {valid['l_img']:.4f}"
            )
        if step % train_cfg.save_every == 0 or step == train_cfg.steps:
            save(step)
        paused += time.perf_counter() - pause_from
        if spent:
            if ctx.is_main:
                bar.write(f"time budget spent at step {step}; saving and stopping")
            break
    bar.close()
    if saved_at != step and (step > first_step or not (out / checkpoint.CONFIG).exists()):
        save(step)
    if step > first_step:
        speed = throughput()
        say(
            f"trained {speed['steps']} steps in {speed['seconds']:.1f} s: "
            f"{speed['sketches_per_s']:.0f} sketches/s ({speed['steps_per_s']:.2f} steps/s)",
            file=sys.stderr,
        )
    return out


def parse_overrides(pairs: list[str], cls: type) -> dict[str, Any]:
    """--set name=value pairs, typed by the dataclass fields' current values."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    defaults = cls()
    out: dict[str, Any] = {}
    for pair in pairs:
        name, _, raw = pair.partition("=")
        if name not in fields:
            continue
        out[name] = json.loads(raw) if not isinstance(getattr(defaults, name), str) else raw
    return out


PROG = "python -m lab.train"


def build_parser() -> argparse.ArgumentParser:
    """The command line, with every option's default in --help."""
    defaults = TrainConfig()
    ap = cli.parser(
        PROG,
        "Train (or resume) a sketch model on prepared data.",
        epilog=(
            "example:\n  python -m lab.train --config ai-sketcher --small "
            "--data data/objects.npz --out runs/objects --steps 5000 --batch-size 64\n\n"
            "The --out folder is a loadable checkpoint at every save; the same command again "
            "resumes from it."
        ),
    )
    io = ap.add_argument_group("data and output")
    io.add_argument(
        "--data",
        nargs="+",
        required=True,
        metavar="NPZ",
        help="prepared .npz file(s) from python -m lab.prepare (merged), or one shard folder "
        "(--shard-size), which is streamed",
    )
    io.add_argument(
        "--out", required=True, metavar="DIR", help="checkpoint folder, resumed if it holds one"
    )
    io.add_argument("--description", default="", help="recorded in the checkpoint's meta")
    io.add_argument(
        "--init-from",
        metavar="DIR",
        help="start a new model from this checkpoint's weights (pretraining, then fine-tuning "
        "on --data); the conditions may differ, the network must not",
    )
    model = ap.add_argument_group("model")
    model.add_argument(
        "--config",
        default="ai-sketcher",
        choices=tuple(PRESETS),
        metavar="PRESET",
        help=f"network preset: {', '.join(PRESETS)}",
    )
    model.add_argument(
        "--small",
        action="store_true",
        help="small sizes for CPU training (BiLSTM 64, decoder 128, z 32)",
    )
    run = ap.add_argument_group("training")
    run.add_argument(
        "--steps",
        type=int,
        help=f"total optimiser steps, counting resumed ones (default: {defaults.steps})",
    )
    run.add_argument(
        "--batch-size",
        type=int,
        help=f"sketches per step (default: {defaults.batch_size}; the documented CPU runs use 64)",
    )
    run.add_argument("--seed", type=int, help=f"random seed (default: {defaults.seed})")
    run.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="override a ModelConfig or TrainConfig field (JSON value), e.g. "
        "prior_dropout=0.3 (repeatable)",
    )
    run.add_argument(
        "--device",
        default="auto",
        help="auto (CUDA if there is a GPU, else CPU), cpu, cuda or cuda:N",
    )
    run.add_argument(
        "--budget-minutes",
        type=float,
        metavar="MIN",
        help="stop and save once this much wall time has passed (default: no limit)",
    )
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    return ap


def main(argv: list[str] | None = None) -> None:
    """Train from the command line; mistakes raise errors that cli.run reports in one line."""
    ap = build_parser()
    args = ap.parse_args(argv)
    known = {f.name for f in dataclasses.fields(ModelConfig)} | {
        f.name for f in dataclasses.fields(TrainConfig)
    }
    bad = [p for p in args.set if p.partition("=")[0] not in known]
    if bad:
        ap.error(
            f"--set {bad[0]!r}: no such config field; the fields are in model/config.py "
            "(ModelConfig, TrainConfig)"
        )
    try:
        model_cfg = preset(args.config, small=args.small, **parse_overrides(args.set, ModelConfig))
        train_over = parse_overrides(args.set, TrainConfig)
        for name in ("steps", "batch_size", "seed"):
            if getattr(args, name) is not None:
                train_over[name] = getattr(args, name)
        train_cfg = from_dict(TrainConfig, {**dataclasses.asdict(TrainConfig()), **train_over})
    except (ValueError, TypeError, json.JSONDecodeError) as e:
        ap.error(str(e))
    train_cfg = dataclasses.replace(
        train_cfg,
        steps=cli.quick(train_cfg.steps, 2, "steps"),
        batch_size=cli.quick(train_cfg.batch_size, 16),
    )
    out = cli.output_dir(args.out)
    device = pick_device(args.device)
    try:
        ctx = distributed.init(device)
    except distributed.DistributedError as e:
        raise cli.CommandError(str(e)) from None
    budget = None if args.budget_minutes is None else args.budget_minutes * 60.0
    try:
        out = train(
            model_cfg,
            train_cfg,
            args.data,
            out,
            ctx.device,
            args.description,
            args.quiet,
            ctx,
            budget,
            n_max_from_data=not any(p.partition("=")[0] == "max_seq_len" for p in args.set),
            init_from=None if args.init_from is None else Path(args.init_from),
        )
    finally:
        distributed.shutdown(ctx)
    if ctx.is_main:
        print(f"checkpoint: {out}")


if __name__ == "__main__":
    cli.exit_with(main, PROG)

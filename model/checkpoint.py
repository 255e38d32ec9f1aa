"""Save and load checkpoints: weights.safetensors + config.json (+ optimizer state to resume).

This is the only loader in the project. Nothing here unpickles: tensors come from safetensors and
everything else from JSON, so a checkpoint from a stranger cannot run code.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch
from safetensors.torch import load_file, save_file

from .config import ModelConfig, SampleConfig, TrainConfig, from_dict, to_dict
from .network import SketchModel
from .vocab import ConditionVocab

FORMAT = "ai-sketcher-checkpoint/1"
WEIGHTS, CONFIG, OPTIMIZER = "weights.safetensors", "config.json", "optimizer.safetensors"
Precision = Literal["float32", "float16", "int8"]
PRECISIONS: tuple[Precision, ...] = ("float32", "float16", "int8")
# An int8 matrix is stored with its per-row scales under its name plus this suffix; a suffix
# with a character no parameter name has, so the two can never collide.
QSCALE = ":scale"
INT8_MIN_SIZE = 4096  # smaller tensors (biases, norms) stay float16
SHIPPED_DIR = Path(__file__).parent / "weights"  # models that ship inside the package
# What the server serves when given no --model, by name; the first is its default model.
SHIPPED_MODELS = ("objects", "faces", "quickdraw")
SHIPPED_LIMIT = 45 * 2**20  # bytes: every shipped model folder together


def shipped(name: str = SHIPPED_MODELS[0]) -> Path:
    """The folder of a model shipped in the package, by name (one of SHIPPED_MODELS)."""
    if name not in SHIPPED_MODELS:
        raise ValueError(
            f"no shipped model {name!r}; the package ships {', '.join(SHIPPED_MODELS)}"
        )
    return SHIPPED_DIR / name


def _example() -> str:
    """The shipped objects model's folder, as a person in the repository would type it."""
    try:
        return str(shipped().relative_to(Path.cwd()))
    except ValueError:
        return str(shipped())


class CheckpointError(ValueError):
    """A checkpoint folder that cannot be loaded, with the reason in words."""


@dataclass
class Checkpoint:
    """A loaded model with everything needed to feed it and read its output."""

    model: SketchModel
    config: ModelConfig
    vocab: ConditionVocab
    scale_factor: float  # data units (QuickDraw's 256 box) per model unit
    train: TrainConfig | None = None
    step: int = 0
    meta: dict[str, Any] = field(default_factory=dict)  # provenance, metrics, description
    sample: SampleConfig = field(default_factory=SampleConfig)  # its measured best Variety

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @property
    def starts_at_origin(self) -> bool:
        """True when the training data's row 0 was (0, 0) ("start", Sketch-RNN's convention),
        False when it was the start point in the box ("box"; checkpoints before issue 15)."""
        return self.meta.get("row0", "box") == "start"


def save(
    directory: str | os.PathLike[str],
    model: SketchModel,
    vocab: ConditionVocab,
    scale_factor: float,
    *,
    train: TrainConfig | None = None,
    step: int = 0,
    meta: dict[str, Any] | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    precision: Precision = "float32",
    sample: SampleConfig | None = None,
) -> Path:
    """Write a checkpoint folder atomically enough for resume: files first, config.json last.
    `precision` float16 halves the weights; int8 quarters the matrices (a scale a row)."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}; got {precision!r}")
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    if precision == "int8":
        tensors = quantize(tensors)
    elif precision == "float16":
        tensors = {k: v.half() if v.is_floating_point() else v for k, v in tensors.items()}
    save_file(tensors, str(out / WEIGHTS))
    if optimizer is not None:
        opt_tensors, opt_json = _flatten_optimizer(optimizer)
        save_file(opt_tensors, str(out / OPTIMIZER))
    elif (out / OPTIMIZER).exists():
        (out / OPTIMIZER).unlink()
    config = {
        "format": FORMAT,
        "model": to_dict(model.cfg),
        "train": to_dict(train) if train is not None else None,
        "scale_factor": float(scale_factor),
        "conditions": vocab.to_json(),
        "step": int(step),
        "optimizer": opt_json if optimizer is not None else None,
        "meta": meta or {},
        "sample": to_dict(sample or SampleConfig()),
        "precision": precision,
    }
    tmp = out / (CONFIG + ".tmp")
    tmp.write_text(json.dumps(config, indent=2, sort_keys=True))
    tmp.replace(out / CONFIG)
    return out


def quantize(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """int8 matrices, each row scaled by its largest magnitude (its scale stored beside it under
    name + QSCALE); other floating tensors as float16."""
    out: dict[str, torch.Tensor] = {}
    for name, t in tensors.items():
        if t.is_floating_point() and t.dim() == 2 and t.numel() >= INT8_MIN_SIZE:
            scale = t.float().abs().amax(1, keepdim=True).clamp(min=1e-12) / 127.0
            out[name] = torch.round(t.float() / scale).clamp(-127, 127).to(torch.int8)
            out[name + QSCALE] = scale
        else:
            out[name] = t.half() if t.is_floating_point() else t
    return out


def dequantize(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The float weights of `quantize`'s output (anything else is returned as it is)."""
    out = {k: v for k, v in tensors.items() if not k.endswith(QSCALE)}
    for name in out:
        scale = tensors.get(name + QSCALE)
        if scale is not None:
            out[name] = out[name].float() * scale.float()
    return out


def read_config(directory: str | os.PathLike[str]) -> dict[str, Any]:
    """The parsed config.json of a checkpoint folder, with its format checked."""
    path = Path(directory) / CONFIG
    if not Path(directory).is_dir():
        raise CheckpointError(
            f"{directory}: no such checkpoint folder; name a folder written "
            f"by python -m lab.train, such as {_example()}"
        )
    if not path.is_file():
        raise CheckpointError(
            f"{directory} is not a checkpoint: it has no {CONFIG}; name a "
            f"folder written by python -m lab.train, such as {_example()}"
        )
    try:
        config = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CheckpointError(
            f"{path} is not valid JSON ({e}); the checkpoint is damaged, export or train it again"
        ) from None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not an AI-Sketcher checkpoint (format {FORMAT})")
    return config


def load(directory: str | os.PathLike[str], device: str | torch.device = "cpu") -> Checkpoint:
    """Rebuild the model from config.json and fill it from weights.safetensors, in eval mode."""
    config = read_config(directory)
    try:
        cfg = from_dict(ModelConfig, config["model"])
        train = from_dict(TrainConfig, config["train"]) if config.get("train") else None
        sample = from_dict(SampleConfig, config.get("sample") or {})
        vocab = ConditionVocab.from_json(config["conditions"])
    except (KeyError, TypeError, ValueError) as e:
        raise CheckpointError(f"{directory}/{CONFIG}: {e}") from None
    model = SketchModel(cfg)
    weights_path = Path(directory) / WEIGHTS
    if not weights_path.is_file():
        raise CheckpointError(f"{directory} has no {WEIGHTS}")
    tensors = dequantize(load_file(str(weights_path)))
    expected = model.state_dict()
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    wrong = sorted(k for k in set(expected) & set(tensors) if expected[k].shape != tensors[k].shape)
    if missing or unexpected or wrong:
        detail = "; ".join(
            f"{name}: {', '.join(keys[:4])}{' ...' if len(keys) > 4 else ''}"
            for name, keys in (
                ("missing", missing),
                ("unexpected", unexpected),
                ("wrong shape", wrong),
            )
            if keys
        )
        raise CheckpointError(f"{WEIGHTS} does not match {CONFIG} in {directory} ({detail})")
    model.load_state_dict({k: v.to(expected[k].dtype) for k, v in tensors.items()})
    model.to(device).eval()
    return Checkpoint(
        model,
        cfg,
        vocab,
        float(config["scale_factor"]),
        train,
        int(config.get("step", 0)),
        dict(config.get("meta") or {}),
        sample,
    )


def load_optimizer(directory: str | os.PathLike[str], optimizer: torch.optim.Optimizer) -> bool:
    """Restore optimizer state saved beside a checkpoint; False when there is none."""
    config = read_config(directory)
    path = Path(directory) / OPTIMIZER
    if not config.get("optimizer") or not path.is_file():
        return False
    tensors = load_file(str(path))
    state: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        _, index, name = key.split(".", 2)
        state.setdefault(int(index), {})[name] = value
    optimizer.load_state_dict({"state": state, "param_groups": config["optimizer"]})
    return True


def _flatten_optimizer(opt: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], Any]:
    sd = opt.state_dict()
    tensors = {
        f"state.{index}.{name}": (v if torch.is_tensor(v) else torch.tensor(v)).detach().cpu()
        for index, entry in sd["state"].items()
        for name, v in entry.items()
    }
    return tensors, sd["param_groups"]


def export(
    source: str | os.PathLike[str],
    target: str | os.PathLike[str],
    precision: Precision = "float32",
    temperature: float | None = None,
    description: str | None = None,
) -> Path:
    """Copy a checkpoint for shipping: weights (float16 or int8 if asked) and config, no
    optimizer state;
    `temperature` records the model's measured best Variety (else the source's is kept), and
    `description` replaces the one the welcome shows (else the training run's is kept)."""
    ckpt = load(source)
    meta = ckpt.meta if description is None else {**ckpt.meta, "description": description}
    return save(
        target,
        ckpt.model,
        ckpt.vocab,
        ckpt.scale_factor,
        train=ckpt.train,
        step=ckpt.step,
        meta=meta,
        precision=precision,
        sample=ckpt.sample if temperature is None else SampleConfig(temperature),
    )


PROG = "python -m model.checkpoint"


def main(argv: list[str] | None = None) -> None:
    """Export from the command line; the target is checked before the source is read."""
    from . import cli

    ap = cli.parser(
        PROG,
        "Export a trained checkpoint for shipping: weights and config.json, no optimiser state.",
        epilog="example:\n  python -m model.checkpoint runs/objects model/weights/objects --half",
    )
    ap.add_argument("source", help="checkpoint folder written by lab.train")
    ap.add_argument("target", help="folder to write (weights + config.json only)")
    ap.add_argument("--half", action="store_true", help="store weights as fp16 (half the size)")
    ap.add_argument(
        "--int8",
        action="store_true",
        help="store the weight matrices as int8 with a scale a row (a quarter of the size); "
        "measure what it costs before shipping it",
    )
    ap.add_argument(
        "--temperature",
        type=float,
        metavar="T",
        help="the model's best Variety, measured (docs/models.md); the add-ons start there "
        "(default: the source's, else 0.5)",
    )
    ap.add_argument(
        "--description",
        metavar="TEXT",
        help="what the model is, as the welcome shows it (default: the training run's)",
    )
    args = ap.parse_args(argv)
    cli.output_dir(args.target, "target")
    if args.half and args.int8:
        ap.error("--half and --int8: choose one")
    precision: Precision = "int8" if args.int8 else "float16" if args.half else "float32"
    out = export(args.source, args.target, precision, args.temperature, args.description)
    size = (out / WEIGHTS).stat().st_size
    print(f"exported {args.source} -> {out} ({size / 1e6:.1f} MB of weights)")


if __name__ == "__main__":
    from . import cli

    cli.exit_with(main, PROG)

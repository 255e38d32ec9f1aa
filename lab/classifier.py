"""A small sketch classifier on rasterised sketches, to measure how recognisable drawings are.

python -m lab.classifier --data PREPARED --attribute category --out DIR [--steps N]

It is trained on real (or, for face attributes, generated) drawings and reports its own test
accuracy, which `lab.evaluate` prints beside every recognisability figure it measures with it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn
from tqdm import tqdm

from model import cli
from model.checkpoint import CheckpointError
from model.cli import read_json
from model.raster import rasterize_all, rasterize_stroke3

from .augment import drop_points, random_scale
from .data import PreparedData

FORMAT = "ai-sketcher-classifier/1"


@dataclass(frozen=True)
class ClassifierConfig:
    """Architecture and training of the classifier."""

    attribute: str = "category"  # which condition attribute it predicts
    classes: tuple[str, ...] = ()  # the attribute's values, in output order
    raster_size: int = 32  # input image side, pixels
    channels: tuple[int, int, int] = (16, 32, 64)  # conv widths of the three blocks
    steps: int = 1500
    batch_size: int = 64
    learning_rate: float = 2e-3
    seed: int = 0
    part: tuple[int, int] = (0, 1)  # (k, n): train on the k-th of n interleaved train parts


class SketchClassifier(nn.Module):
    """Three conv blocks (conv, BN, ReLU, pool), global average pooling, a linear layer."""

    def __init__(self, cfg: ClassifierConfig) -> None:
        super().__init__()
        self.cfg = cfg
        layers: list[nn.Module] = []
        c_in = 1
        for c in cfg.channels:
            layers += [
                nn.Conv2d(c_in, c, 3, padding=1),
                nn.BatchNorm2d(c),
                nn.ReLU(),
                nn.Conv2d(c, c, 3, padding=1),
                nn.BatchNorm2d(c),
                nn.ReLU(),
                nn.MaxPool2d(2),
            ]
            c_in = c
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.Dropout(0.3), nn.Linear(c_in, len(cfg.classes)))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(images).mean(dim=(2, 3)))  # [B, classes] logits

    @torch.no_grad()
    def predict(self, images: np.ndarray) -> np.ndarray:
        """Class indices for images [B, R, R] in [0, 1]."""
        self.eval()
        x = torch.tensor(np.asarray(images, dtype=np.float32))[:, None]
        return torch.cat([self(chunk).argmax(-1) for chunk in x.split(256)]).numpy()

    def recognised(self, sketches: Sequence[Sequence[np.ndarray]], name: str) -> list[bool]:
        """For sketches (polylines each) meant as `name`, which ones it reads as `name`."""
        if not sketches:
            return []
        images = rasterize_all(list(sketches), self.cfg.raster_size)
        return [self.cfg.classes[p] == name for p in self.predict(images)]


def _labelled(
    data: PreparedData, split: str, attribute: str, classes: tuple[str, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the split's sketches whose label is one of `classes`, and that class index."""
    column = data.attributes.index(attribute)
    lut = np.array(
        [-1] + [classes.index(v) if v in classes else -1 for v in data.vocab.values[attribute]]
    )
    idx = data.indices(split)
    labels = lut[data.labels[idx, column].astype(np.int64) + 1]
    keep = labels >= 0
    return idx[keep], labels[keep]


def _images(
    data: PreparedData, idx: np.ndarray, size: int, rng: np.random.Generator | None = None
) -> np.ndarray:
    out = np.empty((len(idx), size, size), dtype=np.float32)
    for k, i in enumerate(idx):
        s3 = data.sketch(int(i)).astype(np.float64)
        if rng is not None:
            s3 = drop_points(random_scale(s3, rng), rng)
        out[k] = rasterize_stroke3(s3, size=size)
    return out


def accuracy(model: SketchClassifier, images: np.ndarray, labels: np.ndarray) -> float:
    return float((model.predict(images) == labels).mean()) if len(labels) else float("nan")


def train_classifier(
    data: PreparedData, cfg: ClassifierConfig, quiet: bool = False
) -> tuple[SketchClassifier, dict[str, float]]:
    """Train on the train split with Sketch-RNN's augmentation; report valid/test accuracy."""
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    classes = cfg.classes or data.vocab.values[cfg.attribute]
    missing = sorted(set(classes) - set(data.vocab.values[cfg.attribute]))
    if missing:
        raise ValueError(f"the data has no '{cfg.attribute}' value(s) {', '.join(missing)}")
    cfg = ClassifierConfig(**{**asdict(cfg), "classes": tuple(classes)})
    model = SketchClassifier(cfg)
    idx, labels = _labelled(data, "train", cfg.attribute, cfg.classes)
    keep = np.isin(idx, data.part(data.indices("train"), *cfg.part))
    idx, labels = idx[keep], labels[keep]
    if not len(idx):
        raise ValueError(f"no training sketch has a '{cfg.attribute}' label")
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.learning_rate, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, cfg.learning_rate, total_steps=cfg.steps)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.1)
    model.train()
    for _ in tqdm(range(cfg.steps), desc=f"classifier ({cfg.attribute})", disable=quiet):
        pick = rng.integers(0, len(idx), cfg.batch_size)
        x = torch.tensor(_images(data, idx[pick], cfg.raster_size, rng))[:, None]
        loss = loss_fn(model(x), torch.tensor(labels[pick]))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    scores = {}
    for split in ("valid", "test"):
        s_idx, s_labels = _labelled(data, split, cfg.attribute, cfg.classes)
        scores[split] = accuracy(model, _images(data, s_idx, cfg.raster_size), s_labels)
    return model, scores


def save_classifier(
    directory: str | Path,
    model: SketchClassifier,
    scores: dict[str, float],
    meta: dict | None = None,
) -> None:
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    save_file(
        {k: v.contiguous() for k, v in model.state_dict().items()}, str(out / "weights.safetensors")
    )
    (out / "config.json").write_text(
        json.dumps(
            {"format": FORMAT, "config": asdict(model.cfg), "accuracy": scores, "meta": meta or {}},
            indent=2,
        )
    )


def load_classifier(directory: str | Path) -> tuple[SketchClassifier, dict[str, float]]:
    """A trained classifier and its own accuracy per split (no pickle involved)."""
    path = Path(directory)
    if not (path / "config.json").is_file():
        raise CheckpointError(
            f"{path} is not a sketch classifier: it has no config.json; "
            "train one with python -m lab.classifier"
        )
    info = read_json(path / "config.json", "a sketch classifier's config")
    if not isinstance(info, dict) or info.get("format") != FORMAT:
        raise CheckpointError(
            f"{path} is not a sketch classifier (format {FORMAT}); train one "
            "with python -m lab.classifier"
        )
    cfg = ClassifierConfig(
        **{k: tuple(v) if isinstance(v, list) else v for k, v in info["config"].items()}
    )
    model = SketchClassifier(cfg)
    model.load_state_dict(load_file(str(path / "weights.safetensors")))
    return model.eval(), info["accuracy"]


PROG = "python -m lab.classifier"


def main(argv: list[str] | None = None) -> None:
    """Train a classifier from the command line; the output folder is checked first."""
    ap = cli.parser(
        PROG,
        "Train a small CNN that reads a condition (category, emotion, ...) back from a sketch.",
        epilog="example:\n  python -m lab.classifier "
        "--data data/objects.npz --out runs/clf20 --classes face,cat,pig\n\n"
        "lab.evaluate uses it to measure how recognisable drawn sketches are.",
    )
    ap.add_argument(
        "--data", nargs="+", required=True, metavar="NPZ", help="prepared .npz file(s), merged"
    )
    ap.add_argument("--out", required=True, metavar="DIR", help="folder to write the classifier to")
    ap.add_argument(
        "--attribute",
        default="category",
        help="the condition it learns to read, e.g. category or emotion",
    )
    ap.add_argument(
        "--classes",
        metavar="A,B,...",
        help="comma-separated subset of the attribute's values (default: all)",
    )
    ap.add_argument("--steps", type=int, default=ClassifierConfig.steps, help="training steps")
    ap.add_argument("--seed", type=int, default=0, help="random seed")
    ap.add_argument(
        "--part",
        default="1/1",
        metavar="K/N",
        help="train on the K-th of N interleaved parts of each category's training "
        "drawings, e.g. 2/2 when part 1/2 went into a library it will judge",
    )
    ap.add_argument("--quiet", action="store_true", help="no progress bar")
    args = ap.parse_args(argv)
    try:
        k, n = (int(x) for x in args.part.split("/"))
    except ValueError:
        ap.error(f"--part must look like K/N, e.g. 2/2; got {args.part!r}")
    cli.output_dir(args.out)
    data = PreparedData.merge([PreparedData.load(p) for p in args.data])
    if args.attribute not in data.attributes:
        ap.error(
            f"the data has no attribute {args.attribute!r}; it has {', '.join(data.attributes)}"
        )
    classes = tuple(args.classes.split(",")) if args.classes else ()
    cfg = ClassifierConfig(
        attribute=args.attribute,
        classes=classes,
        steps=cli.quick(args.steps, 2, "steps"),
        seed=args.seed,
        part=(k - 1, n),
    )
    try:
        model, scores = train_classifier(data, cfg, args.quiet)
    except ValueError as e:
        ap.error(str(e))
    save_classifier(args.out, model, scores, {"data": [Path(p).name for p in args.data]})
    chance = 1.0 / len(model.cfg.classes)
    print(
        f"classifier for '{args.attribute}' ({len(model.cfg.classes)} classes, chance "
        f"{chance:.1%}): valid {scores['valid']:.1%}, test {scores['test']:.1%} -> {args.out}"
    )


if __name__ == "__main__":
    cli.exit_with(main, PROG)

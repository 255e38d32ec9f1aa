"""Make the sample grids in docs/ from trained checkpoints.

python docs/figures.py --data PREPARED --models ai-sketcher=DIR sketch-rnn=DIR ... --out DIR

Writes samples-refine.png (test drawings and each model's reconstruction, same seed) and
samples-generate.png (the first model drawing each of the slides' categories from its condition).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from lab.data import PreparedData
from lab.evaluate import SLIDE_CATEGORIES
from lab.render import write_grid
from model import cli
from model import strokes as S
from model.checkpoint import Checkpoint, load
from model.sample import SketchRequest, sample

PROG = "python docs/figures.py"


def main(argv: list[str] | None = None) -> None:
    """Draw both grids into --out, which is made if missing."""
    ap = cli.parser(
        PROG,
        "Draw the objects sample grids of docs/ from trained checkpoints.",
        epilog=__doc__.split("\n\n", 1)[1],
    )
    args, folder, data, models = grid_args(
        ap, argv, "prepared .npz holding the slides' categories", "generate grid", inputs=8
    )
    names = data.vocab.values["category"]
    test = [int(i) for i in data.indices("test") if names[data.labels[i, 0]] in SLIDE_CATEGORIES]
    picked = np.random.default_rng(0).choice(
        test, size=min(cli.quick(args.inputs, 1), len(test)), replace=False
    )
    sketches, labels = [], []
    for i in picked:
        given = S.stroke3_to_polylines(data.sketch(int(i)))
        category = names[data.labels[i, 0]]
        sketches.append(given)
        labels.append(f"{category} (drawn)")
        for name, ckpt in models:
            cond = {"category": category} if ckpt.config.use_condition else {}
            out = sample(
                ckpt,
                SketchRequest(
                    mode="refine",
                    strokes=given,
                    conditions=cond,
                    seed=0,
                    temperature=args.temperature,
                ),
            )
            sketches.append(out[0])
            labels.append(name)
    folder.mkdir(parents=True, exist_ok=True)
    write_grid(folder / "samples-refine.png", sketches, labels, columns=1 + len(models))
    name, ckpt = models[0]
    sketches, labels = [], []
    drawn = [c for c in SLIDE_CATEGORIES if c in names]
    for k, category in enumerate(drawn[: cli.quick(len(drawn), 2, "categories")]):
        out = sample(
            ckpt,
            SketchRequest(
                conditions={"category": category}, n=2, seed=k, temperature=args.temperature
            ),
        )
        sketches += out
        labels += [category] * 2
    write_grid(folder / "samples-generate.png", sketches, labels, columns=8)


def grid_args(
    ap: argparse.ArgumentParser,
    argv: list[str] | None,
    data_help: str,
    first_draws: str,
    inputs: int,
) -> tuple[argparse.Namespace, Path, PreparedData, list[tuple[str, Checkpoint]]]:
    """The arguments every grid script takes (--data, --models, --out, --inputs, --temperature),
    parsed, with the output folder made and the data and checkpoints loaded."""
    ap.add_argument("--data", required=True, metavar="NPZ", help=data_help)
    ap.add_argument(
        "--models",
        nargs="+",
        required=True,
        metavar="NAME=DIR",
        help=f"checkpoints to compare; the first also draws the {first_draws}",
    )
    ap.add_argument(
        "--out",
        required=True,
        metavar="DIR",
        help="folder for the PNGs, made if missing (docs replaces the committed ones)",
    )
    ap.add_argument("--inputs", type=int, default=inputs, help="test drawings to redraw")
    ap.add_argument("--temperature", type=float, default=0.3, help="sampling temperature")
    args = ap.parse_args(argv)
    folder = cli.output_dir(args.out)
    data = PreparedData.load(args.data)
    return args, folder, data, [(name, load(path)) for name, path in model_args(ap, args.models)]


def model_args(ap: argparse.ArgumentParser, pairs: list[str]) -> list[tuple[str, str]]:
    """--models NAME=DIR pairs; a malformed one is a usage error."""
    bad = [p for p in pairs if not all(p.partition("=")[::2])]
    if bad:
        ap.error(f"--models {bad[0]!r}: write NAME=DIR, e.g. objects=model/weights/objects")
    return [(name, folder) for name, _, folder in (p.partition("=") for p in pairs)]


if __name__ == "__main__":
    cli.exit_with(main, PROG)

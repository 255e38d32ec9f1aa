"""Make the sample grids in docs/ from trained checkpoints.

python docs/figures.py --data PREPARED --models ai-sketcher=DIR sketch-rnn=DIR ... --out docs/

Writes samples-refine.png (test drawings and each model's reconstruction, same seed) and
samples-generate.png (the first model drawing each of the slides' categories from its condition).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from model import strokes as S
from model.checkpoint import load
from model.data import PreparedData
from model.evaluate import SLIDE_CATEGORIES
from model.render import write_grid
from model.sample import Request, sample


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", required=True)
    ap.add_argument("--models", nargs="+", required=True, metavar="NAME=DIR")
    ap.add_argument("--out", default="docs")
    ap.add_argument("--inputs", type=int, default=8)
    ap.add_argument("--temperature", type=float, default=0.3)
    args = ap.parse_args()
    data = PreparedData.load(args.data)
    models = [(name, load(path)) for name, path in (m.split("=", 1) for m in args.models)]
    names = data.vocab.values["category"]
    test = [int(i) for i in data.indices("test") if names[data.labels[i, 0]] in SLIDE_CATEGORIES]
    picked = np.random.default_rng(0).choice(test, size=args.inputs, replace=False)
    sketches, labels = [], []
    for i in picked:
        given = S.stroke3_to_polylines(data.sketch(int(i)))
        category = names[data.labels[i, 0]]
        sketches.append(given)
        labels.append(f"{category} (drawn)")
        for name, ckpt in models:
            cond = {"category": category} if ckpt.config.use_condition else {}
            out = sample(ckpt, Request(mode="refine", strokes=given, conditions=cond, seed=0,
                                       temperature=args.temperature))
            sketches.append(out[0])
            labels.append(name)
    write_grid(Path(args.out) / "samples-refine.png", sketches, labels, columns=1 + len(models))
    name, ckpt = models[0]
    sketches, labels = [], []
    for k, category in enumerate(c for c in SLIDE_CATEGORIES if c in names):
        out = sample(ckpt, Request(conditions={"category": category}, n=2, seed=k,
                                   temperature=args.temperature))
        sketches += out
        labels += [category] * 2
    write_grid(Path(args.out) / "samples-generate.png", sketches, labels, columns=8)


if __name__ == "__main__":
    main()

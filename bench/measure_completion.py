"""Whether suggestions stay with the artist's drawing and are never empty, for every model and
mode: a table for docs/experiments.md ("Completion that stays with the drawing", not written up
yet).

    python bench/measure_completion.py --data data/objects.npz [--drawings 200]

The inputs are the first halves (the first strokes, half the points) of held-out real drawings
(valid and test splits) of each model's categories, seeded; each asks for 2 alternatives of its
own category (smiley faces count as faces for a model that draws only faces) at the model's
default temperature, with the library and with the network alone.
For each model, mode and path it prints the share of alternatives with no strokes, and the share
whose strokes reach further beyond the drawing than 1.5 times its size (model.strokes.REACH; for
`generate`, beyond the box it was asked to draw in). The real second halves are the yardstick.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.measure_distillation import first_half  # noqa: E402
from lab.data import PreparedData  # noqa: E402
from model import cli  # noqa: E402
from model import strokes as S  # noqa: E402
from model.checkpoint import SHIPPED_MODELS, load, shipped  # noqa: E402
from model.library import open_library  # noqa: E402
from model.sample import SketchRequest, runnable_modes, sample  # noqa: E402

REACH = getattr(S, "REACH", 1.5)  # the same rule on code from before it existed


def beyond(strokes: list[np.ndarray], given: list[np.ndarray]) -> bool:
    """Whether any point lies further beyond the given strokes' box than REACH sizes."""
    if not strokes:
        return False
    x0, y0, x1, y1 = S.bounds(given)
    grow = REACH * max(x1 - x0, y1 - y0)
    p = np.concatenate(strokes)
    return bool(
        ((p[:, 0] < x0 - grow) | (p[:, 0] > x1 + grow) | (p[:, 1] < y0 - grow)).any()
        or (p[:, 1] > y1 + grow).any()
    )


# Real drawings that a model without their category draws as another: a faces model has only
# "face", and the held-out smiley faces are faces too.
AS = {"smiley face": "face"}


def inputs(data: PreparedData, categories: set[str], count: int) -> list[tuple[str, list, list]]:
    """(category, first half, second half) of up to `count` held-out real drawings, seeded."""
    names = [n if n in categories else AS.get(n, n) for n in data.vocab.values["category"]]
    held = [
        i
        for i in np.flatnonzero(data.split != 0)
        if names[data.labels[i, 0]] in categories
        and len(S.stroke3_to_polylines(data.sketch(int(i)))) > 1
    ]
    rng = np.random.default_rng(0)
    picks = rng.choice(held, size=min(count, len(held)), replace=False)
    out = []
    for i in picks:
        drawing = S.stroke3_to_polylines(data.sketch(int(i)))
        half = first_half(drawing)
        out.append((names[data.labels[i, 0]], half, drawing[len(half) :]))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="prepared real drawings (held-out splits)")
    ap.add_argument("--drawings", type=int, default=200, help="inputs a model")
    ap.add_argument("--models", default=",".join(SHIPPED_MODELS))
    args = ap.parse_args()
    count = cli.quick(args.drawings, 3, "--drawings")
    data = PreparedData.load(args.data)
    print(
        f"| model | mode | path | alternatives | empty | beyond {REACH} sizes |\n"
        "|---|---|---|---|---|---|"
    )
    for name in args.models.split(","):
        folder = shipped(name) if name in SHIPPED_MODELS else Path(name)
        ckpt = load(folder)
        library = open_library(folder, ckpt)
        cats = set(ckpt.vocab.values["category"])
        given = inputs(data, cats, count)
        real = [beyond(rest, half) for _, half, rest in given]
        print(f"| {folder.name} | (real second halves) | | {len(real)} | 0 % | "
              f"{100 * np.mean(real):.1f} % |")  # fmt: skip
        for mode in runnable_modes(ckpt):
            paths = [("library", True), ("network", False)] if library else [("network", False)]
            for path, use_library in paths:
                empty, far, total = 0, 0, 0
                for k, (category, half, _) in enumerate(given):
                    box = S.bounds(half)
                    req = SketchRequest(
                        mode=mode,
                        strokes=[] if mode == "generate" else [s.tolist() for s in half],
                        bounds=box if mode == "generate" else None,
                        conditions={"category": category},
                        n=2,
                        temperature=ckpt.sample.temperature,
                        seed=k,
                        use_library=use_library,
                    )
                    for out in sample(ckpt, req, library if use_library else None):
                        new = out[len(half) :] if mode == "complete" else out
                        empty += not any(len(s) for s in new)
                        far += beyond(new, half)
                        total += 1
                print(
                    f"| {folder.name} | {mode} | {path} | {total} | "
                    f"{100 * empty / total:.1f} % | {100 * far / total:.1f} % |"
                )


if __name__ == "__main__":
    main()

"""Make the face model's sample grids in docs/ from trained checkpoints.

python docs/figures_faces.py --data FACES.npz --models faces=DIR sketch-rnn=DIR --out DIR

Writes faces-autodraw.png (the first model drawing every emotion for each gender and view, from
the conditions alone), faces-styles.png (every style for each gender and view) and faces-refine.png
(held-out faces, each model's reconstruction, and the first model completing their first two
strokes), all with the same seeds.
"""

from __future__ import annotations

import numpy as np
from figures import grid_args  # docs/, this script's folder

from lab.evaluate import labels_of
from lab.render import write_grid
from model import cli
from model import strokes as S
from model.checkpoint import Checkpoint
from model.sample import SketchRequest, sample

GENDERS = ("female", "male")
VIEWS = ("frontal", "mid-profile left", "mid-profile right")
SHORT_VIEW = {"frontal": "front", "mid-profile left": "left", "mid-profile right": "right"}


def autodraw(
    ckpt: Checkpoint,
    rows: tuple[str, ...],
    row_attribute: str,
    fixed: dict[str, str],
    temperature: float,
) -> tuple[list, list[str]]:
    """One row per value of `row_attribute`, one column per gender and view."""
    sketches, labels = [], []
    for r, value in enumerate(rows):
        for c, (gender, view) in enumerate((g, v) for g in GENDERS for v in VIEWS):
            conditions = {
                "category": "face",
                **fixed,
                row_attribute: value,
                "gender": gender,
                "view": view,
            }
            sketches += sample(
                ckpt,
                SketchRequest(conditions=conditions, seed=100 * r + c, temperature=temperature),
            )
            labels.append(f"{value} {gender[0]} {SHORT_VIEW[view]}")
    return sketches, labels


PROG = "python docs/figures_faces.py"


def main(argv: list[str] | None = None) -> None:
    """Draw the three face grids into --out, which is made if missing."""
    ap = cli.parser(
        PROG,
        "Draw the face model's sample grids of docs/ from trained checkpoints.",
        epilog=__doc__.split("\n\n", 1)[1],
    )
    args, folder, data, models = grid_args(
        ap, argv, "prepared faces (lab.datasets.faces)", "other grids", inputs=6
    )
    folder.mkdir(parents=True, exist_ok=True)
    first = models[0][1]
    emotions = tuple(first.vocab.values["emotion"])[: cli.quick(7, 1, "grid rows")]
    styles = tuple(first.vocab.values["style"])[: cli.quick(3, 1)]
    sketches, labels = autodraw(first, emotions, "emotion", {"style": "cartoon"}, args.temperature)
    write_grid(folder / "faces-autodraw.png", sketches, labels, columns=6)
    sketches, labels = autodraw(first, styles, "style", {"emotion": "happy"}, args.temperature)
    write_grid(folder / "faces-styles.png", sketches, labels, columns=6)

    test = data.indices("test")
    picked = np.random.default_rng(0).choice(
        test, size=min(cli.quick(args.inputs, 1), len(test)), replace=False
    )
    sketches, labels = [], []
    for k, i in enumerate(int(i) for i in picked):
        given = S.stroke3_to_polylines(data.sketch(i))
        conditions = labels_of(data, i)
        sketches.append(given)
        labels.append(f"{conditions['emotion']} (data)")
        for name, ckpt in models:
            cond = conditions if ckpt.config.use_condition else {}
            sketches += sample(
                ckpt,
                SketchRequest(
                    mode="refine",
                    strokes=given,
                    conditions=cond,
                    seed=k,
                    temperature=args.temperature,
                ),
            )
            labels.append(f"{name} refine")
        sketches += sample(
            first,
            SketchRequest(
                mode="complete",
                strokes=given[:2],
                conditions=conditions,
                seed=k,
                temperature=args.temperature,
            ),
        )
        labels.append(f"{models[0][0]} completes 2")
    write_grid(folder / "faces-refine.png", sketches, labels, columns=2 + len(models))


if __name__ == "__main__":
    cli.exit_with(main, PROG)

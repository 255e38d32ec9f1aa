"""Teachers, students and real drawings side by side: docs/teachers-students.png.

python docs/figures_teachers.py --data data/objects.npz --teacher model/weights/quickdraw \
    --models student=runs/student512 objects=model/weights/objects --out docs

A row a category: two drawings by the teacher (the `quickdraw` decoder of that category), two by
each model (the network alone, from the category alone, the seeds the teacher used), then two
held-out real drawings of the category. All at --temperature, as bench/measure_distillation.py
judges them.
"""

from __future__ import annotations

from figures import model_args  # docs/, this script's folder

from lab.data import PreparedData
from lab.render import write_grid
from model import cli
from model import strokes as S
from model.checkpoint import load
from model.sample import SketchRequest, sample

PROG = "python docs/figures_teachers.py"
CATEGORIES = "bird,dolphin,rabbit,sheep,bicycle,tiger"
PER_CELL = 2  # drawings a source draws in each row


def main(argv: list[str] | None = None) -> None:
    """Draw the grid into --out, which is made if missing."""
    ap = cli.parser(
        PROG,
        "Draw teacher, student and real drawings of the teacher categories side by side.",
        epilog=__doc__.split("\n\n", 1)[1],
    )
    ap.add_argument("--data", required=True, metavar="NPZ", help="prepared real drawings")
    ap.add_argument("--teacher", required=True, metavar="DIR", help="the teachers' model")
    ap.add_argument(
        "--models", nargs="+", required=True, metavar="NAME=DIR", help="students to compare"
    )
    ap.add_argument("--out", required=True, metavar="DIR", help="folder for the PNG")
    ap.add_argument("--categories", default=CATEGORIES, help="comma-separated rows")
    ap.add_argument("--temperature", type=float, default=0.4, help="sampling temperature")
    args = ap.parse_args(argv)
    folder = cli.output_dir(args.out)
    data = PreparedData.load(args.data)
    sources = [("teacher", load(args.teacher))]
    sources += [(name, load(path)) for name, path in model_args(ap, args.models)]
    names = data.vocab.values["category"]
    rows = args.categories.split(",")
    wanted = rows[: cli.quick(len(rows), 1, "rows")]
    for category in wanted:
        for label, ckpt in sources:
            if category not in ckpt.vocab.values.get("category", ()):
                ap.error(f"--categories: {label} does not draw {category!r}")
        if category not in names:
            ap.error(f"--categories: {args.data} holds no {category!r} drawings")
    sketches, labels = [], []
    for k, category in enumerate(wanted):
        for label, ckpt in sources:
            req = SketchRequest(
                conditions={"category": category},
                n=PER_CELL,
                temperature=args.temperature,
                seed=k,
                use_library=False,
            )
            sketches += sample(ckpt, req)
            labels += [f"{category}: {label}"] * PER_CELL
        held_out = data.of_category(category, held_out=True)[:PER_CELL]
        sketches += [S.stroke3_to_polylines(data.sketch(int(i))) for i in held_out]
        labels += [f"{category}: real"] * len(held_out)
        sketches += [[]] * (PER_CELL - len(held_out))
        labels += [""] * (PER_CELL - len(held_out))
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / "teachers-students.png"
    write_grid(out, sketches, labels, columns=PER_CELL * (len(sources) + 1))
    print(f"wrote {out}")


if __name__ == "__main__":
    cli.exit_with(main, PROG)

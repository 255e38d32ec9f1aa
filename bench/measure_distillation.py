"""What the teachers draw, what the students learnt from them, and whether they copy: the figures
of docs/training.md, "Learning from other models: Magenta's decoders as teachers".

    python bench/measure_distillation.py --data data/objects.npz --teacher-data data/teacher.npz \
        --teacher runs/quickdraw-f32 --served model/weights/quickdraw \
        --student old=runs/objects-before --student new=model/weights/objects \
        --judge runs/clf-teachers --slides-judge runs/clf20

Every judge is a classifier trained only on real drawings (`python -m lab.classifier`, train
split), never on a teacher's samples; its accuracy on the held-out real drawings (valid and test
splits) is printed beside its figures. All drawings are drawn from the category alone at
`--temperature` with the network alone (no library), `--per-category` a category, seeded:

0. With `--sweep T,T,...`: the teacher at each temperature, recognised by the teacher judge, and
   the diversity of its drawings (mean pairwise perceptual-hash distance within a category):
   what chose the teacher set's temperature.
1. Per teacher category, recognised by the teacher judge (and the slides' judge where it knows
   the category): the teacher (full precision), the served `quickdraw` model, each student, and
   the held-out real drawings.
2. The 20 slide categories, by the slides' judge: each student's `generate`, and its `complete`
   from the first half (the first strokes, half the points) of each held-out real drawing, judged
   as the whole drawing.
3. Novelty: for each student's drawings of the teacher categories, the perceptual-hash distance
   (bits of 64) to the nearest teacher sample and to the nearest real training drawing of the
   category; the held-out real drawings and fresh teacher samples are the yardsticks.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.measure_memorisation import hashes, nearest  # noqa: E402
from lab.classifier import SketchClassifier, load_classifier  # noqa: E402
from lab.data import PreparedData  # noqa: E402
from lab.evaluate import SLIDE_CATEGORIES  # noqa: E402
from model import cli  # noqa: E402
from model import strokes as S  # noqa: E402
from model.checkpoint import Checkpoint, load  # noqa: E402
from model.sample import SketchRequest, sample  # noqa: E402

Drawing = list[np.ndarray]


def polylines(data: PreparedData, i: int) -> Drawing:
    return S.stroke3_to_polylines(data.sketch(int(i)))


def generate(ckpt: Checkpoint, name: str, n: int, temperature: float, seed: int) -> list[Drawing]:
    """n drawings of a category from the category alone, network only."""
    req = SketchRequest(
        conditions={"category": name}, n=n, temperature=temperature, seed=seed, use_library=False
    )
    return sample(ckpt, req)


def first_half(drawing: Drawing) -> Drawing:
    """The strokes that hold the first half of a drawing's points (at least one stroke)."""
    total, out, seen = sum(map(len, drawing)), [], 0
    for stroke in drawing:
        if out and seen >= total / 2:
            break
        out.append(stroke)
        seen += len(stroke)
    return out


def complete(ckpt: Checkpoint, name: str, given: Drawing, temperature: float, seed: int) -> Drawing:
    """The given strokes and what the network alone adds to them."""
    req = SketchRequest(
        mode="complete",
        strokes=[s.tolist() for s in given],
        conditions={"category": name},
        temperature=temperature,
        seed=seed,
        use_library=False,
    )
    return sample(ckpt, req)[0]


def share(clf: SketchClassifier, drawings: Sequence[Drawing], name: str) -> float:
    return float(np.mean(clf.recognised(list(drawings), name))) if drawings else float("nan")


def pct(x: float) -> str:
    return "-" if np.isnan(x) else f"{100 * x:.0f} %"


def judge_accuracy(clf: SketchClassifier, data: PreparedData) -> float:
    """The judge's own accuracy on the held-out real drawings of its classes."""
    hits = [
        hit
        for name in clf.cfg.classes
        for hit in clf.recognised([polylines(data, i) for i in data.of_category(name, True)], name)
    ]
    return float(np.mean(hits))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="prepared real drawings (held-out splits)")
    ap.add_argument("--teacher-data", help="the teacher set the students trained on (novelty)")
    ap.add_argument("--teacher", required=True, help="the teachers at full precision")
    ap.add_argument("--served", help="the shipped quickdraw model")
    ap.add_argument("--student", action="append", default=[], metavar="NAME=DIR")
    ap.add_argument("--judge", required=True, help="classifier over the teacher categories")
    ap.add_argument("--slides-judge", required=True, help="the 20 slide categories' classifier")
    ap.add_argument("--per-category", type=int, default=30)
    ap.add_argument("--temperature", type=float, default=0.4)
    ap.add_argument("--skip", default="", help="comma-separated tables to leave out: 1,2,3")
    ap.add_argument(
        "--categories", default="", help="tables 0, 1 and 3: only these teacher categories"
    )
    ap.add_argument("--sweep", default="", help="table 0: the teacher at these temperatures")
    args = ap.parse_args()
    n = cli.quick(args.per_category, 2, "--per-category")
    skip = set(args.skip.split(","))
    data = PreparedData.load(args.data)
    judge, _ = load_classifier(args.judge)
    slides, _ = load_classifier(args.slides_judge)
    teacher = load(args.teacher)
    served = load(args.served) if args.served else None
    students = {name: load(d) for name, _, d in (s.partition("=") for s in args.student)}
    categories = [c for c in judge.cfg.classes if c in teacher.vocab.values["category"]]
    if args.categories:
        wanted = args.categories.split(",")
        unknown = [c for c in wanted if c not in categories]
        if unknown:
            ap.error(f"--categories: {unknown[0]!r} is not a category both judge and teacher know")
        categories = [c for c in categories if c in wanted]
    t = args.temperature
    print(
        f"temperature {t}, {n} drawings a category, network alone; judges: teacher categories "
        f"{pct(judge_accuracy(judge, data))} of held-out real drawings ({len(judge.cfg.classes)} "
        f"classes), slides {pct(judge_accuracy(slides, data))} ({len(slides.cfg.classes)})\n"
    )
    if args.sweep:
        print("| teacher temperature | recognised | diversity (bits of 64) |\n|---|---|---|")
        for temp in (float(x) for x in args.sweep.split(",")):
            hits, spread = [], []
            for k, name in enumerate(categories):
                drawings = generate(teacher, name, n, temp, seed=k)
                hits.append(share(judge, drawings, name))
                h = hashes(drawings)
                pairs = (h[:, None, :] != h[None, :, :]).sum(-1)
                spread.append(pairs[np.triu_indices(len(h), 1)].mean())
            print(f"| {temp} | {pct(float(np.mean(hits)))} | {np.mean(spread):.1f} |")
        print()
    drawn: dict[str, dict[str, list[Drawing]]] = {"teacher": {}}
    if "1" not in skip:
        sources = {"teacher": teacher, **({"quickdraw": served} if served else {}), **students}
        print("| category | " + " | ".join(sources) + " | real held-out |")
        print("|---" * (len(sources) + 2) + "|")
        totals: dict[str, list[float]] = {k: [] for k in [*sources, "real"]}
        for k, name in enumerate(categories):
            real = [polylines(data, i) for i in data.of_category(name, True)]
            row = []
            for label, ckpt in sources.items():
                drawings = generate(ckpt, name, n, t, seed=k)
                drawn.setdefault(label, {})[name] = drawings
                totals[label].append(share(judge, drawings, name))
                extra = ""
                if name in slides.cfg.classes:
                    extra = f" ({pct(share(slides, drawings, name))})"
                row.append(pct(totals[label][-1]) + extra)
            totals["real"].append(share(judge, real, name))
            extra = f" ({pct(share(slides, real, name))})" if name in slides.cfg.classes else ""
            print(f"| {name} | " + " | ".join(row) + f" | {pct(totals['real'][-1])}{extra} |")
        means = [pct(float(np.mean(v))) for v in totals.values()]
        print(f"| **all {len(categories)}** | " + " | ".join(f"**{m}**" for m in means) + " |")
        print("(in brackets: the slides' judge)\n")
    if "2" not in skip:
        print("| student | generate | complete (first half of held-out real drawings) |")
        print("|---|---|---|")
        for label, ckpt in students.items():
            gen, com = [], []
            for k, name in enumerate(SLIDE_CATEGORIES):
                gen.append(share(slides, generate(ckpt, name, n, t, seed=k), name))
                real = [polylines(data, i) for i in data.of_category(name, True)]
                done = [complete(ckpt, name, first_half(d), t, j) for j, d in enumerate(real)]
                com.append(share(slides, done, name))
            print(f"| {label} | {pct(float(np.mean(gen)))} | {pct(float(np.nanmean(com)))} |")
        print()
    if "3" not in skip and args.teacher_data and "1" not in skip:
        taught = PreparedData.load(args.teacher_data)
        print(
            "| drawings (teacher categories) | to the nearest teacher sample | "
            "to the nearest real training drawing |\n|---|---|---|"
        )
        rows: dict[str, tuple[list[int], list[int]]] = {}
        for name in categories:
            pool_t = hashes([polylines(taught, i) for i in taught.of_category(name, False)])
            pool_r = hashes([polylines(data, i) for i in data.of_category(name, False)])
            real = [polylines(data, i) for i in data.of_category(name, True)]
            for label, by_name in [("real held-out", {name: real}), *drawn.items()]:
                h = hashes(by_name[name])
                a, b = rows.setdefault(label, ([], []))
                a += nearest(h, pool_t).tolist()
                b += nearest(h, pool_r).tolist()
        for label, (a, b) in rows.items():
            print(
                f"| {label} | median {np.median(a):.0f}, mean {np.mean(a):.1f} | "
                f"median {np.median(b):.0f}, mean {np.mean(b):.1f} |"
            )


if __name__ == "__main__":
    main()

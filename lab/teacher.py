"""A teacher data set: drawings sampled from a model's decoders, to train another model on.

python -m lab.teacher --checkpoint DIR --per-category N --temperature T --out data/teacher.npz

Each category of the teacher (an imported `quickdraw` model, one Sketch-RNN decoder a category,
or any checkpoint that draws from conditions) draws N drawings at temperature T from its own
seeded stream; drawings that are empty, that never end (they reach --max-points) or that have
250 or more points once fitted to the 256 box and simplified as Quick, Draw!'s simplified set is
(RDP, epsilon 2) are dropped and counted. The rest are written as a prepared `.npz`, all in the
train split (held-out drawings stay real), labelled with their category and marked in the file's
sources as synthetic: which teacher, at what temperature, under which licence. Train on it
beside real drawings with `python -m lab.train --data data/objects.npz data/teacher.npz`.
"""

from __future__ import annotations

import zlib
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from model import cli
from model.checkpoint import Checkpoint, load
from model.config import TEMPERATURES
from model.sample import DecodeBatch, DoneEvent, SketchRequest

from .prepare import build
from .sources import SourceDrawing, to_box

MAX_ROWS = 250  # drawings of this many stroke-3 rows or more are dropped
CHUNK = 64  # alternatives decoded together


def category_seed(seed: int, category: str) -> int:
    """Each category's own stream, so adding a category changes no other's drawings."""
    return (seed * 2**32 + zlib.crc32(category.encode("utf-8"))) % 2**63


def draw_category(
    ckpt: Checkpoint,
    category: str,
    n: int,
    temperature: float,
    seed: int,
    max_points: int = 300,
) -> tuple[list[np.ndarray], Counter[str]]:
    """n drawings of one category as int16 stroke-3 in the 256 box (fewer when some are
    dropped), and what was dropped, by reason."""
    batch = DecodeBatch(ckpt)
    drawn: dict[int, list[np.ndarray]] = {}
    for start in range(0, n, CHUNK):
        req = SketchRequest(
            mode="generate",
            conditions={"category": category},
            n=min(CHUNK, n - start),
            temperature=temperature,
            seed=category_seed(seed, category) + start,
            max_points=max_points,
            use_library=False,
        )
        batch.add(req, tag=start)
        while len(batch):
            for event in batch.step():
                if isinstance(event, DoneEvent):
                    drawn[event.tag + event.sample] = event.strokes
    kept, dropped = [], Counter[str]()
    for i in sorted(drawn):
        strokes = [s for s in drawn[i] if len(s)]
        points = sum(map(len, strokes))
        if points < 2:
            dropped["empty"] += 1
            continue
        if points >= max_points:
            dropped["runaway"] += 1
            continue
        s3 = to_box(strokes)
        if len(s3) >= MAX_ROWS:
            dropped[f"{MAX_ROWS}+ points"] += 1
            continue
        kept.append(s3)
    return kept, dropped


def teacher_set(
    ckpt: Checkpoint,
    categories: Sequence[str],
    n: int,
    temperature: float,
    seed: int = 0,
    teacher: str = "",
    progress: bool = True,
) -> Any:
    """The prepared data (lab.data.PreparedData) of every category's drawings."""
    sketches: list[SourceDrawing] = []
    dropped: Counter[str] = Counter()
    per_category = {}
    for category in tqdm(categories, desc="categories", unit="cat", disable=not progress):
        kept, lost = draw_category(ckpt, category, n, temperature, seed)
        dropped += lost
        per_category[category] = len(kept)
        sketches += [
            SourceDrawing(s3, category, {}, "train", f"teacher:{category}", f"{category}:{i}")
            for i, s3 in enumerate(kept)
        ]
    if not sketches:
        raise cli.CommandError("the teacher drew nothing usable; try a lower --temperature")
    licence = ckpt.meta.get("licence") or ckpt.meta.get("provenance") or "as the teacher's"
    sources = [
        {
            "path": f"teacher:{teacher or 'model'}:{category}",
            "kind": "teacher",
            "synthetic": True,
            "teacher": teacher,
            "temperature": temperature,
            "seed": seed,
            "sketches": per_category[category],
            "licence": f"drawn by a model: {licence}",
        }
        for category in categories
    ]
    counts = {
        "read": len(categories) * n,
        "kept": len(sketches),
        **{f"dropped_{k.replace(' ', '_').replace('+', '_plus')}": v for k, v in dropped.items()},
        "train": len(sketches),
        "valid": 0,
        "test": 0,
    }
    splits = np.zeros(len(sketches), dtype=np.uint8)  # train
    return build(sketches, splits, max_len=MAX_ROWS - 1, sources=sources, counts=counts)


PROG = "python -m lab.teacher"


def main(argv: list[str] | None = None) -> None:
    """Draw a teacher set from the command line; the output and categories are checked first."""
    ap = cli.parser(
        PROG,
        "Sample a teacher data set from a model's decoders (all train split, marked synthetic).",
        epilog="example:\n  python -m lab.teacher --checkpoint model/weights/quickdraw "
        "--per-category 2000 --temperature 0.5 --out data/teacher.npz\n\n"
        + __doc__.split("\n\n", 2)[2],
    )
    ap.add_argument("--checkpoint", required=True, metavar="DIR", help="the teacher model")
    ap.add_argument("--out", required=True, metavar="NPZ", help="prepared .npz to write")
    ap.add_argument("--per-category", type=int, default=2000, help="drawings drawn a category")
    ap.add_argument("--temperature", type=float, default=0.5, help="the teacher's Variety")
    ap.add_argument(
        "--category",
        action="append",
        default=[],
        metavar="NAME",
        help="only these categories (repeatable; default: every category of the teacher)",
    )
    ap.add_argument("--seed", type=int, default=0, help="random seed")
    ap.add_argument("--quiet", action="store_true", help="no progress bar")
    args = ap.parse_args(argv)
    low, high = TEMPERATURES
    if not low <= args.temperature <= high:
        ap.error(f"--temperature must be in {low:g}..{high:g}; got {args.temperature}")
    if args.per_category < 1:
        ap.error(f"--per-category must be at least 1; got {args.per_category}")
    args.per_category = cli.quick(args.per_category, 4, "--per-category")
    cli.output_file(args.out, (".npz",))
    ckpt = load(args.checkpoint)
    known = list(ckpt.vocab.values.get("category", ()))
    unknown = [c for c in args.category if c not in known]
    if unknown:
        listing = ", ".join(known[:10]) + (", ..." if len(known) > 10 else "")
        raise cli.CommandError(f"--category {unknown[0]!r}: the teacher draws {listing}")
    categories = args.category or known
    data = teacher_set(
        ckpt,
        categories,
        args.per_category,
        args.temperature,
        args.seed,
        teacher=Path(args.checkpoint).name,
        progress=not args.quiet,
    )
    data.save(args.out)
    c = data.meta["counts"]
    lost = {k[len("dropped_") :]: v for k, v in c.items() if k.startswith("dropped_")}
    print(
        f"wrote {args.out}: {c['kept']} of {c['read']} drawings of {len(categories)} categories"
        + (f" (dropped: {', '.join(f'{k} {v}' for k, v in lost.items())})" if lost else "")
    )


if __name__ == "__main__":
    cli.exit_with(main, PROG)

"""Before and after the library: generate and complete for the slides' twenty categories.

python docs/figures_library.py --checkpoint model/weights/objects --data data/objects.npz --out DIR

Writes DIR/library-generate.png (per category: two drawings by the network alone, two from the
library) and DIR/library-complete.png (per category: a held-out drawing's first half in grey, then
the network's and the library's completion in blue). Creates DIR; writes nothing else.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from lab.data import PreparedData
from lab.evaluate import SLIDE_CATEGORIES
from lab.evaluate_library import _held_out
from model import cli
from model import strokes as S
from model.checkpoint import load
from model.library import open_library
from model.sample import SketchRequest, sample

CELL, LABEL = 128, 14
GREY, BLUE, BLACK = (170, 170, 170), (30, 90, 200), (0, 0, 0)


def _draw(img: Image.Image, x: int, y: int, layers: list[tuple[list[np.ndarray], tuple]]) -> None:
    """Draw strokes of several colours into one cell, fitted together."""
    pts = [np.asarray(p, float) for strokes, _ in layers for p in strokes if len(p)]
    if not pts:
        return
    allp = np.concatenate(pts)
    lo, hi = allp.min(0), allp.max(0)
    k = CELL * 0.84 / max(float((hi - lo).max()), 1e-6)
    shift = (CELL - (hi - lo) * k) / 2
    draw = ImageDraw.Draw(img)
    for strokes, colour in layers:
        for p in strokes:
            q = [(float(a) + x, float(b) + y) for a, b in (np.asarray(p) - lo) * k + shift]
            draw.line(q if len(q) > 1 else q * 2, fill=colour, width=2, joint="curve")


def _sheet(
    rows: list[tuple[str, list[list[tuple[list[np.ndarray], tuple]]]]], header: list[str]
) -> Image.Image:
    cols = len(header)
    img = Image.new("RGB", (90 + cols * CELL, LABEL + len(rows) * CELL), "white")
    draw = ImageDraw.Draw(img)
    for c, title in enumerate(header):
        draw.text((90 + c * CELL + 4, 1), title, fill=BLACK)
    for r, (name, cells) in enumerate(rows):
        y = LABEL + r * CELL
        draw.text((4, y + CELL // 2 - 6), name, fill=BLACK)
        for c, layers in enumerate(cells):
            draw.rectangle(
                [90 + c * CELL, y, 90 + (c + 1) * CELL - 1, y + CELL - 1], outline=(225, 225, 225)
            )
            _draw(img, 90 + c * CELL, y, layers)
    return img


PROG = "python docs/figures_library.py"


def main(argv: list[str] | None = None) -> None:
    """Draw both sheets into --out, which is made if missing."""
    ap = cli.parser(PROG, __doc__.splitlines()[0], epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument(
        "--checkpoint", required=True, metavar="DIR", help="a model folder with a library"
    )
    ap.add_argument(
        "--data", required=True, metavar="NPZ", help="prepared data with held-out drawings"
    )
    ap.add_argument(
        "--out",
        required=True,
        type=Path,
        metavar="DIR",
        help="folder for the two PNGs, made if missing",
    )
    ap.add_argument("--temperature", type=float, default=0.4, help="sampling temperature")
    args = ap.parse_args(argv)
    cli.output_dir(args.out)
    ckpt, data = load(args.checkpoint), PreparedData.load(args.data)
    library = open_library(args.checkpoint, ckpt)
    if library is None:
        raise cli.CommandError(
            f"{args.checkpoint} has no library; build one with python -m lab.library build"
        )
    args.out.mkdir(parents=True, exist_ok=True)
    gen_rows, comp_rows = [], []
    for k, name in enumerate(SLIDE_CATEGORIES[: cli.quick(len(SLIDE_CATEGORIES), 2, "categories")]):
        cells = []
        for use in (False, True):
            drawn = sample(
                ckpt,
                SketchRequest(
                    mode="generate",
                    conditions={"category": name},
                    n=2,
                    temperature=args.temperature,
                    seed=k,
                    use_library=use,
                ),
                library,
            )
            cells += [[(d, BLACK)] for d in drawn]
        gen_rows.append((name, cells))
        held = _held_out(data, name, 1)
        if held:
            lines = S.stroke3_to_polylines(data.sketch(held[0]))
            half = lines[: len(lines) // 2]
            cells = [[(half, BLACK)]]
            for use in (False, True):
                out = sample(
                    ckpt,
                    SketchRequest(
                        mode="complete",
                        strokes=half,
                        n=1,
                        seed=k,
                        conditions={"category": name},
                        temperature=args.temperature,
                        use_library=use,
                    ),
                    library,
                )[0]
                cells.append([(half, GREY), (out[len(half) :], BLUE)])
            comp_rows.append((name, cells))
    _sheet(gen_rows, ["network", "network", "library", "library"]).save(
        args.out / "library-generate.png"
    )
    _sheet(comp_rows, ["given half", "network", "library"]).save(args.out / "library-complete.png")
    print(f"wrote {args.out / 'library-generate.png'} and {args.out / 'library-complete.png'}")


if __name__ == "__main__":
    cli.exit_with(main, PROG)

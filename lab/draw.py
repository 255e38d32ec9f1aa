"""python -m lab.draw: a grid of sketches drawn by a checkpoint, without the server."""

from __future__ import annotations

from lab.render import write_grid
from model import cli
from model.checkpoint import load
from model.config import DEFAULT_TEMPERATURE, TEMPERATURES
from model.library import open_library
from model.sample import ConditionError, SketchRequest, sample

PROG = "python -m lab.draw"


def main(argv: list[str] | None = None) -> None:
    """Draw a grid from the command line; the output and conditions are checked first."""

    ap = cli.parser(
        PROG,
        "Draw sketches from a checkpoint's conditions into an SVG or PNG grid.",
        epilog="example:\n  python -m lab.draw --checkpoint model/weights/objects "
        "--n 8 --condition category=cat --out cats.svg",
    )
    ap.add_argument(
        "--checkpoint",
        required=True,
        metavar="DIR",
        help="checkpoint folder, e.g. model/weights/objects or model/weights/faces",
    )
    ap.add_argument("--out", required=True, metavar="FILE", help="grid to write: .svg or .png")
    ap.add_argument(
        "--condition",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a condition, e.g. category=cat (repeatable; default: the model picks each at random)",
    )
    ap.add_argument("--n", type=int, default=8, help="sketches to draw")
    low, high = TEMPERATURES
    ap.add_argument(
        "--temperature",
        type=float,
        default=DEFAULT_TEMPERATURE,
        help=f"variety: {low:g} (safe) to {high:g} (wild)",
    )
    ap.add_argument(
        "--seed", type=int, default=0, help="random seed; the same seed draws the same sketches"
    )
    ap.add_argument(
        "--no-library",
        action="store_true",
        help="the network alone, even when the checkpoint folder has a library of drawings",
    )
    args = ap.parse_args(argv)
    pairs = [c.partition("=") for c in args.condition]
    bad = [
        c for c, (name, sep, value) in zip(args.condition, pairs) if not (name and sep and value)
    ]
    if bad:
        ap.error(f"--condition {bad[0]!r}: write NAME=VALUE, e.g. category=cat")
    if args.n < 1:
        ap.error(f"--n must be at least 1; got {args.n}")
    if not 0 < args.temperature <= 10:
        ap.error(
            f"--temperature must be above 0 ({low:g} safe .. {high:g} wild); got {args.temperature}"
        )
    conditions = {name: value for name, _, value in pairs}
    args.n = cli.quick(args.n, 2, "--n")
    cli.output_file(args.out, (".svg", ".png"))
    ckpt = load(args.checkpoint)
    try:
        ckpt.vocab.encode(conditions)
    except ValueError as e:
        raise ConditionError(f"{args.checkpoint}: {e}") from None

    library = None if args.no_library else open_library(args.checkpoint, ckpt)
    sketches = sample(
        ckpt,
        SketchRequest(
            conditions=conditions, n=args.n, temperature=args.temperature, seed=args.seed
        ),
        library,
    )
    label = ", ".join(f"{k}={v}" for k, v in conditions.items()) or "unconditional"
    write_grid(args.out, sketches, [label] * len(sketches))
    print(f"wrote {args.n} sketches to {args.out}")


if __name__ == "__main__":
    cli.exit_with(main, PROG)

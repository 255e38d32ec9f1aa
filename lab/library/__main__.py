"""python -m lab.library build: give a model folder a library of real drawings to draw from."""

from __future__ import annotations

import argparse
import shutil
import time
from collections.abc import Sequence
from pathlib import Path

from lab.data import SPLIT_CODES, PreparedData
from model import cli
from model.checkpoint import CONFIG, WEIGHTS, load
from model.library.store import ARRAYS

from .build import Selection, build


def _part(text: str) -> tuple[int, int]:
    try:
        k, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--part must look like K/N, e.g. 1/2; got {text!r}"
        ) from None
    if not (n >= 1 and 1 <= k <= n):
        raise argparse.ArgumentTypeError(f"--part K/N needs 1 <= K <= N; got {text!r}")
    return k - 1, n


PROG = "python -m lab.library"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = cli.parser(
        PROG,
        "Build a model's sketch library: the drawings it suggests from.",
        epilog="example:\n  python -m lab.library build --data data/objects.npz "
        "--checkpoint runs/objects --out runs/objects",
    )
    sub = ap.add_subparsers(dest="command", required=True, metavar="COMMAND")
    b = sub.add_parser(
        "build",
        help="embed prepared drawings and save them beside a model",
        description="Embed prepared drawings with a model and save them, with "
        "the model's weights and config, in --out.",
        formatter_class=cli.HelpFormatter,
    )
    b.add_argument(
        "--data",
        nargs="+",
        required=True,
        type=Path,
        metavar="NPZ",
        help="prepared data files (python -m lab.prepare)",
    )
    b.add_argument(
        "--checkpoint", required=True, type=Path, metavar="DIR", help="model folder to embed with"
    )
    b.add_argument(
        "--out",
        required=True,
        type=Path,
        metavar="DIR",
        help="folder to write: the model's weights and config plus the library",
    )
    b.add_argument(
        "--split", default="train,valid,test", help="comma-separated splits whose drawings go in"
    )
    b.add_argument(
        "--part",
        type=_part,
        default="1/1",
        metavar="K/N",
        help="keep the K-th of N interleaved parts of each category (e.g. 1/2)",
    )
    b.add_argument(
        "--per-combination",
        type=int,
        default=0,
        metavar="N",
        help="at most N drawings per label combination (0: all)",
    )
    b.add_argument(
        "--debug",
        action="store_true",
        help=f"show the full traceback of an error (or set {cli.DEBUG_ENV}=1)",
    )
    return ap.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Build from the command line; mistakes raise errors that cli.run reports in one line."""
    args = parse_args(argv)
    splits = tuple(s.strip() for s in args.split.split(",") if s.strip())
    bad = [s for s in splits if s not in SPLIT_CODES]
    if bad or not splits:
        raise cli.CommandError(f"--split takes {', '.join(SPLIT_CODES)}; got {args.split!r}")
    cli.output_dir(args.out)
    started = time.perf_counter()
    ckpt = load(args.checkpoint)
    datasets = [PreparedData.load(p) for p in args.data]
    try:
        library = build(ckpt, datasets, Selection(splits, args.part, args.per_combination))
    except ValueError as e:  # build says in words what it cannot select or embed
        raise cli.CommandError(str(e)) from None
    if args.out.resolve() != args.checkpoint.resolve():
        args.out.mkdir(parents=True, exist_ok=True)
        for name in (WEIGHTS, CONFIG):
            shutil.copyfile(args.checkpoint / name, args.out / name)
    library.save(args.out)
    size = (args.out / ARRAYS).stat().st_size
    print(
        f"wrote {args.out}: {len(library)} drawings, {len(library.entry_drawing)} entries, "
        f"{size / 1e6:.1f} MB, in {time.perf_counter() - started:.1f} s\n"
        f"source: {library.source}\nlicence: {library.licence}"
    )
    return 0


if __name__ == "__main__":
    cli.exit_with(main, f"{PROG} build")  # the only command; usage errors name their parser

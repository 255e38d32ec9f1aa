"""python -m model.library build: give a model folder a library of real drawings to draw from."""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from model.checkpoint import CONFIG, WEIGHTS, CheckpointError, load
from model.data import SPLIT_CODES, PreparedData, PreparedDataError

from .build import Selection, build
from .store import ARRAYS, LibraryError


def _part(text: str) -> tuple[int, int]:
    try:
        k, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--part must look like K/N, e.g. 1/2; got {text!r}") from None
    if not (n >= 1 and 1 <= k <= n):
        raise argparse.ArgumentTypeError(f"--part K/N needs 1 <= K <= N; got {text!r}")
    return k - 1, n


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="python -m model.library",
        description="Build a model's sketch library: the drawings it suggests from.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="embed prepared drawings and save them beside a model",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    b.add_argument("--data", nargs="+", required=True, type=Path, metavar="DATA.npz",
                   help="prepared data files (python -m model.prepare)")
    b.add_argument("--checkpoint", required=True, type=Path, help="model folder to embed with")
    b.add_argument("--out", required=True, type=Path,
                   help="folder to write: the model's weights and config plus the library")
    b.add_argument("--split", default="train,valid,test",
                   help="comma-separated splits whose drawings go in")
    b.add_argument("--part", type=_part, default=(0, 1), metavar="K/N",
                   help="keep the K-th of N interleaved parts of each category (e.g. 1/2)")
    b.add_argument("--per-combination", type=int, default=0, metavar="N",
                   help="at most N drawings per label combination (0: all)")
    return ap.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    prog = "python -m model.library build"
    splits = tuple(s.strip() for s in args.split.split(",") if s.strip())
    bad = [s for s in splits if s not in SPLIT_CODES]
    if bad or not splits:
        print(f"{prog}: error: --split takes {', '.join(SPLIT_CODES)}; got {args.split!r}",
              file=sys.stderr)
        return 2
    started = time.perf_counter()
    try:
        ckpt = load(args.checkpoint)
        datasets = [PreparedData.load(p) for p in args.data]
        library = build(ckpt, datasets, Selection(splits, args.part, args.per_combination))
        if args.out.resolve() != args.checkpoint.resolve():
            args.out.mkdir(parents=True, exist_ok=True)
            for name in (WEIGHTS, CONFIG):
                shutil.copyfile(args.checkpoint / name, args.out / name)
        library.save(args.out)
    except (CheckpointError, PreparedDataError, LibraryError, ValueError, OSError) as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 2
    size = (args.out / ARRAYS).stat().st_size
    print(f"wrote {args.out}: {len(library)} drawings, {len(library.entry_drawing)} entries, "
          f"{size / 1e6:.1f} MB, in {time.perf_counter() - started:.1f} s\n"
          f"source: {library.source}\nlicence: {library.licence}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

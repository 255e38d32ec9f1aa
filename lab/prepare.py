"""One-time data preparation: read sketch sources and write the prepared .npz used for training.

Usage: python -m lab.prepare --out data/prepared/objects.npz FILE_OR_DIR... [--category NAME]
       [--max-len 250] [--split 0.8,0.1,0.1] [--seed 0] [--licence TEXT]
       python -m lab.prepare --out data/cats.npz --quickdraw cat dog [--from DIR_OR_URL]
"""

from __future__ import annotations

import argparse
import time
import zipfile
import zlib
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from tqdm import tqdm

from lab.data import (
    DEFAULT_ROW0,
    FORMAT,
    ROW0,
    SPLIT_CODES,
    PreparedData,
    sort_values,
    train_scale_factor,
)
from lab.download import BUCKET, LAYOUT, locate
from lab.prepare_report import SourceTally, nothing_usable, summary
from lab.shards import ShardedData, ShardWriter
from lab.sources import (
    ReadReport,
    SourceDrawing,
    SourceError,
    find_sources,
    read_source,
    source_kind,
)
from model import cli

_SPLIT_NAMES = tuple(SPLIT_CODES)


def parse_split(text: str) -> tuple[float, float, float]:
    """'0.8,0.1,0.1' as three fractions summing to 1 (any positive total is rescaled)."""
    try:
        parts = tuple(float(p) for p in text.split(","))
    except ValueError:
        parts = ()
    if len(parts) != 3 or min(parts) < 0 or sum(parts) <= 0 or not np.isfinite(parts).all():
        raise argparse.ArgumentTypeError(
            f"expected three non-negative numbers like 0.8,0.1,0.1 (train,valid,test); got {text!r}"
        )
    total = sum(parts)
    return parts[0] / total, parts[1] / total, parts[2] / total


def assign_splits(
    categories: Sequence[str], fractions: tuple[float, float, float], seed: int
) -> np.ndarray:
    """Split codes (uint8) per item, shuffled per category by seed.

    A category with at least 3 items gets at least one valid and one test item (when those
    fractions are non-zero), so small categories can still be evaluated.
    """
    codes = np.zeros(len(categories), dtype=np.uint8)
    members: dict[str, list[int]] = defaultdict(list)
    for i, c in enumerate(categories):
        members[c].append(i)
    for cat in sorted(members):
        items = np.array(members[cat])
        rng = np.random.default_rng([seed, zlib.crc32(cat.encode("utf-8"))])
        items = items[rng.permutation(len(items))]
        n = len(items)
        n_valid, n_test = (round(n * f) for f in fractions[1:])
        if n >= 3:
            n_valid = max(n_valid, 1 if fractions[1] > 0 else 0)
            n_test = max(n_test, 1 if fractions[2] > 0 else 0)
        n_valid = min(n_valid, n)
        n_test = min(n_test, n - n_valid)
        if fractions[0] > 0 and n_valid + n_test == n and n >= 3:
            n_valid -= n_valid > 1  # keep one training item when training is wanted
        codes[items[:n_valid]] = SPLIT_CODES["valid"]
        codes[items[n_valid : n_valid + n_test]] = SPLIT_CODES["test"]
    return codes


def build(
    sketches: Sequence[SourceDrawing],
    splits: np.ndarray,
    *,
    max_len: int,
    sources: list[dict] | None = None,
    counts: dict | None = None,
    n_max: int | None = None,
    row0: str = DEFAULT_ROW0,
) -> PreparedData:
    """Pack sketches with their split codes into PreparedData (vocabularies sorted).

    n_max defaults to the longest sketch (magenta's get_max_len over every split). row0
    "start" drops the start point that ndjson and SVG sources put in row 0; "box" keeps it and
    refuses Sketch-RNN .npz sketches, which have no box position (docs/experiments.md,
    Data conventions).
    """
    if not sketches:
        raise ValueError("there are no sketches to write")
    if row0 not in ROW0:
        raise ValueError(f"row0 must be one of {', '.join(ROW0)}; got {row0!r}")
    from_npz = [source_kind(s.source) == "npz" for s in sketches]
    if row0 == "box" and any(from_npz):
        raise ValueError(
            "Sketch-RNN .npz drawings have no position in the box for row 0; "
            "prepare them with row0 'start'"
        )
    extra = sorted({a for s in sketches for a in s.attributes} - {"category"})
    attributes = ["category", *extra]
    vocab = {"category": sort_values([s.category for s in sketches])}
    for a in extra:
        vocab[a] = sort_values([s.attributes[a] for s in sketches if a in s.attributes])
    too_big = [a for a in attributes if len(vocab[a]) > 32767]
    if too_big:
        raise ValueError(f"attribute(s) {', '.join(too_big)} have more than 32767 values")
    index = {a: {v: i for i, v in enumerate(vocab[a])} for a in attributes}
    labels = np.full((len(sketches), len(attributes)), -1, dtype=np.int16)
    for i, s in enumerate(sketches):
        labels[i, 0] = index["category"][s.category]
        for j, a in enumerate(extra, 1):
            if a in s.attributes:
                labels[i, j] = index[a][s.attributes[a]]
    points = np.concatenate([s.stroke3 for s in sketches]).astype(np.int16)
    offsets = np.concatenate([[0], np.cumsum([len(s.stroke3) for s in sketches])])
    offsets = offsets.astype(np.int64)
    if row0 == "start":  # npz sketches keep their own first offset, as Sketch-RNN recorded it
        points[offsets[:-1][~np.array(from_npz)], :2] = 0
    longest = int(np.diff(offsets).max())
    if n_max is not None and n_max < longest:
        raise ValueError(f"n_max {n_max} is below the longest sketch ({longest} rows)")
    splits = np.asarray(splits, dtype=np.uint8)
    meta = {
        "format": FORMAT,
        "attributes": attributes,
        "vocab": vocab,
        "scale_factor": train_scale_factor(points, offsets, splits),
        "max_len": max_len,
        "n_max": longest if n_max is None else n_max,
        "row0": row0,
        "sources": sources or [],
        "counts": counts or {},
    }
    if any(s.key for s in sketches):  # provenance of each drawing, e.g. QuickDraw key_ids
        meta["keys"] = [s.key for s in sketches]
    identity = None
    if any(s.identity is not None for s in sketches):  # who each face is (lab.datasets.faces)
        identity = np.array([-1 if s.identity is None else s.identity for s in sketches], np.int32)
    return PreparedData(points, offsets, splits, labels, meta, identity)


def _sketchrnn_npz(path: Path) -> bool:
    """Whether a source is a Sketch-RNN .npz (not an earlier prepared file, which is skipped)."""
    if source_kind(path) != "npz":
        return False
    try:
        with zipfile.ZipFile(path) as archive:
            return "offsets.npy" not in archive.namelist()
    except (OSError, zipfile.BadZipFile):
        return True  # reading it will report the problem


def _read_all(
    files: list[Path], category: str | None, max_len: int, progress: bool
) -> tuple[list[SourceDrawing], list[SourceTally]]:
    """Read every file, keeping sketches of 2..max_len rows and dropping repeated key_ids."""
    kept: list[SourceDrawing] = []
    tallies: list[SourceTally] = []
    seen: set[str] = set()
    for path in tqdm(files, desc="files", unit="file", disable=not progress or None):
        tally = SourceTally(path, source_kind(path) or "?")
        tallies.append(tally)
        report = ReadReport(str(path), tally.kind)
        try:
            sketches = read_source(path, category=category, report=report)
            for sketch in tqdm(
                sketches,
                desc=path.name,
                unit="sketch",
                leave=False,
                disable=not progress or None,
                mininterval=0.5,
            ):
                n = len(sketch.stroke3)
                if n < 2:
                    tally.dropped["short"] += 1
                elif n > max_len:
                    tally.dropped["long"] += 1
                elif sketch.key is not None and sketch.key in seen:
                    tally.dropped["duplicate"] += 1
                else:
                    if sketch.key is not None:
                        seen.add(sketch.key)
                    kept.append(sketch)
                    tally.kept += 1
        except SourceError as exc:
            tally.dropped["file error"] += 1
            report.warn(str(exc))
        tally.read, tally.unrecognized = report.read, report.unrecognized
        if report.skipped:
            tally.dropped["malformed"] += report.skipped
        tally.warnings = report.warnings
    return kept, tallies


PROG = "python -m lab.prepare"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = cli.parser(
        PROG,
        "Read sketch sources (.npz, .ndjson, .svg; folders are searched) and write the "
        "prepared .npz for training.",
        epilog=(
            "examples:\n  python -m lab.prepare --out data/objects.npz "
            "../shared/data/quickdraw/simplified_first25\n  python -m lab.prepare --out "
            "data/cats.npz --quickdraw cat dog\n\nSketch-RNN .npz files hold pickled arrays; "
            "they are read by an unpickler that builds numpy arrays and nothing else."
        ),
    )
    src = parser.add_argument_group("sources")
    src.add_argument(
        "paths",
        nargs="*",
        metavar="FILE_OR_DIR",
        help="sketch files, or folders to search for them",
    )
    src.add_argument(
        "--category",
        help="category for every sketch (default: the .npz file "
        "name, the ndjson 'word', the SVG's folder name)",
    )
    src.add_argument(
        "--licence",
        "--license",
        dest="licence",
        metavar="TEXT",
        help="licence text recorded for every source in this run",
    )
    qd = parser.add_argument_group("QuickDraw")
    qd.add_argument(
        "--quickdraw",
        nargs="+",
        default=[],
        metavar="CATEGORY",
        help="QuickDraw categories to read from --from (downloaded if needed)",
    )
    qd.add_argument(
        "--from",
        dest="source",
        default=BUCKET,
        metavar="DIR_OR_URL",
        help="folder with the category files, or a URL to download them from "
        "(default: Google's public QuickDraw bucket, %(default)s)",
    )
    qd.add_argument(
        "--format",
        dest="fmt",
        default="sketchrnn",
        choices=tuple(LAYOUT),
        metavar="FORMAT",
        help=f"QuickDraw files to use: {', '.join(LAYOUT)} "
        "(Sketch-RNN .npz, or the simplified or raw ndjson)",
    )
    qd.add_argument(
        "--cache",
        type=Path,
        default=Path("data/quickdraw"),
        metavar="DIR",
        help="where downloads go (resumed on the next run)",
    )
    out = parser.add_argument_group("output")
    out.add_argument(
        "--out", required=True, type=Path, metavar="NPZ", help="prepared .npz to write"
    )
    out.add_argument(
        "--shard-size",
        type=int,
        metavar="N",
        help="write --out as a folder of shards of at most N sketches (memory-mapped int16 "
        "arrays + JSON), read one source file at a time, for data larger than memory; "
        "lab.train streams it",
    )
    out.add_argument(
        "--max-len",
        type=int,
        default=250,
        metavar="N",
        help="drop sketches with more stroke-3 rows than this",
    )
    out.add_argument(
        "--n-max",
        type=int,
        metavar="N",
        help="N_max recorded for training (l_r's normaliser, magenta's padding); default: the "
        "longest sketch kept, as magenta computes it",
    )
    out.add_argument(
        "--row0",
        choices=ROW0,
        help="row 0 of each sketch: 'box' keeps the start point in the 0..255 box that ndjson "
        "and SVG give, 'start' drops it as Sketch-RNN's data does (default: box, or start when "
        "a Sketch-RNN .npz is among the sources, so that all sketches agree)",
    )
    out.add_argument(
        "--split",
        type=parse_split,
        default="0.8,0.1,0.1",
        metavar="T,V,T",
        help="train,valid,test fractions for sources without splits",
    )
    out.add_argument("--seed", type=int, default=0, help="seed of the split shuffle")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    if not args.paths and not args.quickdraw:
        parser.error("name FILE_OR_DIR paths, or QuickDraw categories with --quickdraw")
    if args.shard_size is not None and args.shard_size < 1:
        parser.error(f"--shard-size must be at least 1; got {args.shard_size}")
    if args.max_len < 2:
        parser.error(f"--max-len must be at least 2; got {args.max_len}")
    if args.n_max is not None and args.n_max < 2:
        parser.error(f"--n-max must be at least 2; got {args.n_max}")
    if args.seed < 0:
        parser.error(f"--seed must be 0 or more; got {args.seed}")
    if args.category is not None and not args.category.strip():
        parser.error("--category must not be empty")
    return args


def split_codes(
    sketches: list[SourceDrawing], fractions: tuple[float, float, float], seed: int
) -> np.ndarray:
    """The sources' own splits where given, else a per-category shuffle by `fractions`."""
    splits = np.zeros(len(sketches), dtype=np.uint8)
    given = np.array([s.split is not None for s in sketches], dtype=bool)
    for i in np.flatnonzero(given):
        splits[i] = SPLIT_CODES[str(sketches[i].split)]
    free = np.flatnonzero(~given)
    splits[free] = assign_splits([sketches[i].category for i in free], fractions, seed)
    return splits


def write_shards(
    args: argparse.Namespace, files: list[Path], category: str | None, started: float
) -> int:
    """--shard-size: one source file in memory at a time, each written out as shards."""
    writer = ShardWriter(args.out, args.shard_size)
    tallies: list[SourceTally] = []
    for path in files:
        sketches, tally = _read_all([path], category, args.max_len, not args.quiet)
        tallies += tally
        if sketches:  # key_id duplicates are dropped within a file, not across files
            splits = split_codes(sketches, args.split, args.seed)
            writer.add(
                build(
                    sketches,
                    splits,
                    max_len=args.max_len,
                    sources=[],
                    counts={},
                    n_max=args.n_max,
                    row0=args.row0,
                )
            )
        del sketches
    if not writer.shards:
        raise cli.CommandError(nothing_usable(tallies, args.max_len))
    sources = [
        {"path": t.path.name, "kind": t.kind, "sketches": t.kept, "licence": args.licence}
        for t in tallies
    ]
    writer.close(
        sources, {"read": sum(t.read for t in tallies), "kept": sum(t.kept for t in tallies)}
    )
    data = ShardedData(args.out)
    seconds = time.perf_counter() - started
    print(
        f"wrote {args.out}: {len(data)} sketches in {len(data.shards)} shards "
        f"({data.nbytes() / 1e6:.1f} MB) in {seconds:.1f} s; train with "
        f"`python -m lab.train --data {args.out} ...`"
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns 0 when written. Mistakes raise errors that cli.run reports."""
    args = parse_args(argv)
    started = time.perf_counter()
    if args.shard_size is None:
        cli.output_file(args.out, (".npz",))
    else:
        cli.output_dir(args.out)
    files = find_sources(args.paths) if args.paths else []
    files += [locate(c, args.source, args.cache, args.fmt, not args.quiet) for c in args.quickdraw]
    files = [f for f in files if f.resolve() != args.out.resolve()]  # an earlier output
    if not files:
        raise cli.CommandError(f"no .npz, .ndjson or .svg files found in {', '.join(args.paths)}")
    category = args.category.strip() if args.category else None
    if args.row0 is None:  # one convention for all: npz drawings cannot be given a box position
        args.row0 = "start" if any(_sketchrnn_npz(f) for f in files) else "box"
    if args.shard_size is not None:
        return write_shards(args, files, category, started)
    sketches, tallies = _read_all(files, category, args.max_len, not args.quiet)
    if not sketches:
        raise cli.CommandError(nothing_usable(tallies, args.max_len))
    splits = split_codes(sketches, args.split, args.seed)
    dropped: Counter = sum((t.dropped for t in tallies), Counter())
    counts = {
        "read": sum(t.read for t in tallies),
        "kept": len(sketches),
        **{f"dropped_{k.replace(' ', '_')}": v for k, v in dropped.items()},
        "unrecognized": sum(t.unrecognized for t in tallies),
        **{name: int((splits == code).sum()) for name, code in SPLIT_CODES.items()},
    }
    sources = [
        {"path": t.path.name, "kind": t.kind, "sketches": t.kept, "licence": args.licence}
        for t in tallies
    ]
    try:
        data = build(
            sketches,
            splits,
            max_len=args.max_len,
            sources=sources,
            counts=counts,
            n_max=args.n_max,
            row0=args.row0,
        )
    except ValueError as exc:  # --n-max below the longest sketch, --row0 box with npz sources
        raise cli.CommandError(str(exc)) from None
    data.save(args.out)
    print(summary(tallies, data, args.out, time.perf_counter() - started))
    return 0


if __name__ == "__main__":
    cli.exit_with(main, PROG)

"""What `python -m lab.prepare` reports: per-source tallies, the summary, why nothing was kept."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lab.data import SPLIT_CODES, PreparedData

_MAX_ROWS_PER_TABLE = 20  # more sources than this are summarised per folder and kind


@dataclass
class SourceTally:
    """Per-file counts for the summary and meta["sources"]."""

    path: Path
    kind: str
    read: int = 0
    kept: int = 0
    dropped: Counter = field(default_factory=Counter)  # reason -> count
    unrecognized: int = 0
    warnings: list[str] = field(default_factory=list)


def nothing_usable(tallies: list[SourceTally], max_len: int) -> str:
    """Why no sketch was kept, in one line: the first problems, or what was dropped."""
    names = ", ".join(t.path.name for t in tallies[:3]) + (", ..." if len(tallies) > 3 else "")
    warnings = [w for t in tallies for w in t.warnings]
    dropped: Counter = sum((t.dropped for t in tallies), Counter())
    if warnings:
        more = f" (and {len(warnings) - 1} more problems)" if len(warnings) > 1 else ""
        why = f"{warnings[0]}{more}"
    elif dropped:
        why = "dropped: " + ", ".join(f"{k} {v}" for k, v in sorted(dropped.items()))
        if dropped.get("long"):
            why += f" (long means over --max-len {max_len})"
    else:
        why = "it holds no drawings" if len(tallies) == 1 else "they hold no drawings"
    return f"no usable sketches were read from {names}: {why}"


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
        for r in rows
    )


def summary(tallies: list[SourceTally], data: PreparedData, out: Path, seconds: float) -> str:
    """A short human-readable report of what was read, kept and written."""
    groups: dict[str, list[SourceTally]] = defaultdict(list)
    for t in tallies:
        key = (
            t.path.name
            if len(tallies) <= _MAX_ROWS_PER_TABLE
            else f"{t.path.parent.name}/*.{t.kind}"
        )
        groups[key].append(t)
    rows = [["source", "files", "read", "kept", "dropped", "why dropped"]]
    for key, ts in groups.items():
        why: Counter = sum((t.dropped for t in ts), Counter())
        rows.append(
            [
                key,
                str(len(ts)),
                str(sum(t.read for t in ts)),
                str(sum(t.kept for t in ts)),
                str(sum(why.values())),
                ", ".join(f"{k} {v}" for k, v in sorted(why.items())) or "-",
            ]
        )
    lines = [_table(rows), ""]
    split_counts = {name: int((data.split == code).sum()) for name, code in SPLIT_CODES.items()}
    lines.append("splits: " + ", ".join(f"{k} {v}" for k, v in split_counts.items()))
    cats = data.meta["vocab"]["category"]
    per_cat = np.bincount(data.labels[:, 0], minlength=len(cats))
    shown = ", ".join(f"{c} ({n})" for c, n in zip(cats[:12], per_cat[:12]))
    more = f", ... ({len(cats)} in all)" if len(cats) > 12 else ""
    lines.append(f"categories: {len(cats)}: {shown}{more}")
    for a in data.attributes[1:]:
        lines.append(f"attribute {a}: {len(data.meta['vocab'][a])} values")
    unrecognized = sum(t.unrecognized for t in tallies)
    if unrecognized:
        lines.append(f"read with recognized: false (kept like the rest): {unrecognized}")
    lines.append(f"scale factor (train dx/dy std): {data.scale_factor:.4f}")
    lines.append(
        f"rows: {len(data.points)}; longest sketch {int(data.lengths.max())} (limit "
        f"{data.max_len}); N_max {data.n_max}; row 0: {data.row0}"
    )
    warnings = [w for t in tallies for w in t.warnings]
    if warnings:
        lines.append(f"warnings ({len(warnings)}{'+' if len(warnings) >= 100 else ''}), first:")
        lines += [f"  {w}" for w in warnings[:10]]
    size = out.stat().st_size / 1e6
    lines.append(f"wrote {out} ({size:.2f} MB, {len(data)} sketches) in {seconds:.1f} s")
    return "\n".join(lines)

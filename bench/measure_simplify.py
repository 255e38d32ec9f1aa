"""How close does each RDP variant come to Google's own simplified QuickDraw strokes?

The raw and the simplified ndjson files in ../shared/data hold the same drawings (same key_id).
Each raw drawing is put through Google's published recipe (fit to the 0..255 box, simplify with
epsilon 2, round) with one RDP variant, and every stroke is compared with Google's stroke: the
symmetric Hausdorff distance between the two polylines, in box units.

    python bench/measure_simplify.py ../shared/data/quickdraw/raw_first100KB \
        ../shared/data/quickdraw/simplified_first25
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from model.strokes import fit_to_box, simplify  # noqa: E402

VARIANTS = {
    "shapely (segment distance)": dict(method="segment", spacing=None),
    "segment distance, 1-unit resampling": dict(method="segment", spacing=1.0),
    "line distance": dict(method="line", spacing=None),
    "line distance, 1-unit resampling (Google's recipe)": dict(method="line", spacing=1.0),
}


def _point_to_polyline(points: np.ndarray, line: np.ndarray) -> np.ndarray:
    """Distance of each point to the nearest segment of `line`."""
    if len(line) == 1:
        return np.linalg.norm(points - line[0], axis=1)
    a, b = line[:-1], line[1:]
    ab = b - a
    t = np.einsum("sk,psk->ps", ab, points[:, None] - a) / np.maximum((ab**2).sum(1), 1e-12)
    closest = a + np.clip(t, 0, 1)[..., None] * ab
    return np.linalg.norm(points[:, None] - closest, axis=2).min(1)


def hausdorff(p: np.ndarray, q: np.ndarray) -> float:
    """Symmetric Hausdorff distance between two polylines (points to the other's segments)."""
    return float(max(_point_to_polyline(p, q).max(), _point_to_polyline(q, p).max()))


def _read(folder: Path) -> dict[str, list[np.ndarray]]:
    out = {}
    for path in sorted(folder.glob("*.ndjson")):
        for line in path.read_text().splitlines():
            obj = json.loads(line)
            out[obj["key_id"]] = [np.column_stack(s[:2]).astype(np.float64) for s in obj["drawing"]]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("raw", type=Path)
    parser.add_argument("simplified", type=Path)
    args = parser.parse_args()
    raw, google = _read(args.raw), _read(args.simplified)
    keys = [k for k in raw if k in google and len(raw[k]) == len(google[k])]
    print(f"{len(keys)} drawings in both files with the same stroke count")
    for name, kw in VARIANTS.items():
        dist, same_count = [], 0
        for key in keys:
            ours = simplify(fit_to_box(raw[key]), 2.0, **kw)
            for mine, theirs in zip(ours, google[key]):
                mine = np.rint(mine)
                dist.append(hausdorff(mine, theirs))
                same_count += len(mine) == len(theirs)
        d = np.array(dist)
        print(
            f"{name}: {len(d)} strokes; > 4 units {int((d > 4).sum())}, > 2 units "
            f"{int((d > 2).sum())}; mean {d.mean():.3f}, max {d.max():.1f}; "
            f"same point count {same_count / len(d):.1%}"
        )


if __name__ == "__main__":
    main()

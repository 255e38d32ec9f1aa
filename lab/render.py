"""Sketch grids as SVG or PNG, for docs and for eyeballing a model."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
from PIL import Image, ImageDraw

CELL = 160  # pixels per grid cell
LABEL = 16  # pixels reserved under each cell for its label


def _fit(strokes: Sequence[np.ndarray], cell: float, margin: float = 0.1) -> list[np.ndarray]:
    """Scale and centre strokes into a cell x cell square."""
    pts = [np.asarray(s, dtype=float) for s in strokes if len(s)]
    if not pts:
        return []
    allp = np.concatenate(pts)
    lo, hi = allp.min(0), allp.max(0)
    extent = max(float((hi - lo).max()), 1e-6)
    k = cell * (1 - 2 * margin) / extent
    shift = (cell - (hi - lo) * k) / 2
    return [(p - lo) * k + shift for p in pts]


def grid_svg(
    sketches: Sequence[Sequence[np.ndarray]], labels: Sequence[str], columns: int | None = None
) -> str:
    """An SVG document drawing each sketch in its own labelled cell."""
    cols = columns or max(1, math.ceil(math.sqrt(len(sketches))))
    rows = max(1, math.ceil(len(sketches) / cols))
    h = CELL + LABEL
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{cols * CELL}" height="{rows * h}" '
        f'viewBox="0 0 {cols * CELL} {rows * h}">',
        f'<rect width="{cols * CELL}" height="{rows * h}" fill="white"/>',
    ]
    for i, (sketch, label) in enumerate(zip(sketches, labels)):
        x, y = (i % cols) * CELL, (i // cols) * h
        out.append(f'<g transform="translate({x},{y})">')
        out.append(f'<rect width="{CELL}" height="{CELL}" fill="none" stroke="#ddd"/>')
        for s in _fit(sketch, CELL):
            pts = " ".join(f"{px:.1f},{py:.1f}" for px, py in s)
            out.append(
                f'<polyline points="{pts}" fill="none" stroke="black" '
                'stroke-width="1.5" stroke-linecap="round" stroke-linejoin="round"/>'
            )
        out.append(
            f'<text x="{CELL / 2}" y="{CELL + 12}" font-size="11" text-anchor="middle" '
            f'font-family="sans-serif">{escape(label)}</text></g>'
        )
    out.append("</svg>")
    return "\n".join(out)


def grid_png(
    sketches: Sequence[Sequence[np.ndarray]], labels: Sequence[str], columns: int | None = None
) -> Image.Image:
    """The same grid as a Pillow image."""
    cols = columns or max(1, math.ceil(math.sqrt(len(sketches))))
    rows = max(1, math.ceil(len(sketches) / cols))
    h = CELL + LABEL
    img = Image.new("L", (cols * CELL, rows * h), 255)
    draw = ImageDraw.Draw(img)
    for i, (sketch, label) in enumerate(zip(sketches, labels)):
        x, y = (i % cols) * CELL, (i // cols) * h
        draw.rectangle([x, y, x + CELL - 1, y + CELL - 1], outline=221)
        for s in _fit(sketch, CELL):
            pts = [(float(px) + x, float(py) + y) for px, py in s]
            if len(pts) == 1:
                pts = pts * 2
            draw.line(pts, fill=0, width=2, joint="curve")
        draw.text((x + 4, y + CELL + 2), label[:24], fill=0)
    return img


def write_grid(
    path: str | Path,
    sketches: Sequence[Sequence[np.ndarray]],
    labels: Sequence[str],
    columns: int | None = None,
) -> None:
    """Write a grid to .svg or .png, chosen by the file's suffix."""
    path = Path(path)
    if path.suffix.lower() == ".svg":
        path.write_text(grid_svg(sketches, labels, columns))
    elif path.suffix.lower() == ".png":
        grid_png(sketches, labels, columns).save(path)
    else:
        raise ValueError(f"{path}: the grid must be .svg or .png")

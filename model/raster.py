"""Anti-aliased rasters of sketches, independent of the sketch's scale and position."""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from model.strokes import StrokeError, stroke3_to_polylines, validate_polylines

# Lines are drawn at this multiple of the output size, then box-filtered down for anti-aliasing.
_SUPERSAMPLE = 4


def _check_args(size: int, line_width: float, margin: float) -> None:
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
        raise StrokeError(f"size must be a positive whole number of pixels; got {size!r}")
    if not np.isfinite(line_width) or line_width <= 0:
        raise StrokeError(f"line_width must be a positive number of pixels; got {line_width!r}")
    if not 0 <= margin < 0.5:
        raise StrokeError(f"margin must be in [0, 0.5), a fraction of size per side; got {margin}")


def _to_canvas(strokes: list[np.ndarray], size: int, margin: float) -> list[np.ndarray]:
    """Map points so the sketch's bounds are centred in the supersampled canvas, aspect kept."""
    points = np.concatenate(strokes)
    lo, hi = points.min(axis=0), points.max(axis=0)
    extent = float((hi - lo).max())
    canvas = size * _SUPERSAMPLE
    inner = canvas * (1.0 - 2.0 * margin)
    factor = inner / extent if extent > 0 else 1.0
    # Pillow's pixel i covers [i, i + 1), so shift by half a pixel to centre in continuous space.
    shift = canvas / 2.0 - 0.5 - (lo + hi) / 2.0 * factor
    return [s * factor + shift for s in strokes]


def rasterize(
    polylines: Any, size: int = 48, line_width: float = 1.0, margin: float = 0.1
) -> np.ndarray:
    """Draw a sketch into a float32 (size, size) image in [0, 1] (1 = ink), fitted to the frame.

    The bounds are fitted (aspect kept, centred) leaving `margin * size` per side, so the result
    does not depend on the sketch's scale or position. One-point strokes draw a dot.
    """
    _check_args(size, line_width, margin)
    strokes = [s for s in validate_polylines(polylines) if len(s)]
    if not strokes:
        return np.zeros((size, size), dtype=np.float32)
    canvas = size * _SUPERSAMPLE
    width = max(1, round(line_width * _SUPERSAMPLE))
    # Pillow's ellipse/rectangle boxes include both edges, so a dot `width` pixels wide spans
    # centre +- (width - 1) / 2; Pillow's ellipse draws nothing that small, hence the rectangle.
    radius = (width - 1) / 2.0
    dot = ImageDraw.ImageDraw.ellipse if width > 2 else ImageDraw.ImageDraw.rectangle
    image = Image.new("L", (canvas, canvas), 0)
    draw = ImageDraw.Draw(image)
    for stroke in _to_canvas(strokes, size, margin):
        if len(stroke) == 1:
            x, y = stroke[0]
            dot(draw, (x - radius, y - radius, x + radius, y + radius), fill=255)
        else:
            draw.line(stroke.ravel().tolist(), fill=255, width=width)
    small = image.resize((size, size), Image.Resampling.BOX)
    return np.asarray(small, dtype=np.float32) / np.float32(255.0)


def rasterize_stroke3(
    s3: Any, size: int = 48, line_width: float = 1.0, margin: float = 0.1
) -> np.ndarray:
    """`rasterize` for a stroke-3 sketch; the origin does not matter since the raster is fitted."""
    return rasterize(stroke3_to_polylines(s3), size=size, line_width=line_width, margin=margin)


def rasterize_all(sketches: Any, size: int) -> np.ndarray:
    """Rasters (B, size, size) of many sketches as polylines; an empty sketch is a blank image."""
    return np.stack(
        [
            rasterize(s, size=size)
            if any(len(p) for p in s)
            else np.zeros((size, size), np.float32)
            for s in sketches
        ]
    )

"""Stroke formats used by the model, and conversions between them.

Formats (defined once here; every other module refers to these names):

- Polyline: float array (K, 2) of absolute document coordinates, x right, y down.
  A sketch is a list of polylines (strokes).
- stroke-3: array (N, 3) of rows (dx, dy, pen_lifted). Row 0's (dx, dy) is the offset from an
  `origin` (default (0, 0)); every later row is the offset from the previous point.
  pen_lifted = 1 means the pen lifts after this point (it is the last point of its stroke), so the
  next row's offset is a pen-up move to the next stroke's first point.
- stroke-5: array (N, 5) of rows (dx, dy, p_down, p_up, p_end), one-hot pen state;
  p_up = pen_lifted; rows after the sketch's end are PAD rows (0, 0, 0, 0, 1).
  START_TOKEN = (0, 0, 1, 0, 0) is prepended by the batcher, not stored.
- Units: whatever the caller's coordinates are; training data is in QuickDraw's box (0..BOX),
  then divided by a dataset scale factor (see `scale_factor`, `normalize`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

BOX = 255.0  # QuickDraw's simplified drawings span 0..BOX; the model draws in this box
START_TOKEN = np.array([0.0, 0.0, 1.0, 0.0, 0.0], dtype=np.float32)
PAD_ROW = np.array([0.0, 0.0, 0.0, 0.0, 1.0], dtype=np.float32)

_NUMERIC_KINDS = "biuf"


class StrokeError(ValueError):
    """A sketch in one of the stroke formats is malformed; the message says where and why."""


def _numeric_array(obj: Any) -> np.ndarray | None:
    """Return `obj` as a new float64 array, or None if it is ragged or not made of numbers."""
    try:
        arr = np.asarray(obj)
    except (ValueError, TypeError):
        return None
    if arr.dtype.kind not in _NUMERIC_KINDS:
        return None
    return arr.astype(np.float64)


def _first_nonfinite_row(arr: np.ndarray) -> int | None:
    """Index of the first row of a 2-D array holding NaN or inf, or None if all are finite."""
    bad = ~np.isfinite(arr).all(axis=1)
    return int(np.argmax(bad)) if bad.any() else None


def _is_pair(point: Any) -> bool:
    arr = _numeric_array(point)
    return arr is not None and arr.shape == (2,)


def _validate_stroke(stroke: Any, path: str) -> np.ndarray:
    """One polyline as a float64 (K, 2) array; `path` names it in error messages."""
    arr = _numeric_array(stroke)
    if arr is not None and arr.shape in ((0,), (0, 2)):
        return np.zeros((0, 2))
    if arr is None or arr.ndim != 2 or arr.shape[1] != 2:
        if isinstance(stroke, (str, bytes)) or not isinstance(stroke, Iterable):
            raise StrokeError(f"{path} is not a list of [x, y] pairs")
        for j, point in enumerate(stroke):
            if not _is_pair(point):
                raise StrokeError(f"{path}[{j}] is not an [x, y] pair")
        raise StrokeError(f"{path} is not a list of [x, y] pairs")
    row = _first_nonfinite_row(arr)
    if row is not None:
        raise StrokeError(f"{path}[{row}] has a value that is not finite")
    return arr


def validate_polylines(polylines: Any, *, name: str = "strokes") -> list[np.ndarray]:
    """Check a sketch given as polylines and return it as float64 (K, 2) arrays.

    Empty strokes are kept here (conversions drop them).
    """
    if isinstance(polylines, (str, bytes, dict)) or not isinstance(polylines, Iterable):
        raise StrokeError(f"{name} must be a list of strokes, each a list of [x, y] pairs")
    return [_validate_stroke(stroke, f"{name}[{i}]") for i, stroke in enumerate(polylines)]


def _as_rows(obj: Any, width: int, columns: str, name: str) -> np.ndarray:
    """`obj` as a new float64 (N, width) array of finite values; empty input gives (0, width)."""
    shape_msg = f"{name} must be an (N, {width}) array of ({columns})"
    arr = _numeric_array(obj)
    if arr is None:
        if isinstance(obj, (str, bytes)) or not isinstance(obj, Iterable):
            raise StrokeError(f"{shape_msg}; got {type(obj).__name__}")
        for i, row in enumerate(obj):
            row_arr = _numeric_array(row)
            if row_arr is None or row_arr.ndim != 1:
                raise StrokeError(f"{shape_msg}; {name}[{i}] is not a row of {width} numbers")
            if row_arr.shape[0] != width:
                raise StrokeError(f"{shape_msg}; {name}[{i}] has {row_arr.shape[0]} values")
        raise StrokeError(f"{shape_msg}; it is not a rectangular array of numbers")
    if arr.shape in ((0,), (0, width)):
        return np.zeros((0, width))
    if arr.ndim != 2 or arr.shape[1] != width:
        raise StrokeError(f"{shape_msg}; got shape {arr.shape}")
    row = _first_nonfinite_row(arr)
    if row is not None:
        raise StrokeError(f"{name}[{row}] has a value that is not finite")
    return arr


def validate_stroke3(s3: Any, *, max_len: int | None = None, name: str = "sketch") -> np.ndarray:
    """Check a stroke-3 sketch (shape, finite values, 0/1 pens, length) and return it as float64."""
    arr = _as_rows(s3, 3, "dx, dy, pen_lifted", name)
    if max_len is not None and len(arr) > max_len:
        raise StrokeError(f"{name} has {len(arr)} points; the limit is {max_len}")
    pen = arr[:, 2]
    bad = (pen != 0.0) & (pen != 1.0)
    if bad.any():
        row = int(np.argmax(bad))
        raise StrokeError(f"{name}[{row}] has pen_lifted {pen[row]:g}; it must be 0 or 1")
    return arr


def _pair(value: Sequence[float], name: str) -> np.ndarray:
    arr = _numeric_array(value)
    if arr is None or arr.shape != (2,) or not np.isfinite(arr).all():
        raise StrokeError(f"{name} must be a finite (x, y) pair; got {value!r}")
    return arr


def polylines_to_stroke3(polylines: Any, origin: Sequence[float] = (0.0, 0.0)) -> np.ndarray:
    """Convert polylines to a float64 stroke-3 array; empty strokes are skipped."""
    strokes = [s for s in validate_polylines(polylines) if len(s)]
    if not strokes:
        return np.zeros((0, 3))
    points = np.concatenate(strokes)
    previous = np.vstack([_pair(origin, "origin")[None, :], points[:-1]])
    pen = np.zeros(len(points))
    pen[np.cumsum([len(s) for s in strokes]) - 1] = 1.0
    return np.column_stack([points - previous, pen])


def _absolute_points(s3: np.ndarray, origin: Sequence[float]) -> np.ndarray:
    return _pair(origin, "origin") + np.cumsum(s3[:, :2], axis=0)


def stroke3_to_polylines(s3: Any, origin: Sequence[float] = (0.0, 0.0)) -> list[np.ndarray]:
    """Convert stroke-3 to polylines; points after the last pen lift form a final stroke."""
    arr = validate_stroke3(s3)
    points = _absolute_points(arr, origin)
    ends = np.flatnonzero(arr[:, 2] == 1.0) + 1
    starts = np.concatenate([[0], ends])
    stops = np.concatenate([ends, [len(arr)]])
    return [points[a:b] for a, b in zip(starts, stops) if b > a]


def stroke3_to_stroke5(s3: Any, max_len: int | None = None) -> np.ndarray:
    """Convert stroke-3 to float32 stroke-5, padded with PAD_ROW up to `max_len` rows."""
    arr = validate_stroke3(s3, max_len=max_len)
    n = len(arr)
    out = np.tile(PAD_ROW, (n if max_len is None else max_len, 1))
    out[:n, :2] = arr[:, :2]
    out[:n, 2] = 1.0 - arr[:, 2]
    out[:n, 3] = arr[:, 2]
    out[:n, 4] = 0.0
    return out


def stroke5_to_stroke3(s5: Any) -> np.ndarray:
    """Convert stroke-5 (one-hot or model scores) to float64 stroke-3, stopping at the end row.

    Each row's pen state is its largest pen value; ties go to p_down, then p_up.
    """
    arr = _as_rows(s5, 5, "dx, dy, p_down, p_up, p_end", "sketch")
    state = np.argmax(arr[:, 2:5], axis=1)
    is_end = state == 2
    n = int(np.argmax(is_end)) if is_end.any() else len(arr)
    return np.column_stack([arr[:n, :2], (state[:n] == 1).astype(np.float64)])


def scale_factor(sketches: Iterable[np.ndarray]) -> float:
    """Std of all dx and dy values together, used to normalise a dataset (as magenta does).

    Returns 1.0 when there is no data or the std is 0. Streams, so a generator is fine.
    """
    count, mean, m2 = 0, 0.0, 0.0
    for i, sketch in enumerate(sketches):
        arr = np.asarray(sketch, dtype=np.float64)
        if arr.ndim != 2 or arr.shape[1] < 2:
            raise StrokeError(
                f"sketches[{i}] must be an (N, 3) stroke-3 array; got shape {arr.shape}"
            )
        values = arr[:, :2].ravel()
        if not len(values):
            continue
        if not np.isfinite(values).all():
            raise StrokeError(f"sketches[{i}] has a value that is not finite")
        # Chan et al.'s pairwise merge of (count, mean, M2): stable and one pass.
        n_b, mean_b = len(values), float(values.mean())
        m2_b = float(((values - mean_b) ** 2).sum())
        total = count + n_b
        delta = mean_b - mean
        mean += delta * n_b / total
        m2 += m2_b + delta * delta * count * n_b / total
        count = total
    if count == 0:
        return 1.0
    std = float(np.sqrt(m2 / count))
    return std if std > 0.0 else 1.0


def _check_finite(value: float, what: str) -> float:
    if not np.isfinite(value):
        raise StrokeError(f"{what} must be a finite number; got {value!r}")
    return float(value)


def _check_positive(value: float, what: str) -> float:
    if not np.isfinite(value) or value <= 0:
        raise StrokeError(f"{what} must be a positive finite number; got {value!r}")
    return float(value)


def _float_copy(s: Any, name: str) -> np.ndarray:
    """A new float array of `s` (float dtypes kept, others become float64), 2+ columns."""
    shape_msg = f"{name} must be an (N, 3) array of (dx, dy, pen_lifted)"
    try:
        arr = np.asarray(s)
    except (ValueError, TypeError):
        raise StrokeError(f"{shape_msg}; it is not a rectangular array of numbers") from None
    if arr.dtype.kind not in _NUMERIC_KINDS:
        raise StrokeError(f"{shape_msg}; it is not a rectangular array of numbers")
    if arr.ndim != 2 or arr.shape[1] < 2:
        raise StrokeError(f"{shape_msg}; got shape {arr.shape}")
    return np.array(arr, dtype=arr.dtype if arr.dtype.kind == "f" else np.float64, copy=True)


def normalize(s3: Any, scale: float) -> np.ndarray:
    """Return a copy of the sketch with dx and dy divided by `scale` (see `scale_factor`)."""
    out = _float_copy(s3, "sketch")
    out[:, :2] /= _check_positive(scale, "scale")
    return out


def denormalize(s3: Any, scale: float) -> np.ndarray:
    """Return a copy of the sketch with dx and dy multiplied by `scale`; undoes `normalize`."""
    out = _float_copy(s3, "sketch")
    out[:, :2] *= _check_positive(scale, "scale")
    return out


def _bounds_of(points: np.ndarray) -> tuple[float, float, float, float]:
    if not len(points):
        raise StrokeError("the sketch is empty; it has no bounds")
    x0, y0 = points.min(axis=0)
    x1, y1 = points.max(axis=0)
    return float(x0), float(y0), float(x1), float(y1)


def bounds(polylines: Any) -> tuple[float, float, float, float]:
    """Bounding box (x0, y0, x1, y1) of all points of a sketch given as polylines."""
    strokes = validate_polylines(polylines)
    return _bounds_of(np.concatenate(strokes) if strokes else np.zeros((0, 2)))


# How far a completion's new strokes may reach beyond the artist's drawing, in the drawing's size
# (its larger side): the second halves of held-out real QuickDraw drawings reach 0.9 sizes beyond
# their first halves at the 95th percentile, 1.4 at the 98th and 1.8 at the 99th.
REACH = 1.5


def reach_box(polylines: Any, reach: float = REACH) -> tuple[float, float, float, float]:
    """The region a drawing's continuation may use: its bounding box grown on every side by
    `reach` times its larger side."""
    x0, y0, x1, y1 = bounds(polylines)
    grow = reach * max(x1 - x0, y1 - y0)
    return x0 - grow, y0 - grow, x1 + grow, y1 + grow


def within(points: np.ndarray, box: Sequence[float]) -> bool:
    """Whether every point (K, 2) lies inside box (x0, y0, x1, y1)."""
    x0, y0, x1, y1 = box
    p = np.asarray(points, dtype=np.float64)
    return bool(((p[:, 0] >= x0) & (p[:, 0] <= x1) & (p[:, 1] >= y0) & (p[:, 1] <= y1)).all())


def stroke3_bounds(
    s3: Any, origin: Sequence[float] = (0.0, 0.0)
) -> tuple[float, float, float, float]:
    """Bounding box (x0, y0, x1, y1) of the absolute points of a stroke-3 sketch."""
    return _bounds_of(_absolute_points(validate_stroke3(s3), origin))


def resample_polyline(stroke: Any, spacing: float = 1.0) -> np.ndarray:
    """Points every `spacing` units of arc length along a polyline, both ends kept."""
    arr = _validate_stroke(stroke, "stroke")
    spacing = _check_positive(spacing, "spacing")
    if len(arr) < 2:
        return arr
    arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(arr, axis=0), axis=1))])
    if arc[-1] == 0.0:  # every point the same: keep the two ends, as RDP would
        return arr[[0, -1]].copy()
    at = np.arange(0.0, arc[-1], spacing)
    at = np.append(at, arc[-1]) if arc[-1] - at[-1] > 1e-9 else at
    return np.column_stack([np.interp(at, arc, arr[:, 0]), np.interp(at, arc, arr[:, 1])])


def _rdp_line(stroke: np.ndarray, epsilon: float) -> np.ndarray:
    """RDP measuring each point's distance to the infinite line through the ends (as the `rdp`
    package does; to the first point when the ends meet)."""
    keep = np.zeros(len(stroke), dtype=bool)
    keep[[0, -1]] = True
    stack = [(0, len(stroke) - 1)]
    while stack:
        a, b = stack.pop()
        if b - a < 2:
            continue
        inner = stroke[a + 1 : b] - stroke[a]
        direction = stroke[b] - stroke[a]
        norm = float(np.hypot(*direction))
        if norm == 0.0:
            dist = np.hypot(inner[:, 0], inner[:, 1])
        else:
            dist = np.abs(direction[0] * inner[:, 1] - direction[1] * inner[:, 0]) / norm
        i = int(np.argmax(dist))
        if dist[i] > epsilon:
            keep[a + 1 + i] = True
            stack += [(a, a + 1 + i), (a + 1 + i, b)]
    return stroke[keep]


def _simplify_stroke(
    stroke: np.ndarray, epsilon: float, method: str, spacing: float | None
) -> np.ndarray:
    if len(stroke) <= 2:
        return stroke
    if spacing is not None:
        stroke = resample_polyline(stroke, spacing)
    if method == "line":
        return _rdp_line(stroke, epsilon)
    from shapely.geometry import LineString

    simplified = LineString(stroke).simplify(epsilon, preserve_topology=False)
    return np.asarray(simplified.coords, dtype=np.float64)


def simplify(
    polylines: Any, epsilon: float = 2.0, method: str = "line", spacing: float | None = 1.0
) -> list[np.ndarray]:
    """Ramer-Douglas-Peucker simplification of each stroke (endpoints kept).

    epsilon 2.0 in QuickDraw's 256-unit box is what Sketch-RNN's data used. method "segment"
    measures a point's distance to the chord segment (shapely); "line" to the infinite line
    through the chord's ends. spacing, when given, first resamples each stroke at that arc
    length (Google's QuickDraw recipe resamples at 1 unit; docs/experiments.md, Data conventions,
    has the comparison).
    One-point and empty strokes are returned as they are, so stroke indices do not shift.
    """
    if not np.isfinite(epsilon) or epsilon < 0:
        raise StrokeError(f"epsilon must be a finite number >= 0; got {epsilon!r}")
    if method not in ("segment", "line"):
        raise StrokeError(f"method must be 'segment' or 'line'; got {method!r}")
    return [
        _simplify_stroke(s, float(epsilon), method, spacing) for s in validate_polylines(polylines)
    ]


def fit_to_box(polylines: Any, size: float = BOX) -> list[np.ndarray]:
    """Scale uniformly and translate so the bounds start at (0, 0) and the longer side is `size`.

    This is QuickDraw's simplified preprocessing. A sketch with zero extent is only translated;
    an empty sketch is returned unchanged.
    """
    size = _check_positive(size, "size")
    strokes = validate_polylines(polylines)
    if not any(len(s) for s in strokes):
        return strokes
    x0, y0, x1, y1 = bounds(strokes)
    extent = max(x1 - x0, y1 - y0)
    factor = size / extent if extent > 0 else 1.0
    corner = np.array([x0, y0])
    return [(s - corner) * factor for s in strokes]


def transform_polylines(
    polylines: Any, scale: float, offset: tuple[float, float]
) -> list[np.ndarray]:
    """Map every point p to p * scale + offset, e.g. from model units back to caller coordinates."""
    factor = _check_finite(scale, "scale")
    shift = _pair(offset, "offset")
    return [s * factor + shift for s in validate_polylines(polylines)]

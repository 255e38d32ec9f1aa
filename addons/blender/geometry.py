"""Grease Pencil points <-> the protocol's 2-D strokes, in pure Python (no bpy, no numpy).

The drawing plane is the object's local X-Z plane, seen from the front (-Y): protocol x is local
X and protocol y is local -Z, because the protocol's y points down and Blender's Z points up.
Units are kept (one protocol unit is one local unit), so results keep the scale and place of the
artist's strokes. Matrices are 4x4, row-major, as `mathutils.Matrix` iterates them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

Vec3 = tuple[float, float, float]
Point2 = tuple[float, float]
Stroke2 = list[Point2]
Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in protocol units, y down
Matrix = Sequence[Sequence[float]]

IDENTITY: tuple[tuple[float, ...], ...] = tuple(
    tuple(1.0 if i == j else 0.0 for j in range(4)) for i in range(4)
)
DEFAULT_BOX: Box = (-1.0, -1.0, 1.0, 1.0)  # 2 x 2 units around the object's origin
MIN_SIDE = 1e-6  # a box thinner than this (in local units) is treated as no box at all


class GeometryError(ValueError):
    """A transform the drawing plane cannot be computed through (e.g. a zero scale)."""


def transform(matrix: Matrix | None, p: Sequence[float]) -> Vec3:
    """`p` moved by an affine 4x4 `matrix` (None: unchanged)."""
    x, y, z = float(p[0]), float(p[1]), float(p[2])
    if matrix is None:
        return (x, y, z)
    m = matrix
    return (
        m[0][0] * x + m[0][1] * y + m[0][2] * z + m[0][3],
        m[1][0] * x + m[1][1] * y + m[1][2] * z + m[1][3],
        m[2][0] * x + m[2][1] * y + m[2][2] * z + m[2][3],
    )


def rotate(matrix: Matrix, d: Sequence[float]) -> Vec3:
    """A direction `d` moved by `matrix`, without its translation."""
    m = matrix
    return (
        m[0][0] * d[0] + m[0][1] * d[1] + m[0][2] * d[2],
        m[1][0] * d[0] + m[1][1] * d[1] + m[1][2] * d[2],
        m[2][0] * d[0] + m[2][1] * d[1] + m[2][2] * d[2],
    )


def invert(matrix: Matrix) -> tuple[tuple[float, ...], ...]:
    """The inverse of a 4x4 matrix (Gauss-Jordan with partial pivoting)."""
    a = [
        [float(v) for v in row] + [1.0 if i == j else 0.0 for j in range(4)]
        for i, row in enumerate(matrix)
    ]
    for col in range(4):
        pivot = max(range(col, 4), key=lambda r: abs(a[r][col]))
        if abs(a[pivot][col]) < 1e-12:
            raise GeometryError(
                "the object or layer has a zero scale on some axis, so its "
                "strokes cannot be mapped to the drawing plane; give it a "
                "non-zero scale"
            )
        a[col], a[pivot] = a[pivot], a[col]
        f = a[col][col]
        a[col] = [v / f for v in a[col]]
        for r in range(4):
            if r != col and a[r][col]:
                g = a[r][col]
                a[r] = [v - g * w for v, w in zip(a[r], a[col])]
    return tuple(tuple(row[4:]) for row in a)


def to_protocol(points: Iterable[Sequence[float]], matrix: Matrix | None = None) -> Stroke2:
    """3-D points (after `matrix`, e.g. layer to object space) as protocol points (x, -z)."""
    out = []
    for p in points:
        x, _, z = transform(matrix, p)
        out.append((x, -z))
    return out


def from_protocol(
    points: Iterable[Sequence[float]], matrix: Matrix | None = None, depth: float = 0.0
) -> list[Vec3]:
    """Protocol points as 3-D points on the plane local y = `depth`, then moved by `matrix`."""
    return [transform(matrix, (float(u), depth, -float(v))) for u, v in points]


def bounds(strokes: Iterable[Iterable[Sequence[float]]]) -> Box | None:
    """The box around 2-D strokes, or None when there are no points."""
    xs: list[float] = []
    ys: list[float] = []
    for stroke in strokes:
        for p in stroke:
            xs.append(float(p[0]))
            ys.append(float(p[1]))
    if not xs:
        return None
    return (min(xs), min(ys), max(xs), max(ys))


def usable(box: Box | None) -> bool:
    """Whether a box is wide and tall enough to draw in."""
    return (
        box is not None
        and all(math.isfinite(v) for v in box)
        and box[2] - box[0] > MIN_SIDE
        and box[3] - box[1] > MIN_SIDE
    )


def shrink(box: Box, margin: float) -> Box:
    """`box` with `margin` (a fraction of each side) taken off every edge."""
    x0, y0, x1, y1 = box
    dx, dy = (x1 - x0) * margin, (y1 - y0) * margin
    return (x0 + dx, y0 + dy, x1 - dx, y1 - dy)


def mean_depth(points: Iterable[Sequence[float]], matrix: Matrix | None = None) -> float:
    """The average local y of 3-D points: new strokes go on the same plane as the artist's."""
    total, count = 0.0, 0
    for p in points:
        total += transform(matrix, p)[1]
        count += 1
    return total / count if count else 0.0


def camera_box(
    origins: Sequence[Sequence[float]], directions: Sequence[Sequence[float]], object_matrix: Matrix
) -> Box | None:
    """Where a camera's corner rays (world space) meet the object's drawing plane, as a box.

    Returns None when a ray runs parallel to the plane or meets it behind the camera, i.e. the
    camera does not look at the plane; the caller then falls back to another box.
    """
    inverse = invert(object_matrix)
    hits = []
    for origin, direction in zip(origins, directions):
        o = transform(inverse, origin)
        d = rotate(inverse, direction)
        if abs(d[1]) < 1e-9:
            return None
        t = -o[1] / d[1]  # the plane is local y = 0
        if t <= 0:
            return None
        hits.append((o[0] + t * d[0], o[1] + t * d[1], o[2] + t * d[2]))
    box = bounds([to_protocol(hits)])
    return box if usable(box) else None


def stroke_radius(box: Box) -> float:
    """A line radius that reads well for a drawing as big as `box` (1/250 of its longer side)."""
    return max(box[2] - box[0], box[3] - box[1]) / 250.0


def image_to_local(
    u: float, v: float, width: int, height: int, size: float, offset: Sequence[float]
) -> Vec3:
    """A point of an image empty's picture, in pixels from its top-left corner (v down, as the
    protocol's y), in the empty's local space. Blender draws the picture in the local X-Y plane,
    its longer side `size` long and its lower-left corner at `offset` (in units of the
    picture's own width and height: (-0.5, -0.5), the default, centres it)."""
    if width <= 0 or height <= 0:
        raise GeometryError(f"the image is {width} x {height} pixels; it has no picture to trace")
    longest = max(width, height)
    w, h = size * width / longest, size * height / longest
    return ((offset[0] + u / width) * w, (offset[1] + 1.0 - v / height) * h, 0.0)

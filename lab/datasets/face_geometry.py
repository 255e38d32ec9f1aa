"""Curves and hand-drawn effects for the face generator: splines, wobble, overshoot, drawer habits.

Units: the head's half-width is about 100, y points down; the sketch is fitted to the model's
box (model.strokes.BOX) later, so one unit here is roughly one unit of QuickDraw's box.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

import numpy as np
import shapely

from model.strokes import BOX

EPSILON = 2.0
MAX_POINTS = 200  # stroke-3 rows after to_box; the model's sequences hold a little more


@dataclass(frozen=True)
class Drawer:
    """One imagined person's habits, drawn once per face so its strokes share a hand."""

    wobble: float  # amplitude of the smooth pen wobble, units
    wavelength: float  # typical wobble wavelength, units
    overshoot: float  # how far closed shapes run past their start, radians of arc
    spiral: float  # relative radius change over one turn, so overshoot does not retrace
    split_p: float  # chance a long stroke is drawn as two
    merge_p: float  # chance a stroke continues into the next nearby one without a pen lift
    clockwise: bool  # direction of closed shapes
    start: float  # where closed shapes start, radians (y down: -pi/2 is the top)
    left_first: bool  # which of a pair (eyes, brows, ears) comes first
    jitter: float  # placement noise of features, units
    rotation: float  # tilt of the whole drawing, radians
    shear: float
    pupil: str  # "dot", "circle" or "none"
    one_stroke_eyes: bool  # eye outline as one closed stroke instead of two lids
    double_brows: bool  # brows as a thin closed shape rather than a single line

    @classmethod
    def random(cls, rng: np.random.Generator) -> Drawer:
        """A random drawer; the ranges keep every drawing readable."""
        return cls(
            wobble=float(rng.uniform(0.8, 3.2)),
            wavelength=float(rng.uniform(45.0, 110.0)),
            overshoot=float(rng.uniform(0.0, 0.45)),
            spiral=float(rng.uniform(-0.06, 0.06)),
            split_p=float(rng.choice([0.0, 0.15, 0.35])),
            merge_p=float(rng.choice([0.0, 0.3, 0.7])),
            clockwise=bool(rng.random() < 0.7),
            start=float(rng.normal(-math.pi / 2, 0.6)),
            left_first=bool(rng.random() < 0.75),
            jitter=float(rng.uniform(1.0, 4.0)),
            rotation=float(rng.normal(0.0, 0.035)),
            shear=float(rng.normal(0.0, 0.04)),
            pupil=str(rng.choice(["dot", "circle", "none"], p=[0.45, 0.45, 0.1])),
            one_stroke_eyes=bool(rng.random() < 0.6),
            double_brows=bool(rng.random() < 0.35),
        )


@cache
def _bernstein(degree: int, n: int) -> np.ndarray:
    t = np.linspace(0.0, 1.0, n)[:, None]
    k = np.arange(degree + 1)[None, :]
    coef = np.array([math.comb(degree, i) for i in range(degree + 1)], dtype=float)[None, :]
    return coef * t**k * (1 - t) ** (degree - k)


def _catmull(per: int) -> np.ndarray:
    t = np.linspace(0.0, 1.0, per, endpoint=False)[:, None]
    return 0.5 * np.hstack(
        [-(t**3) + 2 * t**2 - t, 3 * t**3 - 5 * t**2 + 2, -3 * t**3 + 4 * t**2 + t, t**3 - t**2]
    )


def spline(points: np.ndarray | list, per: int = 6) -> np.ndarray:
    """A smooth Catmull-Rom curve through `points`, `per` samples per span."""
    p = np.asarray(points, dtype=float)
    if len(p) < 3:
        return p
    padded = np.vstack([2 * p[0] - p[1], p, 2 * p[-1] - p[-2]])
    windows = np.stack([padded[i : i + len(p) - 1] for i in range(4)], axis=1)  # (S, 4, 2)
    out = np.einsum("tk,skd->std", _catmull(per), windows).reshape(-1, 2)
    return np.vstack([out, p[-1:]])


def arc(
    cx: float, cy: float, rx: float, ry: float, t0: float, t1: float, n: int = 20
) -> np.ndarray:
    """Points on an ellipse from angle t0 to t1 (y down, so angles grow clockwise on screen)."""
    t = np.linspace(t0, t1, n)
    return np.column_stack([cx + rx * np.cos(t), cy + ry * np.sin(t)])


def loop(
    cx: float,
    cy: float,
    rx: float,
    ry: float,
    drawer: Drawer,
    n: int = 28,
    start: float | None = None,
    shape: float = 2.0,
) -> np.ndarray:
    """A closed (super)ellipse drawn by hand: drawer's start and direction, overshoot, spiral."""
    t0 = drawer.start if start is None else start
    sweep = (2 * math.pi + drawer.overshoot) * (1 if drawer.clockwise else -1)
    t = t0 + np.linspace(0.0, 1.0, n) * sweep
    grow = 1.0 + drawer.spiral * np.linspace(0.0, 1.0, n)
    c, s = np.cos(t), np.sin(t)
    if shape != 2.0:
        c, s = np.sign(c) * np.abs(c) ** (2 / shape), np.sign(s) * np.abs(s) ** (2 / shape)
    return np.column_stack([cx + rx * grow * c, cy + ry * grow * s])


def close_polygon(vertices: np.ndarray, drawer: Drawer) -> np.ndarray:
    """A polygon drawn in one stroke from the drawer's side, running a little past its start."""
    v = np.asarray(vertices, dtype=float)
    if not drawer.clockwise:
        v = v[::-1]
    past = v[0] + (v[1] - v[0]) * min(0.5, drawer.overshoot)
    return np.vstack([v, v[:1], past[None]])


def wobble(strokes: list[np.ndarray], rng: np.random.Generator, drawer: Drawer) -> list[np.ndarray]:
    """Push each point along its stroke's normal by smooth noise (three sines in arc length).

    All strokes are done in one pass; strokes of one or two points are left straight.
    """
    sizes = np.array([len(s) for s in strokes])
    pts = np.concatenate(strokes)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    ends = starts + sizes - 1
    step = np.hypot(*np.diff(pts, axis=0, prepend=pts[:1]).T)
    step[starts] = 0.0
    cum = np.cumsum(step)
    s = cum - np.repeat(cum[starts], sizes)
    total = np.repeat(s[ends], sizes)
    # Short strokes wobble less, as a hand does over a short distance.
    amp = drawer.wobble * np.minimum(1.0, total / 200.0) * np.repeat(sizes >= 3, sizes)
    k = len(strokes)
    lam = drawer.wavelength * rng.uniform(0.7, 1.3, (k, 3)) * [1.0, 0.55, 0.3]
    phase = rng.uniform(0.0, 2 * math.pi, (k, 3))
    waves = np.sin(
        2 * math.pi * s[:, None] / np.repeat(lam, sizes, axis=0) + np.repeat(phase, sizes, axis=0)
    )
    d = amp * (waves @ np.array([1.0, 0.45, 0.2]))
    index = np.arange(len(pts))
    owner = np.repeat(np.arange(k), sizes)
    tangent = pts[np.minimum(index + 1, ends[owner])] - pts[np.maximum(index - 1, starts[owner])]
    norm = np.hypot(tangent[:, 0], tangent[:, 1])
    norm[norm == 0] = 1.0
    out = pts + np.column_stack([-tangent[:, 1], tangent[:, 0]]) * (d / norm)[:, None]
    return np.split(out, starts[1:])


def split_stroke(poly: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
    """Two strokes from one, as when a drawer lifts the pen midway and restarts near the end."""
    k = int(rng.integers(len(poly) * 3 // 10, max(len(poly) * 7 // 10, len(poly) * 3 // 10 + 1)))
    k = min(max(k, 1), len(poly) - 2)
    back = int(rng.integers(0, 2))  # restart on or just before the lift point
    restart = poly[k - back :] + rng.normal(0.0, 1.5, 2)
    return [poly[: k + 1], restart]


def count_points(strokes: list[np.ndarray]) -> int:
    """Stroke-3 rows these polylines become after fitting to the box and RDP (an upper bound)."""
    pts = np.concatenate(strokes)
    extent = float(np.ptp(pts, axis=0).max()) or 1.0
    lines = [s for s in strokes if len(s) >= 2]
    dots = len(strokes) - len(lines)
    if not lines:
        return dots
    coords = np.concatenate(lines)
    index = np.repeat(np.arange(len(lines)), [len(s) for s in lines])
    simple = shapely.simplify(
        shapely.linestrings(coords, indices=index), EPSILON * extent / BOX, preserve_topology=False
    )
    return int(shapely.get_num_coordinates(simple).sum()) + dots

"""Hair styles and beards for the face generator.

A hair style belongs to the person: `random_hair` draws a `Hair` (the style and its shape) once
per identity, and the style functions draw that same hair in any emotion and view, adding only
the pen's momentary noise. Every female style reaches the jaw or lower (long hair, a bob to the
jaw, a ponytail or pigtails, a big bun with locks hanging past the jaw and a swept fringe) and
every male style ends above the ears, so hair length is a steady gender cue. Lines on the face's
surface (partings, fringes, hairlines) turn with the view; silhouettes stay.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from lab.datasets.face_geometry import loop
from lab.datasets.face_parts import Face

PI = math.pi


def _flag(details: tuple[float, ...], side: int) -> bool:
    """A per-side flag of `details`: index 0 for the left (-1), 1 for the right (+1)."""
    return bool(details[(side + 1) // 2])


def _sides(face: Face, v: float, reach: float, side_out: float, wave: float = 0.0) -> np.ndarray:
    """Outer contour of hair hanging to y = reach on both sides, over the skull at volume v."""
    a, b, rng = face.a, face.b, face.rng
    left = [(-a - side_out * 0.9, reach), (-a - side_out, 0.45 * b), (-a - side_out * 0.8, 0.0)]
    top = [face.skull(t, v) for t in (1.12 * PI, 1.3 * PI, 1.5 * PI, 1.7 * PI, 1.88 * PI)]
    right = [(a + side_out * 0.8, 0.0), (a + side_out, 0.45 * b), (a + side_out * 0.9, reach)]
    ctrl = np.array(left + top + right) + rng.normal(0, 2.0, (11, 2))
    if wave:
        for i in (0, 1, 9, 10):
            ctrl[i, 0] += wave * face.a * (1 if i % 2 else -1)
    return face.curve(ctrl, 5)


def _long(face: Face, wavy: bool = False, swept: bool = False) -> bool:
    a, b, rng, h = face.a, face.b, face.rng, face.identity.hair
    v, reach, out = h.volume * a, h.reach * b, h.spread * a
    outer = _sides(face, v, reach, out, 0.07 if wavy else 0.0)
    if rng.random() < face.drawer.split_p + 0.2:
        half = len(outer) // 2
        face.add("hair", outer[: half + 1][::-1])
        face.add("hair", outer[half:])
    else:
        face.add("hair", outer, long=True)
    fringe = min(-0.3 * b, face.brow_top - 0.07 * a)
    part = h.part * a
    for side in face.pair():
        inner_x = -a * 1.0 - 0.02 * a
        sweep = swept and side * part < 0  # the side the hair is swept across
        mid_y = fringe + (0.05 * b if sweep else -0.12 * b)
        ctrl = [
            (part, -0.97 * b),
            (part + side * (0.45 if sweep else 0.3) * a, mid_y - 0.12 * b),
            (side * 0.8 * a, mid_y),
            (side * 0.97 * a, 0.15 * b),
            (side * -inner_x, reach - 0.05 * b),
        ]
        if wavy:
            ctrl.insert(4, (side * (1.0 * a + 0.05 * a), 0.6 * b))
        pts = face.curve(ctrl, 5)
        face.add("hair", face.project(pts))
    for side in face.pair():
        if _flag(h.details, side):
            x = side * (a + out * 0.45)
            strand = face.curve(
                [(x, -0.1 * b), (x + side * 0.04 * a, 0.4 * b), (x, reach * 0.85)], 4
            )
            face.add("hair", strand, priority=2)
    return True


def _bob(face: Face) -> bool:
    """Hair cut straight at the jaw, with a straight fringe."""
    a, b, rng, h = face.a, face.b, face.rng, face.identity.hair
    v, reach, out = h.volume * a, h.reach * b, h.spread * a
    face.add("hair", _sides(face, v, reach, out), long=True)
    fringe = min(-0.28 * b, face.brow_top - 0.06 * a)
    inner = [
        (-1.0 * a, reach),
        (-0.97 * a, 0.1 * b),
        (-0.85 * a, fringe + 0.05 * b),
        (-0.4 * a, fringe + rng.normal(0, 2)),
        (0.0, fringe),
        (0.4 * a, fringe),
        (0.85 * a, fringe + 0.05 * b),
        (0.97 * a, 0.1 * b),
        (1.0 * a, reach),
    ]
    face.add("hair", face.project(face.curve(inner, 4)), long=True)
    for side in face.pair():
        face.add("hair", [(side * (a + out * 0.9), reach), (side * a, reach)], priority=1)
    for x in np.asarray(h.details) * a:
        face.add("hair", face.project([(x, fringe), (x * 1.1, fringe - 0.2 * b)]), priority=2)
    return True


def _hairline(face: Face, height: float, v: float, outer: bool = True) -> None:
    """A close cap: the outline over the skull and the hairline across the forehead."""
    a, b, rng = face.a, face.b, face.rng
    dip = face.identity.hair.dip * a
    line = [
        (-0.98 * a, -0.02 * b),
        (-0.93 * a, -0.4 * b),
        (-0.6 * a, height + 0.06 * b),
        (dip, height),
        (0.6 * a, height + 0.06 * b),
        (0.93 * a, -0.4 * b),
        (0.98 * a, -0.02 * b),
    ]
    line = np.array(line) + rng.normal(0, 1.5, (7, 2))
    if outer:
        cap = [
            line[0],
            face.skull(1.08 * PI, v * 0.6),
            face.skull(1.25 * PI, v),
            face.skull(1.5 * PI, v),
            face.skull(1.75 * PI, v),
            face.skull(1.92 * PI, v * 0.6),
            line[-1],
        ]
        face.add("hair", face.curve(cap, 5), long=True)
    face.add("hair", face.project(face.curve(line[::-1], 5)))


def _ponytail(face: Face, both: bool = False) -> bool:
    a, b, h = face.a, face.b, face.identity.hair
    _hairline(face, -0.62 * b, h.volume * a)
    reach = h.reach * b
    if both:
        sides = face.pair()
    else:  # a single tail hangs behind a turned head, and on the person's side when frontal
        sides = (-face.facing,) if face.facing else (h.side,)
    for s in sides:
        y0 = -0.3 * b if both else -0.7 * b
        spread = 1.55 if both else 1.35
        ctrl = [
            (s * 0.9 * a, y0),
            (s * spread * a, y0 + 0.15 * b),
            (s * (spread + 0.1) * a, 0.3 * b),
            (s * 1.3 * a, reach),
            (s * 1.08 * a, 0.5 * b),
            (s * 0.98 * a, y0 + 0.2 * b),
        ]
        face.add("hair", face.curve(ctrl, 5))
        if _flag(h.details, s):
            r = 0.05 * a
            face.add("hair", loop(s * 0.95 * a, y0 + 0.05 * b, r, r, face.drawer, n=8), priority=2)
    return both


def _bun(face: Face) -> bool:
    """A big bun on top, a fringe swept to one side and locks hanging past the jaw: the cap
    alone would read as a man's short cut, so the locks and fringe carry the gender."""
    a, b, h = face.a, face.b, face.identity.hair
    v = h.volume * a
    _hairline(face, -0.6 * b, v)
    r = h.details[0] * a
    bun = loop(h.part * a, -b - v - 0.75 * r, r, 0.85 * r, face.drawer, n=16)
    face.add("hair", bun)
    s = h.side
    fringe = [
        (-s * 0.15 * a, -0.62 * b),
        (s * 0.25 * a, -0.5 * b),
        (s * 0.7 * a, -0.38 * b),
        (s * 0.95 * a, -0.15 * b),
    ]
    face.add("hair", face.project(face.curve(fringe, 5)), priority=1)
    for side in face.pair():  # a lock: down its outer edge to a point, back up its inner edge
        wave = h.details[1 if side < 0 else 2] * a
        lock = [
            (side * 0.9 * a, -0.45 * b),
            (side * (1.08 * a + wave), 0.05 * b),
            (side * (1.06 * a - wave), 0.5 * b),
            (side * (1.12 * a), h.reach * b),
            (side * (0.97 * a - 0.5 * wave), 0.55 * b),
            (side * (0.97 * a + 0.5 * wave), 0.1 * b),
            (side * 0.86 * a, -0.3 * b),
        ]
        face.add("hair", face.curve(lock, 5))
    return False


def _crop(face: Face) -> bool:
    _hairline(face, -0.6 * face.b, face.a * face.identity.hair.volume)
    return False


def _side_part(face: Face) -> bool:
    a, b, h = face.a, face.b, face.identity.hair
    v, s = h.volume * a, h.side
    _hairline(face, -0.58 * face.b, v)
    face.add(
        "hair",
        face.project(
            face.curve(
                [
                    face.skull(1.5 * PI + s * 0.2 * PI, v * 0.8),
                    (s * 0.35 * a, -0.8 * b),
                    (s * 0.3 * a, -0.6 * b),
                ],
                4,
            )
        ),
        priority=1,
    )
    face.add(
        "hair",
        face.project(
            face.curve([(s * 0.3 * a, -0.75 * b), (0.0, -0.7 * b), (-s * 0.7 * a, -0.55 * b)], 4)
        ),
        priority=2,
    )
    return False


def _spiky(face: Face) -> bool:
    a, heights = face.a, face.identity.hair.details
    n = len(heights)
    t = np.linspace(1.08 * PI, 1.92 * PI, 2 * n + 1)
    grow = np.full(2 * n + 1, 0.04 * a)
    grow[1::2] = np.asarray(heights) * a
    face.add("hair", [face.skull(ti, gi) for ti, gi in zip(t, grow)], long=True)
    _hairline(face, -0.6 * face.b, 0.0, outer=False)
    return False


def _buzz(face: Face) -> bool:
    a, b = face.a, face.b
    _hairline(face, -0.7 * b, face.identity.hair.volume * a, outer=False)
    for t in face.identity.hair.details:
        x, y = face.skull(t, -0.08 * a)
        face.add("hair", [(x, y), (x + 2, y - 3)], priority=2)
    return False


def _quiff(face: Face) -> bool:
    a, b, h = face.a, face.b, face.identity.hair
    v, peak, height = h.volume * a, h.details[0] * PI, h.details[1] * a
    t = np.linspace(1.08 * PI, 1.92 * PI, 9)
    grow = v + height * np.exp(-(((t - peak) / 0.25) ** 2))
    pts = (
        [(-0.98 * a, -0.02 * b)]
        + [face.skull(ti, gi) for ti, gi in zip(t, grow)]
        + [(0.98 * a, -0.02 * b)]
    )
    face.add("hair", face.curve(pts, 4), long=True)
    cx, cy = face.skull(peak, v)
    face.add(
        "hair",
        face.curve(
            [(cx - 0.2 * a, cy + 0.15 * b), (cx, cy - 0.05 * b), (cx + 0.25 * a, cy + 0.12 * b)], 4
        ),
        priority=2,
    )
    _hairline(face, -0.6 * b, v, outer=False)
    return False


def _curly(face: Face) -> bool:
    a, h = face.a, face.identity.hair
    n, v = int(h.details[0]), h.volume * a
    edges = np.linspace(1.06 * PI, 1.94 * PI, n + 1)
    pts = []
    for t0, t1 in zip(edges[:-1], edges[1:]):
        for j, frac in enumerate(np.linspace(0.0, 1.0, 5)):
            if pts and j == 0:
                continue
            pts.append(face.skull(t0 + (t1 - t0) * frac, v + 0.09 * a * math.sin(PI * frac)))
    face.add("hair", np.array(pts)[::2] if face.abstract else pts, long=True)
    _hairline(face, -0.6 * face.b, v, outer=False)
    return False


def _balding(face: Face) -> bool:
    a, b = face.a, face.b
    for s in face.pair():
        tuft = [
            (s * 0.82 * a, -0.6 * b),
            (s * 1.07 * a, -0.35 * b),
            (s * 1.05 * a, -0.05 * b),
            (s * 0.97 * a, 0.02 * b),
        ]
        face.add("hair", face.curve(tuft, 4))
    for x in np.asarray(face.identity.hair.details) * a:
        face.add(
            "hair",
            face.curve([(x, -1.0 * b), (x + 0.1 * a, -1.08 * b), (x + 0.2 * a, -1.0 * b)], 3),
            priority=2,
        )
    return False


# How each style is drawn, by the names face_identity draws them from.
FEMALE_HAIR: dict[str, Callable[[Face], bool]] = {
    "long": _long,
    "wavy": lambda f: _long(f, wavy=True),
    "side-swept": lambda f: _long(f, swept=True),
    "bob": _bob,
    "ponytail": _ponytail,
    "pigtails": lambda f: _ponytail(f, both=True),
    "bun": _bun,
}
MALE_HAIR: dict[str, Callable[[Face], bool]] = {
    "crop": _crop,
    "side part": _side_part,
    "spiky": _spiky,
    "buzz": _buzz,
    "quiff": _quiff,
    "curly": _curly,
    "balding": _balding,
}
COVERS_TOP = {"long", "wavy", "side-swept", "bob"}


def hair(face: Face) -> bool:
    """Draw the person's hair; True when it covers the ears."""
    style = face.identity.hair.style
    return (FEMALE_HAIR if face.female else MALE_HAIR)[style](face)


def beard(face: Face) -> None:
    """The person's beard line round the jaw or a little stubble, if they have one."""
    rng, a, b = face.rng, face.a, face.b
    kind = face.identity.features.beard
    if kind == "line":
        t = np.linspace(PI * 0.98, PI * 0.02, 5 if face.abstract else 13)
        pts = face.head_points(t) * [1.08, 1.0] + np.column_stack(
            [np.zeros_like(t), 0.13 * b * np.sin(t) ** 2]
        )
        pts = np.vstack([[[-0.98 * a, -0.02 * b]], pts, [[0.98 * a, -0.02 * b]]])
        face.add("beard", face.project(pts), priority=1)
    elif kind == "stubble":
        for _ in range(int(rng.integers(4, 8))):
            x, y = rng.uniform(-0.5, 0.5) * a, b * rng.uniform(0.8, 0.95)
            face.add("beard", face.project([(x, y), (x + 1.5, y + 2.0)]), priority=2)

"""Noses and mouths for the face generator; the mouth's shape is each emotion's strongest cue.

The nose is the person's (its class and size come from the identity); the mouth is the
emotion's. Mouth shapes (before the per-style rendering): neutral a flat line, happy a smile
(sometimes open), sad a frown, angry bared teeth or a tight scowl, fearful a trembling wavy
line, surprised an "O", disgusted a lopsided sneer, often with the tongue out.
"""

from __future__ import annotations

import math

import numpy as np

from lab.datasets.face_geometry import close_polygon, loop, spline
from lab.datasets.face_parts import Face

Pieces = list[tuple[str, np.ndarray, int]]  # (tag, points, priority) in mouth-local units

_WIDTH = {
    "line": 0.85,
    "smile": 1.1,
    "frown": 0.85,
    "teeth": 0.9,
    "wavy": 1.05,
    "o": 1.0,
    "sneer": 1.0,
}


def nose(face: Face) -> None:
    """The person's nose, pointing to the side the face turns to; disgust adds wrinkles over it."""
    rng, f, a, b = face.rng, face.facing, face.a, face.b
    kind, k = face.identity.features.nose, face.identity.features.nose_size
    side = face.identity.features.nose_side
    ny = face.nose_y + face.jitter()[1]
    top = face.eye_y + 0.02 * b
    if face.abstract:
        if kind == "wedge" and f:  # a cubist profile wedge
            pts = np.array(
                [
                    [f * 0.02 * a, top],
                    [0.0, ny - 0.03 * b],
                    [-f * 0.04 * k * a, ny + 0.02 * b],
                    [f * 0.02 * a, top],
                ]
            )
            face.add("nose", face.project(pts, np.array([0.0, 0.5, 0.0, 0.0]) * k * a))
        elif kind == "wedge":
            w = 0.095 * k * a
            wedge = np.array([[0.0, top + 0.05 * b], [w, ny], [-w, ny]])
            face.add("nose", close_polygon(wedge, face.drawer))
        elif f:  # a line down to the tip, its foot back toward the cheek
            pts = [[0.0, top + 0.05 * b], [0.0, ny], [-f * 0.08 * k * a, ny]]
            face.add("nose", face.project(pts, np.array([0.05, 0.35, 0.1]) * k * a))
        else:
            face.add("nose", [[0.0, top + 0.05 * b], [0.0, ny], [side * 0.08 * k * a, ny]])
    elif face.cartoon:
        if kind == "hook":  # frontal faces show the hook pointing to the person's side
            s = f or side
            pts = spline(
                [
                    [s * 0.02 * a, ny - 0.16 * b],
                    [s * 0.01 * a, ny - 0.05 * b],
                    [0.0, ny],
                    [-s * 0.07 * k * a, ny + 0.01 * b],
                ],
                4,
            )
            if f:
                depth = np.interp(
                    np.arange(len(pts)),
                    [0, len(pts) * 0.6, len(pts) - 1],
                    [0.05 * a, 0.3 * k * a, 0.08 * a],
                )
                pts = face.project(pts, depth)
            face.add("nose", pts)
        elif kind == "u":  # a little "u"
            w = 0.075 * k * a
            pts = spline([[-w, ny - 0.05 * b], [0.0, ny + 0.02 * b], [w, ny - 0.05 * b]], 4)
            face.add("nose", face.project(pts, 0.2 * a))
        else:  # a button
            r = 0.065 * k * a
            face.add(
                "nose", face.project(loop(0.0, ny - r, r, r * 0.9, face.drawer, n=12), 0.2 * a)
            )
    elif f:  # bridge, tip and wing in one stroke
        pts = spline(
            [
                [f * 0.06 * a, top],
                [f * 0.05 * a, ny - 0.1 * b],
                [0.0, ny],
                [-f * 0.06 * k * a, ny + 0.02 * b],
                [-f * 0.15 * k * a, ny - 0.02 * b],
                [-f * 0.16 * k * a, ny - 0.07 * b],
            ],
            4,
        )
        depth = (
            np.interp(
                np.linspace(0, 1, len(pts)), [0, 0.4, 0.6, 0.8, 1.0], [0.05, 0.25, 0.33, 0.12, 0.06]
            )
            * k
            * a
        )
        face.add("nose", face.project(pts, depth))
        if face.identity.features.nostril:
            nostril = [[-f * 0.02 * a, ny - 0.01 * b], [-f * 0.07 * k * a, ny]]
            face.add("nose", face.project(nostril, 0.15 * k * a), priority=2)
    else:  # wings and tip, and a bridge line when the person has one
        w = 0.145 * k * a
        if kind == "bridged":
            bridge = spline(
                [
                    [side * 0.1 * a, top],
                    [side * 0.08 * a, ny - 0.25 * b],
                    [side * 0.8 * w, ny - 0.12 * b],
                ],
                4,
            )
            face.add("nose", bridge, priority=2)
        face.add(
            "nose",
            spline(
                [
                    [-0.9 * w, ny - 0.12 * b],
                    [-1.1 * w, ny - 0.02 * b],
                    [-0.7 * w, ny + 0.03 * b],
                    [-0.3 * w, ny],
                    [0.0, ny + 0.025 * b],
                    [0.3 * w, ny],
                    [0.7 * w, ny + 0.03 * b],
                    [1.1 * w, ny - 0.02 * b],
                    [0.9 * w, ny - 0.12 * b],
                ],
                3,
            ),
        )
    if face.emotion == "disgusted":
        y0 = face.eye_y + 0.08 * b
        for i in range(int(rng.integers(2, 4))):
            y, w = y0 + i * 0.06 * b, 0.07 * a
            pts = np.array([[-w, y + 0.01 * b], [0.0, y - 0.01 * b], [w, y + 0.01 * b]])
            face.add(
                "wrinkle", face.project(pts[[0, 2]] if face.abstract else pts, 0.1 * a), priority=1
            )


def mouth(face: Face) -> None:
    """Draw the emotion's mouth (plus lips, teeth or tongue) turned with the face."""
    rng, shape = face.rng, face.expr.mouth
    w = face.mw * _WIDTH[shape] * rng.uniform(0.9, 1.1)
    centre = np.array([face.jitter()[0], face.mouth_y + face.jitter()[1]])
    builders = {"teeth": _teeth, "wavy": _wavy, "o": _o, "sneer": _sneer}
    if shape in builders:
        pieces = builders[shape](face, w)
    else:
        pieces = _curve(face, w, shape)
    for tag, pts, priority in pieces:
        face.add(tag, face.project(pts + centre, 0.05 * face.a), priority)


def _curve(face: Face, w: float, shape: str) -> Pieces:
    """Line, smile or frown: a parabola whose middle drops (smile) or rises (frown)."""
    rng, k = face.rng, face.intensity
    x = np.linspace(-w, w, 3 if face.abstract else 15)
    if shape == "line":
        depth = rng.uniform(-0.05, 0.05) * w
    elif shape == "smile":
        depth = rng.uniform(0.3, 0.45) * k * w
    else:
        depth = -rng.uniform(0.3, 0.42) * k * w
    main = np.column_stack([x, depth * (1.0 - (x / w) ** 2)])
    if shape == "smile" and rng.random() < (0.2 if face.abstract else 0.45):
        top = np.column_stack([x[::-1], 0.06 * w * (1.0 - (x / w) ** 2)])
        pieces: Pieces = [("mouth", np.vstack([main, top[1:]]), 0)]  # an open smile
        if face.realistic and rng.random() < 0.5:
            pieces.append(("mouth", np.array([[-0.7 * w, 0.12 * w], [0.7 * w, 0.12 * w]]), 2))
        return pieces
    return [("mouth", main, 0)] + (_lips(face, w, depth) if face.realistic else [])


def _lips(face: Face, w: float, depth: float) -> Pieces:
    """Realistic lips following the mouth's curve: both lips for women, a lower lip for men."""
    xs = np.linspace(-0.65 * w, 0.65 * w, 9)
    lower = depth * (1 - (xs / w) ** 2) + 0.22 * w * (1 - (xs / (0.65 * w)) ** 2) + 0.04 * w
    if face.female:
        xu = np.linspace(-0.8 * w, 0.8 * w, 11)
        upper = depth * (1 - (xu / w) ** 2) - 0.16 * w * (1 - np.abs(xu / (0.8 * w)) ** 1.5)
        upper += 0.05 * w * np.exp(-((xu / (0.12 * w)) ** 2))  # the cupid's bow
        return [
            ("lips", spline(np.column_stack([xu, upper]), 2), 1),
            ("lips", spline(np.column_stack([xs, lower]), 2), 1),
        ]
    if face.identity.features.lower_lip:
        return [("lips", spline(np.column_stack([xs[2:-2], lower[2:-2]]), 2), 2)]
    return []


def _teeth(face: Face, w: float) -> Pieces:
    """Angry: mostly a bared-teeth box whose top arches up, else a tight flat-topped scowl."""
    rng = face.rng
    if rng.random() < 0.3:
        pts = np.array([[-w, 0.18 * w], [-0.55 * w, -0.1 * w], [0.55 * w, -0.1 * w], [w, 0.18 * w]])
        return [("mouth", pts if face.abstract else spline(pts, 4), 0)]
    h = 0.28 * w
    x = np.linspace(-w, w, 3 if face.abstract else 15)
    q = 1.0 - (x / w) ** 2
    top, bottom = -h - 0.15 * w * q, h - 0.12 * w * q
    box = np.vstack(
        [np.column_stack([x, top]), np.column_stack([x, bottom])[::-1], [[x[0], top[0]]]]
    )
    pieces: Pieces = [
        ("mouth", box, 0),
        ("mouth", np.array([[-0.95 * w, 0.0], [0.95 * w, -0.02 * w]]), 0),
    ]
    if not face.abstract:
        for tx in rng.uniform(-0.6, 0.6, int(rng.integers(1, 4))) * w:
            pieces.append(("mouth", np.array([[tx, -0.9 * h], [tx, 0.9 * h]]), 2))
    return pieces


def _wavy(face: Face, w: float) -> Pieces:
    """Fearful: a trembling line of two to four waves (a zigzag when abstract)."""
    rng = face.rng
    amp = 0.13 * w * face.intensity
    if face.abstract:
        x = np.linspace(-w, w, 7)
        y = amp * np.where(np.arange(7) % 2, 1.0, -1.0)
    else:
        x = np.linspace(-w, w, 29)
        y = amp * np.sin(math.pi * rng.uniform(2.5, 3.5) * (x / w + 1))
    pieces: Pieces = [("mouth", np.column_stack([x, y]), 0)]
    if rng.random() < 0.4:  # chattering: a second wave under the first
        pieces.append(("mouth", np.column_stack([x, y + 0.3 * w])[::-1], 1))
    return pieces


def _o(face: Face, w: float) -> Pieces:
    """Surprised: a round open mouth, taller than wide (a polygon when abstract)."""
    rng, d = face.rng, face.drawer
    rx = rng.uniform(0.14, 0.2) * face.a
    ry = rx * rng.uniform(1.2, 1.5)
    if face.abstract:
        m = int(rng.integers(4, 7))
        t = d.start + np.arange(m) * 2 * math.pi / m
        return [("mouth", close_polygon(np.column_stack([rx * np.cos(t), ry * np.sin(t)]), d), 0)]
    return [("mouth", loop(0.0, 0.0, rx, ry, d, n=18), 0)]


def _sneer(face: Face, w: float) -> Pieces:
    """Disgusted: one corner pulled up with a wave in the lip, often the tongue out."""
    rng, s = face.rng, face.sneer_side
    x = np.linspace(-w, w, 5 if face.abstract else 17)
    y = -0.22 * face.intensity * w * s * x / w + 0.12 * w * np.sin(math.pi * x / w)
    pieces: Pieces = [("mouth", np.column_stack([x, y]), 0)]
    if rng.random() < 0.55:
        x0 = -s * 0.2 * w
        y0, tw = float(np.interp(x0, x, y)), 0.2 * w
        tongue = np.array(
            [
                [x0 - tw, y0],
                [x0 - tw, y0 + 0.3 * w],
                [x0, y0 + 0.42 * w],
                [x0 + tw, y0 + 0.3 * w],
                [x0 + tw, y0],
            ]
        )
        pieces.append(("tongue", tongue if face.abstract else spline(tongue, 3), 1))
    return pieces

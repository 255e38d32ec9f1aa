"""The core of one face sketch: layout, head outline, brows, eyes, ears and neck.

A `Face` is one drawing of an `Identity` (the person, their proportions and the drawer's hand;
see face_identity) in one emotion and view; its methods add `Part`s in the order a person draws
them. Everything about the person comes from the identity, and only the expression, the view
and the drawing's momentary randomness (placement jitter, pen wobble) from the face's own `rng`.
Features are laid out on a frontal face and then turned onto a cylinder of the head's width, so
a mid-profile view moves and foreshortens them consistently.
Hair is in face_hair, nose and mouth in face_nose_mouth.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from lab.datasets.face_geometry import close_polygon, loop, spline

if TYPE_CHECKING:
    from lab.datasets.face_identity import Identity

A = 100.0  # half-width of the head; everything else is measured against it


@dataclass
class Part:
    """One stroke of a face, its part name, and how much the attribute cues need it."""

    tag: str
    points: np.ndarray
    priority: int = 0  # 0 essential, 1 a cue's detail, 2 decoration (dropped first if too long)
    long: bool = False  # the drawer may split it in two


@dataclass(frozen=True)
class Expression:
    """How an emotion moves the brows, eyes and mouth (before the per-face intensity)."""

    brow_angle: float  # radians; > 0 raises the inner ends (sad, fearful), < 0 lowers them
    brow_arch: float  # bulge of the brow as a fraction of its length
    brow_gap: float  # space between brow and eye top, in head half-widths
    eye_open: float  # eye height relative to a neutral eye
    droop_in: float  # upper lid lowered at the inner corner (angry glare)
    droop_out: float  # upper lid lowered at the outer corner (sad)
    lower_up: float  # lower lid pushed up (smiling crescent, squint)
    mouth: str


EXPRESSIONS = {
    "neutral": Expression(0.0, 0.06, 0.10, 1.0, 0.0, 0.0, 0.0, "line"),
    "happy": Expression(-0.04, 0.16, 0.12, 0.9, 0.0, 0.0, 0.9, "smile"),
    "sad": Expression(0.45, 0.02, 0.08, 0.85, 0.0, 0.6, 0.0, "frown"),
    "angry": Expression(-0.55, -0.02, 0.035, 0.8, 0.8, 0.0, 0.2, "teeth"),
    "fearful": Expression(0.38, 0.04, 0.16, 1.35, 0.0, 0.0, 0.0, "wavy"),
    "surprised": Expression(0.0, 0.3, 0.22, 1.5, 0.0, 0.0, 0.0, "o"),
    "disgusted": Expression(-0.38, 0.0, 0.05, 0.6, 0.3, 0.0, 0.55, "sneer"),
}


def _longest_run(mask: np.ndarray) -> slice:
    """The longest run of True in `mask` (not wrapping around)."""
    best, start, best_len = slice(0, 0), None, 0
    for i, m in enumerate(np.append(mask, False)):
        if m and start is None:
            start = i
        elif not m and start is not None:
            if i - start > best_len:
                best, best_len = slice(start, i), i - start
            start = None
    return best


class Face:
    """One drawing of an identity in an emotion and view, and the parts drawn so far."""

    def __init__(
        self, identity: Identity, emotion: str, view: str, rng: np.random.Generator
    ) -> None:
        self.identity, self.rng, self.emotion = identity, rng, emotion
        self.gender, self.style = identity.gender, identity.style
        self.female = identity.female
        self.abstract, self.cartoon = self.style == "abstract", self.style == "cartoon"
        self.realistic = self.style == "realistic"
        self.drawer = identity.drawer
        self.expr = EXPRESSIONS[emotion]
        self.intensity = float(rng.uniform(0.85, 1.2))
        # facing: -1 when the face turns to the image's left, +1 to its right, 0 frontal.
        self.facing = {"frontal": 0, "mid-profile left": -1, "mid-profile right": 1}[view]
        self.yaw = self.facing * float(rng.uniform(0.38, 0.52))
        self.parts: list[Part] = []
        self._layout()

    # ------------------------------------------------------------ layout and mapping

    def _layout(self) -> None:
        """The identity's proportions in units, and what the expression does to them."""
        a, head, p = A, self.identity.head, self.identity.proportions
        self.a, self.b = a, a * head.aspect
        self.eye_y, self.eye_dx, self.ew = a * p.eye_y, a * p.eye_dx, a * p.eye_w
        self.eh = self.ew * p.eye_h
        self.nose_y, self.mouth_y, self.mw = a * p.nose_y, a * p.mouth_y, a * p.mouth_w
        self.jaw_p, self.taper = head.jaw_p, head.taper
        self.eye_n, self.eye_scale = p.eye_points, p.eye_scale
        self.open = 1.0 + (self.expr.eye_open - 1.0) * self.intensity
        self.sneer_side = int(self.rng.choice([-1, 1]))
        self.brow_pts = {side: self._brow_points(side) for side in (-1, 1)}
        self.brow_top = min(float(p[:, 1].min()) for p in self.brow_pts.values())

    def jitter(self, scale: float = 1.0) -> np.ndarray:
        """A small random offset for placing one feature."""
        return self.rng.normal(0.0, self.drawer.jitter * scale, 2)

    def head_points(self, t: np.ndarray, grow: np.ndarray | float = 1.0) -> np.ndarray:
        """Frontal outline at angles t: an ellipse above, a tapered superellipse jaw below."""
        c, s = np.cos(t), np.sin(t)
        low = s > 0
        e = 2.0 / self.jaw_p
        x = np.where(low, np.sign(c) * np.abs(c) ** e, c)
        y = np.where(low, np.abs(s) ** e, s)
        x = x * (1.0 - self.taper * np.clip(y, 0.0, 1.0) ** 2)
        return np.column_stack([self.a * x * grow, self.b * y * grow])

    def half_width(self, y: float) -> float:
        """Half-width of the frontal head outline at height y."""
        t = np.linspace(-math.pi / 2, math.pi / 2, 41)
        pts = self.head_points(t)
        return float(np.interp(y, pts[:, 1], pts[:, 0]))

    def skull(self, t: float, grow: float = 0.0) -> tuple[float, float]:
        """A point on the skull ellipse grown by `grow` (pi: left, 1.5 pi: top, 2 pi: right)."""
        return (self.a + grow) * math.cos(t), (self.b + grow) * math.sin(t)

    def project(self, pts: np.ndarray | list, depth: np.ndarray | float = 0.0) -> np.ndarray:
        """Turn frontal face-surface points by the view's yaw; depth pushes toward the viewer."""
        pts = np.array(pts, dtype=float)
        if not self.yaw:
            return pts
        theta = np.arcsin(np.clip(pts[:, 0] / self.a, -1.0, 1.0))
        angle = np.clip(theta + self.yaw, -math.pi / 2, math.pi / 2)
        pts[:, 0] = self.a * np.sin(angle) + np.asarray(depth) * math.sin(self.yaw)
        return pts

    def curve(self, ctrl: list | np.ndarray, per: int = 5) -> np.ndarray:
        """A smooth curve through control points; abstract faces keep the straight segments."""
        return np.asarray(ctrl, dtype=float) if self.abstract else spline(ctrl, per)

    def add(
        self, tag: str, points: np.ndarray | list, priority: int = 0, long: bool = False
    ) -> None:
        self.parts.append(Part(tag, np.asarray(points, dtype=float), priority, long))

    def pair(self) -> tuple[int, int]:
        """Sides (-1 left, +1 right) in the drawer's order for paired features."""
        return (-1, 1) if self.drawer.left_first else (1, -1)

    # ------------------------------------------------------------ head

    def _turn_outline(self, pts: np.ndarray) -> np.ndarray:
        """Give a turned head its profile on the facing side and more skull at the back."""
        if not self.facing:
            return pts
        f, a, b, k = self.facing, self.a, self.b, abs(self.yaw) / 0.45
        x, y = pts[:, 0].copy(), pts[:, 1]

        def bump(mu: float, sd: float) -> np.ndarray:
            return np.exp(-(((y - mu) / sd) ** 2))

        brow_y = self.eye_y - self.eh - 0.1 * a
        profile = (
            0.05 * bump(brow_y, 0.1 * b)
            - 0.06 * bump(self.eye_y + 0.12 * b, 0.1 * b)
            + 0.04 * bump(self.nose_y, 0.12 * b)
            - 0.03 * bump(self.mouth_y, 0.1 * b)
        )
        front = np.clip(f * x / a, 0.0, 1.0) ** 2
        back = np.clip(-f * x / a, 0.0, 1.0) * (1.0 - np.clip(y / (0.6 * b), 0.0, 1.0))
        chin = np.clip((y - 0.45 * b) / (0.55 * b), 0.0, 1.0) ** 2
        x += f * a * k * (front * profile + 0.07 * chin - 0.08 * back)
        return np.column_stack([x, y])

    def head(self, open_top: bool = False) -> None:
        """The outline: one closed stroke with overshoot, a polygon when abstract, or (under
        hair that covers the top) an open curve from temple to temple round the chin."""
        d, rng = self.drawer, self.rng
        if self.abstract:
            head = self.identity.head
            angles = np.array(head.corners)
            shift = np.reshape(head.corner_shift, (-1, 2))
            start = int(np.argmin(np.abs(np.angle(np.exp(1j * (angles - d.start))))))
            angles, shift = np.roll(angles, -start), np.roll(shift, -start, axis=0)
            verts = self._turn_outline(self.head_points(angles)) + shift
            verts += rng.normal(0, 1.0, verts.shape)  # this drawing's hand
            self.add("head", close_polygon(verts, d), long=False)
            return
        if open_top:
            t = np.linspace(-0.12 * math.pi, 1.12 * math.pi, 32)
            t = t if d.clockwise else t[::-1]
            self.add("head", self._turn_outline(self.head_points(t)), long=True)
            return
        n = 44
        sweep = (2 * math.pi + d.overshoot) * (1 if d.clockwise else -1)
        t = d.start + np.linspace(0.0, 1.0, n) * sweep
        grow = 1.0 + d.spiral * np.linspace(0.0, 1.0, n)
        self.add("head", self._turn_outline(self.head_points(t, grow)), long=True)

    # ------------------------------------------------------------ brows

    def _brow_points(self, side: int) -> np.ndarray:
        """Frontal brow over the eye on `side`: its slant and arch carry the emotion."""
        e, k, rng = self.expr, self.intensity, self.rng
        angle, arch, gap = e.brow_angle * k, e.brow_arch, e.brow_gap * self.a
        if self.emotion == "disgusted" and side != self.sneer_side:
            angle, gap = 0.08, 0.12 * self.a
        if self.female and not self.abstract:
            arch += 0.05
        angle += rng.normal(0.0, 0.05)
        length = 2.0 * self.ew * (1.0 if self.cartoon else 1.15)
        inner = self.eye_dx - 1.05 * self.ew
        n = self.identity.features.brow_points
        s = np.linspace(0.0, 1.0, n)
        y = math.tan(angle) * length * (s - 0.5) - arch * length * np.sin(math.pi * s)
        eye_top = self.eye_y - self.eh * self.open
        y = y - y.max() + eye_top - gap
        pts = np.column_stack([side * (inner + s * length), y]) + self.jitter(0.5)
        return pts

    def brows(self) -> None:
        thick = self.identity.features.thick_brows
        width = (0.045 if not self.female else 0.025) * self.a
        for side in self.pair():
            pts = self.brow_pts[side]
            if thick:
                s = np.linspace(0.0, 1.0, len(pts))
                lift = width * (np.sin(math.pi * s) ** 0.5 + 0.3)
                upper = pts - np.column_stack([np.zeros_like(lift), lift])
                pts = np.vstack([pts, upper[::-1]])
            self.add("brow", self.project(pts))

    # ------------------------------------------------------------ eyes

    def eyes(self) -> None:
        for i, side in enumerate(self.pair()):
            self._eye(side, self.eye_scale[i])

    def _eye(self, side: int, scale: float) -> None:
        e, k, d, rng = self.expr, self.intensity, self.drawer, self.rng
        w = self.ew * scale
        ht = self.eh * scale * self.open
        hb = ht * (0.75 if self.realistic else 1.0 if self.cartoon else 0.85)
        cx = side * self.eye_dx + self.jitter()[0]
        cy = self.eye_y + self.jitter()[1]
        s = np.linspace(0.0, 1.0, self.eye_n)
        sin = np.sin(math.pi * s)
        pt, pb = (1.0, 1.2) if self.realistic else (0.55, 0.55) if self.cartoon else (1.0, 1.0)
        up = -ht * sin**pt + ht * 0.9 * (e.droop_in * k * (1 - s) + e.droop_out * k * s) * sin**0.7
        lo = hb * sin**pb * (1.0 - e.lower_up * k * (hb + 0.4 * ht) / hb)
        lo = np.maximum(lo, up + 0.15 * ht * sin)
        x = cx + side * w * (2 * s - 1)
        closed_p = {"realistic": 0.2, "cartoon": 0.5, "abstract": 0.5}[self.style]
        if e.mouth == "smile" and rng.random() < closed_p:
            arc_up = -1.1 * ht * sin ** (0.8 if self.cartoon else 1.0)
            self.add("eye", self.project(np.column_stack([x, cy + arc_up])))
            self._lashes(side, x, cy + arc_up)
            return
        upper, lower = np.column_stack([x, cy + up]), np.column_stack([x, cy + lo])
        if d.one_stroke_eyes or not self.realistic:
            extra = min(len(upper) - 1, 1 + int(d.overshoot * 6))
            outline = np.vstack([upper, lower[::-1][1:], upper[1 : 1 + extra]])
            self.add("eye", self.project(outline))
        else:
            self.add("eye", self.project(upper))
            self.add("eye", self.project(lower[::-1][1:-1] if len(lower) > 4 else lower[::-1]))
        self._lashes(side, x, cy + up)
        self._pupil(side, cx, cy, w, ht, x, cy + up, cy + lo)
        if self.identity.features.eye_crease:
            crease = np.column_stack([x, cy + up - 0.35 * ht * sin - 0.02 * self.a])[2:-2]
            self.add("eye", self.project(crease), priority=2)

    def _pupil(
        self,
        side: int,
        cx: float,
        cy: float,
        w: float,
        ht: float,
        x: np.ndarray,
        y_up: np.ndarray,
        y_lo: np.ndarray,
    ) -> None:
        """Iris and pupil; wide-open eyes get a small iris with white around it."""
        d, rng = self.drawer, self.rng
        wide = self.open > 1.15
        gaze = 0.25 * w * self.facing
        px, py = cx + gaze + rng.normal(0, 0.04 * w), cy + 0.1 * ht
        if self.realistic:
            r = (0.28 if wide else 0.42) * w
            t = -math.pi / 2 + np.linspace(0.0, 2 * math.pi, 17)
            circle = np.column_stack([px + r * np.cos(t), py + r * np.sin(t)])
            order = np.argsort(x)
            top = np.interp(circle[:, 0], x[order], y_up[order])
            bottom = np.interp(circle[:, 0], x[order], y_lo[order])
            inside = (circle[:, 1] >= top + 0.5) & (circle[:, 1] <= bottom - 0.5)
            run = circle[_longest_run(inside)]
            if len(run) >= 4:
                self.add("pupil", self.project(run), priority=1)
            if d.pupil == "circle":
                r = 0.12 * w
                self.add("pupil", self.project(loop(px, py, r, r, d, n=8)), priority=2)
            elif d.pupil == "dot":
                self.add("pupil", self.project([[px, py], [px + 2.0, py + 1.5]]), priority=2)
        elif self.cartoon:
            r = (0.16 if wide else 0.36) * w * rng.uniform(0.85, 1.1)
            if d.pupil == "dot" and wide:
                self.add("pupil", self.project([[px, py], [px + 2.0, py + 1.5]]), priority=1)
            else:
                self.add("pupil", self.project(loop(px, py, r, r, d, n=10)), priority=1)
        elif self.identity.features.pupils:
            self.add("pupil", self.project([[px, py], [px + 2.0, py + 1.5]]), priority=1)

    def _lashes(self, side: int, x: np.ndarray, y: np.ndarray) -> None:
        """Lashes at the outer end of the upper lid, or a flick, for women who have them."""
        lashes = self.identity.features.lashes
        if lashes == "none":
            return
        length = (0.1 if self.cartoon else 0.07) * self.a
        lid = np.column_stack([x, y])
        if lashes == "flick":
            end = lid[-1]
            flick = np.array([end, end + [side * 0.8 * length, -0.6 * length]])
            self.add("lash", self.project(flick), priority=1)
            return
        n = len(lid)
        for i in sorted({max(1, n * 6 // 10), n * 8 // 10, n - 1}):
            p = lid[min(i, n - 1)]
            tip = p + np.array([side * 0.6, -1.0]) * length * self.rng.uniform(0.8, 1.2)
            self.add("lash", self.project(np.array([p, tip])), priority=1)

    # ------------------------------------------------------------ ears and neck

    def ears(self) -> None:
        a, b, f, features = self.a, self.b, self.facing, self.identity.features
        if features.ears == "none":
            return
        top, bot = self.eye_y - 0.06 * b, self.nose_y + 0.03 * b
        mid = (top + bot) / 2
        width = a * features.ear_w
        sides = [-f] if f else list(self.pair())
        for side in sides:
            if f:
                x0 = side * a * math.cos(self.yaw) * 0.95
                ctrl = [
                    [x0, top],
                    [x0 + side * 0.9 * width, top - 0.03 * b],
                    [x0 + side * 1.1 * width, mid],
                    [x0 + side * 0.6 * width, bot],
                    [x0 - side * 0.02 * a, bot - 0.03 * b],
                ]
            else:
                xt, xb = side * self.half_width(top) * 0.98, side * self.half_width(bot) * 0.98
                ctrl = [
                    [xt, top],
                    [xt + side * 0.8 * width, top - 0.03 * b],
                    [xt + side * width, mid],
                    [xb + side * 0.6 * width, bot],
                    [xb, bot + 0.02 * b],
                ]
            pts = self.curve(ctrl, 4)
            if self.abstract:
                pts = pts[[0, 1, 3, 4]]
            self.add("ear", pts)
            if features.ears == "folded":
                inner = np.asarray(ctrl[1:4]) * [1, 1] - [side * 0.35 * width, 0.0]
                self.add("ear", spline(inner, 3), priority=2)

    def neck(self) -> None:
        a, b, features = self.a, self.b, self.identity.features
        if not features.neck:
            return
        half = a * features.neck_w
        shift = -self.facing * 0.12 * a
        t = np.linspace(0.0, math.pi / 2, 30)
        outline = self.head_points(t)
        y0 = float(np.interp(half, outline[::-1, 0], outline[::-1, 1]))
        length = b * features.neck_len
        for side in self.pair():
            x0 = side * half + shift
            pts = np.array(
                [
                    [x0, y0],
                    [x0 + side * 0.03 * a, y0 + 0.5 * length],
                    [x0 + side * 0.07 * a, y0 + length],
                ]
            )
            self.add("neck", pts if self.abstract else spline(pts, 3), priority=2)
        if features.adams_apple:
            y = y0 + 0.45 * length
            self.add(
                "neck",
                [[shift - 0.05 * a, y], [shift, y - 0.03 * b], [shift + 0.05 * a, y]],
                priority=2,
            )

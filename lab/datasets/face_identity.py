"""Who a face is: the identity that stays the same in every emotion and view of one person.

An `Identity` holds everything about the person and the hand that draws them: the gender and
style it belongs to, the drawer's habits, the head's shape and proportions, the hair, beard,
nose, eye, ear and neck classes and sizes. It is drawn once from its own random stream
(`identity(seed)`); the emotion, the view and each drawing's momentary randomness (pen wobble,
jitter, how open a smile is) come from another stream, so one identity can be drawn as the
same person in all 7 emotions and 3 views. The ranges are those the generator drew per face
before identities existed, so different identities vary as much as faces did.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from lab.datasets.face_geometry import Drawer

GENDERS = ("female", "male")
STYLES = ("realistic", "cartoon", "abstract")
HEAD_SHAPES = ("round", "oval", "long")
# Each style's head aspect (half-height / half-width) for a round, oval and long head, and how
# far one person's aspect strays from it: the three shapes are apart, so a reader (an artist or
# a judge) can tell them from one drawing, as they could not when they were thirds of one range.
HEAD_ASPECTS = {
    "realistic": ((1.1, 1.3, 1.5), 0.03),
    "cartoon": ((0.8, 1.0, 1.2), 0.03),
    "abstract": ((0.94, 1.22, 1.5), 0.05),
}
FEMALE_HAIR_STYLES = ("long", "wavy", "side-swept", "bob", "ponytail", "pigtails", "bun")
MALE_HAIR_STYLES = ("crop", "side part", "spiky", "buzz", "quiff", "curly", "balding")
PI = math.pi


@dataclass(frozen=True)
class Hair:
    """One person's hair: its style and shape, the same in every drawing of them.

    Lengths are in head half-widths (a) except `reach`, in head half-heights (b: 1.0 is the
    chin). `details` holds what only one style needs; `random_hair` says what, per style.
    """

    style: str
    volume: float = 0.0  # how far the hair stands off the skull
    reach: float = 0.0  # its lowest point (0 for hair above the ears)
    spread: float = 0.0  # how far it stands out beside the face
    side: int = 1  # -1 or +1: the parting's, sweep's, ponytail's or fringe's side
    part: float = 0.0  # where the parting (or the bun) sits across the head
    dip: float = 0.0  # the hairline's dip at the middle of the forehead
    details: tuple[float, ...] = ()


def random_hair(rng: np.random.Generator, female: bool) -> Hair:
    """A random hair style of the gender, with its shape (the ranges keep it readable)."""
    u = rng.uniform
    style = str(rng.choice(list(FEMALE_HAIR_STYLES if female else MALE_HAIR_STYLES)))
    side, dip = int(rng.choice([-1, 1])), float(rng.normal(0, 0.04))
    common = {"style": style, "side": side, "dip": dip}
    if style in ("long", "wavy", "side-swept"):
        part = side * u(0.35, 0.55) if style == "side-swept" else u(-0.25, 0.25)
        # details: whether a strand hangs inside the left and the right side of the hair
        strands = tuple(float(rng.random() < 0.6) for _ in range(2))
        return Hair(
            **common,
            volume=u(0.1, 0.2),
            reach=u(0.95, 1.35),
            spread=u(0.12, 0.25),
            part=part,
            details=strands,
        )
    if style == "bob":  # details: x of the fringe's strands
        xs = np.sort(rng.uniform(-0.6, 0.6, int(rng.integers(0, 4))))
        return Hair(
            **common,
            volume=u(0.1, 0.2),
            reach=u(0.95, 1.1),
            spread=u(0.15, 0.28),
            details=tuple(float(x) for x in xs),
        )
    if style in ("ponytail", "pigtails"):  # details: whether each tail has a band
        reach = u(1.0, 1.25) if style == "pigtails" else u(1.05, 1.4)
        bands = tuple(float(rng.random() < 0.6) for _ in range(2))
        return Hair(**common, volume=u(0.04, 0.1), reach=reach, details=bands)
    if style == "bun":  # details: the bun's radius, then the left and right lock's wave
        return Hair(
            **common,
            volume=u(0.04, 0.1),
            reach=u(1.1, 1.3),
            part=rng.normal(0, 0.06),
            details=(u(0.3, 0.4), u(0.03, 0.07), u(0.03, 0.07)),
        )
    if style == "spiky":  # details: the height of each spike
        n = int(rng.integers(5, 9))
        return Hair(**common, details=tuple(float(x) for x in rng.uniform(0.18, 0.35, n)))
    if style == "buzz":  # details: where the short hairs on the scalp sit, as skull angles
        angles = rng.uniform(1.2 * PI, 1.8 * PI, int(rng.integers(2, 6)))
        return Hair(**common, volume=0.03, details=tuple(float(t) for t in angles))
    if style == "quiff":  # details: the peak's angle (in pi) and height
        return Hair(**common, volume=u(0.06, 0.12), details=(u(1.35, 1.65), u(0.2, 0.3)))
    if style == "curly":  # details: the count of curls
        return Hair(**common, volume=u(0.08, 0.14), details=(float(rng.integers(6, 10)),))
    if style == "balding":  # details: x of the few hairs on top
        xs = rng.uniform(-0.3, 0.3, int(rng.integers(0, 3)))
        return Hair(**common, details=tuple(float(x) for x in xs))
    volume = u(0.15, 0.25) if style == "side part" else u(0.06, 0.14)  # side part, crop
    return Hair(**common, volume=volume)


@dataclass(frozen=True)
class Head:
    """The head's outline: its shape class, aspect and jaw (units of the half-width A)."""

    shape: str  # one of HEAD_SHAPES: whose band of the style's HEAD_ASPECTS `aspect` is in
    aspect: float  # half-height / half-width
    jaw_p: float  # superellipse power of the jaw: higher is squarer
    taper: float  # how much the jaw narrows toward the chin
    corners: tuple[float, ...]  # abstract heads: the polygon's vertex angles (radians)
    corner_shift: tuple[float, ...]  # abstract heads: each vertex's x and y offset, in units
    open_top: bool  # under hair that covers the top, the outline is an open curve


@dataclass(frozen=True)
class Proportions:
    """Where the features sit and how big they are, in units of the half-width A (y down)."""

    eye_y: float
    eye_dx: float  # from the middle to each eye's centre
    eye_w: float  # half-width of an eye
    eye_h: float  # eye height over its half-width
    nose_y: float
    mouth_y: float
    mouth_w: float  # half-width of a neutral mouth
    eye_points: int  # points of an eye's outline: 3 or 5 in abstract faces (polygons), else 12
    eye_scale: tuple[float, float]  # each eye's size; abstract eyes may differ


@dataclass(frozen=True)
class Features:
    """The person's feature classes and sizes."""

    thick_brows: bool  # brows drawn as a thin closed shape
    brow_points: int  # points of a brow: 2 (straight) or 3 in abstract faces, else 10
    pupils: bool  # abstract faces: a dot in each eye (the others follow the drawer's pupil)
    lashes: str  # "none", "fan" (three lashes) or "flick"
    eye_crease: bool  # realistic faces: a crease over the eye
    nose: str  # realistic "plain" or "bridged", cartoon "button", "u" or "hook", abstract
    # "line" or "wedge"
    nose_size: float  # relative to the style's usual nose
    nose_side: int  # -1 or +1: where a bridge line, a line nose's foot or a hook points
    nostril: bool  # realistic noses in profile: a nostril line
    ears: str  # "none", "plain" or "folded" (realistic: an inner fold)
    ear_w: float  # ear width in half-widths
    lower_lip: bool  # realistic men: a short lower lip line (women always get both lips)
    beard: str  # "none", "line" round the jaw, or "stubble"
    neck: bool
    neck_w: float  # half-width of the neck in half-widths
    neck_len: float  # length of the neck in half-heights
    adams_apple: bool


@dataclass(frozen=True)
class Identity:
    """One person as drawn by one hand: everything about a face but its emotion and view."""

    gender: str
    style: str
    drawer: Drawer
    head: Head
    proportions: Proportions
    hair: Hair
    features: Features

    @property
    def female(self) -> bool:
        return self.gender == "female"


def _choice(
    value: str | None, allowed: tuple[str, ...], name: str, rng: np.random.Generator
) -> str:
    """A checked given value, or one drawn at random."""
    drawn = str(allowed[int(rng.integers(len(allowed)))])
    if value is None:
        return drawn
    if value not in allowed:
        raise ValueError(f"unknown {name} {value!r}; use one of {', '.join(allowed)}")
    return value


def identity(
    seed: int | Sequence[int] | np.random.SeedSequence,
    gender: str | None = None,
    style: str | None = None,
) -> Identity:
    """The identity made from `seed` (anything np.random.default_rng takes), of the given gender
    and style or of random ones; the same seed, gender and style give the same person."""
    rng = np.random.default_rng(seed)
    gender = _choice(gender, GENDERS, "gender", rng)
    style = _choice(style, STYLES, "style", rng)
    return random_identity(rng, gender, style)


def random_identity(rng: np.random.Generator, gender: str, style: str) -> Identity:
    """A random identity of this gender and style, drawn from `rng`."""
    if gender not in GENDERS:
        raise ValueError(f"unknown gender {gender!r}; use one of {', '.join(GENDERS)}")
    if style not in STYLES:
        raise ValueError(f"unknown style {style!r}; use one of {', '.join(STYLES)}")
    female = gender == "female"
    drawer = Drawer.random(rng)
    head, props = _head_and_proportions(rng, female, style)
    hair = random_hair(rng, female)
    features = _features(rng, female, style, drawer)
    return Identity(gender, style, drawer, head, props, hair, features)


def _head_and_proportions(
    rng: np.random.Generator, female: bool, style: str
) -> tuple[Head, Proportions]:
    """The outline and the features' layout, from the ranges of each style."""
    u, a = rng.uniform, 1.0
    shape = int(rng.integers(len(HEAD_SHAPES)))
    centres, stray = HEAD_ASPECTS[style]
    aspect = centres[shape] + stray * (2.0 * rng.random() - 1.0)
    b = a * aspect
    if style == "realistic":
        eye_y, eye_dx = b * u(-0.05, 0.06), a * u(0.38, 0.44)
        ew, eh = a * u(0.17, 0.21), u(0.4, 0.5)
        nose_y, mouth_y = eye_y + b * u(0.38, 0.45), eye_y + b * u(0.63, 0.7)
        mw = a * u(0.3, 0.36)
    elif style == "cartoon":
        eye_y, eye_dx = b * u(0.02, 0.14), a * u(0.36, 0.44)
        ew, eh = a * u(0.19, 0.25), u(0.95, 1.2)
        nose_y = eye_y + ew * eh + b * u(0.06, 0.12)
        mouth_y = nose_y + b * u(0.18, 0.24)
        mw = a * u(0.34, 0.44)
    else:
        eye_y, eye_dx = b * u(-0.1, 0.1), a * u(0.32, 0.45)
        ew, eh = a * u(0.13, 0.22), u(0.5, 1.0)
        nose_y = eye_y + b * u(0.3, 0.4)
        mouth_y = min(nose_y + b * u(0.2, 0.3), 0.78 * b)
        mw = a * u(0.28, 0.4)
    mouth_y = min(mouth_y, 0.8 * b)
    if female:
        jaw_p, taper = u(1.9, 2.3), u(0.3, 0.42) * (0.8 if style == "cartoon" else 1.0)
    else:
        jaw_p, taper = u(2.7, 3.5), u(0.06, 0.18)
    abstract = style == "abstract"
    # Abstract eyes are polygons of 3 or 5 points and may differ in size, as in cubist faces.
    eye_points = int(rng.choice([3, 5])) if abstract else 12
    eye_scale = (u(0.8, 1.25), u(0.8, 1.25)) if abstract else (1.0, 1.0)
    corners: tuple[float, ...] = ()
    corner_shift: tuple[float, ...] = ()
    if abstract:  # left, the top's 2 or 3 corners, right, then the chin's
        m = int(rng.integers(2, 4))
        top = np.pi * (1.0 + (np.arange(m) + 1) / (m + 1)) + rng.normal(0, 0.06, m)
        chin = [0.27, 0.5, 0.73] if female else [0.22, 0.42, 0.58, 0.78]
        angles = np.concatenate(
            [
                [np.pi + rng.normal(0, 0.05)],
                top,
                [2 * np.pi + rng.normal(0, 0.05)],
                2 * np.pi + np.pi * np.array(chin),
            ]
        )
        corners = tuple(float(t) for t in angles)
        corner_shift = tuple(float(x) for x in rng.normal(0, 3.0, 2 * len(angles)))
    open_top = bool(rng.random() < 0.3)
    head = Head(
        HEAD_SHAPES[shape],
        float(aspect),
        float(jaw_p),
        float(taper),
        corners,
        corner_shift,
        open_top,
    )
    props = Proportions(
        *(float(x) for x in (eye_y, eye_dx, ew, eh, nose_y, mouth_y, mw)),
        eye_points=eye_points,
        eye_scale=tuple(float(s) for s in eye_scale),
    )
    return head, props


NOSES = {
    "realistic": ("plain", "bridged"),
    "cartoon": ("button", "u", "hook"),
    "abstract": ("line", "wedge"),
}


def _features(rng: np.random.Generator, female: bool, style: str, drawer: Drawer) -> Features:
    """The feature classes, at the rates the generator drew them per face before."""
    realistic, abstract = style == "realistic", style == "abstract"
    thick = drawer.double_brows and not abstract and (not female or rng.random() < 0.3)
    lashes = "none"
    if female and rng.random() <= (0.6 if abstract else 0.85):
        lashes = "flick" if not abstract and rng.random() < 0.35 else "fan"
    if realistic:  # 40% of realistic noses have a bridge line
        nose = "bridged" if rng.random() < 0.4 else "plain"
    else:
        nose = str(NOSES[style][int(rng.integers(len(NOSES[style])))])
    ear_w = rng.uniform(0.15, 0.22) if style == "cartoon" else rng.uniform(0.11, 0.16)
    ears = "folded" if realistic and rng.random() < 0.6 else "plain"
    if abstract and rng.random() < 0.3:
        ears = "none"
    beard = "none"
    if not female:
        chance = {"realistic": 0.25, "cartoon": 0.2, "abstract": 0.1}[style]
        roll = rng.random()
        beard = "line" if roll < chance else "stubble" if roll < chance + 0.1 else "none"
    neck_chance = {"realistic": 0.85, "cartoon": 0.4, "abstract": 0.35}[style]
    return Features(
        thick_brows=bool(thick),
        brow_points=(2 if rng.random() < 0.6 else 3) if abstract else 10,
        pupils=bool(not abstract or rng.random() < 0.7),
        lashes=lashes,
        eye_crease=bool(realistic and rng.random() < 0.4),
        nose=nose,
        nose_size=float(rng.uniform(0.8, 1.2)),
        nose_side=int(rng.choice([-1, 1])),
        nostril=bool(rng.random() < 0.5),
        ears=ears,
        ear_w=float(ear_w),
        lower_lip=bool(realistic and not female and rng.random() < 0.5),
        beard=beard,
        neck=bool(rng.random() <= neck_chance),
        neck_w=float(rng.uniform(0.34, 0.4) if female else rng.uniform(0.45, 0.52)),
        neck_len=float(rng.uniform(0.3, 0.45)),
        adams_apple=bool(realistic and not female and rng.random() < 0.5),
    )

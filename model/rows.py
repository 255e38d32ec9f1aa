"""The sketches being decoded together: their decoder state and pen positions in packed arrays.

Row i of every array is the i-th open sketch. A sketch joins at the end and leaves by swapping
the last row into its place, so joining and leaving cost one row copy, never a re-concatenation
of the whole batch. Each sampled stroke-5 row is applied to all sketches at once; only the
sketches whose stroke ends this step go through Python, to report the stroke.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import kernels
from .strokes import within

OFF_THE_DRAWING = (
    "the model's first new stroke went far beyond the drawing, so it was left out; "
    "try again, or lower the Variety"
)


@dataclass
class StrokeEvent:
    """A finished stroke of one alternative, in document units: points (K, 2)."""

    tag: Any
    sample: int
    index: int
    points: np.ndarray


@dataclass
class DoneEvent:
    """One alternative has finished; strokes are all its new strokes in document units."""

    tag: Any
    sample: int
    strokes: list[np.ndarray]
    source: str = "model"  # a library drawing's id, "projection:ids", or "model"
    note: str = ""  # why the alternative has no strokes, when it has none


@dataclass
class RowInfo:
    """What a row needs beyond its arrays: whose it is and the strokes it has finished."""

    tag: Any
    sample: int
    source: str = "model"
    strokes: list[np.ndarray] = field(default_factory=list)
    # The region its strokes must stay in, (x0, y0, x1, y1) in document units (a completion's:
    # model.strokes.reach_box of the artist's drawing); None for anywhere. A stroke that leaves
    # it is dropped and ends the alternative.
    reach: tuple[float, float, float, float] | None = None
    note: str = ""


class Rows:
    """Packed per-sketch state: decoder inputs [prev; h], cell c, the latent's constant gate
    share, the full latent z (for the reference step), noise, pen positions and drawn points."""

    def __init__(
        self, hidden: int, z_dim: int, const_dim: int, scale_factor: float, point: int = 5
    ) -> None:
        self.hidden, self.z_dim, self.const_dim = hidden, z_dim, const_dim
        self.point = point  # x's columns before h: the row, and the pen position if read
        self.scale_factor = scale_factor
        self.info: list[RowInfo] = []
        self.cap = self.steps = 0
        self._alloc(8, 256)

    def __len__(self) -> int:
        return len(self.info)

    def _alloc(self, cap: int, steps: int) -> None:
        """Grow every array to cap rows and steps noise/points slots, keeping what is there."""
        n = len(self.info)
        old = getattr(self, "x", None)
        shapes = {
            "x": (cap, self.point + self.hidden),
            "c": (cap, self.hidden),
            "const": (cap, self.const_dim),
            "z": (cap, self.z_dim),
            "temp": (cap,),
            "noise": (cap, steps, 4),
            "pos": (cap, 2),
            "scale": (cap,),
            "offset": (cap, 2),
            "points": (cap, steps, 2),
            "count": (cap,),
            "start": (cap,),
            "limit": (cap,),
            "flags": (cap,),
            "decoder": (cap,),
        }
        for name, shape in shapes.items():
            dtype = (
                np.int64
                if name in ("count", "start", "limit", "flags", "decoder")
                else (np.float64 if name in ("pos", "scale", "offset", "points") else np.float32)
            )
            new = np.zeros(shape, dtype=dtype)
            if old is not None:
                prev = getattr(self, name)
                if prev.ndim == 3:
                    new[:n, : prev.shape[1]] = prev[:n]
                else:
                    new[:n] = prev[:n]
            setattr(self, name, new)
        self.cap, self.steps = cap, steps

    def add(
        self,
        info: RowInfo,
        x: np.ndarray,
        c: np.ndarray,
        const: np.ndarray,
        z: np.ndarray,
        temperature: float,
        noise: np.ndarray,
        pos: np.ndarray,
        scale: float,
        offset: tuple[float, float],
        limit: int,
        decoder: int = 0,
    ) -> None:
        """Append one sketch; noise holds its random numbers for every step it may take, and
        `decoder` says which of the model's decoders draws it."""
        n = len(self.info)
        if n == self.cap or len(noise) > self.steps:
            self._alloc(
                max(self.cap, 2 * (n + 1) if n == self.cap else self.cap),
                max(self.steps, len(noise)),
            )
        self.info.append(info)
        self.x[n], self.c[n], self.const[n], self.z[n] = x, c, const, z
        self.temp[n] = temperature
        self.noise[n, : len(noise)] = noise
        self.pos[n], self.scale[n], self.offset[n] = pos, scale, offset
        self.count[n] = self.start[n] = 0
        self.limit[n] = limit
        self.decoder[n] = decoder

    def remove(self, i: int) -> None:
        """Drop row i by moving the last row into its place."""
        last = len(self.info) - 1
        if i != last:
            for name in (
                "x",
                "c",
                "const",
                "z",
                "temp",
                "noise",
                "pos",
                "scale",
                "offset",
                "points",
                "count",
                "start",
                "limit",
                "decoder",
            ):
                array = getattr(self, name)
                array[i] = array[last]
            self.info[i] = self.info[last]
        self.info.pop()

    def remove_tag(self, tag: Any) -> None:
        """Drop every row of one request."""
        for i in reversed(range(len(self.info))):
            if self.info[i].tag == tag:
                self.remove(i)

    def step_noise(self) -> np.ndarray:
        """Each row's random numbers for its next step, [n, 4]."""
        n = len(self.info)
        steps = np.minimum(self.count[:n], self.steps - 1)  # a row takes at most limit steps
        return self.noise[np.arange(n), steps]

    def advance(
        self, row5: np.ndarray, part: np.ndarray | None = None
    ) -> list[StrokeEvent | DoneEvent]:
        """Move the pens of the sketches stepped (every one, or the rows `part`) by their
        sampled stroke-5 rows (the decoder has already taken each as its next input); report
        finished strokes and sketches, and drop finished sketches."""
        n = len(self.info)
        flags = self.flags[:n]
        flags[:] = 0
        stepped = np.arange(n) if part is None else np.asarray(part, np.int64)
        args = (self.pos, self.scale, self.offset, self.points, self.count, self.limit)
        if not kernels.advance(row5, self.scale_factor, *(a[:n] for a in args), flags, stepped):
            return []
        events: list[StrokeEvent | DoneEvent] = []
        finished = []
        for i in np.flatnonzero(flags):
            info = self.info[i]
            ends = bool(flags[i] & kernels.SKETCH_ENDS)
            if self.count[i] > self.start[i]:
                points = self.points[i, self.start[i] : self.count[i]].copy()
                self.start[i] = self.count[i]
                if info.reach is not None and not within(points, info.reach):
                    ends = True  # the model has wandered off the drawing: stop it there
                    if not info.strokes:
                        info.note = OFF_THE_DRAWING
                else:
                    events.append(StrokeEvent(info.tag, info.sample, len(info.strokes), points))
                    info.strokes.append(points)
            if ends:
                events.append(
                    DoneEvent(info.tag, info.sample, info.strokes, info.source, info.note)
                )
                finished.append(int(i))
        for i in sorted(finished, reverse=True):
            self.remove(i)
        return events

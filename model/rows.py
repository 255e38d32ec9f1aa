"""The sketches being decoded together: their decoder state and pen positions in packed arrays.

Row i of every array is the i-th open sketch. A sketch joins at the end and leaves by swapping
the last row into its place, so joining and leaving cost one row copy, never a re-concatenation
of the whole batch. Each sampled stroke-5 row is applied to all sketches at once; only the
sketches whose stroke ends this step go through Python, to report the stroke.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
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
    character: str = ""  # who it draws (model.character), "" when the model keeps none


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
    character: str = ""  # who it draws (model.character)


@dataclass
class RowArrays:
    """Every per-row array, row i for the i-th open sketch: `cap` rows, and `steps` slots for
    the noise and points of each (model.kernels reads and writes them in place)."""

    x: np.ndarray  # [cap, point + hidden] f32: the previous stroke-5 row (and pen position), h
    c: np.ndarray  # [cap, hidden] f32: the LSTM cell
    const: np.ndarray  # [cap, const_dim] f32: the latent's share of the gates, with the biases
    z: np.ndarray  # [cap, z_dim] f32: the full latent (for the reference step)
    temperature: np.ndarray  # [cap] f32
    noise: np.ndarray  # [cap, steps, 4] f32: the random numbers of every step
    pos: np.ndarray  # [cap, 2] f64: the pen, in model units
    scale: np.ndarray  # [cap] f64: document units per model unit
    offset: np.ndarray  # [cap, 2] f64: where the model's origin lies in the document
    points: np.ndarray  # [cap, steps, 2] f64: the points drawn, in document units
    count: np.ndarray  # [cap] i64: points drawn
    start: np.ndarray  # [cap] i64: where the stroke being drawn starts in points
    limit: np.ndarray  # [cap] i64: the most points it may draw
    flags: np.ndarray  # [cap] i64: set by kernels.advance each step (not kept per row)
    decoder: np.ndarray  # [cap] i64: which of the model's decoders draws it

    @classmethod
    def zeros(
        cls, cap: int, steps: int, point: int, hidden: int, const_dim: int, z_dim: int
    ) -> RowArrays:
        f32, f64, i64 = np.float32, np.float64, np.int64
        return cls(
            x=np.zeros((cap, point + hidden), f32),
            c=np.zeros((cap, hidden), f32),
            const=np.zeros((cap, const_dim), f32),
            z=np.zeros((cap, z_dim), f32),
            temperature=np.zeros(cap, f32),
            noise=np.zeros((cap, steps, 4), f32),
            pos=np.zeros((cap, 2), f64),
            scale=np.zeros(cap, f64),
            offset=np.zeros((cap, 2), f64),
            points=np.zeros((cap, steps, 2), f64),
            count=np.zeros(cap, i64),
            start=np.zeros(cap, i64),
            limit=np.zeros(cap, i64),
            flags=np.zeros(cap, i64),
            decoder=np.zeros(cap, i64),
        )

    def kept(self) -> list[np.ndarray]:
        """The arrays that hold a row's state (all but flags)."""
        return [getattr(self, f.name) for f in fields(self) if f.name != "flags"]

    def copy_into(self, other: RowArrays, n: int) -> None:
        """Rows [:n] of every array into `other`, which has at least as many rows and slots."""
        for mine, theirs in zip(self.kept(), other.kept()):
            if mine.ndim == 3:
                theirs[:n, : mine.shape[1]] = mine[:n]
            else:
                theirs[:n] = mine[:n]


class Rows:
    """Packed per-sketch state (RowArrays, `arrays`) and what each row is (RowInfo, `info`)."""

    def __init__(
        self, hidden: int, z_dim: int, const_dim: int, scale_factor: float, point: int = 5
    ) -> None:
        self.hidden, self.z_dim, self.const_dim = hidden, z_dim, const_dim
        self.point = point  # x's columns before h: the row, and the pen position if read
        self.scale_factor = scale_factor
        self.info: list[RowInfo] = []
        self.cap, self.steps = 8, 256
        self.arrays = self._zeros()

    def __len__(self) -> int:
        return len(self.info)

    def _zeros(self) -> RowArrays:
        return RowArrays.zeros(
            self.cap, self.steps, self.point, self.hidden, self.const_dim, self.z_dim
        )

    def _grow(self, cap: int, steps: int) -> None:
        """Grow every array to cap rows and steps noise/points slots, keeping what is there."""
        old = self.arrays
        self.cap, self.steps = cap, steps
        self.arrays = self._zeros()
        old.copy_into(self.arrays, len(self.info))

    def add(
        self,
        info: RowInfo,
        *,
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
        """Append one sketch: `x` its first input (previous point and hidden state), `c` its
        conditions, `const` the decoder's constant input, `z` its latent; `noise` holds its
        random numbers for every step it may take (at most `limit`); `pos`, `scale` and `offset`
        place it in the document; `decoder` says which of the model's decoders draws it."""
        n = len(self.info)
        if n == self.cap or len(noise) > self.steps:
            self._grow(
                max(self.cap, 2 * (n + 1) if n == self.cap else self.cap),
                max(self.steps, len(noise)),
            )
        self.info.append(info)
        a = self.arrays
        a.x[n], a.c[n], a.const[n], a.z[n] = x, c, const, z
        a.temperature[n] = temperature
        a.noise[n, : len(noise)] = noise
        a.pos[n], a.scale[n], a.offset[n] = pos, scale, offset
        a.count[n] = a.start[n] = 0
        a.limit[n] = limit
        a.decoder[n] = decoder

    def remove(self, i: int) -> None:
        """Drop row i by moving the last row into its place."""
        last = len(self.info) - 1
        if i != last:
            for array in self.arrays.kept():
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
        steps = np.minimum(self.arrays.count[:n], self.steps - 1)  # at most limit steps a row
        return self.arrays.noise[np.arange(n), steps]

    def advance(
        self, row5: np.ndarray, part: np.ndarray | None = None
    ) -> list[StrokeEvent | DoneEvent]:
        """Move the pens of the sketches stepped (every one, or the rows `part`) by their
        sampled stroke-5 rows (the decoder has already taken each as its next input); report
        finished strokes and sketches, and drop finished sketches."""
        n, a = len(self.info), self.arrays
        flags = a.flags[:n]
        flags[:] = 0
        stepped = np.arange(n) if part is None else np.asarray(part, np.int64)
        args = (a.pos, a.scale, a.offset, a.points, a.count, a.limit)
        if not kernels.advance(row5, self.scale_factor, *(v[:n] for v in args), flags, stepped):
            return []
        events: list[StrokeEvent | DoneEvent] = []
        finished = []
        for i in np.flatnonzero(flags):
            info = self.info[i]
            ends = bool(flags[i] & kernels.SKETCH_ENDS)
            if a.count[i] > a.start[i]:
                points = a.points[i, a.start[i] : a.count[i]].copy()
                a.start[i] = a.count[i]
                if info.reach is not None and not within(points, info.reach):
                    ends = True  # the model has wandered off the drawing: stop it there
                    if not info.strokes:
                        info.note = OFF_THE_DRAWING
                else:
                    events.append(StrokeEvent(info.tag, info.sample, len(info.strokes), points))
                    info.strokes.append(points)
            if ends:
                events.append(
                    DoneEvent(
                        info.tag, info.sample, info.strokes, info.source, info.note, info.character
                    )
                )
                finished.append(int(i))
        for i in sorted(finished, reverse=True):
            self.remove(i)
        return events

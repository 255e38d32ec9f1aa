"""Sampling: draw new sketches, complete a partial one, or refine one, in the caller's coordinates.

A `SketchRequest` is one job as the model needs it (the server builds one from each validated
`suggest` message). `DecodeBatch` runs them: sketches join and leave a running batch at any step,
each with its own random generator, so one decoder step serves every open request (the server
batches clients this way) and a seed gives the same drawing whatever else is in the batch.
`sample()` and `stream()` are the simple front doors on top of it.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch

from wire.protocol import DEFAULT_MAX_POINTS, DEFAULT_STRENGTH, MAX_NAME_LEN, MODES

from . import character as C
from . import strokes as S
from .checkpoint import Checkpoint
from .config import DEFAULT_TEMPERATURE
from .decode import FastDecoder
from .library.suggest import Drawn, SketchLibrary
from .mixture import draw
from .network import Inputs
from .raster import rasterize
from .rows import DoneEvent, RowInfo, Rows, StrokeEvent

# What the model can draw; the wire protocol lists the same modes (tests/test_sample.py checks).
MAX_SOURCE_LEN = MAX_NAME_LEN  # a sample's source, as the wire carries it


class ConditionError(ValueError):
    """A condition name or value the model does not know; the message lists the known ones."""


def filled_conditions(
    ckpt: Checkpoint, given: Mapping[str, str | None], seed: int, n: int
) -> list[dict[str, str]]:
    """Each of n alternatives' conditions for "generate": what was given, and a value drawn at
    random (seeded per alternative) for every attribute left out. The model only ever saw
    labelled drawings, so "any emotion" means some emotion, not an all-zero vector."""
    vocab, out = ckpt.vocab, []
    for i in range(n):
        rng = np.random.default_rng([seed % 2**64, i, 1])  # apart from the drawing's own stream
        out.append(
            {
                a: given.get(a) or str(rng.choice(vocab.values[a]))
                for a in vocab.attributes
                if vocab.values[a]
            }
        )
    return out


def runnable_modes(ckpt: Checkpoint) -> tuple[str, ...]:
    """The modes a checkpoint can run: generating from nothing needs a variational prior or no
    encoder (a decoder alone draws from its zero state); refining needs an encoder."""
    if ckpt.config.encoder == "none":
        return tuple(m for m in MODES if m != "refine")
    return MODES if ckpt.config.variational else tuple(m for m in MODES if m != "generate")


@dataclass(frozen=True)
class SketchRequest:
    """One suggestion job: n alternatives of one sketch, in the caller's document units."""

    mode: str = "generate"  # one of MODES
    strokes: Sequence[Any] = ()  # polylines [[x, y], ...] in document units, y down
    conditions: Mapping[str, str] = field(default_factory=dict)
    n: int = 1  # alternatives, sampled together
    temperature: float = DEFAULT_TEMPERATURE  # TEMPERATURES[0] (safe) .. TEMPERATURES[1] (wild)
    seed: int | None = None  # None draws a fresh one
    max_points: int = DEFAULT_MAX_POINTS  # new points per alternative
    bounds: tuple[float, float, float, float] | None = None  # where to draw with no strokes
    sample_latent: bool = False  # refine draws z from the posterior instead of its mean
    use_library: bool = True  # build alternatives from the library's real drawings, if any
    strength: float = DEFAULT_STRENGTH  # refine: 0 the model's own redraw .. 1 the projection
    # Draw this person (model.character): its latent replaces the one the model would draw
    # from, and its conditions fill in those left out; the network draws every alternative.
    character: str | None = None


@dataclass(frozen=True)
class Placement:
    """Maps the model's box (0..S.BOX, y down) to document units: doc = box * scale + offset."""

    scale: float
    offset: tuple[float, float]

    @staticmethod
    def for_request(req: SketchRequest, polylines: list[np.ndarray]) -> Placement:
        """Fit the given strokes (or the bounds, or the model's own box) to the model's box."""
        if polylines and any(len(p) for p in polylines):
            x0, y0, x1, y1 = S.bounds(polylines)
            return Placement(max(x1 - x0, y1 - y0, 1e-6) / S.BOX, (x0, y0))
        x0, y0, x1, y1 = req.bounds if req.bounds is not None else (0.0, 0.0, S.BOX, S.BOX)
        scale = max(min(x1 - x0, y1 - y0), 1e-6) / S.BOX
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        return Placement(scale, (cx - S.BOX / 2 * scale, cy - S.BOX / 2 * scale))

    def to_box(self, polylines: list[np.ndarray]) -> list[np.ndarray]:
        ox, oy = self.offset
        return [(p - (ox, oy)) / self.scale for p in polylines]

    def to_doc(self, xy: np.ndarray) -> np.ndarray:
        return xy * self.scale + np.asarray(self.offset)


class DecodeBatch:
    """A running batch of sketches sharing one decoder step.

    The step is model.decode's compiled path on the CPU, whatever device encodes the requests
    and whichever cell the decoder has: a step of one sketch takes about 10 us there, which a
    GPU step spends launching its first few kernels. `fast=False` takes the reference step
    through the nn.Modules on the model's device. Both read the same per-sketch random
    numbers, so a seed draws the same sketch on either.
    """

    def __init__(
        self, ckpt: Checkpoint, library: SketchLibrary | None = None, fast: bool = True
    ) -> None:
        self.ckpt = ckpt
        self.library = library
        self.model = ckpt.model
        self.device = ckpt.device
        # The compiled step's weights, one set a decoder, laid out when a decoder first draws.
        self.fast = fast
        self._fast: dict[int, FastDecoder] = {}
        hidden = self.model.cfg.dec_rnn_size
        self.rows = Rows(
            hidden, self.model.z_dim, 4 * hidden, ckpt.scale_factor, self.model.decoder_for(0).point
        )
        self._ready: list[StrokeEvent | DoneEvent] = []  # library alternatives, sent next step
        # Network alternatives whose finished drawing becomes their character, by (id(tag),
        # sample): their condition vector [1, C], placement and the given strokes (box units).
        self._to_encode: dict[tuple[int, int], tuple[torch.Tensor, Placement, list]] = {}

    def __len__(self) -> int:
        return len(self.rows) + bool(self._ready)

    @property
    def has_ready(self) -> bool:
        """Library alternatives wait to be reported at the next step."""
        return bool(self._ready)

    def fast_decoder(self, index: int) -> FastDecoder:
        """The compiled step of decoder `index` (of a model with one a category; else 0)."""
        fast = self._fast.get(index)
        if fast is None:
            fast = self._fast[index] = FastDecoder(self.model.decoder_for(index))
        return fast

    @torch.no_grad()
    def add(self, req: SketchRequest, tag: Any = None) -> None:
        """Encode a request (validating it) and add its n alternatives to the batch.

        With a library (and req.use_library), alternatives built from real drawings are ready
        at the next step; the rest are decoded by the network, row by row.
        """
        if req.mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}; got {req.mode!r}")
        if not 0.0 <= req.strength <= 1.0:
            raise ValueError(f"strength must be between 0 and 1; got {req.strength}")
        polylines = [p for p in S.validate_polylines(req.strokes) if len(p)]
        if req.mode != "generate" and not polylines:
            raise ValueError(f"mode '{req.mode}' needs at least one stroke")
        try:
            cond = self.ckpt.vocab.encode(dict(req.conditions))
        except ValueError as e:
            raise ConditionError(str(e)) from None
        placement = Placement.for_request(req, polylines)
        seed = secrets.randbits(64) if req.seed is None else req.seed
        library = self.library if req.use_library else None
        identity, person = None, None
        if req.character is not None:
            identity, kept = C.decode(self.ckpt, req.character)
            req = replace(req, conditions=C.conditions_with(kept, req.conditions))
            cond = self.ckpt.vocab.encode(req.conditions)
            if library is not None and req.mode == "generate":
                person = library.person_of(identity)
            if person is None:
                library = None  # the library's drawings are other people
        drawn: list[Drawn] = []
        if library is not None and req.mode == "generate":
            # A library person has one drawing a look: that one, and the network the rest.
            wanted = req.n if person is None else 1
            drawn = [
                replace(d, strokes=[placement.to_doc(p) for p in d.strokes])
                for d in library.drawings(req.conditions, wanted, req.temperature, seed, person)
            ]
        elif library is not None and req.mode == "complete":
            wanted = req.n - 1 if req.n >= 3 else req.n  # leave one to the network's own idea
            drawn = library.continuations(polylines, req.conditions, wanted, req.temperature, seed)
        for i, d in enumerate(drawn):
            strokes = _limit(d.strokes, req.max_points)
            for j, stroke in enumerate(strokes):
                self._ready.append(StrokeEvent(tag, i, j, stroke))
            who = ""
            latent = d.latent if identity is None else identity  # a character stays itself
            if latent is not None and d.conditions is not None:
                c = self.ckpt.vocab.encode(d.conditions)[: self.model.cond_dim]
                who = C.encode(self.ckpt, np.concatenate([latent, c]))
            self._ready.append(DoneEvent(tag, i, strokes, d.source, character=who))
        samples = list(range(len(drawn), req.n))
        if samples:
            self._add_rows(req, tag, polylines, cond, placement, seed, samples, library, identity)

    def _add_rows(
        self,
        req: SketchRequest,
        tag: Any,
        polylines: list[np.ndarray],
        cond: np.ndarray,
        placement: Placement,
        seed: int,
        samples: list[int],
        library: SketchLibrary | None,
        identity: np.ndarray | None = None,
    ) -> None:
        """Start the network on the given alternatives of a request (of a character's
        `identity`, its latent without c, when one is given)."""
        cfg, n = self.model.cfg, len(samples)
        asked = dict(req.conditions)  # the first alternative's conditions, filled in if drawn
        if cfg.use_condition and (req.mode == "generate" or self.model.bank):
            # A decoder a category draws some category when none is given, in any mode.
            filled = filled_conditions(self.ckpt, req.conditions, seed, req.n)
            cond = np.stack([self.ckpt.vocab.encode(filled[i]) for i in samples])
            asked = filled[samples[0]]
        conditions = torch.tensor(cond, device=self.device).expand(n, -1)
        decoders = self.model.decoder_indices(conditions).tolist()
        if len(set(decoders)) > 1:  # alternatives of several categories: each on its decoder
            for k in sorted(set(decoders)):
                mine = [i for i, d in zip(samples, decoders) if d == k]
                self._add_rows(req, tag, polylines, cond, placement, seed, mine, library, identity)
            return
        decoder = self.model.decoder_for(decoders[0])
        rngs = [np.random.default_rng([seed % 2**64, i]) for i in samples]
        noise = torch.tensor(
            np.stack([r.standard_normal(cfg.z_size + cfg.influence_size) for r in rngs]),
            dtype=torch.float32,
            device=self.device,
        )
        start = torch.tensor(S.START_TOKEN, device=self.device)
        box = placement.to_box(polylines)
        source = "model"
        if identity is not None:
            person = torch.tensor(identity, device=self.device).expand(n, -1)
            z = torch.cat([person, conditions[:, : self.model.cond_dim]], 1)
        if req.mode == "generate":
            z = self.model.prior_z(conditions, noise) if identity is None else z
            h, c = decoder.initial_state(z)
            prev = start.expand(n, 5)
            pos = self._first_position(asked)
        else:
            # The model learnt from RDP-simplified drawings (epsilon 2 in its box); dense
            # input from a tablet is simplified the same way before the model reads it.
            seen = [p for p in S.simplify(box, 2.0) if len(p)]
            if req.mode == "complete":  # the model reads the most recent strokes that fit
                while len(seen) > 1 and sum(map(len, seen)) > cfg.max_seq_len:
                    seen = seen[1:]
            inp = self._inputs(seen, conditions)
            if inp is None:
                points = len(S.polylines_to_stroke3(seen, (0.0, 0.0)))
                raise ValueError(
                    f"the strokes have {points} points after simplification"
                    f"{' (the last stroke alone)' if req.mode == 'complete' else ''}"
                    f"; the model reads at most {cfg.max_seq_len}"
                )
            seq, s3 = inp.strokes, inp.strokes[0, 1:]
            stochastic = req.mode == "complete" or req.sample_latent
            if identity is None:
                z = self.model.encode(inp, sample=stochastic, noise=noise).z
            if req.mode == "refine" and library is not None and req.strength > 0:
                z, source = self._project(z, library, req)
            h, c = decoder.initial_state(z)
            if req.mode == "complete":  # prime the decoder with all but the last given point
                if len(s3) > 1:
                    _, (h, c) = decoder.run(seq[:, :-1], z, (h, c))
                prev = seq[:, -1]
                pos = seen[-1][-1].astype(float)
            else:
                prev = start.expand(n, 5)
                pos = seen[0][0].astype(float) if self.ckpt.starts_at_origin else np.zeros(2)
        z_np, h_np, c_np = (t.float().cpu().numpy() for t in (z, h, c))
        prev_np = prev.float().cpu().numpy()
        if decoder.positional:  # the pen's position after prev: all rows so far
            moved = seq[:, :, :2].sum(1) if req.mode == "complete" else prev[:, :2]
            prev_np = np.concatenate([prev_np, moved.float().cpu().numpy()], 1)
        const = (
            self.fast_decoder(decoders[0]).constant(z_np)
            if self.fast
            else np.zeros((n, self.rows.const_dim), np.float32)
        )
        if identity is None and req.mode != "refine" and C.has_characters(self.ckpt):
            # Who a drawn sample is: its own drawing encoded when it ends (what the artist
            # sees is who is kept), not the seed's z that started it. A refine's is the
            # artist's drawing encoded already.
            given = box if req.mode == "complete" else []
            for j, i in enumerate(samples):
                self._to_encode[id(tag), i] = (conditions[j : j + 1], placement, given)
        steps = int(req.max_points) + 1
        # A completion's new strokes stay near the artist's drawing (model.strokes.REACH).
        reach = S.reach_box(polylines) if req.mode == "complete" else None
        for j, (i, rng) in enumerate(zip(samples, rngs)):
            noise = np.concatenate([rng.random((steps, 2)), rng.standard_normal((steps, 2))], 1)
            self.rows.add(
                RowInfo(tag, i, source, reach=reach, character=C.encode(self.ckpt, z_np[j])),
                x=np.concatenate([prev_np[j], h_np[j]]),
                c=c_np[j],
                const=const[j],
                z=z_np[j],
                temperature=float(req.temperature),
                noise=noise,
                pos=pos,
                scale=placement.scale,
                offset=placement.offset,
                limit=int(req.max_points),
                decoder=decoders[0],
            )

    def _inputs(self, seen: list[np.ndarray], conditions: torch.Tensor) -> Inputs | None:
        """What the encoder reads of simplified polylines in the model's box, once per row of
        `conditions` [n, C]; None when they have more points than the model reads."""
        cfg, n = self.model.cfg, conditions.shape[0]
        # Row 0 as in the training data: from the box origin, or (0, 0) for "start" data.
        origin = seen[0][0] if self.ckpt.starts_at_origin else (0.0, 0.0)
        s3 = S.polylines_to_stroke3(seen, origin)
        if len(s3) > cfg.max_seq_len:
            return None
        s5 = torch.tensor(
            S.stroke3_to_stroke5(S.normalize(s3, self.ckpt.scale_factor)), device=self.device
        )
        start = torch.tensor(S.START_TOKEN, device=self.device)
        seq = torch.cat([start[None], s5]).expand(n, -1, -1)  # [n, P+1, 5]
        raster = None
        if cfg.needs_raster:
            img = rasterize(seen, size=cfg.raster_size)
            raster = torch.tensor(img, device=self.device).expand(n, 1, -1, -1)
        lengths = torch.full((n,), len(s3), dtype=torch.long, device=self.device)
        return Inputs(seq, lengths, conditions, raster)

    def _first_position(self, conditions: Mapping[str, str]) -> np.ndarray:
        """Where `generate` puts the pen before the first row: the box origin, whose offset the
        model learnt as row 0, or for "start" data (row 0 about (0, 0)) the category's recorded
        first point (checkpoint meta "first_point", where its drawings centre in the box) or
        else the box's centre."""
        if not self.ckpt.starts_at_origin:
            return np.zeros(2)
        first = self.ckpt.meta.get("first_point", {}).get(conditions.get("category"))
        return np.asarray(first, dtype=np.float64) if first else np.full(2, S.BOX / 2)

    def _project(
        self, z: torch.Tensor, library: SketchLibrary, req: SketchRequest
    ) -> tuple[torch.Tensor, str]:
        """Blend the artist's latent with its projection onto the nearest real drawings
        (DeepFaceDrawing's slider): strength 0 keeps z, 1 takes the projection."""
        cond = self.model.cond_dim
        latent = z[0, : z.shape[1] - cond].cpu().numpy().astype(np.float64)
        found = library.project(latent, req.conditions)
        if found is None:
            return z, "model"
        projected, used = found
        blend = torch.tensor(
            (1 - req.strength) * latent + req.strength * projected, dtype=z.dtype, device=z.device
        )
        z = z.clone()
        z[:, : z.shape[1] - cond] = blend
        return z, projection_source([i for i, _ in used])

    @torch.no_grad()
    def step(self, part: np.ndarray | None = None) -> list[StrokeEvent | DoneEvent]:
        """Sample one point for every sketch in the batch, or for the rows `part` only (a
        scheduler's choice: the others wait this turn); report finished strokes and sketches."""
        events, self._ready = self._ready, []
        rows, n = self.rows, len(self.rows)
        if not n:
            return events
        stepped = np.arange(n) if part is None else np.asarray(part, np.int64)
        if not len(stepped):
            return events
        index = rows.arrays.decoder[stepped]
        decoders = np.unique(index).tolist() if self.model.bank else [0]
        if part is None and len(decoders) == 1:  # every row on one decoder: stepped in place
            events += rows.advance(self._step_rows(decoders[0], slice(0, n)))
        else:
            # One step a decoder, each over its own rows (gathered, stepped, written back).
            row5 = np.empty((len(stepped), 5), np.float32)
            for k in decoders:
                mine = np.flatnonzero(index == k)
                row5[mine] = self._step_rows(k, stepped[mine])
            events += rows.advance(row5, None if part is None else stepped)
        for event in events:
            if isinstance(event, DoneEvent):
                todo = self._to_encode.pop((id(event.tag), event.sample), None)
                if todo is not None and event.strokes:
                    event.character = self._character_of(event.strokes, *todo) or event.character
        return events

    def _character_of(
        self,
        strokes: list[np.ndarray],
        conditions: torch.Tensor,
        placement: Placement,
        given: list[np.ndarray],
    ) -> str:
        """The character of a finished drawing (document units; a completion's given strokes
        in box units before it): its encoded latent's mean, or "" when it is too long to read."""
        z = self.latent_of([*given, *placement.to_box(strokes)], conditions)
        return "" if z is None else C.encode(self.ckpt, z)

    @torch.no_grad()
    def latent_of(
        self, box_strokes: list[np.ndarray], conditions: torch.Tensor
    ) -> np.ndarray | None:
        """The encoder's mean latent z (z_dim,) of a drawing in the model's box under one row of
        conditions [1, C], as a drawn sample's character holds it; None when it is empty or
        longer than the model reads."""
        seen = [p for p in S.simplify(box_strokes, 2.0) if len(p)]
        inp = self._inputs(seen, conditions) if seen else None
        if inp is None:
            return None
        return self.model.encode(inp, sample=False).z[0].float().cpu().numpy()

    def _step_rows(self, k: int, part: slice | np.ndarray) -> np.ndarray:
        """Step decoder k on some rows (a slice steps them in place; an index array on copies,
        written back); returns their sampled stroke-5 rows."""
        rows, a = self.rows, self.rows.arrays
        x, c = a.x[part], a.c[part]
        if self.fast:
            # Gathered rows take only this step's random numbers, not every step's.
            noise = a.noise[part] if isinstance(part, slice) else rows.step_noise()[part, None]
            row5 = self.fast_decoder(k).step(
                x, c, a.const[part], a.temperature[part], noise, a.count[part]
            )
        else:
            h, c_new, row5 = self._reference_step(k, part)
            x[:, :5], x[:, rows.point :], c[:] = row5, h, c_new
            if self.model.decoder_for(k).positional:
                x[:, 5:7] += row5[:, :2]
        if not isinstance(part, slice):
            a.x[part], a.c[part] = x, c
        return row5

    def _reference_step(
        self, k: int, part: slice | np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Decoder k's step through the training network's modules (any cell, any device)."""
        rows, a, dev = self.rows, self.rows.arrays, self.device
        decoder = self.model.decoder_for(k)
        x = torch.from_numpy(a.x[part]).to(dev)
        prev = x[:, :5]
        state = (x[:, rows.point :], torch.from_numpy(a.c[part]).to(dev))
        origin = x[:, 5:7] - prev[:, :2] if decoder.positional else None  # the pen before prev
        params, (h, c) = decoder.run(
            prev.unsqueeze(1), torch.from_numpy(a.z[part]).to(dev), state, origin
        )
        out = draw(
            type(params)(*(p[:, 0] for p in params)),
            torch.from_numpy(a.temperature[part]).to(dev),
            torch.from_numpy(rows.step_noise()[part]).to(dev),
            torch.from_numpy(a.count[part]).to(dev),
        )
        return h.float().cpu().numpy(), c.float().cpu().numpy(), out.cpu().numpy()

    def cancel(self, tag: Any) -> None:
        """Drop every sketch of a request from the batch."""
        self._ready = [e for e in self._ready if e.tag != tag]
        self.rows.remove_tag(tag)
        for key in [k for k in self._to_encode if k[0] == id(tag)]:
            del self._to_encode[key]


def projection_source(ids: Sequence[str]) -> str:
    """ "projection:ID+ID+ID": the heaviest neighbours (at most three) that fit in a source of
    MAX_SOURCE_LEN characters; at least the first, cut if it alone is too long."""
    out = "projection:" + ids[0] if ids else "projection"
    for i in ids[1:3]:
        if len(out) + 1 + len(i) > MAX_SOURCE_LEN:
            break
        out += "+" + i
    return out[:MAX_SOURCE_LEN]


def _limit(strokes: list[np.ndarray], max_points: int) -> list[np.ndarray]:
    """The strokes cut after max_points points in all, as the network stops at max_points."""
    out, left = [], max_points
    for stroke in strokes:
        if left <= 0:
            break
        out.append(stroke[:left])
        left -= len(out[-1])
    return out


def stream(
    ckpt: Checkpoint, req: SketchRequest, library: SketchLibrary | None = None
) -> Iterator[StrokeEvent | DoneEvent]:
    """Yield each alternative's strokes as they finish, then one DoneEvent per alternative."""
    batch = DecodeBatch(ckpt, library)
    batch.add(req)
    while len(batch):
        yield from batch.step()


def sample(
    ckpt: Checkpoint, req: SketchRequest, library: SketchLibrary | None = None
) -> list[list[np.ndarray]]:
    """The n finished sketches of a request in document units.

    For "complete" each sketch is the given strokes, exactly as given, followed by the new ones;
    for "generate" and "refine" it is only what the model drew.
    """
    given = S.validate_polylines(req.strokes) if req.mode == "complete" else []
    out: list[list[np.ndarray]] = [[] for _ in range(req.n)]
    for event in stream(ckpt, req, library):
        if isinstance(event, DoneEvent):
            out[event.sample] = [*given, *event.strokes]
    return out

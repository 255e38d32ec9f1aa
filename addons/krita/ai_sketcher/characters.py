"""Characters in the Krita plugin, in pure Python: the kept character (saved in the document as
an annotation), whether a request sends it, and the Character sheet (its layout on the page and
the run of one request per face). No Krita here: canvas.py saves and draws, controller.py talks
to the client; the tests drive these without Krita (tests/test_krita_characters.py).

A character is opaque to the plugin: a string from done.characters that the server draws again
as suggest.character (docs/protocol.md, Characters). Around it the plugin keeps what the artist
needs to know who it is: the model that drew it, the conditions it was asked for, where it came
from and its strokes for a thumbnail.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .wire import character as wire_character
from .wire import protocol
from .wire import suggestion as suggestion_module

ANNOTATION = "ai_sketcher_character"  # the document annotation that holds the kept character
ANNOTATION_TEXT = "AI Sketcher: the character Same character draws again"
FORMAT = 1  # of the annotation's JSON
THUMBNAIL_POINTS = 600  # points kept for the docker's thumbnail, all strokes together
SHEET_LAYER = "Character sheet"
SHEET_MARGIN = 0.04  # of the page's shorter side, around the sheet
SHEET_FONT = 0.028  # label size, of the page's shorter side ...
SHEET_FONT_RANGE = (6.0, 28.0)  # ... within these points
FACE_INSET = 0.1  # of a cell, each side: the model draws past the box it is given
LABEL_WIDTH = 0.56  # a label's width per character, of its font size (a rough sans-serif)


class CharacterError(Exception):
    """Why a character cannot be used or kept, said for the artist in one sentence."""


# --- the kept character -----------------------------------------------------------------------


@dataclass(frozen=True)
class Kept:
    """The character a document keeps for Same character and the Character sheet."""

    model: str  # the model that drew it; only that model can draw it again
    character: str  # as done.characters gave it
    conditions: Mapping[str, str] = field(default_factory=dict)  # what is known of who it is
    source: str = ""  # where it came from, for people: "alternative 2 on 'Sketch'"
    strokes: Sequence[Sequence[Sequence[float]]] = ()  # a sketch of it, for the thumbnail

    def describe(self) -> str:
        """Who is kept, in a few words: "female, cartoon, happy (faces), from alternative 2 on
        'Sketch'"."""
        values = ", ".join(v for v in self.conditions.values() if v)
        who = f"{values} ({self.model})" if values else f"a {self.model} character"
        return f"{who}, from {self.source}" if self.source else who

    def to_bytes(self) -> bytes:
        """The annotation's content: small JSON, the thumbnail's strokes thinned and rounded."""
        return json.dumps(
            {
                "format": FORMAT,
                "model": self.model,
                "character": self.character,
                "conditions": dict(self.conditions),
                "source": self.source,
                "strokes": thin(self.strokes, THUMBNAIL_POINTS),
            },
            separators=(",", ":"),
        ).encode()

    @classmethod
    def from_bytes(cls, data: bytes | None) -> Kept | None:
        """The kept character of an annotation; None for none, or for one this plugin cannot
        read (another version's, or damaged), which then simply counts as not kept."""
        if not data:
            return None
        try:
            d = json.loads(bytes(data).decode())
            if not isinstance(d, dict) or d.get("format") != FORMAT:
                return None
            model, character = d["model"], d["character"]
            if not isinstance(model, str) or not model or not valid_character(character):
                return None
            conditions = {str(k): str(v) for k, v in dict(d.get("conditions") or {}).items() if v}
            strokes = [
                [(float(x), float(y)) for x, y in stroke] for stroke in d.get("strokes") or []
            ]
            return cls(model, character, conditions, str(d.get("source") or ""), strokes)
        except (ValueError, TypeError, KeyError, AttributeError):
            return None


def valid_character(text: Any) -> bool:
    """Whether `text` is a character as a done message carries it (the wire's own check)."""
    if not isinstance(text, str) or not text:
        return False
    try:
        protocol.Suggest(id=0, mode="generate", character=text)
    except protocol.ProtocolError:
        return False
    return True


def thin(
    strokes: Sequence[Sequence[Sequence[float]]], most: int
) -> list[list[tuple[float, float]]]:
    """At most about `most` points over all strokes (every k-th, each stroke keeping its ends),
    rounded to a tenth: enough for a thumbnail, small enough for an annotation."""
    total = sum(len(s) for s in strokes)
    step = max(1, math.ceil(total / most)) if most > 0 else 1
    out = []
    for stroke in strokes:
        points = [p for i, p in enumerate(stroke) if i % step == 0 or i == len(stroke) - 1]
        if len(points) >= 2:
            out.append([(round(float(p[0]), 1), round(float(p[1]), 1)) for p in points])
    return out


def kept_from(
    model: str,
    character: str,
    asked: Mapping[str, str],
    sent: Kept | None,
    source: str,
    strokes: Sequence[Sequence[Sequence[float]]],
    offered: Mapping[str, Sequence[str]] | None = None,
) -> Kept:
    """The Kept for a drawing the model made: what the request asked for over what the
    character it was sent (if any) already was, since conditions left out come from it; with
    the model's welcome conditions (`offered`), what the character itself says it was drawn
    under wins (a gender the model chose is known too). Conditions with one value say nothing."""
    before = dict(sent.conditions) if sent is not None and sent.character else {}
    drawn = wire_character.character_conditions(character, offered) if offered else {}
    known = {**before, **asked, **drawn}
    if offered:  # in the model's order, then any it does not offer
        order = [*offered, *(k for k in known if k not in offered)]
        known = {k: known[k] for k in order if k in known and len(offered.get(k) or ()) != 1}
    return Kept(model, character, known, source, strokes)


def request_character(kept: Kept | None, model: str | None, same: bool) -> str | None:
    """The character a Suggest or Optimize sends: the kept one when Same character is on. A
    character kept from another model is refused with what to do (the server would say
    "made by another model")."""
    if not same or kept is None:
        return None
    if model != kept.model:
        raise CharacterError(
            f"The kept character was drawn by the '{kept.model}' model; choose "
            f"'{kept.model}' as the Model, or untick Same character, and try again."
        )
    return kept.character


# --- the character sheet ----------------------------------------------------------------------


@dataclass(frozen=True)
class Label:
    """A column or row title of the sheet, in points: `x`, `y` is the text's anchor point on
    its baseline; `anchor` is SVG's text-anchor ("middle" or "end")."""

    text: str
    x: float
    y: float
    anchor: str


@dataclass(frozen=True)
class SheetLayout:
    """Where a sheet's faces and titles go on the page."""

    cells: list[wire_character.SheetCell]
    labels: list[Label]
    font: float  # the titles' size in points


def sheet_layout(
    conditions: Mapping[str, Sequence[str]], width: float, height: float
) -> SheetLayout:
    """The sheet for a model's welcome `conditions` on a `width` x `height` page (points): a
    column per emotion titled above, a row per view titled on the left, as large as fits
    inside the margins, centred."""
    if width <= 0 or height <= 0:
        raise ValueError(f"a page must have a positive size, not {width} x {height}")
    columns = list(conditions.get(wire_character.SHEET_COLUMNS) or [""])
    rows = list(conditions.get(wire_character.SHEET_ROWS) or [""])
    side = min(width, height)
    margin = SHEET_MARGIN * side
    font = min(max(SHEET_FONT * side, SHEET_FONT_RANGE[0]), SHEET_FONT_RANGE[1])
    left = max((len(r) for r in rows), default=0) * LABEL_WIDTH * font
    left += font if left else 0.0
    top = 1.6 * font if any(columns) else 0.0
    gap = wire_character.SHEET_GAP
    span_x = len(columns) + (len(columns) - 1) * gap  # the grid's width in cells
    span_y = len(rows) + (len(rows) - 1) * gap
    cell = min((width - 2 * margin - left) / span_x, (height - 2 * margin - top) / span_y)
    if cell <= 0:
        raise ValueError(f"a {width:g} x {height:g} page is too small for a character sheet")
    x0 = (width - (left + cell * span_x)) / 2 + left
    y0 = (height - (top + cell * span_y)) / 2 + top
    cells = wire_character.sheet_cells(conditions, (x0, y0), cell)
    step = cell * (1 + gap)
    labels = [
        Label(text, x0 + c * step + cell / 2, y0 - 0.6 * font, "middle")
        for c, text in enumerate(columns)
        if text
    ]
    labels += [
        Label(text, x0 - font, y0 + r * step + cell / 2 + font / 3, "end")
        for r, text in enumerate(rows)
        if text
    ]
    return SheetLayout(cells, labels, font)


def face_box(bounds: Sequence[float]) -> tuple[float, float, float, float]:
    """The box to ask the model to draw a cell's face in: the cell inset on every side, since
    the model's drawings reach past their box."""
    x0, y0, x1, y1 = bounds
    dx, dy = (x1 - x0) * FACE_INSET, (y1 - y0) * FACE_INSET
    return (x0 + dx, y0 + dy, x1 - dx, y1 - dy)


def fit_into(
    strokes: Sequence[Sequence[Sequence[float]]], box: Sequence[float]
) -> list[list[tuple[float, float]]]:
    """The strokes moved (and, if they are bigger, shrunk) just enough to lie inside `box`; a
    drawing that fits already is left as it is."""
    points = [p for s in strokes for p in s]
    out = [[(float(p[0]), float(p[1])) for p in s] for s in strokes]
    if not points:
        return out
    bx0, by0, bx1, by1 = box
    x0, x1 = min(p[0] for p in points), max(p[0] for p in points)
    y0, y1 = min(p[1] for p in points), max(p[1] for p in points)
    scale = min(1.0, (bx1 - bx0) / max(x1 - x0, 1e-9), (by1 - by0) / max(y1 - y0, 1e-9))
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    half_w, half_h = (x1 - x0) * scale / 2, (y1 - y0) * scale / 2
    nx = min(max(cx, bx0 + half_w), bx1 - half_w)  # the centre, moved only as far as needed
    ny = min(max(cy, by0 + half_h), by1 - half_h)
    if scale == 1.0 and (nx, ny) == (cx, cy):
        return out
    return [[(nx + (x - cx) * scale, ny + (y - cy) * scale) for x, y in s] for s in out]


class Sheet:
    """One press of Character sheet: a job per cell of the layout (a suggestion.Session of
    them, which keeps at most MAX_IN_FLIGHT open), each drawing the sheet's character under
    its cell's emotion and view. With no character kept the first face is drawn alone, from
    the artist's conditions, and its character draws the rest."""

    def __init__(
        self,
        layout: SheetLayout,
        model: str,
        kept: Kept | None,
        chosen: Mapping[str, str],
    ) -> None:
        self.layout = layout
        self.model = model
        self.kept = kept
        self.character = kept.character if kept is not None else None
        self.new = kept is None  # the first face makes the character
        # The new character's own conditions: the artist's, less what the sheet varies.
        varied = (wire_character.SHEET_COLUMNS, wire_character.SHEET_ROWS)
        self.own = {k: v for k, v in chosen.items() if k not in varied and v}
        jobs = [suggestion_module.Job(cell) for cell in layout.cells]
        self.session = suggestion_module.Session("sheet", jobs, 1)
        self.drawn: set[int] = set()  # cells whose face is on the layer
        self.stopped = False

    @property
    def running(self) -> bool:
        return self.session.running

    def to_submit(self, room: int) -> list[suggestion_module.Job]:
        """Jobs to send now, at most `room` more (the client's other open requests are the
        caller's to count); until the first face has given its character, only that one."""
        if self.stopped:
            return []
        waiting = self.session.to_submit()
        if self.character is None:
            waiting = [j for j in waiting if j is self.session.jobs[0]]
        return waiting[: max(0, room)]

    def request(self, job: suggestion_module.Job) -> dict[str, Any]:
        """The suggest arguments for a job's face (besides model, n and temperature)."""
        cell = job.target
        first_new = self.character is None
        conditions = {**self.own, **cell.conditions} if first_new else dict(cell.conditions)
        return {
            "mode": "generate",
            "strokes": [],
            "conditions": conditions,
            "bounds": face_box(cell.bounds),
            "character": self.character,
        }

    def done(self, job_id: Any, samples: Any, characters: Any, cancelled: bool = False) -> bool:
        """A face's done; a new sheet takes its character from the first one. Stopped faces
        count as failed, not drawn half-way."""
        job = self.session.job(job_id)
        if job is None:
            return False
        if cancelled:
            return self.session.error(job_id, "stopped")
        self.session.done(job_id, samples, characters)
        if self.character is None and job is self.session.jobs[0]:
            got = job.characters.get(0)
            if got and job.strokes(0):
                self.character = got
            else:
                self.fail_rest(
                    "the first face came back without a character"
                    if job.strokes(0)
                    else "the model drew nothing for the first face"
                )
        return True

    def error(self, job_id: Any, message: str) -> bool:
        job = self.session.job(job_id)
        if job is None:
            return False
        self.session.error(job_id, message)
        if self.character is None and job is self.session.jobs[0]:
            self.fail_rest(message)
        return True

    def fail_rest(self, message: str) -> None:
        """End every face not yet asked for (the open ones end by themselves)."""
        for job in self.session.jobs:
            if job.id is None and not job.finished:
                self.session.failed(job, message)

    def stop(self) -> list[str]:
        """Stop: nothing more is asked for; returns the open ids to cancel."""
        self.stopped = True
        self.session.cancelled = True
        self.fail_rest("stopped")
        return self.session.open_ids()

    def to_draw(self) -> list[tuple[int, Any, list[list[tuple[float, float]]]]]:
        """The finished faces not on the layer yet: (index, cell, strokes fitted into the
        cell); a face the model left empty is skipped."""
        out = []
        for i, job in enumerate(self.session.jobs):
            if i in self.drawn or not job.finished or job.error:
                continue
            strokes = job.strokes(0)
            if strokes:
                out.append((i, job.target, fit_into(strokes, job.target.bounds)))
            else:
                self.drawn.add(i)  # nothing to draw; counted as done
        return out

    def faces(self) -> int:
        """Faces drawn so far."""
        return sum(
            1
            for i in self.drawn
            if not self.session.jobs[i].error and self.session.jobs[i].strokes(0)
        )

    def summary(self) -> str:
        """Where the sheet stands, in one sentence for the docker."""
        jobs = self.session.jobs
        total = len(jobs)
        if self.running:
            done = sum(job.finished for job in jobs)
            return (
                "Stopping the character sheet..."
                if self.stopped
                else f"Drawing the character sheet: {done} of {total} faces..."
            )
        drawn = self.faces()
        failed = [job.error for job in jobs if job.error and job.error != "stopped"]
        if self.stopped:
            return (
                f"Character sheet stopped with {suggestion_module.plural(drawn, 'face')} on "
                f"'{SHEET_LAYER}'."
                if drawn
                else "Character sheet stopped before its first face."
            )
        if not drawn:
            return (
                f"The server could not draw the character sheet: {failed[0]}"
                if failed
                else "The model drew no faces this time; press Character sheet again."
            )
        missing = total - drawn
        tail = ""
        if missing:
            why = f": {failed[0]}" if failed else " (the model left them empty)"
            tail = f" {suggestion_module.plural(missing, 'face')} could not be drawn{why}"
        return (
            f"Drew {suggestion_module.plural(drawn, 'face')} of one character on "
            f"'{SHEET_LAYER}'.{tail}"
        ).rstrip()


def face_name(cell: wire_character.SheetCell, index: int) -> str:
    """A face's shape name on the sheet layer: its label as a plain id ("happy-frontal")."""
    text = "-".join(cell.label.replace(",", " ").split()) or f"face-{index + 1}"
    return "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in text)


def sheet_model(models: Sequence[Any], chosen: Any, kept: Kept | None) -> Any:
    """The welcome's ModelInfo a sheet is drawn with: the kept character's model, else the
    chosen one; CharacterError says what to do when it cannot draw one."""
    if not models or chosen is None:
        raise CharacterError(
            "Not connected to the AI-Sketcher server yet; start it, then try again."
        )
    if kept is not None:
        info = next((m for m in models if m.name == kept.model), None)
        if info is None or not info.characters:
            raise CharacterError(
                f"The kept character was drawn by the '{kept.model}' model, which this "
                "server does not offer; start the server with it, or Forget the character."
            )
        return info
    able = [
        m.name
        for m in models
        if m.characters
        and (
            m.conditions.get(wire_character.SHEET_COLUMNS)
            or m.conditions.get(wire_character.SHEET_ROWS)
        )
    ]
    if chosen.name not in able:
        hint = f"choose '{able[0]}' as the Model" if able else "serve a model such as 'faces'"
        raise CharacterError(
            f"A character sheet needs a model that keeps characters and draws emotions or views, "
            f"and '{chosen.name}' does not; {hint} and press Character sheet again."
        )
    return chosen

"""The operators' bookkeeping, in pure Python (no bpy): jobs, alternatives, seeds, conditions.

A Session is one press of Suggest, Autodraw face or Autodraw all: one or more targets (an
object's frame), each with its own server job and seed. The timer feeds it the client's messages;
it says which strokes to draw where, and which alternative is on show. It holds names and frame
numbers only, never Blender data, so that undo (which replaces all Blender data) cannot break it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

ANY = "__any__"  # the enum item meaning "leave this condition to the model"
FACE_CONDITIONS = ("gender", "emotion", "style", "view")  # the face model's own conditions
CONDITIONS = ("category", *FACE_CONDITIONS)  # the ones the panel can set
MAX_IN_FLIGHT = 3  # jobs open at once; the server allows 4 per connection

Stroke2 = Sequence[Sequence[float]]


@dataclass(frozen=True)
class Target:
    """Where one job's strokes go: an object, the artist's layer on it, and a frame number."""

    object_name: str
    layer_name: str
    frame: int


@dataclass
class Request:
    """What to ask the server for one target (the arguments of SuggestClient.suggest)."""

    mode: str  # "complete" or "generate"
    strokes: list[Stroke2] = field(default_factory=list)
    bounds: tuple[float, float, float, float] | None = None
    seed: int | None = None
    depth: float = 0.0  # local y of the plane the results are drawn on
    radius: float = 0.01  # line radius of the drawn strokes
    material_index: int = 0


@dataclass
class Job:
    """One target's request and every stroke received for it, per alternative."""

    target: Target
    request: Request
    id: str | None = None  # the client's job id once submitted
    running: bool = False
    finished: bool = False
    samples: dict[int, dict[int, Stroke2]] = field(default_factory=dict)  # sample -> index -> pts
    drawn: int = 0  # strokes of the alternative on show that are on the layer already
    clear: bool = False  # the layer's frame must be emptied before drawing
    error: str | None = None

    def strokes(self, sample: int) -> list[Stroke2]:
        """The alternative's strokes received so far, in order, up to the first gap."""
        got = self.samples.get(sample, {})
        out = []
        while len(out) in got:
            out.append(got[len(out)])
        return out


@dataclass
class Draw:
    """An instruction for gpencil.py: put `strokes` on the target's suggestion frame."""

    job: Job
    clear: bool
    strokes: list[Stroke2]


class Session:
    """The jobs of one operator press and the alternative on show, shared by all its targets."""

    def __init__(self, kind: str, jobs: Sequence[Job], n: int) -> None:
        self.kind = kind  # "suggest", "autodraw" or "autodraw_all", for messages
        self.jobs = list(jobs)
        self.n = n  # alternatives per job
        self.current = 0  # the alternative on show, 0-based

    @property
    def running(self) -> bool:
        return any(not job.finished for job in self.jobs)

    def to_submit(self) -> list[Job]:
        """Jobs to send now: the next ones in line, keeping at most MAX_IN_FLIGHT open."""
        open_jobs = sum(job.running for job in self.jobs)
        waiting = [job for job in self.jobs if job.id is None and not job.finished]
        return waiting[:max(0, MAX_IN_FLIGHT - open_jobs)]

    def submitted(self, job: Job, job_id: str) -> None:
        job.id, job.running = job_id, True

    def failed(self, job: Job, message: str) -> None:
        job.running, job.finished, job.error = False, True, message

    def job(self, job_id: Any) -> Job | None:
        return next((job for job in self.jobs if job.id is not None and job.id == job_id), None)

    def stroke(self, job_id: Any, sample: int, index: int, points: Stroke2) -> bool:
        """Record a streamed stroke; True if it belongs to this session."""
        job = self.job(job_id)
        if job is None or job.finished:
            return False
        job.samples.setdefault(sample, {})[index] = points
        return True

    def done(self, job_id: Any, samples: Sequence[Sequence[Stroke2]]) -> bool:
        """Record a job's `done`: it carries every stroke, streamed or not."""
        job = self.job(job_id)
        if job is None or job.finished:
            return False
        for i, sample in enumerate(samples):
            known = job.samples.setdefault(i, {})
            for j, points in enumerate(sample):
                known.setdefault(j, points)
        job.running, job.finished = False, True
        if self.current_is_empty() and not self.running:
            self.show_first_full()
        return True

    def error(self, job_id: Any, message: str) -> bool:
        job = self.job(job_id)
        if job is None or job.finished:
            return False
        self.failed(job, message)
        return True

    def current_is_empty(self) -> bool:
        return not any(job.strokes(self.current) for job in self.jobs)

    def show_first_full(self) -> None:
        """Show the first alternative that has strokes (the model may leave some empty)."""
        for i in range(self.n):
            if any(job.strokes(i) for job in self.jobs):
                self.show(i)
                return

    def show(self, sample: int) -> None:
        if sample != self.current:
            self.current = sample
            for job in self.jobs:
                job.drawn, job.clear = 0, True

    def flip(self, step: int) -> int:
        """Show the next (+1) or previous (-1) alternative; skips empty ones once all are in."""
        target = (self.current + step) % self.n
        if not self.running:
            while target != self.current and not any(job.strokes(target) for job in self.jobs):
                target = (target + step) % self.n
        self.show(target)
        return self.current

    def pending_draws(self) -> list[Draw]:
        """What to draw now: each job's strokes of the alternative on show not drawn yet."""
        out = []
        for job in self.jobs:
            strokes = job.strokes(self.current)[job.drawn:]
            if strokes or job.clear:
                out.append(Draw(job, job.clear, strokes))
        return out

    def drawn(self, draw: Draw) -> None:
        draw.job.drawn = (0 if draw.clear else draw.job.drawn) + len(draw.strokes)
        draw.job.clear = False

    def counts(self) -> list[int]:
        """Strokes per alternative, over all targets."""
        return [sum(len(job.strokes(i)) for job in self.jobs) for i in range(self.n)]

    def errors(self) -> list[str]:
        return [job.error for job in self.jobs if job.error]


def seed_for(base: int, object_name: str, frame: int) -> int:
    """A seed of its own for every (object, frame), reproducible from the base seed."""
    digest = hashlib.blake2b(f"{base}\0{object_name}\0{frame}".encode(), digest_size=4).digest()
    return int.from_bytes(digest, "little")


def conditions_for(offered: Mapping[str, Sequence[str]], chosen: Mapping[str, str],
                   face: bool) -> dict[str, str]:
    """The conditions to send: the chosen ones the model offers, and category=face for faces.

    `offered` is the model's conditions from the welcome (empty list: any value); `chosen` maps
    condition names to the panel's choices (ANY or "" leaves it to the model).
    """
    out = {}
    for name in CONDITIONS:
        if name not in offered:
            continue
        allowed = offered[name]
        value = chosen.get(name, ANY)
        if face and name == "category":
            value = "face"
        if value and value != ANY and (not allowed or value in allowed):
            out[name] = value
    return out


def preferred_model(models: Sequence[Any]) -> Any:
    """The model "Auto" picks: the first that takes face conditions (this add-on draws faces for
    storyboards), else the server's default; None before the welcome lists any."""
    return next((m for m in models if any(n in m.conditions for n in FACE_CONDITIONS)),
                models[0] if models else None)


def face_problem(offered: Mapping[str, Sequence[str]]) -> str | None:
    """Why a model cannot autodraw faces, or None when it can."""
    categories = offered.get("category")
    if categories and "face" not in categories and not any(
            name in offered for name in FACE_CONDITIONS):
        return "this model has no 'face' category, so it cannot autodraw faces; pick another model"
    return None


def missing_face_conditions(offered: Mapping[str, Sequence[str]]) -> list[str]:
    """The face conditions (gender, emotion, style, view) this model does not take."""
    return [name for name in FACE_CONDITIONS if name not in offered]


def enum_number(value: str) -> int:
    """A stable enum item number for a value, so a saved choice survives a new item list."""
    digest = hashlib.blake2b(value.encode(), digest_size=4).digest()
    return (int.from_bytes(digest, "little") & 0x7FFFFFFF) or 1  # 0 is ANY's


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def summary(session: Session) -> str:
    """A sentence for the panel about where the session stands."""
    counts = session.counts()
    shown = counts[session.current]
    where = (f" on {plural(len(session.jobs), 'frame')}" if len(session.jobs) > 1 else "")
    if session.running:
        done = sum(job.finished for job in session.jobs)
        progress = f" ({done} of {len(session.jobs)} done)" if len(session.jobs) > 1 else ""
        return f"Drawing{progress}... alternative {session.current + 1} has " \
               f"{plural(shown, 'stroke')} so far{where}."
    errors = session.errors()
    if not any(counts):
        return ("The server could not draw this: " + errors[0]) if errors else \
            "The model had nothing to add this time; try again or raise Variety."
    flip = " Next/Previous flip between them." if sum(1 for c in counts if c) > 1 else ""
    failed = f" {plural(len(errors), 'frame')} failed: {errors[0]}" if errors else ""
    return (f"Alternative {session.current + 1} of {session.n}: {plural(shown, 'stroke')}{where}."
            f"{flip} Accept adds it to your layer, Reject removes it.{failed}")


def wrap(text: str, width: int) -> Iterable[str]:
    """`text` in lines of at most `width` characters, for panel labels (which do not wrap)."""
    line = ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            yield line
            line = word
        else:
            line = f"{line} {word}" if line else word
    if line:
        yield line

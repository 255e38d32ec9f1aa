"""The state of one suggestion, in pure Python, shared by the Krita and Blender add-ons.

A Session is one press of Suggest (or Optimize, or Autodraw): one or more jobs, each a server
request for one target (a Krita layer, a Blender object's frame), whose alternatives stream in
stroke by stroke. The host's timer feeds it the client's messages; it says which alternative is
on show, flips between them and tells the host what to draw. It holds no host objects of its
own (a job's `target` and `request` are whatever the host put there), so that the hosts differ
only in how they draw: Blender redraws the alternative on show (pending_draws), Krita keeps
every alternative as shapes and shows or hides them (take_new).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

# Jobs open at once: one short of the server's 4 per connection, so a guide request fits too.
MAX_IN_FLIGHT = 3

Stroke2 = Sequence[Sequence[float]]


@dataclass
class Job:
    """One target's request and every stroke received for it, per alternative."""

    target: Any  # where the strokes go, in the host's terms (names, not live host data)
    request: Any = None  # what to ask the server for, in the host's terms
    id: str | None = None  # the client's job id once submitted
    running: bool = False
    finished: bool = False
    samples: dict[int, dict[int, Stroke2]] = field(default_factory=dict)  # sample -> index -> pts
    drawn: int = 0  # strokes of the alternative on show that are on the layer already
    clear: bool = False  # the layer's frame must be emptied before drawing
    taken: dict[int, int] = field(default_factory=dict)  # sample -> strokes handed to take_new
    error: str | None = None
    characters: dict[int, str] = field(default_factory=dict)  # sample -> who it draws

    def strokes(self, sample: int) -> list[Stroke2]:
        """The alternative's strokes received so far, in order, up to the first gap."""
        got = self.samples.get(sample, {})
        out: list[Stroke2] = []
        while len(out) in got:
            out.append(got[len(out)])
        return out


@dataclass
class Draw:
    """What the host should draw for one job: `strokes` of the alternative on show, after
    emptying what it drew before if `clear`."""

    job: Job
    clear: bool
    strokes: list[Stroke2]


class Session:
    """The jobs of one press and the alternative on show, shared by all its targets."""

    def __init__(self, kind: str, jobs: Sequence[Job], n: int) -> None:
        self.kind = kind  # "suggest", "refine", "autodraw" or "autodraw_all", for messages
        self.jobs = list(jobs)
        self.n = n  # alternatives per job
        self.current = 0  # the alternative on show, 0-based
        self.cancelled = False  # the artist pressed Stop

    @property
    def running(self) -> bool:
        return any(not job.finished for job in self.jobs)

    def to_submit(self) -> list[Job]:
        """Jobs to send now: the next ones in line, keeping at most MAX_IN_FLIGHT open."""
        open_jobs = sum(job.running for job in self.jobs)
        waiting = [job for job in self.jobs if job.id is None and not job.finished]
        return waiting[: max(0, MAX_IN_FLIGHT - open_jobs)]

    def submitted(self, job: Job, job_id: str) -> None:
        job.id, job.running = job_id, True

    def failed(self, job: Job, message: str) -> None:
        job.running, job.finished, job.error = False, True, message

    def job(self, job_id: Any) -> Job | None:
        return next((job for job in self.jobs if job.id is not None and job.id == job_id), None)

    def open_ids(self) -> list[str]:
        """The ids of the jobs the server is still working on (to cancel them)."""
        return [job.id for job in self.jobs if job.running and job.id is not None]

    def stroke(self, job_id: Any, sample: int, index: int, points: Stroke2) -> bool:
        """Record a streamed stroke; True if it belongs to this session."""
        job = self.job(job_id)
        if job is None or job.finished:
            return False
        job.samples.setdefault(sample, {})[index] = points
        return True

    def done(
        self,
        job_id: Any,
        samples: Sequence[Sequence[Stroke2]],
        characters: Sequence[str] | None = None,
    ) -> bool:
        """Record a job's `done`: it carries every stroke, streamed or not, and the character
        of each alternative when the model keeps them."""
        job = self.job(job_id)
        if job is None or job.finished:
            return False
        job.characters = {i: c for i, c in enumerate(characters or ()) if c}
        for i, sample in enumerate(samples):
            known = job.samples.setdefault(i, {})
            for j, points in enumerate(sample):
                known.setdefault(j, points)
        job.running, job.finished = False, True
        if self.current_is_empty() and not self.running:
            self.show_first_full()
        return True

    def error(self, job_id: Any, message: str) -> bool:
        """Record a job's error; True if it belongs to this session."""
        job = self.job(job_id)
        if job is None or job.finished:
            return False
        self.failed(job, message)
        return True

    def character(self) -> str | None:
        """The character of the alternative on show (its first job's that has one), to keep."""
        for job in self.jobs:
            found = job.characters.get(self.current)
            if found:
                return found
        return None

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
        """What to draw now, for hosts that redraw on flip: each job's strokes of the
        alternative on show not drawn yet (call drawn() once they are)."""
        out = []
        for job in self.jobs:
            strokes = job.strokes(self.current)[job.drawn :]
            if strokes or job.clear:
                out.append(Draw(job, job.clear, strokes))
        return out

    def drawn(self, draw: Draw) -> None:
        draw.job.drawn = (0 if draw.clear else draw.job.drawn) + len(draw.strokes)
        draw.job.clear = False

    def take_new(self, job: Job) -> dict[int, list[Stroke2]]:
        """For hosts that keep every alternative: the strokes of each alternative that arrived
        since the last call, in order (sample -> strokes); each stroke is handed out once."""
        out = {}
        for sample in sorted(job.samples):
            strokes = job.strokes(sample)[job.taken.get(sample, 0) :]
            if strokes:
                out[sample] = strokes
                job.taken[sample] = job.taken.get(sample, 0) + len(strokes)
        return out

    def shown_strokes(self) -> list[Stroke2]:
        """Every stroke of the alternative on show, over all jobs (what Accept adds)."""
        return [s for job in self.jobs for s in job.strokes(self.current)]

    def counts(self) -> list[int]:
        """Strokes per alternative, over all targets."""
        return [sum(len(job.strokes(i)) for job in self.jobs) for i in range(self.n)]

    def errors(self) -> list[str]:
        return [job.error for job in self.jobs if job.error]


def variety_for(info: Any, chosen: Mapping[str, float], default: float) -> float:
    """The Variety to show for a model (a welcome's ModelInfo, or None before it): the one the
    artist chose for it, else the model's measured best (`info.temperature`), else `default`."""
    if info is None:
        return default
    return float(chosen.get(info.name, info.temperature))


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def summary(session: Session) -> str:
    """A sentence for the panel or docker about where the session stands."""
    counts = session.counts()
    shown = counts[session.current]
    where = f" on {plural(len(session.jobs), 'frame')}" if len(session.jobs) > 1 else ""
    if session.running:
        if session.cancelled:
            return "Stopping..."
        done = sum(job.finished for job in session.jobs)
        progress = f" ({done} of {len(session.jobs)} done)" if len(session.jobs) > 1 else ""
        return (
            f"Drawing{progress}... alternative {session.current + 1} has "
            f"{plural(shown, 'stroke')} so far{where}."
        )
    errors = session.errors()
    if not any(counts):
        return (
            ("The server could not draw this: " + errors[0])
            if errors
            else "The model had nothing to add this time; try again or raise Variety."
        )
    stopped = "Stopped. " if session.cancelled else ""
    flip = " Next/Previous flip between them." if sum(1 for c in counts if c) > 1 else ""
    failed = f" {plural(len(errors), 'frame')} failed: {errors[0]}" if errors else ""
    return (
        f"{stopped}Alternative {session.current + 1} of {session.n}: "
        f"{plural(shown, 'stroke')}{where}."
        f"{flip} Accept adds it to your layer, Reject removes it.{failed}"
    )

"""The inference engine: owns the loaded models and draws every sketch on one worker thread.

The asyncio loop only submits jobs and reads their events, so pings, cancels and other clients
are served while sketches are drawn. All open jobs of a model share one running batch
(model.sample.DecodeBatch): a job joins at the next step and leaves when its last alternative ends,
which batches requests across connections and across the n alternatives of each.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections import Counter, deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from model.checkpoint import Checkpoint
from model.library import SketchLibrary
from model.sample import ConditionError, DecodeBatch, DoneEvent, SketchRequest, StrokeEvent
from wire.protocol import Done, Error, ProtocolError, Stroke

from .fairness import Fairness

log = logging.getLogger(__name__)


# Fair turns (Engine._fair_split): an owner with at most this many sketches drawing is light and
# steps every turn (the add-ons and the page ask for 3 alternatives by default); while light work
# is in flight (here or a guide's: sketch_server.fairness), the heavy owners' rows share this many
# a turn, paced.
LIGHT_ROWS = 4
HEAVY_ROWS_PER_TURN = 4


class EngineBusy(Exception):
    """Too many jobs are open; the client should try again later."""


# A finished stroke is the model's own StrokeEvent (its tag is the job), passed on as it is; a
# job ends with the wire's own `done` or `error`, made here, so there is one type for each.
JobEvent = StrokeEvent | Done | Error


def wire_points(points: np.ndarray) -> Stroke:
    """A stroke as wire points; the protocol needs 2, so a 1-point stroke is sent as [p, p]."""
    out: Stroke = tuple(map(tuple, points.tolist()))  # type: ignore[arg-type]
    return out * 2 if len(out) == 1 else out


@dataclass(eq=False)
class Job:
    """One request in flight; its events arrive on `events`, an asyncio queue of the caller."""

    model: str
    request: SketchRequest  # built by the connection from a validated protocol.Suggest
    loop: asyncio.AbstractEventLoop
    owner: Any = None  # whose job it is (a connection): the batch is shared fairly by owner
    # The request's id on the wire, which its done or error carries (0 for a job that is not a
    # request: the engine's own tests).
    id: str | int = 0
    received: float = field(default_factory=time.perf_counter)  # done.elapsed_ms counts from it
    events: asyncio.Queue[JobEvent] = field(default_factory=asyncio.Queue)
    cancelled: threading.Event = field(default_factory=threading.Event)
    samples: list[list[np.ndarray]] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    characters: list[str] = field(default_factory=list)
    remaining: int = 0
    ended: bool = False  # its done or error has been emitted; touched by the worker only


class Outbox:
    """Events on their way from the worker to the jobs' asyncio loops, handed over once per
    worker turn: a step that finishes strokes of many jobs wakes each loop once, not once per
    stroke (a wake-up is a syscall, and the GIL changing hands)."""

    def __init__(self) -> None:
        self._items: dict[asyncio.AbstractEventLoop, list[tuple[Job, JobEvent]]] = {}

    def put(self, job: Job, event: JobEvent) -> None:
        self._items.setdefault(job.loop, []).append((job, event))

    def flush(self) -> None:
        items, self._items = self._items, {}
        for loop, events in items.items():
            try:
                loop.call_soon_threadsafe(_deliver, events)
            except RuntimeError:  # the loop has closed: the server is shutting down
                pass


def _deliver(events: list[tuple[Job, JobEvent]]) -> None:
    """On the loop: queue each event for its job's forwarder."""
    for job, event in events:
        job.events.put_nowait(event)


class Engine:
    """Loaded models plus the worker thread that samples from them."""

    def __init__(
        self,
        models: Mapping[str, Checkpoint],
        *,
        max_jobs: int = 64,
        max_rows: int = 64,
        reserve_rows: int = 16,
        threads: int = 1,
        libraries: Mapping[str, SketchLibrary] | None = None,
        reference_decoder: bool = False,
        fairness: Fairness | None = None,
    ) -> None:
        if not models:
            raise ValueError("the engine needs at least one model")
        self.models = dict(models)
        self.libraries = dict(libraries or {})  # by model name; a model may have none
        self.fast = not reference_decoder  # the compiled step, or the nn.Modules' (bench)
        self.max_jobs = max_jobs  # open jobs across all clients before `busy`
        self.max_rows = max_rows  # sketches decoded together per model
        # Rows past max_rows kept for owners with nothing in the batch, so a client's first
        # request starts at once even while another fills the batch with long ones.
        self.reserve_rows = reserve_rows
        # Intra-op threads of the worker (0: torch's default). One is fastest for small models:
        # a step is a few small matmuls, and more threads only fight other processes for cores.
        self.threads = threads
        self._intake: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._open = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._outbox = Outbox()  # touched by the worker only
        self._cursor = 0  # the heavy owner whose rows step first next turn (worker only)
        # Shared with the guide threads (the server's): light rows here hold heavy guides back,
        # and a light guide holds heavy rows back.
        self.fairness = fairness if fairness is not None else Fairness()
        self.fairness.on_light_ended(lambda: self._intake.put(None))  # wake to run heavy rows
        self._light_here = False  # this worker has light rows, counted in fairness (worker only)
        self._rest = 0.0  # seconds the worker may wait for new jobs next turn (worker only)

    @property
    def open_jobs(self) -> int:
        """Jobs submitted and not yet ended, waiting or running."""
        return self._open

    def start(self) -> None:
        """Start the worker thread; jobs submitted before this wait for it."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="sketch-engine", daemon=True)
            self._thread.start()

    def close(self) -> None:
        """Stop the worker; jobs still open end with a `busy` error."""
        self._stop.set()
        self._intake.put(None)
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def submit(
        self,
        model: str,
        request: SketchRequest,
        loop: asyncio.AbstractEventLoop,
        owner: Any = None,
        id: str | int = 0,
        received: float | None = None,
    ) -> Job:
        """Queue a job for `owner` (a connection) under the request's wire `id`, received at
        `received` (time.perf_counter; now if None); raises EngineBusy when max_jobs are open."""
        if model not in self.models:
            raise KeyError(model)
        with self._lock:
            if self._stop.is_set():
                raise EngineBusy("the server is shutting down; try again when it is back")
            if self._open >= self.max_jobs:
                raise EngineBusy(
                    f"the server is drawing {self._open} sketches already; try again in a moment"
                )
            self._open += 1
        job = Job(model, request, loop, owner=owner, id=id)
        if received is not None:
            job.received = received
        self._intake.put(job)
        return job

    def cancel(self, job: Job) -> None:
        """Ask the worker to stop a job at its next step; it then ends with a cancelled done."""
        job.cancelled.set()
        self._intake.put(None)  # wake the worker if it is idle

    # ------------------------------------------------------------------ worker thread

    def _fail(self, job: Job, code: str, message: str) -> None:
        """End a job with an error (a protocol error code and a sentence for the artist)."""
        self._finish(job, Error(id=job.id, code=code, message=message))

    def _finish(self, job: Job, event: Done | Error) -> None:
        if job.ended:  # after a worker failure a job may be on its way out already
            return
        job.ended = True
        with self._lock:  # before the event: a client told `done` may submit again at once
            self._open -= 1
        self._outbox.put(job, event)

    def _run(self) -> None:
        if self.threads:
            torch.set_num_threads(self.threads)  # per thread: the event loop's torch is untouched
        batches = self._batches()
        waiting: deque[Job] = deque()
        active: set[Job] = set()
        while not self._stop.is_set():
            try:
                self._turn(batches, waiting, active)
            except Exception:  # a bug here must not strand every open job: end them and go on
                log.exception("the engine worker failed; ending the jobs it held")
                for job in [*waiting, *active]:
                    self._fail(
                        job,
                        "internal",
                        "the server's engine failed; the server log has the details",
                    )
                waiting.clear()
                active.clear()
                batches = self._batches()
            self._outbox.flush()
        self._mark_light(False)
        for job in [*waiting, *active]:
            self._fail(job, "busy", "the server is shutting down; try again when it is back")
        while True:  # jobs submitted while the worker was stopping
            try:
                item = self._intake.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                self._fail(item, "busy", "the server is shutting down; try again when it is back")
        self._outbox.flush()

    def _batches(self) -> dict[str, DecodeBatch]:
        return {
            name: DecodeBatch(ckpt, self.libraries.get(name), fast=self.fast)
            for name, ckpt in self.models.items()
        }

    def _turn(self, batches: dict[str, DecodeBatch], waiting: deque[Job], active: set[Job]) -> None:
        """Take in new jobs, drop cancelled ones, start waiting ones, then step every batch."""
        idle = not active and not waiting
        rest, self._rest = (0.5 if idle else self._rest), 0.0
        try:
            item = self._intake.get(timeout=rest) if rest else self._intake.get_nowait()
            while True:
                if item is not None:
                    waiting.append(item)
                item = self._intake.get_nowait()
        except queue.Empty:
            pass
        for job in [j for j in active if j.cancelled.is_set()]:
            batches[job.model].cancel(job)
            active.discard(job)
            self._finish(job, self._done(job, cancelled=True))
        self._admit(waiting, active, batches)
        light, window = self._fair_split(batches)
        self._mark_light(bool(light))
        if not window or not self.fairness.light:  # all light, or none anywhere: every row steps
            for batch in batches.values():
                if len(batch):
                    self._step(batch, active)
            return
        # Light work is in flight: light rows step every turn, heavy rows a window at a time
        # while heavy work has used at most its share of the time (sketch_server.fairness).
        if light:
            self._step_infos(batches, active, light)
        wait = self.fairness.delay()
        if wait == 0.0:
            started = time.perf_counter()
            self._step_infos(batches, active, window)
            self.fairness.charge(time.perf_counter() - started)
        elif not light:  # nothing to step: rest until heavy rows may, or a job comes
            self._rest = min(wait, 0.05)

    def _mark_light(self, light: bool) -> None:
        """Count this worker's light rows as light work in flight, or stop counting them."""
        if light != self._light_here:
            self._light_here = light
            if light:
                self.fairness.enter_light()
            else:
                self.fairness.leave_light()

    def _admit(
        self, waiting: deque[Job], active: set[Job], batches: dict[str, DecodeBatch]
    ) -> None:
        """Move waiting jobs into their model's batch while it has room: the owner with the
        fewest rows in the batch first, first come first served among equals. A light job (at
        most LIGHT_ROWS alternatives, from an owner with nothing drawing) always goes in: it
        is stepped every turn (_fair_split), and waiting behind heavy jobs would undo that."""
        if not waiting:
            return
        rows: dict[Any, int] = {}
        for job in active:
            rows[job.owner] = rows.get(job.owner, 0) + job.request.n
        full: set[str] = set()  # models whose batch turned a job away: later jobs wait behind it

        def fewest(j: Job) -> int:
            return rows.get(j.owner, 0)

        queue = sorted(waiting, key=fewest)  # stable: arrival order among equals
        waiting.clear()
        while queue:
            job = queue.pop(0)
            batch = batches[job.model]
            if job.cancelled.is_set():
                self._finish(job, self._done(job, cancelled=True))
                continue
            size, n = len(batch), job.request.n
            room = self.max_rows + (self.reserve_rows if not rows.get(job.owner) else 0)
            light = n <= LIGHT_ROWS and not rows.get(job.owner)
            if not light and (job.model in full or (size and size + n > room)):
                full.add(job.model)
                waiting.append(job)
                continue
            try:
                batch.add(job.request, tag=job)
            except ConditionError as e:
                self._fail(job, "unknown_condition", str(e))
                continue
            except ValueError as e:
                self._fail(job, "bad_request", str(e))
                continue
            except Exception:
                log.exception("could not start a job on model %s", job.model)
                self._fail(
                    job,
                    "internal",
                    "the model failed to start this sketch; the server log has the details",
                )
                continue
            job.samples = [[] for _ in range(job.request.n)]
            job.sources = ["model"] * job.request.n
            job.notes = [""] * job.request.n
            job.characters = [""] * job.request.n
            job.remaining = job.request.n
            active.add(job)
            rows[job.owner] = rows.get(job.owner, 0) + n
            queue.sort(key=fewest)  # an owner's count changed: the order may too

    def _fair_split(self, batches: dict[str, DecodeBatch]) -> tuple[set[int], set[int]]:
        """The rows (their RowInfo ids) of light owners, and a turning window of
        HEAVY_ROWS_PER_TURN of the heavy owners' rows, owner by owner (empty with no heavy
        owner). An owner (connection) with at most LIGHT_ROWS sketches drawing is light."""
        infos = [info for batch in batches.values() for info in batch.rows.info]
        counts = Counter(info.tag.owner for info in infos)
        light_owners = {o for o, k in counts.items() if k <= LIGHT_ROWS}
        heavy_owners = sorted((o for o in counts if o not in light_owners), key=id)
        taken: dict[Any, set[int]] = {}
        if heavy_owners:
            self._cursor += 1
            start = self._cursor % len(heavy_owners)
            quota = max(1, -(-HEAVY_ROWS_PER_TURN // len(heavy_owners)))
            left = HEAVY_ROWS_PER_TURN
            for o in heavy_owners[start:] + heavy_owners[:start]:
                if left <= 0:
                    break
                k = min(quota, left)
                first = (self._cursor // len(heavy_owners)) * k
                taken[o] = {(first + j) % counts[o] for j in range(k)}
                left -= k
        light, window = set(), set()
        seen: Counter[Any] = Counter()
        for info in infos:
            o = info.tag.owner
            if o in light_owners:
                light.add(id(info))
            elif seen[o] in taken.get(o, ()):
                window.add(id(info))
            seen[o] += 1
        return light, window

    def _step_infos(
        self, batches: dict[str, DecodeBatch], active: set[Job], chosen: set[int]
    ) -> None:
        """Step the chosen rows (RowInfo ids: a step may remove rows and move the others)."""
        for batch in batches.values():
            part = [i for i, info in enumerate(batch.rows.info) if id(info) in chosen]
            if part or batch.has_ready:
                self._step(batch, active, np.asarray(part, np.int64))

    def _step(self, batch: DecodeBatch, active: set[Job], part: np.ndarray | None = None) -> None:
        try:
            events = batch.step(part)
        except Exception:
            log.exception("a sampling step failed; ending the jobs in that batch")
            for failed in {info.tag for info in batch.rows.info}:
                batch.cancel(failed)
                active.discard(failed)
                self._fail(failed, "internal", "sampling failed; see the server log")
            return
        for event in events:
            job: Job = event.tag
            if isinstance(event, StrokeEvent):
                job.samples[event.sample].append(event.points)
                self._outbox.put(job, event)
            elif isinstance(event, DoneEvent):
                job.sources[event.sample] = event.source
                job.notes[event.sample] = event.note
                job.characters[event.sample] = event.character
                job.remaining -= 1
                if job.remaining == 0:
                    active.discard(job)
                    self._finish(job, self._done(job, cancelled=False))

    @staticmethod
    def _done(job: Job, cancelled: bool) -> Done | Error:
        """The job's `done`: every alternative in full, or `too_large` if that cannot be sent."""
        n = job.request.n
        try:
            return Done(
                id=job.id,
                samples=tuple(
                    tuple(wire_points(p) for p in sample)
                    for sample in (job.samples or [[] for _ in range(n)])
                ),
                elapsed_ms=int((time.perf_counter() - job.received) * 1000),
                cancelled=cancelled,
                sources=tuple(job.sources or ["model"] * n),
                notes=tuple(job.notes) if any(job.notes) else None,
                characters=tuple(job.characters) if any(job.characters) else None,
            )
        except ProtocolError as e:
            if e.code == "too_large":
                return Error(
                    id=job.id,
                    code="too_large",
                    message=f"the result is too large to send ({e.message}); "
                    "ask for fewer samples or max_points",
                )
            log.exception("job %r made a done the protocol refuses", job.id)
            return Error(
                id=job.id,
                code="internal",
                message="the server made a result it cannot send; the server log has the details",
            )

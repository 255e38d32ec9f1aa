"""The glue between the operators, the client and the Grease Pencil data.

One Controller per Blender session owns the SuggestClient (a worker thread) and the Session in
progress. A bpy.app.timers function drains the client on Blender's main thread and draws what
arrived through gpencil.py, stroke by stroke, so the UI never waits on the network.
"""

from __future__ import annotations

import logging
import os
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import bpy

from . import gpencil
from .session import (
    MAX_IN_FLIGHT,
    Job,
    Session,
    add_pickers,
    condition_names,
    preferred_model,
    sheet_summary,
    summary,
    traits,
)
from .wire import client as client_module
from .wire.character import character_conditions
from .wire.client import sentence
from .wire.guide import GuideState, opacities

log = logging.getLogger(__package__)


@dataclass(frozen=True)
class Tracing:
    """A trace in flight: its job id, where its strokes go, and the picture's size in pixels."""

    job: str
    object_name: str
    empty_name: str
    frame: int
    size: tuple[int, int]


@dataclass(frozen=True)
class Character:
    """A character on show (or just accepted), to keep: the server's string, what the add-on
    asked of it (gender, style), and the model that drew it."""

    text: str
    model: str
    traits: Mapping[str, str] = field(default_factory=dict)


protocol = client_module.protocol
SHEET = "sheet"  # the kind of a character sheet's session: its faces go straight to its object

CLIENT_NAME = f"blender-ai-sketcher/{protocol.VERSION}"
SERVER_ENV = "AI_SKETCHER_SERVER"  # overrides the server address in the preferences
TOKEN_ENV = "AI_SKETCHER_TOKEN"
BUSY_INTERVAL = 0.05  # seconds between timer ticks while strokes stream in
IDLE_INTERVAL = 0.5  # otherwise: connection changes are not urgent
GUIDE_K = protocol.DEFAULT_GUIDE_K  # real drawings in the shadow guide
CANCEL_WAIT = 30.0  # seconds a cancelled job may stay open on the server before it is forgotten


class Controller:
    """Holds the client, the suggestion in progress and the last message for the panel."""

    def __init__(self, url: str, token: str | None) -> None:
        self.url, self.token = url, token
        self.client = client_module.SuggestClient(url, CLIENT_NAME, token)
        self.client.start()
        self.session: Session | None = None
        self.layer_names: dict[str, str] = {}  # object -> the artist's layer, for Accept
        self.message = ""
        self._options: dict[str, Any] = {}  # suggest() arguments shared by the session's jobs
        self._undo_pending = False  # a finished suggestion still needs its undo step
        self.guide = GuideState()
        self._guide_for: tuple[str, str, int, Any] | None = None  # object, layer, frame, request
        self.tracing: Tracing | None = None  # the image being traced, while it is
        self.accepted: Character | None = None  # the character of the last accepted suggestion
        self._traits: dict[str, str] = {}  # what is known of the session's kept character
        # Cancelled jobs the server has not ended yet (id -> when): they still count against
        # its limit of open requests per connection until their done arrives.
        self._cancelled: dict[str, float] = {}

    # --- what the panel shows -------------------------------------------------------------

    @property
    def connection_text(self) -> str:
        return self.client.status_text

    @property
    def connected(self) -> bool:
        return self.client.state == "connected" and self.client.welcome is not None

    def models(self) -> list[Any]:
        """The server's models (protocol.ModelInfo), the default first; empty until welcome."""
        welcome = self.client.welcome
        return list(welcome.models) if welcome is not None else []

    def model_info(self, name: str) -> Any:
        """The model called `name`, or the "Auto" one for "" (session.preferred_model); None
        before the welcome."""
        models = self.models()
        return next((m for m in models if m.name == name), preferred_model(models))

    # --- tracing a reference image --------------------------------------------------------

    def trace(self, ob: Any, empty: Any, frame: int) -> None:
        """Send the picture of image empty `empty` to be traced; its strokes go onto a new layer
        of `ob` at `frame` when they arrive (tick). Raises GPencilError or ProtocolError."""
        if self.tracing is not None:
            raise gpencil.GPencilError("a trace is under way; wait for its layer to appear")
        data, width, height = gpencil.image_bytes(empty.data)
        job = self.client.trace(data, [0.0, 0.0, float(width), float(height)])
        self.tracing = Tracing(job, ob.name, empty.name, frame, (width, height))
        self.message = f"Tracing '{empty.data.name}'…"

    def _traced(self, msg: Any) -> None:
        """The trace's end: its strokes onto a new layer, or why there are none."""
        t, self.tracing = self.tracing, None
        assert t is not None
        ob, empty = bpy.data.objects.get(t.object_name), bpy.data.objects.get(t.empty_name)
        if isinstance(msg, protocol.Error):
            self.message = f"Could not trace the image: {sentence(msg.message)}"
        elif not gpencil.is_gp(ob) or not gpencil.is_image_empty(empty):
            self.message = "The Grease Pencil object or the image went away; trace again."
        elif not msg.samples or not msg.samples[0]:
            self.message = "The image has no lines to trace."
        else:
            layer = gpencil.add_trace(ob, empty, t.frame, msg.samples[0], t.size)
            self.message = f"Traced {len(msg.samples[0])} strokes onto the layer '{layer.name}'."
            self._undo_pending = True

    # --- starting and ending suggestions --------------------------------------------------

    def start(
        self,
        kind: str,
        jobs: Sequence[Job],
        settings: Any,
        conditions: dict[str, str],
        model: str | None,
        kept: Mapping[str, str] | None = None,
    ) -> None:
        """Replace any suggestion on show with a new session and send its first jobs. `kept`:
        what is known of the kept character the jobs draw (Request.character), if any."""
        self.end(remove=True, objects={job.target.object_name for job in jobs})
        for job in jobs:
            gpencil.prepare(bpy.data.objects[job.target.object_name], job.target.frame)
        self._begin(kind, jobs, settings, conditions, model, settings.alternatives, kept)
        self.layer_names = {j.target.object_name: j.target.layer_name for j in jobs}

    def start_sheet(
        self,
        jobs: Sequence[Job],
        settings: Any,
        conditions: dict[str, str],
        model: str | None,
        kept: Mapping[str, str] | None = None,
    ) -> None:
        """Draw a character sheet: one alternative per face, straight onto the jobs' layer of a
        new object. A suggestion on show stays on its layer (Accept and Reject still act on
        it); the caller makes sure none is still drawing."""
        self.end(remove=False)
        self._begin(SHEET, jobs, settings, conditions, model, 1, kept)

    def _begin(
        self,
        kind: str,
        jobs: Sequence[Job],
        settings: Any,
        conditions: dict[str, str],
        model: str | None,
        n: int,
        kept: Mapping[str, str] | None,
    ) -> None:
        self.session = Session(kind, jobs, n)
        self.layer_names = {}
        self._traits = dict(kept or {})
        self._options = dict(
            conditions=conditions,
            n=n,
            temperature=settings.variety,
            model=model,
            strength=settings.strength if kind == "refine" else None,
        )
        self._submit()
        self.message = self._summary()

    def _summary(self) -> str:
        s = self.session
        assert s is not None
        return sheet_summary(s) if s.kind == SHEET else summary(s)

    def base_seed(self, settings: Any) -> int:
        """The panel's seed, or a fresh random one when it is 0."""
        return settings.seed or random.getrandbits(31)

    def _still_open(self) -> int:
        """How many cancelled jobs the server may still count as open."""
        now = time.monotonic()
        if not self.connected:
            self._cancelled.clear()  # a new connection starts with none open
        for job_id, when in list(self._cancelled.items()):
            if now - when > CANCEL_WAIT:
                del self._cancelled[job_id]
        return len(self._cancelled)

    def _submit(self) -> None:
        s = self.session
        if s is None:
            return
        room = MAX_IN_FLIGHT - sum(job.running for job in s.jobs) - self._still_open()
        for job in s.to_submit()[: max(0, room)]:
            r = job.request
            if r.after_first and r.character is None:
                first = s.jobs[0]
                if not first.finished:
                    continue  # a sheet's other faces wait for its first face's character
                r.character = first.characters.get(0)
                if r.character is None:
                    s.failed(
                        job,
                        "The first face came back without a character to draw the others "
                        "from; press Character sheet again.",
                    )
                    continue
            options = dict(self._options)
            if r.conditions is not None:
                options["conditions"] = r.conditions
            try:
                job_id = self.client.suggest(
                    r.mode,
                    client_module.recent_strokes(r.strokes),
                    seed=r.seed,
                    bounds=r.bounds,
                    character=r.character,
                    **options,
                )
            except protocol.ProtocolError as e:
                s.failed(job, f"cannot ask for this suggestion ({e.message})")
                continue
            s.submitted(job, job_id)

    def shown_character(self, object_name: str | None, frame: int) -> Character | None:
        """The character of the alternative on show (of the job on `object_name` at `frame`
        first), else of the suggestion accepted last; None when there is none."""
        s = self.session
        if s is None:
            return self.accepted
        jobs = sorted(
            s.jobs,
            key=lambda j: (j.target.object_name, j.target.frame) != (object_name, frame),
        )
        job = next((j for j in jobs if j.characters.get(s.current)), None)
        if job is None:
            return None
        character, model = job.characters[s.current], self._options.get("model") or ""
        asked = traits(job.request.conditions or self._options.get("conditions"))
        info = self.model_info(model)
        drawn = traits(character_conditions(character, info.conditions)) if info else {}
        return Character(character, model, {**self._traits, **asked, **drawn})

    def end(self, remove: bool, objects: set[str] = frozenset()) -> int:
        """Stop the session; with `remove`, drop the suggestion layers of its objects and of
        `objects`. Returns how many layers were removed."""
        s, names = self.session, set(objects)
        if s is not None:
            for job in s.jobs:
                if job.running and job.id is not None:
                    self.client.cancel(job.id)
                    self._cancelled[job.id] = time.monotonic()
            names |= {job.target.object_name for job in s.jobs}
        self.session, self._undo_pending = None, False
        removed = 0
        if remove:
            for name in names:
                ob = bpy.data.objects.get(name)
                if gpencil.is_gp(ob):
                    removed += gpencil.remove_suggestions(ob)
        return removed

    def targets_with_suggestions(self, context: Any) -> list[Any]:
        """The objects whose suggestions Accept or Reject act on."""
        names = [job.target.object_name for job in self.session.jobs] if self.session else []
        obs = [bpy.data.objects.get(n) for n in dict.fromkeys(names)]
        obs += [ob for ob in gpencil.selected_gp_objects(context) if ob not in obs]
        return [ob for ob in obs if gpencil.is_gp(ob) and gpencil.suggestion_layer(ob)]

    # --- the timer ------------------------------------------------------------------------

    def tick(self) -> float:
        """Apply what the client received since the last tick; returns the next interval."""
        changed = False
        s = self.session
        was_running = s is not None and s.running
        for msg in self.client.poll():
            changed = True
            if isinstance(msg, (protocol.Done, protocol.Error)):
                self._cancelled.pop(getattr(msg, "id", None), None)
            if self.tracing is not None and getattr(msg, "id", None) == self.tracing.job:
                if isinstance(msg, (protocol.Done, protocol.Error)):
                    self._traced(msg)  # its strokes come whole in the done
            elif isinstance(msg, protocol.GuideResult):
                if self.guide.answered(msg.id):
                    self._show_guide(msg.drawings)
            elif isinstance(msg, protocol.Error) and self.guide.is_ours(msg.id):
                if self.guide.failed(msg.id):
                    self.message = "The server could not show a guide: " + sentence(msg.message)
            elif isinstance(msg, protocol.StrokeChunk) and s is not None:
                s.stroke(msg.id, msg.sample, msg.index, msg.points)
            elif isinstance(msg, protocol.Done) and s is not None:
                s.done(msg.id, msg.samples, msg.characters)
            elif isinstance(msg, protocol.Error):
                if s is None or msg.id is None or not s.error(msg.id, sentence(msg.message)):
                    self.message = "The server said: " + sentence(msg.message)
        if s is not None:
            self._submit()
            changed |= self.apply()
        if s is not None and s is self.session and was_running and not s.running:
            self._undo_pending = True  # so that undoing Accept shows the suggestion again
        if self._undo_pending and _push_undo("AI Sketcher suggestion"):
            self._undo_pending = False
        changed |= self.guide_tick()
        changed |= self._add_pickers()
        if changed:
            gpencil.tag_redraw()
        running = (self.session is not None and self.session.running) or self.tracing is not None
        waiting = self.guide.enabled and (
            self.guide.in_flight is not None or self.guide.changed_at is not None
        )
        return BUSY_INTERVAL if running or waiting else IDLE_INTERVAL

    def _add_pickers(self) -> bool:
        """Once the welcome is in, every scene gets a picker for each condition it lists."""
        names = condition_names(self.models())
        if not names:
            return False
        added = False
        for scene in bpy.data.scenes:
            settings = getattr(scene, "ai_sketcher", None)
            if settings is not None:
                added |= add_pickers(settings, names)
        return added

    # --- the shadow guide -----------------------------------------------------------------

    def set_guide(self, on: bool) -> None:
        """Follow the panel's Shadow guide toggle; off removes every guide layer."""
        if on == self.guide.enabled:
            return
        if on:
            self.guide.turn_on()
            self.message = (
                "Shadow guide on: real drawings like yours appear faintly under "
                "your layer after each stroke."
            )
            return
        self.guide.turn_off()
        self._guide_for = None
        for ob in bpy.data.objects:
            if gpencil.is_gp(ob):
                gpencil.remove_guide(ob)
        self.message = "Shadow guide off."

    def guide_tick(self) -> bool:
        """Look at the active layer; ask for a guide once its stroke count has settled."""
        scene = bpy.context.scene
        settings = getattr(scene, "ai_sketcher", None) if scene is not None else None
        if settings is None:
            return False
        self.set_guide(settings.guide)
        view_layer = bpy.context.view_layer
        ob = view_layer.objects.active if view_layer is not None else None
        if not self.guide.enabled or not gpencil.is_gp(ob):
            return False
        frame = scene.frame_current
        signature = gpencil.guide_signature(ob, frame)
        if signature is None:
            return False
        now = time.monotonic()
        self.guide.look(signature, now)
        if not self.guide.due(now) or not self.connected:
            return False
        try:
            request = gpencil.guide_request(ob, frame)
        except (gpencil.GPencilError, ValueError) as e:
            self.guide.skipped()
            self.message = "The guide cannot read this layer: " + sentence(str(e))
            return True
        old = self._guide_for
        if old is not None and old[:2] != signature[:2]:
            gpencil.remove_guide(bpy.data.objects.get(old[0]))  # the guide follows the artist
        self._guide_for = (ob.name, signature[1], frame, request)
        if not request.strokes:
            self.guide.skipped()
            self._show_guide(())
            return True
        from .properties import model_name, offered  # properties imports this module
        from .session import conditions_for

        conditions = conditions_for(offered(settings), settings.chosen(), face=False)
        try:
            self.guide.sent(
                self.client.guide(
                    client_module.recent_strokes(request.strokes),
                    conditions,
                    k=GUIDE_K,
                    model=model_name(settings),
                )
            )
        except protocol.ProtocolError as e:
            self.guide.skipped()
            self.message = f"Cannot ask for a guide: {e.message}."
            return True
        return False

    def _show_guide(self, drawings: Any) -> None:
        """Draw the answer on the guide layer below the layer it was asked for."""
        if self._guide_for is None:
            return
        name, layer, frame, request = self._guide_for
        ob = bpy.data.objects.get(name)
        if not gpencil.is_gp(ob) or ob.data.layers.get(layer) is None:
            return
        alphas = opacities([d.weight for d in drawings])
        gpencil.show_guide(
            ob, layer, frame, [(d.strokes, a) for d, a in zip(drawings, alphas)], request
        )

    def apply(self) -> bool:
        """Draw the strokes of the alternative on show that are not on their layers yet."""
        s = self.session
        if s is None:
            return False
        draws = s.pending_draws()
        for draw in draws:
            t = draw.job.target
            ob = bpy.data.objects.get(t.object_name)
            if s.kind == SHEET:
                if not gpencil.is_gp(ob) or ob.data.layers.get(t.layer_name) is None:
                    self.end(remove=False)
                    self.message = (
                        f"The character sheet '{t.object_name}' was removed (or undone), so "
                        "its drawing stopped; press Character sheet again."
                    )
                    return True
                gpencil.draw_on(ob, t.layer_name, t.frame, draw.strokes, draw.job.request)
            elif not gpencil.is_gp(ob) or gpencil.suggestion_layer(ob) is None:
                self.end(remove=False)
                self.message = (
                    f"The '{gpencil.SUGGESTION_LAYER}' layer of '{t.object_name}' was removed "
                    "(or undone), so the suggestion was stopped."
                )
                return True
            else:
                gpencil.draw(ob, t.frame, draw.strokes, draw.job.request, clear=draw.clear)
            s.drawn(draw)
        self.message = self._summary()
        return bool(draws)

    def close(self) -> None:
        self.client.close(timeout=0.5)


def _push_undo(message: str) -> bool:
    """Push an undo step unless a modal operator (a brush stroke, a grab) is running."""
    wm = bpy.context.window_manager
    if wm is None or any(len(w.modal_operators) for w in wm.windows):
        return False  # try again on the next tick
    try:
        bpy.ops.ed.undo_push(message=message)
    except RuntimeError:  # no undo stack here (e.g. while a file loads); the next operator pushes
        log.debug("could not push an undo step", exc_info=True)
    return True


# --- the one Controller and its timer ---------------------------------------------------------

_controller: Controller | None = None


def _address() -> tuple[str, str | None]:
    addon = bpy.context.preferences.addons.get(__package__)
    prefs = addon.preferences if addon is not None else None
    url = os.environ.get(SERVER_ENV) or (prefs.server.strip() if prefs else "")
    token = os.environ.get(TOKEN_ENV) or (prefs.token.strip() if prefs else "")
    return url or client_module.DEFAULT_URL, token or None


def get() -> Controller:
    """The Controller, made (and connecting) on first use."""
    global _controller
    if _controller is None:
        _controller = Controller(*_address())
    return _controller


def reconnect() -> None:
    """Connect to the address now in the preferences (called when it is edited)."""
    global _controller
    if _controller is not None and (_controller.url, _controller.token) != _address():
        _controller.end(remove=False)
        _controller.close()
        _controller = None
    get()


def tick() -> float:
    """The bpy.app.timers function: it must never raise, or Blender drops the timer."""
    try:
        return get().tick()
    except Exception as e:  # a bug must not stop suggestions for the rest of the session
        log.exception("AI Sketcher's timer failed")
        if _controller is not None:
            _controller.end(remove=False)
            _controller.message = f"Something went wrong while drawing ({e}); suggest again."
        return IDLE_INTERVAL


@bpy.app.handlers.persistent
def _on_load(*_args: Any) -> None:
    """A new file has other objects: forget the suggestion of the old one."""
    if _controller is not None:
        _controller.end(remove=False)
        _controller.accepted = None  # a face of the old file; the new file keeps its own


def register() -> None:
    # The Controller is made on the first tick or panel draw, once the preferences are there.
    bpy.app.timers.register(tick, first_interval=0.1, persistent=True)
    bpy.app.handlers.load_pre.append(_on_load)


def unregister() -> None:
    global _controller
    if _on_load in bpy.app.handlers.load_pre:
        bpy.app.handlers.load_pre.remove(_on_load)
    if bpy.app.timers.is_registered(tick):
        bpy.app.timers.unregister(tick)
    if _controller is not None:
        _controller.end(remove=False)
        _controller.close()
        _controller = None

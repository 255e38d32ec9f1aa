"""The glue between the docker, the client and the canvas: one Controller per Krita session.

A QTimer on Krita's main thread drains SuggestClient.poll() and applies what arrived through
canvas.py, so the UI never waits on the network and Krita's API is only used from its thread.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass, field
from typing import Any

from PyQt5.QtCore import QObject, QTimer, pyqtSignal

from . import canvas, characters, svg
from .wire import client as client_module
from .wire import guide as guide_module
from .wire import suggestion as suggestion_module

SERVER_ENV = "AI_SKETCHER_SERVER"  # overrides the server address saved in Krita's settings
TOKEN_ENV = "AI_SKETCHER_TOKEN"
BUSY_TICK_MS = 40  # how often the client is drained while a suggestion streams in
IDLE_TICK_MS = 250  # otherwise: connection changes are not urgent
protocol = client_module.protocol
CLIENT_NAME = f"krita-ai-sketcher/{protocol.VERSION}"
DEFAULT_ALTERNATIVES = protocol.DEFAULT_ALTERNATIVES
GUIDE_K = protocol.DEFAULT_GUIDE_K  # real drawings in the shadow guide
MAX_IN_FLIGHT = suggestion_module.MAX_IN_FLIGHT  # suggest requests (and traces) open at once
SERVER_OPEN = MAX_IN_FLIGHT + 1  # what the server allows per connection, guides apart
BUSY = (
    "The character sheet is using all the server's open requests; wait a moment for its "
    "faces, then try again."
)


@dataclass
class Suggestion:
    """One request's shared state (common suggestion.Session, one job) and Krita's drawing of
    it: every alternative as shapes on the suggestion layer, only the one on show visible."""

    session: Any  # suggestion.Session
    target: canvas.Target
    layer: Any = None  # the suggestion layer, made when the first stroke arrives
    shapes: dict[int, list[Any]] = field(default_factory=dict)  # sample -> shapes, drawn order
    visible: int = 0  # the alternative whose shapes are visible
    finished: bool = False  # the end of the session has been seen
    refocus: int = 0  # timer ticks left in which to give the artist's layer back the focus
    model: str | None = None  # the model asked
    asked: dict[str, str] = field(default_factory=dict)  # the conditions asked for
    sent: characters.Kept | None = None  # the kept character the request drew, if any

    @property
    def job(self) -> Any:
        return self.session.jobs[0]


class Controller(QObject):
    """Holds the settings and the suggestion in progress; the docker and actions call it."""

    changed = pyqtSignal()  # anything the docker shows may have changed

    def __init__(self) -> None:
        super().__init__()
        self.server_url = os.environ.get(SERVER_ENV) or canvas.read_setting(
            "server", client_module.DEFAULT_URL
        )
        self.token = os.environ.get(TOKEN_ENV) or canvas.read_setting("token", "") or None
        # Variety per model, once the artist moves it; until then the model's measured best.
        self.varieties: dict[str, float] = {
            name: min(
                max(_float(str(v), protocol.DEFAULT_TEMPERATURE), protocol.MIN_TEMPERATURE),
                protocol.MAX_TEMPERATURE,
            )
            for name, v in _json(canvas.read_setting("varieties", "")).items()
        }
        self.strength = min(
            max(_float(canvas.read_setting("strength", ""), protocol.DEFAULT_STRENGTH), 0.0), 1.0
        )
        self.alternatives = min(
            max(int(_float(canvas.read_setting("alternatives", ""), DEFAULT_ALTERNATIVES)), 1),
            protocol.MAX_N,
        )
        self.model = canvas.read_setting("model", "") or None
        self.conditions: dict[str, dict[str, str]] = _json(canvas.read_setting("conditions", ""))
        self.message = ""  # the latest thing the artist should know, in plain words
        self.shortcuts: dict[str, str] = {}  # action id -> its key sequence, for tooltips
        self.suggestion: Suggestion | None = None
        self.painted: Suggestion | None = None  # merged into a paint layer; back if undone
        self.guide = guide_module.GuideState()
        self.guide_layer: Any = None  # the guide's vector layer while it is on
        self.guide_for: Any = None  # the artist's layer it is drawn for
        self.guide_target: canvas.Target | None = None  # where the guide in flight goes
        self.guide_refocus = 0  # ticks left in which to give the artist's layer back the focus
        self.tracing: tuple[str, canvas.Target] | None = None  # the trace in flight: (id, layer)
        self.same_character = canvas.read_setting("same_character", "") == "true"
        # The last accepted alternative's character, with its document: Keep character after
        # Accept keeps it.
        self.accepted: tuple[Any, characters.Kept] | None = None
        self.sheet: characters.Sheet | None = None  # the character sheet being drawn
        self.sheet_target: canvas.Target | None = None  # its document and pen
        self.sheet_layer: Any = None  # its layer, made when the first face arrives
        self._kept_read: tuple[bytes | None, characters.Kept | None] = (None, None)
        self.client = self._new_client()
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.tick)
        self.timer.start(IDLE_TICK_MS)

    # --- what the docker shows ------------------------------------------------------------

    @property
    def state(self) -> str:
        return self.client.state

    @property
    def connection_text(self) -> str:
        return self.client.status_text

    @property
    def models(self) -> list[Any]:
        """The server's models (protocol.ModelInfo), the default first; empty until welcome."""
        return list(self.client.welcome.models) if self.client.welcome else []

    def model_info(self) -> Any:
        models = self.models
        return next((m for m in models if m.name == self.model), models[0] if models else None)

    def _info_of(self, name: str | None) -> Any:
        """The welcome's entry (protocol.ModelInfo) of the model `name`, or None."""
        return next((m for m in self.models if m.name == name), None)

    def chosen_conditions(self) -> dict[str, str]:
        info = self.model_info()
        if info is None:
            return {}
        saved = self.conditions.get(info.name, {})
        return {
            k: v
            for k, v in saved.items()
            if k in info.conditions and (not info.conditions[k] or v in info.conditions[k])
        }

    @property
    def running(self) -> bool:
        return self.suggestion is not None and self.suggestion.session.running

    @property
    def showing(self) -> tuple[int, int]:
        """(alternative on show, 1-based; number of alternatives), or (0, 0) without one."""
        s = self.suggestion
        return (s.session.current + 1, s.session.n) if s else (0, 0)

    # --- settings -------------------------------------------------------------------------

    def set_model(self, name: str) -> None:
        self.model = name
        canvas.write_setting("model", name)

    def set_condition(self, key: str, value: str | None) -> None:
        info = self.model_info()
        if info is None:
            return
        chosen = self.conditions.setdefault(info.name, {})
        if value:
            chosen[key] = value
        else:
            chosen.pop(key, None)
        canvas.write_setting("conditions", json.dumps(self.conditions))

    @property
    def temperature(self) -> float:
        """The Variety of the chosen model: the artist's own for it, else its measured best."""
        return suggestion_module.variety_for(
            self.model_info(), self.varieties, protocol.DEFAULT_TEMPERATURE
        )

    def set_temperature(self, value: float) -> None:
        info = self.model_info()
        if info is None or math.isclose(value, self.temperature, abs_tol=1e-9):
            return  # before the welcome there is no model to remember it for
        self.varieties[info.name] = value
        canvas.write_setting("varieties", json.dumps(self.varieties))

    def set_strength(self, value: float) -> None:
        self.strength = value
        canvas.write_setting("strength", f"{value:g}")

    def set_alternatives(self, n: int) -> None:
        self.alternatives = n
        canvas.write_setting("alternatives", str(n))

    def set_server(self, url: str, token: str | None) -> None:
        """Connect to another server address (and token), and remember them."""
        url, token = url.strip() or client_module.DEFAULT_URL, (token or "").strip() or None
        if (url, token) == (self.server_url, self.token):
            return
        self.server_url, self.token = url, token
        canvas.write_setting("server", url)
        canvas.write_setting("token", token or "")
        self.client.close(timeout=0.5)
        self.client = self._new_client()
        self.changed.emit()

    def _new_client(self) -> Any:
        c = client_module.SuggestClient(self.server_url, CLIENT_NAME, self.token)
        c.start()
        return c

    def shutdown(self) -> None:
        self.timer.stop()
        self.client.close(timeout=0.5)

    # --- actions --------------------------------------------------------------------------

    def suggest_or_stop(self) -> None:
        """Start a suggestion for the active paint or vector layer, or stop the streaming one."""
        self._start_or_stop("suggest")

    def refine_or_stop(self) -> None:
        """Redraw the active layer's strokes ("Optimize my drawing"), Strength towards the
        library's real drawings; or stop the suggestion that is streaming."""
        self._start_or_stop("refine")

    def _start_or_stop(self, kind: str) -> None:
        if self.running:
            self.stop()
            return
        raster = None
        try:
            target = canvas.active_target()
            if target.paint:  # the server traces the pixels into strokes
                strokes, raster = [], canvas.layer_raster(target)
            else:
                strokes = client_module.recent_strokes(canvas.layer_strokes(target.layer))
        except (canvas.CanvasError, svg.SvgError) as e:
            return self._say(str(e))
        if kind == "refine" and not strokes and raster is None:
            return self._say(
                "Optimize redraws your strokes, and this layer has none yet; draw a few first."
            )
        if self.client.state != "connected":
            return self._say(self.connection_text)
        info = self.model_info()
        kept = self.kept(target.document)
        try:
            character = characters.request_character(
                kept, info.name if info else None, self.same_character
            )
        except characters.CharacterError as e:
            return self._say(str(e))
        if self.open_requests() >= SERVER_OPEN:
            return self._say(BUSY)
        self.reject(quiet=True)
        drawn = bool(strokes) or raster is not None
        mode = "refine" if kind == "refine" else "complete" if drawn else "generate"
        try:
            job = self.client.suggest(
                mode,
                strokes,
                self.chosen_conditions(),
                n=self.alternatives,
                temperature=self.temperature,
                model=info.name if info else None,
                bounds=None if drawn else (0.0, 0.0, *target.size),
                strength=self.strength if mode == "refine" else None,
                raster=raster,
                character=character,
            )
        except client_module.protocol.ProtocolError as e:
            return self._say(f"Cannot ask for this suggestion: {e.message}.")
        session = suggestion_module.Session(
            kind, [suggestion_module.Job(target.layer.name())], self.alternatives
        )
        session.submitted(session.jobs[0], job)
        self.suggestion = Suggestion(
            session,
            target,
            model=info.name if info else None,
            asked=self.chosen_conditions(),
            sent=kept if character else None,
        )
        self.painted = self.accepted = None
        self.timer.setInterval(BUSY_TICK_MS)
        who = " as the kept character" if character else ""
        self._say(
            f"Redrawing your strokes{who}..."
            if mode == "refine"
            else f"Drawing{who}..."
            if drawn
            else f"Your layer is empty, so the model draws something new{who}..."
        )

    def stop(self) -> None:
        s = self.suggestion
        if s is not None and s.session.running:
            for job_id in s.session.open_ids():
                self.client.cancel(job_id)
            s.session.cancelled = True
            self._say(suggestion_module.summary(s.session))

    def flip(self, step: int) -> None:
        """Show the next (step 1) or previous (step -1) alternative."""
        s = self.suggestion
        if s is None or s.session.n < 2:
            return
        s.session.flip(step)
        self._show_current(s)
        count = len(s.job.strokes(s.session.current))
        self._say(
            f"Alternative {s.session.current + 1} of {s.session.n}: "
            f"{suggestion_module.plural(count, 'stroke')}."
        )

    def _show_current(self, s: Suggestion) -> None:
        """Make only the shapes of the alternative on show visible."""
        if s.visible != s.session.current:
            canvas.set_visible(s.shapes.get(s.visible, []), False)
            s.visible = s.session.current
            canvas.set_visible(s.shapes.get(s.visible, []), True)

    def accept(self) -> None:
        """Copy the alternative on show onto the artist's layer and drop the suggestion layer."""
        s = self.suggestion
        if s is None:
            return self._say("There is no suggestion to accept; suggest strokes first.")
        strokes = s.session.shown_strokes()
        if not strokes:
            return self._say("This alternative has no strokes yet; wait, flip, or reject it.")
        if not canvas.attached(s.target.layer):
            return self._say(
                "Your layer is gone, so there is nothing to accept onto; reject the suggestion."
            )
        if not canvas.is_active(s.target.document):
            return self._say(
                f"Switch back to '{s.target.document.name()}' to accept its suggestion."
            )
        for job_id in s.session.open_ids():
            self.client.cancel(job_id)
        if s.target.paint:
            self.accepted = self._kept_of(s)
            return self._paint(s, len(strokes))
        self.accepted = self._kept_of(s)
        # Removing first leaves "Create shape" on top of the undo stack: one Ctrl+Z undoes Accept.
        canvas.remove_layer(s.layer)
        canvas.add_strokes(s.target, s.target.layer, strokes)
        self._end()
        many = len(strokes) != 1
        self._say(
            f"Added {len(strokes)} stroke{'s' if many else ''} to "
            f"'{s.target.layer.name()}'; Edit > Undo takes {'them' if many else 'it'} back."
        )

    def _paint(self, s: Suggestion, count: int) -> None:
        """Accept on a paint layer: merge the alternative on show down into it (one undo step)."""
        try:
            canvas.paint_down(s.target, s.layer)
        except canvas.CanvasError as e:
            return self._say(str(e))
        self._end()
        self.painted = s
        self._say(
            f"Painted {suggestion_module.plural(count, 'stroke')} into '{s.target.layer.name()}' "
            "in your colour and brush size; one Edit > Undo (Merge Down) takes them back and "
            "brings the suggestion back."
        )

    def _unpainted(self) -> bool:
        """After Undo of a paint-layer Accept, take the suggestion that came back up again."""
        s = self.painted
        if s is None or self.suggestion is not None:
            return False
        if not (canvas.attached(s.layer) and canvas.attached(s.target.layer)):
            return False
        self.painted, self.suggestion = None, s
        canvas.restore_suggestion_look(s.layer)
        self.message = "Accept undone: the suggestion is back; accept, flip or reject it."
        return True

    def reject(self, quiet: bool = False) -> None:
        """Stop the suggestion and remove its layer; the artist's layer was never touched."""
        s = self.suggestion
        if s is None:
            return None if quiet else self._say("There is no suggestion to reject.")
        for job_id in s.session.open_ids():
            self.client.cancel(job_id)
        canvas.remove_layer(s.layer)
        self._end()
        if not quiet:
            self._say("Suggestion removed; your layer is as it was.")

    def _end(self) -> None:
        self.suggestion = None
        self._idle()

    def _idle(self) -> None:
        """Back to the slow tick, unless a character sheet is still being drawn."""
        self.timer.setInterval(BUSY_TICK_MS if self.sheet is not None else IDLE_TICK_MS)

    def trace_layer(self) -> None:
        """Trace the active paint layer (a photo, a painting) into a line drawing, drawn on a
        new vector layer above it when it arrives; the paint layer is left as it is."""
        if self.tracing is not None:
            self._say("A trace is under way; its strokes will appear on a layer of their own.")
            return
        try:
            target = canvas.active_target()
            if not target.paint:
                raise canvas.CanvasError(
                    f"Trace layer turns a paint layer (a photo, a painting) into strokes, and "
                    f"'{target.layer.name()}' is a vector layer: pick the paint layer to trace."
                )
            welcome = self.client.welcome
            if welcome is None or not welcome.trace:
                raise canvas.CanvasError(
                    "This server cannot trace images; start the AI-Sketcher server of this "
                    "version (python -m sketch_server)."
                    if welcome is not None
                    else "Not connected to the AI-Sketcher server yet; start it, then trace."
                )
            if self.open_requests() >= SERVER_OPEN:
                raise canvas.CanvasError(BUSY)
            raster = canvas.layer_raster(target)
            if raster is None:
                raise canvas.CanvasError(
                    f"'{target.layer.name()}' is empty here; paint or place an image on it, "
                    "or select the part to trace."
                )
            job = self.client.trace(*raster)
        except canvas.CanvasError as e:
            self._say(str(e))
            return
        except client_module.protocol.ProtocolError as e:
            self._say(f"Cannot trace this layer: {e.message}.")
            return
        self.tracing = (job, target)
        self._say(f"Tracing '{target.layer.name()}'…")

    def _traced(self, msg: Any) -> None:
        """The trace's end: its strokes onto a new vector layer, or why there are none."""
        _, target = self.tracing or (None, None)
        self.tracing = None
        name = target.layer.name() if target is not None else "the layer"
        if isinstance(msg, client_module.protocol.Error):
            self.message = f"Could not trace '{name}': {client_module.sentence(msg.message)}"
        elif target is None or not canvas.attached(target.layer):
            self.message = "The traced layer went away, so its trace was dropped."
        elif not msg.samples or not msg.samples[0]:
            self.message = f"'{name}' has no lines to trace."
        else:
            layer = canvas.add_trace_layer(target, msg.samples[0])
            self.message = (
                f"Traced '{name}' into {len(msg.samples[0])} strokes on '{layer.name()}'."
            )

    def _say(self, text: str) -> None:
        self.message = text
        self.changed.emit()

    # --- the timer ------------------------------------------------------------------------

    def tick(self) -> None:
        """Apply everything the client received since the last tick (Krita's main thread)."""
        protocol = client_module.protocol
        changed = False
        s = self.suggestion
        for msg in self.client.poll():
            changed = True
            msg_id = getattr(msg, "id", None)
            if self.tracing is not None and msg_id == self.tracing[0]:
                if isinstance(msg, (protocol.Done, protocol.Error)):
                    self._traced(msg)  # its strokes come whole in the done
            elif self.sheet is not None and self.sheet.session.job(msg_id) is not None:
                if isinstance(msg, protocol.Done):  # a face comes whole in its done
                    self.sheet.done(msg_id, msg.samples, msg.characters, msg.cancelled)
                elif isinstance(msg, protocol.Error):
                    self.sheet.error(msg_id, client_module.sentence(msg.message))
            elif isinstance(msg, protocol.GuideResult):
                if self.guide.answered(msg_id):
                    self._show_guide(msg.drawings)
            elif isinstance(msg, protocol.StrokeChunk) and s is not None:
                s.session.stroke(msg_id, msg.sample, msg.index, msg.points)
            elif isinstance(msg, protocol.Done) and s is not None:
                s.session.done(msg_id, msg.samples, msg.characters)
            elif isinstance(msg, protocol.Error):
                why = client_module.sentence(msg.message)
                if self.guide.is_ours(msg_id):
                    if self.guide.failed(msg_id):
                        self.message = f"The server could not show a guide: {why}"
                elif s is None or msg_id is None or not s.session.error(msg_id, why):
                    self.message = f"The server said: {why}"
        changed |= self._unpainted()
        if s is not None and s is self.suggestion:
            changed |= self._apply(s)
        if s is not None and s is self.suggestion and s.refocus > 0 and s.layer is not None:
            canvas.keep_artist_layer_active(s.target, s.layer)
            s.refocus -= 1
        changed |= self._guide_tick()
        changed |= self._sheet_tick()
        if (
            self.guide_refocus > 0
            and self.guide_layer is not None
            and self.guide_target is not None
        ):
            canvas.keep_artist_layer_active(self.guide_target, self.guide_layer)
            self.guide_refocus -= 1
        if changed:
            self.changed.emit()

    def _apply(self, s: Suggestion) -> bool:
        """Draw what arrived and follow the session's alternative on show; True if it changed."""
        if not canvas.attached(s.target.layer) or (
            s.layer is not None and not canvas.attached(s.layer)
        ):
            self.reject(quiet=True)
            self.message = "The layer went away, so the suggestion was dropped."
            return True
        if not canvas.is_active(s.target.document):
            return False  # Krita adds shapes through the active document: wait until it is back
        new = s.session.take_new(s.job)
        if new and s.layer is None:
            s.layer = canvas.add_suggestion_layer(s.target)
            s.refocus = 20
        for sample, strokes in new.items():
            if self.suggestion is not s or not canvas.attached(s.layer):
                break
            shapes = canvas.add_strokes(
                s.target, s.layer, strokes, hidden=sample != s.session.current
            )
            s.shapes.setdefault(sample, []).extend(shapes)
        if self.suggestion is not s:
            # Krita runs its event loop while it adds a layer or shapes, and the artist
            # rejected, accepted or replaced this suggestion meanwhile: leave no layer behind.
            if self.painted is not s:
                canvas.remove_layer(s.layer)
            return True
        self._show_current(s)
        if not s.session.running and not s.finished:
            s.finished = True
            self._idle()
            if not any(s.session.counts()):
                canvas.remove_layer(s.layer)
                self._end()
            self.message = suggestion_module.summary(s.session)
            return True
        if new:
            self.message = suggestion_module.summary(s.session)
        return bool(new)

    # --- characters -----------------------------------------------------------------------

    def open_requests(self) -> int:
        """Suggest requests and traces this plugin has open at the server (guides count apart)."""
        s, sheet = self.suggestion, self.sheet
        return (
            (len(s.session.open_ids()) if s is not None else 0)
            + (len(sheet.session.open_ids()) if sheet is not None else 0)
            + (self.tracing is not None)
        )

    def kept(self, doc: Any = None) -> characters.Kept | None:
        """The character a document keeps (the active one by default), saved in it."""
        doc = canvas.active_document() if doc is None else doc
        data = canvas.read_annotation(doc, characters.ANNOTATION)
        if data != self._kept_read[0]:  # the docker asks on every change: parse only news
            self._kept_read = (data, characters.Kept.from_bytes(data))
        return self._kept_read[1]

    def _keep(self, doc: Any, kept: characters.Kept) -> None:
        canvas.write_annotation(
            doc, characters.ANNOTATION, characters.ANNOTATION_TEXT, kept.to_bytes()
        )

    def _kept_of(self, s: Suggestion) -> tuple[Any, characters.Kept] | None:
        """The character of the alternative on show, as the document would keep it."""
        character = s.session.character()
        if not character or not s.model:
            return None
        source = f"alternative {s.session.current + 1} on '{s.target.layer.name()}'"
        info = self._info_of(s.model)
        kept = characters.kept_from(
            s.model,
            character,
            s.asked,
            s.sent,
            source,
            s.session.shown_strokes(),
            info.conditions if info is not None else None,
        )
        return s.target.document, kept

    def keep_character(self) -> None:
        """Keep the character of the suggestion on show (or of the one just accepted) in its
        document, for Same character and the Character sheet."""
        s = self.suggestion
        if s is not None and s.session.running:
            return self._say(
                "The character comes with the finished drawing; press Keep character once "
                "it is done."
            )
        if s is not None:
            found = self._kept_of(s)
            if found is None:
                return self._say(
                    f"This alternative carries no character ('{s.model}' keeps none, or it "
                    "is empty); suggest with a model that keeps characters, such as 'faces', "
                    "and keep one of its faces."
                )
        elif self.accepted is not None and canvas.is_active(self.accepted[0]):
            found = self.accepted
        else:
            return self._say(
                "Suggest with a model that keeps characters, such as 'faces', then press "
                "Keep character while its face is on show or right after Accept."
            )
        doc, kept = found
        self._keep(doc, kept)
        self._say(
            f"Kept {kept.describe()}; tick Same character to draw this person again, or "
            "make a Character sheet."
        )

    def forget_character(self) -> None:
        """Forget the active document's kept character."""
        doc = canvas.active_document()
        if self.kept(doc) is None:
            return self._say("This document keeps no character.")
        canvas.remove_annotation(doc, characters.ANNOTATION)
        self.accepted = None
        self._say("Character forgotten; suggestions draw anyone again.")

    def set_same_character(self, on: bool) -> None:
        """Same character on: Suggest and Optimize draw the kept character (when one is kept)."""
        if on == self.same_character:
            return
        self.same_character = on
        canvas.write_setting("same_character", "true" if on else "false")
        kept = self.kept()
        if not on:
            self._say("Same character off: suggestions draw anyone.")
        elif kept is None:
            self._say(
                "Same character on; keep a character first (Keep character while a face "
                "is on show)."
            )
        else:
            self._say(f"Same character on: suggestions draw {kept.describe()}.")

    def character_sheet_or_stop(self) -> None:
        """Draw a character sheet (a face per emotion and view) of the kept character, or of a
        new one, on a new layer; or stop the one being drawn."""
        if self.sheet is not None:
            for job_id in self.sheet.stop():
                self.client.cancel(job_id)
            return self._say(self.sheet.summary())
        try:
            target = canvas.document_target()
            if self.client.state != "connected":
                raise characters.CharacterError(self.connection_text)
            kept = self.kept(target.document)
            info = characters.sheet_model(self.models, self.model_info(), kept)
            layout = characters.sheet_layout(info.conditions, *target.size)
        except (canvas.CanvasError, characters.CharacterError) as e:
            return self._say(str(e))
        except ValueError:
            width, height = target.size
            return self._say(
                f"A {width:g} x {height:g} point canvas is too small for a character sheet; "
                "make it bigger with Image > Resize Canvas and try again."
            )
        chosen = self.chosen_conditions() if info is self.model_info() else {}
        self.sheet = characters.Sheet(layout, info.name, kept, chosen)
        self.sheet_target, self.sheet_layer = target, None
        self.timer.setInterval(BUSY_TICK_MS)
        who = kept.describe() if kept is not None else "a new character"
        self._say(f"Drawing a character sheet of {who}...")

    def _sheet_tick(self) -> bool:
        """Ask for the sheet's next faces, draw the finished ones; True if anything changed."""
        sheet, target = self.sheet, self.sheet_target
        if sheet is None or target is None:
            return False
        changed = False
        info = self._info_of(sheet.model)
        if sheet.new and sheet.character and sheet.kept is None:  # the first face made one
            first = sheet.session.jobs[0]
            sheet.kept = characters.kept_from(
                sheet.model,
                sheet.character,
                {**sheet.own, **first.target.conditions},
                None,
                "the first face of a character sheet",
                first.strokes(0),
                info.conditions if info is not None else None,
            )
            self._keep(target.document, sheet.kept)
        s = self.suggestion
        others = (len(s.session.open_ids()) if s is not None else 0) + (self.tracing is not None)
        room = MAX_IN_FLIGHT - others - len(sheet.session.open_ids())
        for job in sheet.to_submit(room):
            try:
                job_id = self.client.suggest(
                    n=1,
                    temperature=suggestion_module.variety_for(
                        info, self.varieties, protocol.DEFAULT_TEMPERATURE
                    ),
                    model=sheet.model,
                    **sheet.request(job),
                )
            except client_module.protocol.ProtocolError as e:
                sheet.session.failed(job, e.message)
                continue
            sheet.session.submitted(job, job_id)
        if self.sheet_layer is not None and not canvas.attached(self.sheet_layer):
            for job_id in sheet.stop():
                self.client.cancel(job_id)
            self._end_sheet("The character sheet's layer went away, so the sheet was stopped.")
            return True
        if canvas.is_active(target.document):  # Krita adds shapes through the active document
            for index, cell, strokes in sheet.to_draw():
                self._draw_face(target, index, cell, strokes)
                sheet.drawn.add(index)
                changed = True
        else:
            return changed
        if not sheet.running and not sheet.to_draw():
            self._end_sheet(sheet.summary())
            return True
        if changed:
            self.message = sheet.summary()
        return changed

    def _draw_face(self, target: canvas.Target, index: int, cell: Any, strokes: Any) -> None:
        """One face onto the sheet layer as a group named for its cell; the layer and its
        titles come with the first."""
        if self.sheet_layer is None:
            layer = self.sheet_layer = canvas.add_top_layer(target, characters.SHEET_LAYER)
            assert self.sheet is not None
            layout = self.sheet.layout
            titles = "".join(
                svg.text_svg(t.text, t.x, t.y, layout.font, "#555555", t.anchor)
                for t in layout.labels
            )
            if titles:
                canvas.add_svg(target, layer, svg.group_svg(titles, "titles"))
        body = svg.paths_svg(strokes, target.pen.colour, target.pen.width)
        canvas.add_svg(
            target, self.sheet_layer, svg.group_svg(body, characters.face_name(cell, index))
        )

    def _end_sheet(self, message: str) -> None:
        self.sheet = self.sheet_target = self.sheet_layer = None
        if not self.running:
            self.timer.setInterval(IDLE_TICK_MS)
        self.message = message

    # --- the shadow guide -----------------------------------------------------------------

    def set_guide(self, on: bool) -> None:
        """Turn the shadow guide on or off; off removes the guide layer."""
        if on == self.guide.enabled:
            return
        if on:
            self.guide.turn_on()
            self._say(
                "Shadow guide on: real drawings like yours appear faintly under your "
                "layer after each stroke."
            )
        else:
            self.guide.turn_off()
            self._remove_guide()
            self._say("Shadow guide off.")

    def _remove_guide(self) -> None:
        canvas.remove_layer(self.guide_layer)
        self.guide_layer = self.guide_for = None

    def _guide_tick(self) -> bool:
        """Look at the artist's layer; ask for a guide once it has been still for a moment."""
        if not self.guide.enabled:
            return False
        target = canvas.guide_target()
        if target is None:  # no layer of the artist's is active: leave the guide as is
            return False
        if self.guide_for is not None and not canvas.same_node(self.guide_for, target.layer):
            self._remove_guide()  # another layer: its guide goes below that one
        look = canvas.raster_signature(target.layer) if target.paint else None
        svg_text = "" if target.paint else canvas.layer_svg(target.layer)
        now = time.monotonic()
        self.guide.look((canvas.node_id(target.layer), look or svg_text), now)
        if not self.guide.due(now) or self.client.state != "connected":
            return False
        raster = None
        try:
            if target.paint:
                strokes, raster = [], canvas.layer_raster(target)
            else:
                strokes = client_module.recent_strokes(svg.svg_to_polylines(svg_text))
        except (svg.SvgError, canvas.CanvasError) as e:
            self.guide.skipped()
            self.message = f"The guide cannot read this layer: {e}"
            return True
        self.guide_for, self.guide_target = target.layer, target
        if not strokes and raster is None:
            self.guide.skipped()
            canvas.set_guide_strokes(self._guide_layer(target), target, [])
            return True
        info = self.model_info()
        try:
            self.guide.sent(
                self.client.guide(
                    strokes,
                    self.chosen_conditions(),
                    k=GUIDE_K,
                    model=info.name if info else None,
                    raster=raster,
                )
            )
        except client_module.protocol.ProtocolError as e:
            self.guide.skipped()
            self.message = f"Cannot ask for a guide: {e.message}."
            return True
        return False

    def _guide_layer(self, target: canvas.Target) -> Any:
        if self.guide_layer is None or not canvas.attached(self.guide_layer):
            self.guide_layer = canvas.add_guide_layer(target)
            self.guide_refocus = 20
        return self.guide_layer

    def _show_guide(self, drawings: Any) -> None:
        target = self.guide_target
        if (
            target is None
            or not canvas.attached(target.layer)
            or not canvas.is_active(target.document)
        ):
            return
        alphas = guide_module.opacities([d.weight for d in drawings])
        canvas.set_guide_strokes(
            self._guide_layer(target), target, [(d.strokes, a) for d, a in zip(drawings, alphas)]
        )


def _float(text: str, default: float) -> float:
    try:
        value = float(text)
    except ValueError:
        return default
    return value if math.isfinite(value) else default


def _json(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text) if text else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}

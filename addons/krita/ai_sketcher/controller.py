"""The glue between the docker, the client and the canvas: one Controller per Krita session.

A QTimer on Krita's main thread drains SuggestClient.poll() and applies what arrived through
canvas.py, so the UI never waits on the network and Krita's API is only used from its thread.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from typing import Any

from PyQt5.QtCore import QObject, QTimer, pyqtSignal

from . import CLIENT_NAME, canvas, svg

try:
    from . import client as client_module  # the copy install.py puts into the plugin
except ModuleNotFoundError as e:
    if e.name != f"{__package__}.client":
        raise
    from addons.common import client as client_module  # a repository checkout

SERVER_ENV = "AI_SKETCHER_SERVER"  # overrides the server address saved in Krita's settings
TOKEN_ENV = "AI_SKETCHER_TOKEN"
BUSY_TICK_MS = 40  # how often the client is drained while a suggestion streams in
IDLE_TICK_MS = 250  # otherwise: connection changes are not urgent
DEFAULT_TEMPERATURE = 0.5
DEFAULT_ALTERNATIVES = 3


@dataclass
class Suggestion:
    """One request's alternatives: their strokes as they stream in and the shapes drawn so far."""

    job: str
    target: canvas.Target
    n: int
    layer: Any = None  # the suggestion layer, made when the first stroke arrives
    strokes: dict[int, dict[int, Any]] = field(default_factory=dict)  # sample -> index -> points
    shapes: dict[int, list[Any]] = field(default_factory=dict)  # sample -> shapes, drawn order
    pending: list[tuple[int, int, Any]] = field(default_factory=list)  # not drawn yet
    current: int = 0  # the alternative on show
    running: bool = True
    refocus: int = 0  # timer ticks left in which to give the artist's layer back the focus

    def sample(self, i: int) -> list[Any]:
        return [points for _, points in sorted(self.strokes.get(i, {}).items())]


class Controller(QObject):
    """Holds the settings and the suggestion in progress; the docker and actions call it."""

    changed = pyqtSignal()  # anything the docker shows may have changed

    def __init__(self) -> None:
        super().__init__()
        self.server_url = (os.environ.get(SERVER_ENV)
                           or canvas.read_setting("server", client_module.DEFAULT_URL))
        self.token = os.environ.get(TOKEN_ENV) or canvas.read_setting("token", "") or None
        protocol = client_module.protocol
        self.temperature = min(max(_float(canvas.read_setting("temperature", ""),
                                          DEFAULT_TEMPERATURE), protocol.MIN_TEMPERATURE),
                               protocol.MAX_TEMPERATURE)
        self.alternatives = min(max(int(_float(canvas.read_setting("alternatives", ""),
                                               DEFAULT_ALTERNATIVES)), 1), protocol.MAX_N)
        self.model = canvas.read_setting("model", "") or None
        self.conditions: dict[str, dict[str, str]] = _json(canvas.read_setting("conditions", ""))
        self.message = ""  # the latest thing the artist should know, in plain words
        self.shortcuts: dict[str, str] = {}  # action id -> its key sequence, for tooltips
        self.suggestion: Suggestion | None = None
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

    def chosen_conditions(self) -> dict[str, str]:
        info = self.model_info()
        if info is None:
            return {}
        saved = self.conditions.get(info.name, {})
        return {k: v for k, v in saved.items()
                if k in info.conditions and (not info.conditions[k] or v in info.conditions[k])}

    @property
    def running(self) -> bool:
        return self.suggestion is not None and self.suggestion.running

    @property
    def showing(self) -> tuple[int, int]:
        """(alternative on show, 1-based; number of alternatives), or (0, 0) without one."""
        s = self.suggestion
        return (s.current + 1, s.n) if s else (0, 0)

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

    def set_temperature(self, value: float) -> None:
        self.temperature = value
        canvas.write_setting("temperature", f"{value:g}")

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
        """Start a suggestion for the active vector layer, or stop the one that is streaming."""
        if self.running:
            self.stop()
            return
        try:
            target = canvas.active_target()
            strokes = client_module.recent_strokes(canvas.layer_strokes(target.layer))
        except (canvas.CanvasError, svg.SvgError) as e:
            return self._say(str(e))
        if self.client.state != "connected":
            return self._say(self.connection_text)
        self.reject(quiet=True)
        info = self.model_info()
        mode = "complete" if strokes else "generate"
        try:
            job = self.client.suggest(
                mode, strokes, self.chosen_conditions(), n=self.alternatives,
                temperature=self.temperature, model=info.name if info else None,
                bounds=None if strokes else (0.0, 0.0, *target.size))
        except client_module.protocol.ProtocolError as e:
            return self._say(f"Cannot ask for this suggestion: {e.message}.")
        self.suggestion = Suggestion(job, target, self.alternatives)
        self.timer.setInterval(BUSY_TICK_MS)
        self._say("Drawing..." if strokes else "Your layer is empty, so the model draws "
                                               "something new...")

    def stop(self) -> None:
        if self.running:
            self.client.cancel(self.suggestion.job)
            self._say("Stopping...")

    def flip(self, step: int) -> None:
        """Show the next (step 1) or previous (step -1) alternative."""
        s = self.suggestion
        if s is None or s.n < 2:
            return
        target = (s.current + step) % s.n
        if not s.running:  # once drawing is over, empty alternatives only show nothing: skip them
            while not s.strokes.get(target) and target != s.current:
                target = (target + step) % s.n
        canvas.set_visible(s.shapes.get(s.current, []), False)
        s.current = target
        canvas.set_visible(s.shapes.get(s.current, []), True)
        count = len(s.strokes.get(s.current, {}))
        self._say(f"Alternative {s.current + 1} of {s.n}: {count} stroke"
                  f"{'' if count == 1 else 's'}.")

    def accept(self) -> None:
        """Copy the alternative on show onto the artist's layer and drop the suggestion layer."""
        s = self.suggestion
        if s is None:
            return self._say("There is no suggestion to accept; suggest strokes first.")
        strokes = s.sample(s.current)
        if not strokes:
            return self._say("This alternative has no strokes yet; wait, flip, or reject it.")
        if not canvas.attached(s.target.layer):
            return self._say("Your layer is gone, so there is nothing to accept onto; "
                             "reject the suggestion.")
        if not canvas.is_active(s.target.document):
            return self._say(f"Switch back to '{s.target.document.name()}' to accept its "
                             "suggestion.")
        if s.running:
            self.client.cancel(s.job)
        # Removing first leaves "Create shape" on top of the undo stack: one Ctrl+Z undoes Accept.
        canvas.remove_layer(s.layer)
        canvas.add_strokes(s.target, s.target.layer, strokes)
        self._end()
        many = len(strokes) != 1
        self._say(f"Added {len(strokes)} stroke{'s' if many else ''} to "
                  f"'{s.target.layer.name()}'; Edit > Undo takes {'them' if many else 'it'} back.")

    def reject(self, quiet: bool = False) -> None:
        """Stop the suggestion and remove its layer; the artist's layer was never touched."""
        s = self.suggestion
        if s is None:
            return None if quiet else self._say("There is no suggestion to reject.")
        if s.running:
            self.client.cancel(s.job)
        canvas.remove_layer(s.layer)
        self._end()
        if not quiet:
            self._say("Suggestion removed; your layer is as it was.")

    def _end(self) -> None:
        self.suggestion = None
        self.timer.setInterval(IDLE_TICK_MS)

    def _say(self, text: str) -> None:
        self.message = text
        self.changed.emit()

    # --- the timer ------------------------------------------------------------------------

    def tick(self) -> None:
        """Apply everything the client received since the last tick (Krita's main thread)."""
        protocol = client_module.protocol
        changed = False
        for msg in self.client.poll():
            changed = True
            s = self.suggestion
            mine = s is not None and s.running and getattr(msg, "id", None) == s.job
            if isinstance(msg, protocol.StrokeChunk) and mine:
                s.strokes.setdefault(msg.sample, {})[msg.index] = msg.points
                s.pending.append((msg.sample, msg.index, msg.points))
            elif isinstance(msg, protocol.Done) and mine:
                self._finish(s, msg)
            elif isinstance(msg, protocol.Error) and (mine or msg.id is None):
                if mine:
                    s.running = False
                    if not s.strokes:
                        self._end()
                why = client_module.sentence(msg.message)
                self.message = f"The server could not suggest strokes: {why}"
        s = self.suggestion
        if s is not None and s.pending:
            self._draw(s)
            changed = True
        if s is not None and s.refocus > 0 and s.layer is not None:
            canvas.keep_artist_layer_active(s.target, s.layer)
            s.refocus -= 1
        if changed:
            self.changed.emit()

    def _finish(self, s: Suggestion, done: Any) -> None:
        s.running = False
        for i, sample in enumerate(done.samples):  # done has every stroke, streamed or not
            known = s.strokes.setdefault(i, {})
            for j, points in enumerate(sample):
                if j not in known:
                    known[j] = points
                    s.pending.append((i, j, points))
        total = sum(len(v) for v in s.strokes.values())
        if total == 0:
            self._say("The model had nothing to add this time; try again or raise Variety.")
            canvas.remove_layer(s.layer)
            self._end()
            return
        if not s.strokes.get(s.current):  # show an alternative that has something in it
            self.flip(min(i for i, v in s.strokes.items() if v) - s.current)
        self.timer.setInterval(IDLE_TICK_MS)
        flip = " Next/Previous flip between them;" if s.n > 1 else ""
        what = "Stopped." if done.cancelled else "Done."
        self.message = (f"{what}{flip} Accept adds alternative {s.current + 1} to your layer, "
                        "Reject removes it.")

    def _draw(self, s: Suggestion) -> None:
        """Draw the strokes that arrived, one addShapesFromSvg per alternative."""
        if not canvas.attached(s.target.layer) or (s.layer is not None
                                                   and not canvas.attached(s.layer)):
            self.reject(quiet=True)
            self.message = "The layer went away, so the suggestion was dropped."
            return
        if not canvas.is_active(s.target.document):
            return  # Krita adds shapes through the active document: wait until it is back
        if s.layer is None:
            s.layer = canvas.add_suggestion_layer(s.target)
            s.refocus = 20
        by_sample: dict[int, list[Any]] = {}
        for sample, _, points in s.pending:
            by_sample.setdefault(sample, []).append(points)
        s.pending.clear()
        for sample, strokes in sorted(by_sample.items()):
            shapes = canvas.add_strokes(s.target, s.layer, strokes, hidden=sample != s.current)
            s.shapes.setdefault(sample, []).extend(shapes)


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

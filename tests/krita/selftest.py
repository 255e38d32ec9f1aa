"""A scripted session in the real Krita GUI: the installed plugin loads this file when
$AI_SKETCHER_SELFTEST_SCRIPT names it and $AI_SKETCHER_SELFTEST names a report file.

tests/test_krita_real.py starts Krita with both (tests/krita/harness.py). It is a test driver, so
it lives here and is not installed with the plugin; it imports the installed plugin by its
package name, ai_sketcher, as Krita loaded it. Once the window is up, this draws input strokes
on a vector layer, triggers the plugin's real actions (Suggest, Next, Accept, Undo, Reject,
Suggest on a paint layer, Optimize at two strengths, the shadow guide on and off), records what
the layers hold after each step, writes the report as JSON and ends Krita with os._exit. Set
$AI_SKETCHER_SCREENSHOT to also save a PNG of the window while a suggestion is on show (and one
beside it, "-guide.png", with the shadow guide on). It never runs in normal use.

The session is a generator driven by a QTimer: every `yield` goes back to Krita's own event
loop. Pumping events in a nested loop instead keeps Krita from telling its Layers docker (and
so setActiveNode) about new layers, which is not what artists get.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from collections.abc import Callable, Generator, Iterator
from typing import Any

from ai_sketcher import canvas, svg  # the installed plugin, as Krita loaded it
from ai_sketcher.controller import Controller
from PyQt5.QtCore import QRectF, Qt, QTimer
from PyQt5.QtGui import QColor, QImage, QPainter, QPen
from PyQt5.QtWidgets import QAbstractItemView, QApplication, QDockWidget, QMdiArea

SCREENSHOT_ENV = "AI_SKETCHER_SCREENSHOT"
CONNECT_TIMEOUT = 30.0  # seconds; the server may still be loading its model
SUGGEST_TIMEOUT = 60.0
# The artist's input, a cat's face: a closed outline of cubic Beziers, and two eyes drawn as two
# quadratic subpaths of one path under a transform. The shipped model often adds nothing to a
# drawing it finds complete, so the session presses Suggest again until it has alternatives.
INPUT_SVG = (
    '<path d="M 390 220 C 390 262 358 294 320 294 C 282 294 250 262 250 220 C 250 178 282 146 '
    '320 146 C 358 146 390 178 390 220 Z" fill="none" stroke="#202020" stroke-width="3"/>'
    '<path transform="translate(320, 200) scale(1.2)" d="M -25 0 Q -18 -8 -11 0 '
    'M 11 0 Q 18 -8 25 0" fill="none" stroke="#202020" stroke-width="3"/>'
)
ALTERNATIVES = 6
ATTEMPTS = 8  # Suggest presses at most, until the model draws enough alternatives
PEN = ("#2a62c9", 3.0)  # the artist's foreground colour and brush size in px

Wait = tuple[Callable[[], bool] | None, float]  # resume when it holds, or after that long
_running: list[Any] = []  # keeps the driving timer alive


def run(controller: Controller, report_path: str) -> None:
    """Start the session; it writes the report and ends Krita (0 if it ran, 1 if it crashed)."""
    drive(controller, report_path, _session)


def drive(
    controller: Controller,
    report_path: str,
    session: Callable[[Controller, dict[str, Any]], Iterator[Wait]],
) -> None:
    """Run a session generator on a QTimer, then write its report and end Krita (0 if it
    ran, 1 if it crashed); tests/krita/characters.py drives its own session this way."""
    report: dict[str, Any] = {"krita": canvas.app().version(), "python": sys.version.split()[0]}
    steps = session(controller, report)
    state: dict[str, Any] = {"until": None, "deadline": 0.0}
    timer = QTimer()
    _running.append(timer)

    def finish(code: int) -> None:
        report["top_level_modules"] = sorted({"websockets", "msgpack"} & set(sys.modules))
        with open(report_path, "w", encoding="utf-8") as f:
            json.dump(report, f, indent=1)
        os._exit(code)

    def step() -> None:
        until = state["until"]
        if time.monotonic() < state["deadline"] and not (until is not None and until()):
            return
        try:
            state["until"], seconds = next(steps)
            state["deadline"] = time.monotonic() + seconds
        except StopIteration:
            finish(0)
        except Exception:  # any failure goes into the report
            report["error"] = traceback.format_exc()
            finish(1)

    timer.timeout.connect(step)
    timer.start(50)


def pause(seconds: float) -> Wait:
    return (None, seconds)


def until(condition: Callable[[], bool], timeout: float) -> Wait:
    return (condition, timeout)


def vector_shapes(layer: Any) -> list[dict[str, Any]]:
    return [{"visible": s.visible(), "z": s.zIndex(), "svg": s.toSvg()} for s in layer.shapes()]


def layers(doc: Any) -> list[dict[str, Any]]:
    return [
        {
            "name": n.name(),
            "type": n.type(),
            "shapes": len(n.shapes()) if n.type() == "vectorlayer" else None,
        }
        for n in doc.rootNode().childNodes()
    ]


def undo_history() -> list[str]:
    """The rows of Krita's History docker: one per undo step, oldest first."""
    for dock in canvas.app().dockers():
        if dock.objectName() == "History":
            for view in dock.findChildren(QAbstractItemView):
                m = view.model()
                return [str(m.data(m.index(r, 0), Qt.DisplayRole)) for r in range(m.rowCount())]
    return []


def show_docker(window: Any) -> bool:
    for dock in window.qwindow().findChildren(QDockWidget):
        if dock.objectName() == "ai_sketcher_docker":
            dock.show()
            dock.raise_()
            return dock.isVisible()
    return False


def is_active(doc: Any, node: Any) -> Callable[[], bool]:
    return lambda: doc.activeNode() is not None and doc.activeNode().name() == node.name()


def suggest(c: Controller, alternatives_wanted: int) -> Generator[Wait, None, int]:
    """Press Suggest until that many alternatives have strokes (or ATTEMPTS presses)."""
    attempts = 0
    while attempts < ATTEMPTS:
        attempts += 1
        canvas.app().action("ai_sketcher_suggest").trigger()
        yield until(lambda: not c.running, SUGGEST_TIMEOUT)
        yield pause(0.3)
        s = c.suggestion
        if s is not None and sum(1 for v in s.session.counts() if v) >= alternatives_wanted:
            break
    return attempts


def _session(c: Controller, r: dict[str, Any]) -> Iterator[Wait]:
    app = canvas.app()
    window = app.activeWindow()
    main = window.qwindow()
    main.setGeometry(QApplication.primaryScreen().availableGeometry().adjusted(0, 0, 0, -160))
    # Xvfb has no window manager to activate the window; a click would.
    QApplication.setActiveWindow(main)
    r["shortcuts"] = dict(c.shortcuts)
    r["docker_visible"] = show_docker(window)

    for area in main.findChildren(QMdiArea):
        area.setViewMode(QMdiArea.TabbedView)  # one full-size view, as in Krita's default setup
    doc = app.createDocument(640, 400, "selftest", "RGBA", "U8", "", 72.0)
    window.addView(doc)
    doc.setBatchmode(True)
    yield pause(0.5)
    canvas.set_pen(*PEN)
    sketch = doc.createVectorLayer("Sketch")
    doc.rootNode().addChildNode(sketch, None)
    sketch.addShapesFromSvg(svg.svg_document(INPUT_SVG, 640, 400))
    yield pause(0.3)
    doc.setActiveNode(sketch)
    yield until(is_active(doc, sketch), 30.0)
    r["sketch_active"] = is_active(doc, sketch)()
    app.action("zoom_to_100pct").trigger()
    r["pen"] = [canvas.active_target().pen.colour, window.activeView().brushSize()]
    original_svg, original_shapes = sketch.toSvg(), vector_shapes(sketch)
    r["original_shapes"] = original_shapes
    r["input_strokes"] = canvas.layer_strokes(sketch)

    yield until(lambda: c.state == "connected", CONNECT_TIMEOUT)
    r["connected"] = c.state == "connected"
    r["connection_text"] = c.connection_text
    r["models"] = [
        {"name": m.name, "conditions": {k: len(v) for k, v in m.conditions.items()}}
        for m in c.models
    ]
    info = c.model_info()
    if info is not None and "cat" in info.conditions.get("category", ()):
        c.set_condition("category", "cat")
    c.set_alternatives(ALTERNATIVES)
    variety = {"start": c.temperature, "best": getattr(info, "temperature", None)}
    c.set_temperature(0.8)
    variety["after"] = c.temperature
    other = next((m for m in c.models if info is not None and m.name != info.name), None)
    if other is not None and info is not None:  # each model keeps its own Variety
        c.set_model(other.name)
        variety["other"] = [c.temperature, other.temperature]
        c.set_model(info.name)
        variety["back"] = c.temperature
    r["variety"] = variety
    c.changed.emit()

    r["attempts"] = yield from suggest(c, 2)
    s = c.suggestion
    suggestion_layer = s.layer if s is not None else None
    r["after_suggest"] = {
        "finished": not c.running,
        "message": c.message,
        "layers": layers(doc),
        "active_layer": doc.activeNode().name(),
        "alternatives": {str(k): v for k, v in enumerate(s.session.counts())} if s else {},
        "showing": list(c.showing),
        "suggestion_shapes": vector_shapes(suggestion_layer) if suggestion_layer else [],
        "original_unchanged": sketch.toSvg() == original_svg,
        "original_shapes": vector_shapes(sketch),
    }
    app.action("ai_sketcher_next").trigger()
    yield pause(0.3)
    r["after_next"] = {
        "showing": list(c.showing),
        "message": c.message,
        "visible": [sh["visible"] for sh in vector_shapes(suggestion_layer)]
        if suggestion_layer
        else [],
    }
    shot = os.environ.get(SCREENSHOT_ENV)
    if shot:
        for dock in main.findChildren(QDockWidget):  # room for this docker in a small picture
            if dock.objectName() in ("ColorSelectorNg", "PresetDocker"):
                dock.hide()
        show_docker(window)
        yield pause(1.0)
        r["screenshot"] = window.qwindow().grab().save(shot, "PNG")

    r["chosen_strokes"] = len(s.session.shown_strokes()) if s else 0
    app.action("ai_sketcher_accept").trigger()
    yield pause(0.5)
    r["after_accept"] = {
        "message": c.message,
        "layers": layers(doc),
        "active_layer": doc.activeNode().name(),
        "artist_shapes": vector_shapes(sketch),
        "artist_strokes": canvas.layer_strokes(sketch),
        "history": undo_history(),
    }
    app.action("edit_undo").trigger()
    yield pause(0.5)
    r["after_undo"] = {
        "layers": layers(doc),
        "artist_svg_is_original": sketch.toSvg() == original_svg,
    }

    r["second_attempts"] = yield from suggest(c, 1)
    r["second_suggestion_layers"] = layers(doc)
    app.action("ai_sketcher_reject").trigger()
    yield pause(0.5)
    r["after_reject"] = {
        "message": c.message,
        "layers": layers(doc),
        "artist_svg_is_original": sketch.toSvg() == original_svg,
    }

    doc.setActiveNode(sketch)
    yield until(is_active(doc, sketch), 30.0)
    yield from refine(c, r, sketch, original_svg)
    yield from guide(c, r, doc, sketch)
    yield from paint_layer(c, r, doc)
    yield from trace_layer(c, r, doc)


def refine(c: Controller, r: dict[str, Any], sketch: Any, original_svg: str) -> Iterator[Wait]:
    """Optimize my drawing at Strength 0 and 1: both redraw the strokes, differently."""
    c.set_alternatives(1)
    out = {}
    doc = canvas.app().activeDocument()
    for strength in (0.0, 1.0):
        c.set_strength(strength)
        # Krita activates a new layer in its own time; on a busy machine the suggestion layer
        # of the step before can still take focus, so make sure the artist's layer has it.
        doc.setActiveNode(sketch)
        yield until(is_active(doc, sketch), 30.0)
        canvas.app().action("ai_sketcher_refine").trigger()
        yield until(lambda: c.suggestion is not None and not c.running, SUGGEST_TIMEOUT)
        yield pause(0.3)  # Krita runs its events while it adds shapes: let the last ones land
        s = c.suggestion
        out[str(strength)] = {
            "kind": s.session.kind if s else None,
            "strokes": s.session.shown_strokes() if s else [],
            "message": c.message,
        }
        c.reject(quiet=True)
        yield pause(0.3)
    r["refine"] = out
    r["refine_artist_unchanged"] = sketch.toSvg() == original_svg


def guide_state(doc: Any, sketch: Any) -> dict[str, Any]:
    names = [n.name() for n in doc.rootNode().childNodes()]
    layer = next((n for n in doc.rootNode().childNodes() if n.name() == canvas.GUIDE_LAYER), None)
    return {
        "layers": names,
        "active_layer": doc.activeNode().name(),
        "shapes": vector_shapes(layer) if layer is not None else [],
        "opacity": layer.opacity() if layer is not None else None,
        "locked": layer.locked() if layer is not None else None,
        "artist_svg": sketch.toSvg(),
    }


def guide(c: Controller, r: dict[str, Any], doc: Any, sketch: Any) -> Iterator[Wait]:
    """Shadow guide on; a stroke, then a second: the guide layer below follows; then save the
    document with the guide on and turn it off."""
    app = canvas.app()
    doc.setActiveNode(sketch)  # the guide follows the active layer: make it the artist's
    yield until(is_active(doc, sketch), 30.0)
    app.action("ai_sketcher_guide").trigger()
    r["guide_on"] = c.guide.enabled
    strokes = (
        '<path d="M 250 320 C 290 350 350 350 390 320" fill="none" stroke="#202020" '
        'stroke-width="3"/>',
        '<path d="M 300 120 L 280 80 L 320 110" fill="none" stroke="#202020" stroke-width="3"/>',
    )
    steps = []
    for stroke in strokes:
        sketch.addShapesFromSvg(svg.svg_document(stroke, 640, 400))  # the artist's stroke
        yield pause(0.2)
        drawn = sketch.toSvg()
        yield until(
            lambda drawn=drawn: (
                c.guide.shown is not None
                and c.guide.shown[1] == drawn
                and c.guide.in_flight is None
            ),
            60.0,
        )
        yield pause(0.5)
        step = guide_state(doc, sketch)
        step["guided_this_drawing"] = c.guide.shown is not None and c.guide.shown[1] == drawn
        step["artist_unchanged"] = sketch.toSvg() == drawn
        step["message"] = c.message
        steps.append(step)
    r["guide_steps"] = steps
    shot = os.environ.get(SCREENSHOT_ENV)
    if shot:
        yield pause(1.0)
        path = shot[:-4] + "-guide.png" if shot.endswith(".png") else shot + "-guide"
        r["guide_screenshot"] = canvas.app().activeWindow().qwindow().grab().save(path, "PNG")
    saved = os.path.join(os.path.dirname(os.environ["AI_SKETCHER_SELFTEST"]), "guided.kra")
    r["saved"] = bool(doc.saveAs(saved))
    yield pause(0.5)
    r["after_save"] = guide_state(doc, sketch)
    app.action("ai_sketcher_guide").trigger()
    yield pause(0.5)
    r["guide_off"] = guide_state(doc, sketch)
    r["saved_artist_svg"] = steps[-1]["artist_svg"] if steps else ""


def painted(width: int, height: int, draw: Callable[[QPainter], None]) -> QImage:
    """A transparent image with `draw` done on it in dark grey, 4 px wide, antialiased."""
    image = QImage(width, height, QImage.Format_ARGB32)
    image.fill(Qt.transparent)
    p = QPainter(image)
    p.setRenderHint(QPainter.Antialiasing)
    p.setPen(QPen(QColor("#202020"), 4))
    draw(p)
    p.end()
    return image


def cat_face(p: QPainter) -> None:
    p.drawEllipse(QRectF(250, 146, 140, 148))
    p.drawArc(QRectF(290, 190, 16, 16), 0, 180 * 16)
    p.drawArc(QRectF(334, 190, 16, 16), 0, 180 * 16)


def paint_state(c: Controller, doc: Any, original: bytes) -> dict[str, Any]:
    ink = next(n for n in doc.rootNode().childNodes() if n.name() == "Ink")
    data = canvas.pixels(ink)
    s = c.suggestion
    return {
        "message": c.message,
        "layers": [n.name() for n in doc.rootNode().childNodes()],
        "active_layer": doc.activeNode().name(),
        "pixels_unchanged": data == original,
        "pen_pixels": data.count(bytes(reversed(bytes.fromhex(PEN[0][1:]))) + b"\xff"),
        "alternatives": list(s.session.counts()) if s else [],
        "showing": list(c.showing),
        "history": undo_history()[-3:],
    }


def paint_layer(c: Controller, r: dict[str, Any], doc: Any) -> Iterator[Wait]:
    """A paint layer with a painted cat face: Suggest, Next, Accept (merged down in the pen's
    colour), Undo (pixels back, suggestion back), Reject; then the guide from its pixels."""
    app = canvas.app()
    ink = doc.createNode("Ink", "paintlayer")
    doc.rootNode().addChildNode(ink, None)
    canvas.set_pixels(ink, painted(640, 400, cat_face))
    doc.refreshProjection()
    doc.setActiveNode(ink)
    yield until(is_active(doc, ink), 30.0)
    original = canvas.pixels(ink)
    r["paint_original_ink"] = len(original) - original.count(b"\x00\x00\x00\x00")
    c.set_alternatives(4)
    r["paint_attempts"] = yield from suggest(c, 2)
    r["paint_suggest"] = paint_state(c, doc, original)
    app.action("ai_sketcher_next").trigger()
    yield pause(0.3)
    r["paint_next"] = paint_state(c, doc, original)
    s = c.suggestion
    r["paint_chosen"] = len(s.session.shown_strokes()) if s else 0
    app.action("ai_sketcher_accept").trigger()
    yield pause(1.0)
    r["paint_accept"] = paint_state(c, doc, original)
    app.action("edit_undo").trigger()
    yield pause(1.0)
    r["paint_undo"] = paint_state(c, doc, original)
    app.action("ai_sketcher_reject").trigger()
    yield pause(0.5)
    r["paint_reject"] = paint_state(c, doc, original)
    yield from suggest(c, 1)
    app.action("ai_sketcher_reject").trigger()
    yield pause(0.5)
    r["paint_reject_again"] = paint_state(c, doc, original)

    canvas.select_rect(doc, 300, 150, 100, 60)  # the raster is the selection's part of the layer
    yield pause(0.3)
    sent = canvas.layer_raster(canvas.active_target())
    r["paint_selection_box"] = sent[1] if sent else None
    app.action("deselect").trigger()
    yield pause(0.3)
    whole = canvas.layer_raster(canvas.active_target())
    r["paint_whole_box"] = whole[1] if whole else None

    app.action("ai_sketcher_guide").trigger()
    ink = next(n for n in doc.rootNode().childNodes() if n.name() == "Ink")
    doc.setActiveNode(ink)
    yield until(is_active(doc, ink), 30.0)
    full, canvas.SIGNATURE_PIXELS = canvas.SIGNATURE_PIXELS, 0  # the big layers' thumbnail way
    before = canvas.raster_signature(ink)
    canvas.set_pixels(
        ink, painted(640, 400, lambda p: (cat_face(p), p.drawLine(250, 320, 390, 320)))
    )
    doc.refreshProjection()
    r["paint_thumbnail_signatures"] = [before, canvas.raster_signature(ink)]
    canvas.SIGNATURE_PIXELS = full
    stroked = canvas.pixels(ink)
    look = (canvas.node_id(ink), canvas.raster_signature(ink))
    yield until(
        lambda: c.guide.shown == look and c.guide.in_flight is None,
        20.0,
    )
    yield pause(0.5)
    guide_layer = next(
        (n for n in doc.rootNode().childNodes() if n.name() == canvas.GUIDE_LAYER), None
    )
    r["paint_guide"] = {
        **paint_state(c, doc, stroked),
        "guided": c.guide.shown == look,
        "shapes": len(guide_layer.shapes()) if guide_layer is not None else 0,
    }
    app.action("ai_sketcher_guide").trigger()
    yield pause(0.5)
    r["paint_guide_off"] = paint_state(c, doc, stroked)


def photo(width: int, height: int) -> QImage:
    """An opaque photo-like image: a dark disc and a bar on a light gradient."""
    image = QImage(width, height, QImage.Format_ARGB32)
    p = QPainter(image)
    for x in range(0, width, 8):
        p.fillRect(x, 0, 8, height, QColor.fromHsv(30, 20, 230 - x * 40 // width))
    p.setRenderHint(QPainter.Antialiasing)
    p.setPen(Qt.NoPen)
    p.setBrush(QColor("#303030"))
    p.drawEllipse(QRectF(200, 80, 240, 240))
    p.drawRect(QRectF(100, 340, 440, 30))
    p.end()
    return image


def trace_layer(c: Controller, r: dict[str, Any], doc: Any) -> Iterator[Wait]:
    """Trace layer on a paint layer holding a photo: its line drawing arrives on a new vector
    layer right above it, and the photo's pixels stay as they were."""
    app = canvas.app()
    layer = doc.createNode("Photo", "paintlayer")
    doc.rootNode().addChildNode(layer, None)
    canvas.set_pixels(layer, photo(640, 400))
    doc.refreshProjection()
    doc.setActiveNode(layer)
    yield until(is_active(doc, layer), 30.0)
    original = canvas.pixels(layer)
    app.action("ai_sketcher_trace").trigger()
    r["trace_started"] = c.message
    yield until(lambda: c.tracing is None, SUGGEST_TIMEOUT)
    yield pause(0.5)
    names = [n.name() for n in doc.rootNode().childNodes()]
    traced = next((n for n in doc.rootNode().childNodes() if n.name() == "Trace of Photo"), None)
    r["trace"] = {
        "message": c.message,
        "layers": names,
        "pixels_unchanged": canvas.pixels(layer) == original,
        "shapes": len(traced.shapes()) if traced is not None else 0,
        "type": traced.type() if traced is not None else None,
        "strokes": [[list(p) for p in s] for s in canvas.layer_strokes(traced)]
        if traced is not None
        else [],
        "size_pt": list(canvas.active_target().size),
    }

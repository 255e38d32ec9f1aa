"""Characters in the real Krita GUI: the driver tests/test_krita_real_characters.py has the
installed plugin load (through $AI_SKETCHER_SELFTEST_SCRIPT, as selftest.py), against a real
server with the shipped `faces` model.

On a 1400 x 640 pt document with the artist's own layers (a painted "Ink", a vector "Sketch"):
Suggest on an empty layer, Accept, Keep character; Same character on, Suggest again on another
empty layer (the request must carry the kept character, and the server draws that person),
Keep character while it is on show; save the .kra; Character sheet from the kept character;
Forget; Character sheet from a new character; open the saved .kra again. Every request the
plugin sends is recorded through a wrapper around its client's suggest(). Set
$AI_SKETCHER_SCREENSHOT to save the window with the first sheet on show as
krita-character-sheet.png beside it.
"""

from __future__ import annotations

import faulthandler
import importlib.util
import inspect
import os
import shutil
import time
import zlib
from collections.abc import Iterator
from typing import Any

from ai_sketcher import canvas, characters, svg  # the installed plugin, as Krita loaded it
from ai_sketcher.controller import Controller
from PyQt5.QtWidgets import QAbstractScrollArea, QApplication, QDockWidget, QMdiArea


def _sibling(name: str) -> Any:
    """selftest.py beside this file (the session runner and its helpers), loaded by path as
    Krita loaded this one."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), f"{name}.py")
    spec = importlib.util.spec_from_file_location(f"ai_sketcher_{name}_base", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


base = _sibling("selftest")
pause, until, is_active = base.pause, base.until, base.is_active
SIZE = (1400, 640)  # points (72 dpi): room for 7 emotions x 3 views
SHEET_TIMEOUT = 120.0
SCREENSHOT_NAME = "krita-character-sheet.png"


def run(controller: Controller, report_path: str) -> None:
    faulthandler.enable(2)  # a crash in Krita under a call of ours: its Python stack in the log
    base.drive(controller, report_path, _session)


def spy_on_requests(c: Controller) -> list[dict[str, Any]]:
    """Record every suggest the plugin sends (its arguments, and how many requests it had open
    at the server with this one), then send it as usual."""
    sent: list[dict[str, Any]] = []
    real = c.client.suggest
    signature = inspect.signature(real)

    def suggest(*args: Any, **kwargs: Any) -> str:
        asked = signature.bind(*args, **kwargs).arguments
        sheet = c.sheet
        record = {
            "mode": asked.get("mode"),
            "conditions": dict(asked.get("conditions") or {}),
            "character": asked.get("character"),
            "bounds": list(asked["bounds"]) if asked.get("bounds") else None,
            "use_library": asked.get("use_library"),
            "model": asked.get("model"),
            "sheet": sheet is not None,
            "sheet_open": (len(sheet.session.open_ids()) + 1) if sheet is not None else 0,
            "all_open": c.open_requests() + 1,
        }
        record["id"] = real(*args, **kwargs)
        sent.append(record)
        return record["id"]

    c.client.suggest = suggest
    return sent


def docker(window: Any) -> Any:
    for dock in window.qwindow().findChildren(QDockWidget):
        if dock.objectName() == "ai_sketcher_docker":
            return dock
    return None


def kept(c: Controller, doc: Any = None) -> dict[str, Any] | None:
    k = c.kept(doc)
    if k is None:
        return None
    return {
        "model": k.model,
        "character": k.character,
        "conditions": dict(k.conditions),
        "source": k.source,
        "strokes": len(k.strokes),
        "describe": k.describe(),
    }


def snapshot(doc: Any) -> dict[str, Any]:
    """Every top-level layer as the artist would compare it: name, type, visibility,
    opacity, and its shapes' SVG or a checksum of its pixels."""
    out = {}
    for i, node in enumerate(doc.rootNode().childNodes()):
        content: Any
        if node.type() == "vectorlayer":
            content = node.toSvg()
        else:
            content = zlib.crc32(canvas.pixels(node))
        out[f"{i}:{node.name()}"] = [node.type(), node.visible(), node.opacity(), content]
    return out


def sheet_state(c: Controller, doc: Any, sent: list[dict[str, Any]]) -> dict[str, Any]:
    layers = list(doc.rootNode().childNodes())
    sheet = layers[-1] if layers and layers[-1].name() == characters.SHEET_LAYER else None
    shapes = []
    for shape in sheet.shapes() if sheet is not None else []:
        box = shape.boundingBox()
        shapes.append(
            {
                "type": shape.type(),
                "name": shape.name(),
                "children": [child.type() for child in shape.children()]
                if shape.type() == "groupshape"
                else [],
                "box": [box.x(), box.y(), box.x() + box.width(), box.y() + box.height()],
                "strokes": svg.svg_to_polylines(shape.toSvg()),
            }
        )
    return {
        "message": c.message,
        "layers": [n.name() for n in layers],
        "types": [n.type() for n in layers],
        "shapes": shapes,
        "requests": sent,
        "kept": kept(c, doc),
        "active_document_is_this": canvas.is_active(doc),
    }


def fit_page(window: Any, main: Any) -> Iterator[Any]:
    """Zoom the view so the whole page shows, centred (for the screenshot)."""
    view = window.activeView()
    area = next(
        (a for a in main.findChildren(QAbstractScrollArea) if a.viewport().width() > 400), None
    )
    if area is None:
        return
    port = area.viewport()
    view.canvas().setZoomLevel(0.96 * min(port.width() / SIZE[0], port.height() / SIZE[1]))
    yield pause(0.5)
    for bar in (area.horizontalScrollBar(), area.verticalScrollBar()):
        bar.setValue((bar.minimum() + bar.maximum()) // 2)
    yield pause(1.0)


def _session(c: Controller, r: dict[str, Any]) -> Iterator[Any]:
    app = canvas.app()
    window = app.activeWindow()
    main = window.qwindow()
    main.setGeometry(QApplication.primaryScreen().availableGeometry().adjusted(0, 0, 0, -160))
    QApplication.setActiveWindow(main)
    r["shortcuts"] = dict(c.shortcuts)
    r["docker_visible"] = base.show_docker(window)
    for area in main.findChildren(QMdiArea):
        area.setViewMode(QMdiArea.TabbedView)
    doc = app.createDocument(*SIZE, "characters", "RGBA", "U8", "", 72.0)
    window.addView(doc)
    doc.setBatchmode(True)
    yield pause(0.5)
    canvas.set_pen("#202020", 2.0)
    root = doc.rootNode()
    ink = doc.createNode("Ink", "paintlayer")  # the artist's own layers, which must not change
    root.addChildNode(ink, None)
    canvas.set_pixels(ink, base.painted(*SIZE, base.cat_face))
    sketch = doc.createVectorLayer("Sketch")
    root.addChildNode(sketch, None)
    sketch.addShapesFromSvg(svg.svg_document(base.INPUT_SVG, *SIZE))
    faces = doc.createVectorLayer("Faces")
    root.addChildNode(faces, None)
    doc.refreshProjection()
    yield pause(0.3)
    doc.setActiveNode(faces)
    yield until(is_active(doc, faces), 30.0)

    yield until(lambda: c.state == "connected", base.CONNECT_TIMEOUT)
    r["connected"] = c.state == "connected"
    r["models"] = {m.name: m.characters for m in c.models}
    c.set_model("faces")
    c.set_condition("style", "cartoon")
    c.set_alternatives(2)
    sent = spy_on_requests(c)
    dock = docker(window)
    r["kept_at_start"] = kept(c)
    r["docker_before"] = dock.kept.text() if dock is not None else None

    # 1. Suggest on the empty "Faces" layer (generate), Accept, then Keep character.
    app.action("ai_sketcher_suggest").trigger()
    yield until(lambda: c.suggestion is not None and not c.running, base.SUGGEST_TIMEOUT)
    yield pause(0.3)  # Krita runs its events while it adds shapes: let the last ones land
    s = c.suggestion
    r["first"] = {
        "request": sent[-1] if sent else None,
        "characters": dict(s.job.characters) if s else {},
        "showing": list(c.showing),
        "message": c.message,
    }
    app.action("ai_sketcher_accept").trigger()
    yield pause(0.5)
    history = base.undo_history()
    app.action("ai_sketcher_keep_character").trigger()
    yield pause(0.3)
    r["keep_after_accept"] = {
        "message": c.message,
        "kept": kept(c),
        "docker": dock.kept.text() if dock is not None else None,
        "thumbnail": bool(dock is not None and not dock.thumbnail.pixmap().isNull()),
        "annotations": list(doc.annotationTypes()),
        "modified": doc.modified(),
        "history_unchanged": base.undo_history() == history,
    }

    # 2. Same character on, "happy": Suggest on another empty layer draws the kept person.
    app.action("ai_sketcher_same_character").trigger()
    r["same_on"] = {"on": c.same_character, "message": c.message}
    c.set_condition("emotion", "happy")
    faces2 = doc.createVectorLayer("Faces 2")
    root.addChildNode(faces2, None)
    yield pause(0.3)
    doc.setActiveNode(faces2)
    yield until(is_active(doc, faces2), 30.0)
    before = len(sent)
    app.action("ai_sketcher_suggest").trigger()
    yield until(lambda: c.suggestion is not None and not c.running, base.SUGGEST_TIMEOUT)
    yield pause(0.3)  # Krita runs its events while it adds shapes: let the last ones land
    s = c.suggestion
    r["same"] = {
        "requests": sent[before:],
        "characters": dict(s.job.characters) if s else {},
        "counts": s.session.counts() if s else [],
        "message": c.message,
        "docker_same": dock.same.isChecked() if dock is not None else None,
    }
    app.action("ai_sketcher_keep_character").trigger()  # while it is on show
    yield pause(0.3)
    r["keep_while_shown"] = {"message": c.message, "kept": kept(c)}
    app.action("ai_sketcher_reject").trigger()
    yield pause(0.3)
    app.action("ai_sketcher_same_character").trigger()
    c.set_condition("emotion", None)
    r["same_off"] = c.same_character

    # 3. Saved with the document.
    saved = os.path.join(os.path.dirname(os.environ["AI_SKETCHER_SELFTEST"]), "characters.kra")
    r["saved"] = bool(doc.saveAs(saved))
    r["saved_kept"] = kept(c)
    yield pause(0.5)

    # 4. Character sheet of the kept character; the artist hid their layers first.
    for layer in (ink, sketch, faces, faces2):
        layer.setVisible(False)
    doc.refreshProjection()
    yield pause(0.3)
    r["sheet_layers_before"] = snapshot(doc)
    size = canvas.document_target().size
    info = next(m for m in c.models if m.name == "faces")
    layout = characters.sheet_layout(info.conditions, *size)
    r["cells"] = [{"label": cell.label, "bounds": list(cell.bounds)} for cell in layout.cells]
    before = len(sent)
    started = time.monotonic()
    app.action("ai_sketcher_character_sheet").trigger()
    r["sheet_started"] = {"message": c.message, "running": c.sheet is not None}
    yield until(lambda: c.sheet is None, SHEET_TIMEOUT)
    r["sheet_seconds"] = round(time.monotonic() - started, 1)
    yield pause(0.5)
    r["sheet"] = sheet_state(c, doc, sent[before:])
    r["sheet"]["others"] = {
        k: v for k, v in snapshot(doc).items() if not k.endswith(characters.SHEET_LAYER)
    }
    shot = os.environ.get(base.SCREENSHOT_ENV)
    r["dockers"] = [d.objectName() for d in main.findChildren(QDockWidget) if d.isVisible()]
    if shot:
        for d in main.findChildren(QDockWidget):  # room for the canvas and this docker
            if d.objectName() not in ("ai_sketcher_docker", "KisLayerBox"):
                d.hide()
        base.show_docker(window)
        yield pause(0.5)
        yield from fit_page(window, main)
        path = os.path.join(os.path.dirname(shot), SCREENSHOT_NAME)
        r["screenshot"] = main.grab().save(path, "PNG")
        r["screenshot_path"] = path

    # 5. Forget, then a sheet of a new character: the first face makes it.
    app.action("ai_sketcher_forget_character").trigger()
    r["forgot"] = {"message": c.message, "kept": kept(c), "annotations": doc.annotationTypes()}
    r["new_layers_before"] = snapshot(doc)
    before = len(sent)
    app.action("ai_sketcher_character_sheet").trigger()
    yield until(lambda: c.sheet is None, SHEET_TIMEOUT)
    yield pause(0.5)
    r["new_sheet"] = sheet_state(c, doc, sent[before:])
    r["new_sheet"]["others"] = dict(list(snapshot(doc).items())[:-1])

    # 6. The saved document keeps its character when opened again.
    copy = saved[: -len(".kra")] + "-copy.kra"  # not the open file: Krita would ask about it
    shutil.copyfile(saved, copy)
    opened = app.openDocument(copy)
    window.addView(opened)
    yield pause(1.0)
    r["reopened"] = {"kept": kept(c, opened), "active_kept": kept(c)}

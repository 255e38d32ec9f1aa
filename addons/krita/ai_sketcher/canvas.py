"""Everything that touches Krita's API: the only module of the plugin that imports `krita`.

It reads strokes from the artist's vector layer (or a paint layer's pixels as a PNG), makes and
removes the suggestion layer, adds shapes from SVG and shows or hides them, merges an accepted
suggestion down into a paint layer, and hands docker.py and extension.py Krita's base
classes. The rest of the plugin passes the objects it gets from here around without looking
inside (only the self-test drives Krita further, through app()). Shapes are in points (1/72
inch); so are the strokes.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import krita
from krita import DockWidget, DockWidgetFactoryBase, Extension  # noqa: F401  (host base classes)
from PyQt5.QtCore import QBuffer, QByteArray, QIODevice, QRect
from PyQt5.QtGui import QColor, QImage

from . import svg

SETTINGS_GROUP = "ai_sketcher"
SUGGESTION_LAYER = "AI suggestions"
SUGGESTION_OPACITY = 200  # of 255: a hint that these strokes are not the artist's yet
GUIDE_LAYER = "AI guide"
GUIDE_OPACITY = 64  # of 255, about 25 %: a shadow to draw over, not a drawing
GUIDE_COLOUR = "#3b6ea8"
TRACE_LAYER = "Trace of {}"  # the vector layer Trace layer makes, by the traced layer's name
MIN_WIDTH = 0.5  # points; thinner strokes vanish at normal zoom
SIGNATURE_PIXELS = 2_000_000  # paint layers up to this many pixels are fingerprinted in full
SIGNATURE_SIDE = 1024  # larger ones through a thumbnail this big


class CanvasError(Exception):
    """Why the plugin cannot work on the current document or layer, said for the artist."""


@dataclass
class Pen:
    """How suggested strokes are drawn: the foreground colour and the brush size in points."""

    colour: str
    width: float


@dataclass
class Target:
    """The document and layer a suggestion is for, and the pen it is drawn with."""

    document: Any  # krita.Document
    layer: Any  # krita.VectorLayer, or a paint layer's krita.Node when `paint`
    pen: Pen
    size: tuple[float, float]  # document width and height in points
    paint: bool = False  # a paint layer: its pixels go as a raster, Accept merges into it


def app() -> Any:
    """The Krita application object."""
    return krita.Krita.instance()


def read_setting(key: str, default: str) -> str:
    return app().readSetting(SETTINGS_GROUP, key, default)


def write_setting(key: str, value: str) -> None:
    app().writeSetting(SETTINGS_GROUP, key, value)


def register(extension: Any, docker_factory: Any) -> None:
    app().addExtension(extension)
    app().addDockWidgetFactory(docker_factory)


def dock_right() -> Any:
    return DockWidgetFactoryBase.DockRight


def on_window_created(callback: Any) -> None:
    app().notifier().windowCreated.connect(callback)


# --- reading ----------------------------------------------------------------------------------


def active_target() -> Target:
    """The active document and layer, if the layer can take suggestions; else CanvasError."""
    doc = app().activeDocument()
    if doc is None:
        raise CanvasError("Open or create a document first, then pick the layer you draw on.")
    layer = doc.activeNode()
    if layer is None:
        raise CanvasError("Pick the layer you draw on in the Layers docker first.")
    if layer.name() in (SUGGESTION_LAYER, GUIDE_LAYER):
        raise CanvasError(
            f"'{layer.name()}' belongs to AI Sketcher; pick your own layer, the one you "
            "draw on, and try again."
        )
    if layer.type() not in ("vectorlayer", "paintlayer"):
        raise CanvasError(
            f"Suggestions work on a paint layer or a vector layer, and '{layer.name()}' is a "
            f"{layer.type()}: pick the layer you draw on (or add one with Layer > New), "
            "draw a few strokes, and suggest again."
        )
    return Target(doc, layer, _pen(doc), _size_pt(doc), layer.type() == "paintlayer")


def _size_pt(doc: Any) -> tuple[float, float]:
    return (doc.width() * 72.0 / doc.xRes(), doc.height() * 72.0 / doc.yRes())


def _pen(doc: Any) -> Pen:
    window = app().activeWindow()
    view = window.activeView() if window is not None else None
    if view is None or view.document() is None:
        return Pen("#000000", 2.0)
    colour = view.foregroundColor().colorForCanvas(view.canvas()).name()
    return Pen(colour, max(MIN_WIDTH, view.brushSize() * 72.0 / doc.xRes()))


def select_rect(doc: Any, x: int, y: int, width: int, height: int) -> None:
    """Select a rectangle of the document, as the rectangle selection tool would."""
    selection = krita.Selection()
    selection.select(x, y, width, height, 255)
    doc.setSelection(selection)


def set_pen(colour: str, size_px: float) -> None:
    """Set the active view's foreground colour and brush size, as the artist would."""
    view = app().activeWindow().activeView()
    view.setForeGroundColor(krita.ManagedColor.fromQColor(QColor(colour), view.canvas()))
    view.setBrushSize(size_px)


def layer_strokes(layer: Any) -> list[svg.Stroke]:
    """The artist's strokes on a vector layer, as polylines in points."""
    return svg.svg_to_polylines(layer.toSvg())


def layer_svg(layer: Any) -> str:
    return layer.toSvg()


def layer_raster(target: Target) -> tuple[bytes, list[float]] | None:
    """A paint layer's pixels inside the selection (or the canvas) as a PNG, with the box they
    cover in points; None when that part of the layer is empty."""
    doc, layer = target.document, target.layer
    area = QRect(0, 0, doc.width(), doc.height())
    selection = doc.selection()
    if selection is not None and selection.width() > 0 and selection.height() > 0:
        area = area.intersected(
            QRect(selection.x(), selection.y(), selection.width(), selection.height())
        )
    area = area.intersected(layer.bounds())
    if area.isEmpty():
        return None
    buffer = QBuffer()
    buffer.open(QIODevice.WriteOnly)
    if not _rgba(layer, area).save(buffer, "PNG"):
        raise CanvasError("Krita could not make a PNG of this layer; try a smaller selection.")
    sx, sy = 72.0 / doc.xRes(), 72.0 / doc.yRes()
    x0, y0, x1, y1 = area.x(), area.y(), area.x() + area.width(), area.y() + area.height()
    return bytes(buffer.data()), [x0 * sx, y0 * sy, x1 * sx, y1 * sy]


def _rgba(layer: Any, area: Any) -> QImage:
    """The layer's pixels in `area` as a QImage (8-bit RGBA layers only)."""
    if (layer.colorModel(), layer.colorDepth()) != ("RGBA", "U8"):
        raise CanvasError(
            f"'{layer.name()}' is {layer.colorModel()} {layer.colorDepth()}; AI Sketcher reads "
            "8-bit RGB/Alpha paint layers: convert it with Layer > Convert > Convert Layer "
            "Color Space, or draw on a vector layer."
        )
    data = bytes(layer.pixelData(area.x(), area.y(), area.width(), area.height()))
    # Krita keeps 8-bit RGBA as B, G, R, A bytes: QImage's ARGB32 on a little-endian machine.
    image = QImage(data, area.width(), area.height(), area.width() * 4, QImage.Format_ARGB32)
    return image.copy()  # own the pixels: `data` goes away with this frame


def raster_signature(layer: Any) -> str:
    """A fingerprint of a paint layer's pixels that changes whenever the artist paints (the
    guide's timer takes it four times a second, so big layers are fingerprinted scaled down)."""
    r = layer.bounds()
    if r.isEmpty():
        return "empty"
    if r.width() * r.height() <= SIGNATURE_PIXELS:
        data = bytes(layer.pixelData(r.x(), r.y(), r.width(), r.height()))
    else:
        thumb = layer.thumbnail(SIGNATURE_SIDE, SIGNATURE_SIDE)
        data = bytes(thumb.constBits().asstring(thumb.sizeInBytes()))
    return f"{r.x()},{r.y()},{r.width()},{r.height()}:{zlib.crc32(data):08x}"


def pixels(layer: Any) -> bytes:
    """All of a layer's pixel bytes over the canvas (the self-test compares them)."""
    doc = app().activeDocument()
    return bytes(layer.pixelData(0, 0, doc.width(), doc.height()))


def set_pixels(layer: Any, image: QImage) -> None:
    """Replace a paint layer's pixels from the top-left with an image (the self-test paints)."""
    image = image.convertToFormat(QImage.Format_ARGB32)
    data = QByteArray(bytes(image.constBits().asstring(image.sizeInBytes())))
    layer.setPixelData(data, 0, 0, image.width(), image.height())


def document_target() -> Target:
    """The active document with its pen, for what draws on a layer of its own (a character
    sheet); `layer` is the active node, which may be None."""
    doc = app().activeDocument()
    if doc is None:
        raise CanvasError("Open or create a document first, then try again.")
    return Target(doc, doc.activeNode(), _pen(doc), _size_pt(doc))


def active_document() -> Any:
    """The document in the active view, or None."""
    return app().activeDocument()


def read_annotation(doc: Any, name: str) -> bytes | None:
    """A document annotation's bytes (saved in the .kra with it), or None if it has none."""
    if doc is None or name not in doc.annotationTypes():
        return None
    return bytes(doc.annotation(name))


def write_annotation(doc: Any, name: str, description: str, data: bytes) -> None:
    """Store bytes in the document; Krita saves them in the .kra and marks it modified."""
    doc.setAnnotation(name, description, data)


def remove_annotation(doc: Any, name: str) -> None:
    if doc is not None and name in doc.annotationTypes():
        doc.removeAnnotation(name)


def guide_target() -> Target | None:
    """The active layer the guide follows, or None when the artist is elsewhere."""
    try:
        target = active_target()
    except CanvasError:
        return None
    return target


def node_id(node: Any) -> str:
    return node.uniqueId().toString()


def same_node(a: Any, b: Any) -> bool:
    return a is not None and b is not None and node_id(a) == node_id(b)


def is_active(doc: Any) -> bool:
    """Whether `doc` is the document in the active view (addShapesFromSvg works on that one)."""
    active = app().activeDocument()
    return active is not None and active == doc


def attached(node: Any) -> bool:
    """Whether a layer is still in its document (the artist may have deleted it)."""
    return node is not None and node.parentNode() is not None


# --- writing ----------------------------------------------------------------------------------


def add_suggestion_layer(target: Target) -> Any:
    """A new vector layer just above the artist's (see keep_artist_layer_active)."""
    layer = target.document.createVectorLayer(SUGGESTION_LAYER)
    target.layer.parentNode().addChildNode(layer, target.layer)
    layer.setOpacity(SUGGESTION_OPACITY)
    return layer


def add_strokes(
    target: Target, layer: Any, strokes: Sequence[Sequence[Sequence[float]]], hidden: bool = False
) -> list[Any]:
    """Add strokes as vector paths in one undo step, on top of the layer; returns the shapes."""
    if not strokes:
        return []
    body = svg.paths_svg(strokes, target.pen.colour, target.pen.width, hidden=hidden)
    shapes = list(layer.addShapesFromSvg(svg.svg_document(body, *target.size)))
    top = max(shape.zIndex() for shape in layer.shapes())
    for i, shape in enumerate(shapes):  # Krita slots them in by SVG order, under older shapes
        shape.setZIndex(top + 1 + i)
        shape.update()
    if hidden:
        set_visible(shapes, False)  # in case this Krita ignores the SVG visibility attribute
    return shapes


def add_trace_layer(target: Target, strokes: Sequence[Sequence[Sequence[float]]]) -> Any:
    """A new vector layer just above the traced layer, holding its line drawing in the pen's
    colour and size; the traced layer is left as it is."""
    layer = target.document.createVectorLayer(TRACE_LAYER.format(target.layer.name()))
    target.layer.parentNode().addChildNode(layer, target.layer)
    add_strokes(target, layer, strokes)
    return layer


def add_top_layer(target: Target, name: str) -> Any:
    """A new vector layer on top of the document's layer stack; no other layer changes."""
    layer = target.document.createVectorLayer(name)
    target.document.rootNode().addChildNode(layer, None)
    return layer


def add_svg(target: Target, layer: Any, body: str) -> list[Any]:
    """Add SVG elements (groups, paths, text) to a vector layer on top of its shapes, as one
    undo step; returns the top-level shapes Krita made."""
    if not body:
        return []
    before = [shape.zIndex() for shape in layer.shapes()]
    shapes = list(layer.addShapesFromSvg(svg.svg_document(body, *target.size)))
    top = max(before, default=0)
    for i, shape in enumerate(shapes):  # over what is there, in SVG order
        shape.setZIndex(top + 1 + i)
        shape.update()
    return shapes


def add_guide_layer(target: Target) -> Any:
    """A faint, locked vector layer just below the artist's (see keep_artist_layer_active)."""
    layer = target.document.createVectorLayer(GUIDE_LAYER)
    parent = target.layer.parentNode()
    siblings = list(parent.childNodes())
    index = next(i for i, n in enumerate(siblings) if same_node(n, target.layer))
    below = siblings[index - 1] if index > 0 else None
    if below is not None:
        parent.addChildNode(layer, below)
    else:  # the artist's layer is the lowest: the guide goes to the bottom of the stack
        parent.setChildNodes([layer, *siblings])
    layer.setOpacity(GUIDE_OPACITY)
    layer.setLocked(True)
    return layer


def set_guide_strokes(
    layer: Any,
    target: Target,
    drawings: Sequence[tuple[Sequence[Sequence[Sequence[float]]], float]],
) -> None:
    """Replace the guide layer's shapes with `drawings`, each (strokes, opacity 0..1)."""
    layer.setLocked(False)
    try:
        for shape in layer.shapes():
            shape.remove()
        body = "".join(
            svg.paths_svg(strokes, GUIDE_COLOUR, target.pen.width, opacity=alpha)
            for strokes, alpha in drawings
        )
        if body:
            layer.addShapesFromSvg(svg.svg_document(body, *target.size))
    finally:
        layer.setLocked(True)


def paint_down(target: Target, layer: Any) -> Any:
    """Merge the suggestion layer (only its visible alternative shows) down into the artist's
    paint layer, as Layer > Merge Down does: one undo step. Returns the merged layer."""
    siblings = list(layer.parentNode().childNodes())
    index = next(i for i, n in enumerate(siblings) if same_node(n, layer))
    if index == 0 or not same_node(siblings[index - 1], target.layer):
        raise CanvasError(
            f"Move '{SUGGESTION_LAYER}' back right above '{target.layer.name()}', then accept."
        )
    layer.setOpacity(255)  # paint the strokes as the pen draws them, not as the faint hint
    merged = layer.mergeDown()
    target.document.waitForDone()
    return merged


def restore_suggestion_look(layer: Any) -> None:
    """The suggestion layer's faint look again, once Undo has brought it back."""
    layer.setOpacity(SUGGESTION_OPACITY)


def set_visible(shapes: Sequence[Any], visible: bool) -> None:
    for shape in shapes:
        if shape.visible() != visible:
            shape.setVisible(visible)
            shape.update()


def keep_artist_layer_active(target: Target, suggestion_layer: Any) -> None:
    """Give the artist's layer back the focus Krita gives a new layer.

    Krita activates a new layer a little later, from its own event loop, so the controller
    calls this on its timer for a while after making the suggestion layer.
    """
    active = target.document.activeNode()
    if active is not None and active.uniqueId() == suggestion_layer.uniqueId():
        target.document.setActiveNode(target.layer)


def remove_layer(layer: Any) -> None:
    """Take a layer out of its document (Krita keeps this as an undoable "Remove Layer")."""
    if attached(layer):
        layer.remove()

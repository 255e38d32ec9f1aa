"""The only module that touches Grease Pencil data (GPv3: Blender 4.3 to 5.0).

It reads the artist's strokes as 2-D protocol strokes, writes suggestions to a layer of their
own ("AI Sketcher") and, on Accept, copies them into the artist's layer. The artist's existing
strokes are only ever read: new strokes are appended with `add_strokes`, which leaves the others
as they are. Everything 2-D <-> 3-D goes through geometry.py.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Sequence
from typing import Any

import bpy
import numpy as np
from mathutils import Vector

from . import geometry, images
from .session import Request
from .wire import protocol

SUGGESTION_LAYER = "AI Sketcher"  # the suggestion layer's name
GUIDE_LAYER = "AI Guide"  # the shadow guide's layer, just below the artist's
GUIDE_OPACITY = 0.25  # the guide layer's opacity: a shadow to draw over, not a drawing
TRACE_LAYER = "Trace of {}"  # the layer Trace image makes, by the image's name
SHEET_NAME = "Character sheet"  # the object Character sheet makes (Blender numbers repeats)
SHEET_LAYER = "Faces"  # its layer
SHEET_INK = (0.05, 0.05, 0.08, 1.0)  # its material's line colour
CAMERA_MARGIN = 0.1  # of the camera frame left free on each side when autodrawing
DEFAULT_RADIUS = 0.01  # Blender's own default point radius


class GPencilError(Exception):
    """The scene is not in a state to suggest into; the message says what to change."""


def is_gp(ob: Any) -> bool:
    """Whether `ob` is a Grease Pencil (v3) object."""
    return ob is not None and ob.type == "GREASEPENCIL"


def selected_gp_objects(context: Any) -> list[Any]:
    """The selected Grease Pencil objects, the active one first."""
    active = context.active_object
    out = [active] if is_gp(active) else []
    out += [ob for ob in context.selected_objects if is_gp(ob) and ob != active]
    return out


def _rows(matrix: Any) -> tuple[tuple[float, ...], ...]:
    return tuple(tuple(row) for row in matrix)


def artist_layer(ob: Any) -> Any:
    """The active layer of `ob`, refusing the suggestion layer itself."""
    layer = ob.data.layers.active
    if layer is None:
        raise GPencilError(f"'{ob.name}' has no active layer; add a layer and select it")
    if layer.name in (SUGGESTION_LAYER, GUIDE_LAYER):
        raise GPencilError(
            f"the active layer is AI Sketcher's '{layer.name}'; select your own "
            "layer in the Grease Pencil layer list"
        )
    return layer


def _layer(ob: Any, name: str) -> Any:
    layer = ob.data.layers.get(name)
    if layer is None:
        raise GPencilError(f"the layer '{name}' of '{ob.name}' is gone; suggest again")
    return layer


def _frame_at(layer: Any, frame: int, create: bool = False) -> Any:
    """The keyframe shown at `frame` (it may start earlier), or a new one there if `create`."""
    found = layer.get_frame_at(frame)
    if found is None and create:
        found = layer.frames.new(frame)
    return found


def _exact_frame(layer: Any, frame: int, create: bool = False) -> Any:
    found = next((f for f in layer.frames if f.frame_number == frame), None)
    if found is None and create:
        found = layer.frames.new(frame)
    return found


def _read(drawing: Any) -> list[list[tuple[float, float, float]]]:
    """Every stroke of a drawing as 3-D points in layer space."""
    offsets = [o.value for o in drawing.curve_offsets]
    if len(offsets) < 2:
        return []
    flat = [0.0] * (offsets[-1] * 3)
    drawing.attributes["position"].data.foreach_get("vector", flat)
    points = [tuple(flat[i : i + 3]) for i in range(0, len(flat), 3)]
    return [points[a:b] for a, b in zip(offsets, offsets[1:])]


def _point_values(drawing: Any, name: str) -> list[float]:
    """A float point attribute of a drawing, or [] when the drawing does not have it."""
    attribute = drawing.attributes.get(name)
    if attribute is None:
        return []
    values = [0.0] * len(attribute.data)
    attribute.data.foreach_get("value", values)
    return values


def keyframes(ob: Any, start: int, end: int) -> list[int]:
    """Frame numbers of the active layer's keyframes between `start` and `end`."""
    layer = artist_layer(ob)
    return sorted(f.frame_number for f in layer.frames if start <= f.frame_number <= end)


def suggest_request(ob: Any, frame: int) -> Request:
    """A "complete" request for the strokes of the active layer at `frame`."""
    layer = artist_layer(ob)
    found = _frame_at(layer, frame)
    strokes3 = _read(found.drawing) if found is not None else []
    strokes3 = [s for s in strokes3 if len(s) >= 2]
    if not strokes3:
        raise GPencilError(
            f"the layer '{layer.name}' has no strokes on frame {frame} to "
            "continue; draw a few, or use Autodraw face"
        )
    matrix = _rows(layer.matrix_local)
    radii = _point_values(found.drawing, "radius")
    return Request(
        mode="complete",
        strokes=[geometry.to_protocol(s, matrix) for s in strokes3],
        depth=geometry.mean_depth((p for s in strokes3 for p in s), matrix),
        radius=statistics.median(radii) if radii else DEFAULT_RADIUS,
        material_index=ob.active_material_index,
    )


def _object_box(ob: Any, frame: int) -> geometry.Box | None:
    strokes = []
    for layer in ob.data.layers:
        found = (
            None
            if layer.name in (SUGGESTION_LAYER, GUIDE_LAYER) or layer.hide
            else _frame_at(layer, frame)
        )
        if found is not None:
            matrix = _rows(layer.matrix_local)
            strokes += [geometry.to_protocol(s, matrix) for s in _read(found.drawing)]
    box = geometry.bounds(strokes)
    return box if geometry.usable(box) else None


def _camera_box(scene: Any, ob: Any) -> geometry.Box | None:
    camera = scene.camera
    if camera is None or camera.type != "CAMERA":
        return None
    corners = camera.data.view_frame(scene=scene)
    world = camera.matrix_world
    basis = world.to_3x3()
    if camera.data.type == "ORTHO":
        origins = [world @ c for c in corners]
        directions = [basis @ Vector((0.0, 0.0, -1.0))] * 4
    else:
        origins = [world.translation] * 4
        directions = [basis @ c for c in corners]
    box = geometry.camera_box(origins, directions, _rows(ob.matrix_world))
    return geometry.shrink(box, CAMERA_MARGIN) if box is not None else None


def autodraw_request(scene: Any, ob: Any, frame: int) -> tuple[Request, str]:
    """A "generate" request for a face in the camera's view, else around the object's strokes,
    else in a default box; and words saying which of the three it used."""
    artist_layer(ob)
    box, where = _camera_box(scene, ob), "camera's view"
    if box is None:
        box, where = _object_box(ob, frame), "object's strokes"
    if box is None:
        box, where = geometry.DEFAULT_BOX, "default box around the object's origin"
    return Request(
        mode="generate",
        bounds=box,
        radius=geometry.stroke_radius(box),
        material_index=ob.active_material_index,
    ), where


def suggestion_layer(ob: Any, create: bool = False) -> Any:
    """The "AI Sketcher" layer of `ob` (made, not active, if `create`), or None."""
    gp = ob.data
    layer = gp.layers.get(SUGGESTION_LAYER)
    if layer is None and create:
        active = gp.layers.active
        layer = gp.layers.new(SUGGESTION_LAYER, set_active=False)
        if active is not None:
            gp.layers.active = active  # the artist keeps drawing on their own layer
    return layer


def prepare(ob: Any, frame: int) -> None:
    """Make the suggestion layer and an empty keyframe on it at `frame`."""
    layer = suggestion_layer(ob, create=True)
    drawing = _exact_frame(layer, frame, create=True).drawing
    if len(drawing.strokes):
        drawing.remove_strokes()


def draw(
    ob: Any,
    frame: int,
    strokes: Sequence[Sequence[Sequence[float]]],
    request: Request,
    clear: bool = False,
) -> None:
    """Append protocol strokes to the suggestion layer at `frame` (emptied first if `clear`)."""
    drawing = _exact_frame(suggestion_layer(ob, create=True), frame, create=True).drawing
    if clear and len(drawing.strokes):
        drawing.remove_strokes()
    _append_protocol(drawing, strokes, request)


def draw_on(
    ob: Any,
    layer_name: str,
    frame: int,
    strokes: Sequence[Sequence[Sequence[float]]],
    request: Request,
) -> None:
    """Append protocol strokes to the keyframe at `frame` of layer `layer_name` of `ob` (a
    character sheet's own object: nothing of the artist's)."""
    drawing = _exact_frame(_layer(ob, layer_name), frame, create=True).drawing
    _append_protocol(drawing, strokes, request)


def _append_protocol(
    drawing: Any, strokes: Sequence[Sequence[Sequence[float]]], request: Request
) -> None:
    """Append protocol strokes (those of 2 points or more) as the request asks them drawn:
    on its depth, with its radius and material."""
    strokes = [s for s in strokes if len(s) >= 2]
    _append(
        drawing,
        [geometry.from_protocol(s, depth=request.depth) for s in strokes],
        [[request.radius] * len(s) for s in strokes],
        [[1.0] * len(s) for s in strokes],
        [request.material_index] * len(strokes),
    )


def _append(
    drawing: Any,
    strokes: Sequence[Sequence[Sequence[float]]],
    radii: Sequence[Sequence[float]],
    opacities: Sequence[Sequence[float]],
    materials: Sequence[int],
) -> None:
    """Add strokes after the drawing's own; every value is given per point or per stroke."""
    if not strokes:
        return
    first = len(drawing.strokes)
    drawing.add_strokes([len(s) for s in strokes])
    for i, points in enumerate(strokes):
        stroke = drawing.strokes[first + i]
        stroke.material_index = materials[i]
        stroke.cyclic = False
        for point, p, radius, opacity in zip(stroke.points, points, radii[i], opacities[i]):
            point.position = p
            point.radius = radius
            point.opacity = opacity


def remove_suggestions(ob: Any) -> bool:
    """Remove the suggestion layer of `ob`; False if it had none."""
    layer = suggestion_layer(ob)
    if layer is None:
        return False
    ob.data.layers.remove(layer)
    return True


def suggestion_count(ob: Any) -> int:
    """How many strokes the suggestion layer of `ob` holds, over all its frames."""
    layer = suggestion_layer(ob)
    return sum(len(f.drawing.strokes) for f in layer.frames) if layer is not None else 0


def accept_target(ob: Any, layer_name: str | None = None) -> Any:
    """The layer Accept copies into: the one the suggestion was made for, else the active one."""
    target = _layer(ob, layer_name) if layer_name else artist_layer(ob)
    geometry.invert(_rows(target.matrix_local))  # raises now, before anything is changed
    return target


def accept(ob: Any, target: Any) -> int:
    """Copy every suggestion stroke into layer `target`, frame by frame, and drop the suggestion
    layer; returns how many strokes were copied. The layer's own strokes are not touched."""
    source = suggestion_layer(ob)
    if source is None:
        return 0
    into_layer = geometry.invert(_rows(target.matrix_local))  # object space -> artist's layer
    from_layer = _rows(source.matrix_local)
    copied = 0
    for frame in source.frames:
        drawing = frame.drawing
        strokes = _read(drawing)
        if not strokes:
            continue
        count = sum(map(len, strokes))
        radii = _point_values(drawing, "radius") or [DEFAULT_RADIUS] * count
        opacities = _point_values(drawing, "opacity") or [1.0] * count
        ends = list(itertools.accumulate(map(len, strokes)))
        spans = list(zip([0, *ends], ends))
        moved = [
            [geometry.transform(into_layer, geometry.transform(from_layer, p)) for p in s]
            for s in strokes
        ]
        into = _frame_at(target, frame.frame_number, create=True).drawing
        _append(
            into,
            moved,
            [radii[a:b] for a, b in spans],
            [opacities[a:b] for a, b in spans],
            [s.material_index for s in drawing.strokes],
        )
        copied += len(strokes)
    ob.data.layers.remove(source)
    return copied


# --- the shadow guide ------------------------------------------------------------------------


def guide_signature(ob: Any, frame: int) -> tuple[str, str, int, int] | None:
    """What the guide follows: the active layer's stroke count at `frame` (None: no layer of
    the artist's is active)."""
    layer = ob.data.layers.active
    if layer is None or layer.name in (SUGGESTION_LAYER, GUIDE_LAYER):
        return None
    found = _frame_at(layer, frame)
    return ob.name, layer.name, frame, len(found.drawing.strokes) if found is not None else 0


def guide_request(ob: Any, frame: int) -> Request:
    """The active layer's strokes at `frame` to guide (none if it is empty), their plane,
    radius and material."""
    try:
        return suggest_request(ob, frame)
    except GPencilError:
        artist_layer(ob)  # raises again if it is not about an empty layer
        return Request(mode="guide", material_index=ob.active_material_index)


def _guide_layer(ob: Any, below: str) -> Any:
    """The locked, faint guide layer of `ob`, made just below layer `below` if missing."""
    layers = ob.data.layers
    layer = layers.get(GUIDE_LAYER)
    if layer is None:
        active = layers.active
        layer = layers.new(GUIDE_LAYER, set_active=False)
        if active is not None:
            layers.active = active  # the artist keeps drawing on their own layer
        layer.opacity, layer.lock = GUIDE_OPACITY, True
    names = [x.name for x in layers]
    if below in names:
        for _ in range(len(names)):
            names = [x.name for x in layers]
            at, artist = names.index(GUIDE_LAYER), names.index(below)
            if at == artist - 1:
                break
            layers.move(layer, "DOWN" if at > artist else "UP")
    return layer


def show_guide(
    ob: Any,
    below: str,
    frame: int,
    drawings: Sequence[tuple[Sequence[Sequence[Sequence[float]]], float]],
    request: Request,
) -> None:
    """Replace the guide at `frame` with `drawings`, each (protocol strokes, opacity 0..1),
    drawn in the artist's plane, radius and material."""
    drawing = _exact_frame(_guide_layer(ob, below), frame, create=True).drawing
    if len(drawing.strokes):
        drawing.remove_strokes()
    strokes = [(s, alpha) for sketch, alpha in drawings for s in sketch if len(s) >= 2]
    _append(
        drawing,
        [geometry.from_protocol(s, depth=request.depth) for s, _ in strokes],
        [[request.radius] * len(s) for s, _ in strokes],
        [[alpha] * len(s) for s, alpha in strokes],
        [request.material_index] * len(strokes),
    )


def remove_guide(ob: Any) -> bool:
    """Remove the guide layer of `ob`; False if it had none."""
    layer = ob.data.layers.get(GUIDE_LAYER) if is_gp(ob) else None
    if layer is None:
        return False
    ob.data.layers.remove(layer)
    return True


def tag_redraw() -> None:
    """Redraw the 3D views, so streamed strokes and status changes show at once."""
    wm = bpy.context.window_manager
    for window in wm.windows if wm is not None else ():
        for area in window.screen.areas if window.screen is not None else ():
            if area.type == "VIEW_3D":
                area.tag_redraw()


# --- tracing a reference image ---------------------------------------------------------------


def is_image_empty(ob: Any) -> bool:
    """Whether `ob` is an image empty (Add > Image > Reference or Background) with an image."""
    return (
        ob is not None
        and ob.type == "EMPTY"
        and ob.empty_display_type == "IMAGE"
        and ob.data is not None
    )


def selected_image_empty(context: Any) -> Any:
    """The selected image empty to trace (the active object first), or None."""
    candidates = [context.active_object, *context.selected_objects]
    return next((ob for ob in candidates if is_image_empty(ob)), None)


def image_bytes(image: Any) -> tuple[bytes, int, int]:
    """The picture as `trace` sends it, and its size in pixels: its own file when that is a PNG
    or JPEG within the protocol's limits (packed in the .blend or on disk), else its pixels as
    a PNG (images.png_from_pixels)."""
    width, height = (int(v) for v in image.size)
    if width == 0 or height == 0:
        raise GPencilError(
            f"the image '{image.name}' has no pixels (is its file missing?); reload it"
        )
    data = b""
    if image.packed_file is not None:
        data = bytes(image.packed_file.data)
    elif image.filepath and image.source == "FILE":
        try:
            with open(bpy.path.abspath(image.filepath), "rb") as f:
                data = f.read(protocol.MAX_RASTER_BYTES + 1)
        except OSError:
            data = b""
    kind_ok = data[:8] == protocol.PNG_MAGIC or data[:3] == protocol.JPEG_MAGIC
    fits = len(data) <= protocol.MAX_RASTER_BYTES and max(width, height) <= protocol.MAX_RASTER_SIDE
    if kind_ok and fits:
        return data, width, height
    pixels = np.empty(width * height * 4, np.float32)
    image.pixels.foreach_get(pixels)
    return images.png_from_pixels(pixels, width, height), width, height


def add_trace(
    ob: Any,
    empty: Any,
    frame: int,
    strokes: Sequence[Sequence[Sequence[float]]],
    size: tuple[int, int],
) -> Any:
    """A new layer of `ob` holding the traced strokes (in the image's pixels, y down) where
    `empty` shows its picture, keyed at `frame`, in the active material at Blender's default
    radius; the artist's layers are left as they are. Returns the layer."""
    gp = ob.data
    active = gp.layers.active
    layer = gp.layers.new(TRACE_LAYER.format(empty.data.name), set_active=False)
    if active is not None:
        gp.layers.active = active
    to_layer = _rows((ob.matrix_world @ layer.matrix_local).inverted() @ empty.matrix_world)
    width, height = size
    offset = tuple(empty.empty_image_offset)
    strokes3 = [
        [
            geometry.transform(
                to_layer,
                geometry.image_to_local(u, v, width, height, empty.empty_display_size, offset),
            )
            for u, v in stroke
        ]
        for stroke in strokes
        if len(stroke) >= 2
    ]
    _append(
        _exact_frame(layer, frame, create=True).drawing,
        strokes3,
        [[DEFAULT_RADIUS] * len(s) for s in strokes3],
        [[1.0] * len(s) for s in strokes3],
        [ob.active_material_index] * len(strokes3),
    )
    return layer


# --- a character sheet -----------------------------------------------------------------------


def _gp_data() -> Any:
    """Where Grease Pencil v3 data lives: grease_pencils_v3 on 4.3-4.5, grease_pencils on 5.0
    (where 4.x keeps the legacy type)."""
    if hasattr(bpy.data, "grease_pencils_v3"):
        return bpy.data.grease_pencils_v3
    return bpy.data.grease_pencils


def new_sheet(context: Any, frame: int) -> Any:
    """A new Grease Pencil object for a character sheet, at the 3D cursor in the active
    collection, with one empty layer keyed at `frame` and a dark line material of its own; it
    becomes the active and only selected object, as Blender's Add menu does. No existing
    object, layer or material is changed."""
    gp = _gp_data().new(SHEET_NAME)
    ob = bpy.data.objects.new(SHEET_NAME, gp)
    (context.collection or context.scene.collection).objects.link(ob)
    ob.location = context.scene.cursor.location
    material = bpy.data.materials.new(SHEET_NAME)
    bpy.data.materials.create_gpencil_data(material)
    material.grease_pencil.color = SHEET_INK
    gp.materials.append(material)
    layer = gp.layers.new(SHEET_LAYER, set_active=True)
    layer.frames.new(frame)
    for other in context.selected_objects:
        other.select_set(False)
    context.view_layer.objects.active = ob
    ob.select_set(True)
    return ob

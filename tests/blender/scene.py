"""Runs inside Blender (the bpy module): a storyboard scene to test on, and readings of its
Grease Pencil strokes that compare exactly (coordinates as float32 hex). Only the stdlib and bpy.
"""

import math
import struct
from typing import Any

import bpy


def gp_collection() -> Any:
    if hasattr(bpy.data, "grease_pencils_v3"):
        return bpy.data.grease_pencils_v3
    return bpy.data.grease_pencils


def rows(matrix: Any) -> list[list[float]]:
    return [list(row) for row in matrix]


def f32(values: list[float]) -> str:
    """Float values as the bytes Blender stores them in (float32), hex-encoded."""
    return struct.pack(f"<{len(values)}f", *values).hex()


def strokes(ob: Any, layer_name: str, frame: int) -> list[dict] | None:
    """The strokes of a layer's keyframe at `frame`: points, radii, opacities and material."""
    layer = ob.data.layers.get(layer_name)
    found = next((f for f in layer.frames if f.frame_number == frame), None) if layer else None
    if found is None:
        return None
    out = []
    for s in found.drawing.strokes:
        points = list(s.points)
        out.append(
            {
                "points": [list(p.position) for p in points],
                "radius": [p.radius for p in points],
                "opacity": [p.opacity for p in points],
                "material": s.material_index,
            }
        )
    return out


def fingerprint(ob: Any, layer_name: str) -> dict[str, list]:
    """Every point of every stroke of a layer, per frame, as float32 bytes: for exact compares."""
    layer = ob.data.layers[layer_name]
    out = {}
    for frame in layer.frames:
        out[str(frame.frame_number)] = [
            [
                f32([v for p in s.points for v in p.position]),
                f32([p.radius for p in s.points]),
                f32([p.opacity for p in s.points]),
                s.material_index,
                s.cyclic,
            ]
            for s in frame.drawing.strokes
        ]
    return out


def arc(a0: float, a1: float, n: int, r: float, cx: float, cz: float) -> list[tuple]:
    return [
        (
            cx + r * math.cos(a0 + (a1 - a0) * t / (n - 1)),
            0.0,
            cz + r * math.sin(a0 + (a1 - a0) * t / (n - 1)),
        )
        for t in range(n)
    ]


def add_stroke(
    drawing: Any, points: list[tuple], radius: float = 0.02, opacity: float = 0.9, material: int = 0
) -> None:
    drawing.add_strokes([len(points)])
    s = drawing.strokes[len(drawing.strokes) - 1]
    s.material_index = material
    for j, (point, p) in enumerate(zip(s.points, points)):
        point.position = p
        point.radius = radius + 0.001 * j
        point.opacity = opacity


def new_gp_object(name: str, location: tuple = (0, 0, 0), scale: float = 1.0) -> tuple[Any, Any]:
    gp = gp_collection().new(name)
    ob = bpy.data.objects.new(name, gp)
    bpy.context.scene.collection.objects.link(ob)
    ob.location, ob.scale = location, (scale, scale, scale)
    for mat_name in ("Ink", "Accent"):
        m = bpy.data.materials.get(mat_name) or bpy.data.materials.new(mat_name)
        if m.grease_pencil is None:
            bpy.data.materials.create_gpencil_data(m)
        gp.materials.append(m)
    ob.active_material_index = 1  # suggestions must use the active material
    layer = gp.layers.new("Lines", set_active=True)
    return ob, layer


def build_scene() -> tuple[Any, Any, Any, Any]:
    """A camera looking along +Y at a Grease Pencil object with two strokes on frame 1: the
    start of a face that the shipped model continues (it ends at once after a closed head)."""
    for ob in list(bpy.data.objects):
        bpy.data.objects.remove(ob)
    scene = bpy.context.scene
    scene.frame_start, scene.frame_end = 1, 20
    scene.frame_set(1)
    camera = bpy.data.objects.new("Camera", bpy.data.cameras.new("Camera"))
    scene.collection.objects.link(camera)
    camera.location, camera.rotation_euler = (0.5, -10.0, 1.0), (math.pi / 2, 0.0, 0.0)
    scene.camera = camera
    ob, layer = new_gp_object("Storyboard", location=(0.5, 0.0, 0.25), scale=1.5)
    layer.translation = (0.2, 0.0, 0.1)  # a moved layer: accept must map through its matrix
    drawing = layer.frames.new(1).drawing
    add_stroke(drawing, arc(0.8 * math.pi, 2.2 * math.pi, 16, 1.0, 0.0, 1.0))  # chin and cheeks
    add_stroke(drawing, [(-0.5, 0.0, 2.2), (0.0, 0.0, 2.4), (0.5, 0.0, 2.2)])  # a tuft of hair
    bpy.context.view_layer.objects.active = ob
    ob.select_set(True)
    bpy.context.view_layer.update()
    return scene, camera, ob, layer

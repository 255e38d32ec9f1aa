"""Runs inside Blender (the bpy module): the artist's start of a face with the shadow guide on,
rendered with Workbench, for docs/blender-guide.png (tests/blender/harness.py writes it).

Usage: <python with bpy> render_guide.py FOLDER REPORT.json, with BLENDER_USER_RESOURCES and
AI_SKETCHER_SERVER set as for scenario.py; it writes FOLDER/frame1.png.
"""

import math
from typing import Any

# isort: off
import bpy  # first: importing it puts Blender's own modules (addon_utils) on sys.path
# isort: on

from render_faces import render, run_and_report
from scenario import Run, guide_until_shown
from scene import add_stroke, arc, new_gp_object


def build() -> tuple[Any, Any]:
    """A camera looking along +Y at a Grease Pencil object: a head, two eyes and a mouth."""
    for ob in list(bpy.data.objects):
        bpy.data.objects.remove(ob)
    scene = bpy.context.scene
    scene.frame_start = scene.frame_end = 1
    scene.frame_set(1)
    camera = bpy.data.objects.new("Camera", bpy.data.cameras.new("Camera"))
    scene.collection.objects.link(camera)
    camera.location, camera.rotation_euler = (0.0, -10.0, 0.0), (math.pi / 2, 0.0, 0.0)
    scene.camera = camera
    ob, layer = new_gp_object("Sketch")
    ob.active_material_index = 0
    bpy.data.materials["Ink"].grease_pencil.color = (0.05, 0.05, 0.08, 1.0)
    drawing = layer.frames.new(1).drawing
    add_stroke(drawing, arc(0.0, 2 * math.pi, 32, 1.3, 0.0, 0.0), opacity=1.0)  # the head
    for x in (-0.45, 0.45):  # the eyes
        add_stroke(drawing, arc(0.2 * math.pi, 0.8 * math.pi, 6, 0.18, x, 0.25), opacity=1.0)
    add_stroke(drawing, arc(1.2 * math.pi, 1.8 * math.pi, 10, 0.55, 0.0, -0.1), opacity=1.0)
    bpy.context.view_layer.objects.active = ob
    ob.select_set(True)
    return scene, ob


def main(report: dict, folder: str) -> None:
    bpy.ops.wm.read_userpref()
    run = Run()
    scene, ob = build()
    report["connection"] = run.connect()
    scene.ai_sketcher.guide = True
    report["shown"] = guide_until_shown(run, ob)
    guide = ob.data.layers.get("AI Guide")
    report["layers"] = [layer.name for layer in ob.data.layers]
    report["guide_strokes"] = len(guide.current_frame().drawing.strokes) if guide else 0
    report["frames"] = render(scene, folder)[:1]


if __name__ == "__main__":
    run_and_report(main)

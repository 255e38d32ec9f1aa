"""Runs inside Blender (the bpy module): autodraws faces on three storyboard keyframes and renders
each with Workbench, for docs/blender-faces.png (tests/blender/harness.py composes the strip).

Usage: <python with bpy> render_faces.py FOLDER REPORT.json, with BLENDER_USER_RESOURCES and
AI_SKETCHER_SERVER set as for scenario.py; it writes FOLDER/frame1.png and so on.
"""

import json
import math
import os
import sys
import time
import traceback
from typing import Any

# isort: off
import bpy  # first: importing it puts Blender's own modules (addon_utils) on sys.path
import addon_utils
# isort: on

from scenario import MODULE, Run
from scene import add_stroke, new_gp_object

FRAMES = (1, 2, 3)
SEED = 5


def build() -> tuple[Any, Any]:
    for ob in list(bpy.data.objects):
        bpy.data.objects.remove(ob)
    scene = bpy.context.scene
    scene.frame_start, scene.frame_end = FRAMES[0], FRAMES[-1]
    scene.frame_set(FRAMES[0])
    camera = bpy.data.objects.new("Camera", bpy.data.cameras.new("Camera"))
    scene.collection.objects.link(camera)
    camera.location, camera.rotation_euler = (0.0, -10.0, 0.0), (math.pi / 2, 0.0, 0.0)
    scene.camera = camera
    ob, layer = new_gp_object("Storyboard")
    ob.active_material_index = 0
    ink = bpy.data.materials["Ink"].grease_pencil
    ink.color = (0.05, 0.05, 0.08, 1.0)
    for frame in FRAMES:  # the artist's ground line, different in each shot
        drawing = layer.frames.new(frame).drawing
        tilt = 0.15 * (frame - 2)
        add_stroke(
            drawing, [(-3.4, 0.0, -1.8 + tilt), (3.4, 0.0, -1.8 - tilt)], radius=0.02, opacity=1.0
        )
    bpy.context.view_layer.objects.active = ob
    ob.select_set(True)
    return scene, ob


def render(scene: Any, out_dir: str) -> list[str]:
    scene.render.engine = "BLENDER_WORKBENCH"
    scene.render.resolution_x, scene.render.resolution_y = 640, 360
    scene.render.resolution_percentage = 100
    scene.render.film_transparent = False
    if scene.world is None:
        scene.world = bpy.data.worlds.new("World")
    scene.world.color = (1.0, 1.0, 1.0)
    scene.view_settings.view_transform = "Standard"  # white stays white
    paths = []
    for frame in FRAMES:
        scene.frame_set(frame)
        scene.render.filepath = os.path.join(out_dir, f"frame{frame}.png")
        bpy.ops.render.render(write_still=True)
        paths.append(scene.render.filepath)
    return paths


def main(report: dict, folder: str) -> None:
    bpy.ops.wm.read_userpref()
    run = Run()
    scene, ob = build()
    report["connection"] = run.connect()
    settings = scene.ai_sketcher
    settings.alternatives, settings.variety, settings.seed = 1, 0.4, SEED
    settings.autodraw_scope = "KEYFRAMES"
    report["autodraw_all"] = run.op("autodraw_all")
    run.wait()
    report["session"] = {k: v for k, v in run.session_info().items() if k != "jobs"}
    report["seeds"] = [j.request.seed for j in run.c.session.jobs]
    report["accept"] = run.op("accept")
    report["strokes"] = {
        str(f.frame_number): len(f.drawing.strokes) for f in ob.data.layers["Lines"].frames
    }
    report["frames"] = render(scene, folder)


def run_and_report(main: Any) -> None:
    """Run main(report, folder) from the command line (FOLDER REPORT), write the report even on
    failure, and leave without Blender's exit handlers (4.5 hangs in them)."""
    folder, report_path = sys.argv[-2:]
    report: dict = {}
    try:
        main(report, folder)
    except Exception:
        report["error"] = traceback.format_exc()
    finally:
        addon_utils.disable(MODULE)
        with open(report_path, "w") as f:
            json.dump(report, f, indent=1)
        sys.stdout.flush()
        time.sleep(0.1)
        os._exit(0)


if __name__ == "__main__":
    run_and_report(main)

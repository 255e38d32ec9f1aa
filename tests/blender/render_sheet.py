"""Runs inside Blender (the bpy module): a character sheet of a new character, labelled and
rendered with Workbench, for docs/blender-character-sheet.png (tests/blender/harness.py frames
it). The labels are text objects this script adds for the picture; the add-on draws none.

Usage: <python with bpy> render_sheet.py FOLDER REPORT.json, with BLENDER_USER_RESOURCES and
AI_SKETCHER_SERVER set as for scenario.py; it writes FOLDER/sheet.png.
"""

import math
import os
from typing import Any

import bpy
from render_faces import run_and_report
from scenario import Run

SEED = 7
CONDITIONS = {"gender": "female", "style": "cartoon"}  # who the new character is
LABEL_SIZE = 0.16  # Blender units; a cell is 1
WIDTH = 1400  # pixels


def label(scene: Any, text: str, x: float, z: float, align: str) -> None:
    """A text object in the sheet's plane (the X-Z plane, facing -Y), for the picture only."""
    curve = bpy.data.curves.new(f"Label {text}", "FONT")
    curve.body, curve.size, curve.align_x, curve.align_y = text, LABEL_SIZE, align, "CENTER"
    ob = bpy.data.objects.new(curve.name, curve)
    ob.location, ob.rotation_euler = (x, -0.01, z), (math.pi / 2, 0.0, 0.0)
    ob.color = (0.12, 0.12, 0.15, 1.0)
    scene.collection.objects.link(ob)


def labels(scene: Any, jobs: Any) -> tuple[float, float, float, float]:
    """Each column's emotion above it, each row's view left of it; returns the picture's box
    (x0, z0, x1, z1) in Blender units."""
    boxes = [j.request.bounds for j in jobs]  # x0, y0, x1, y1 with y down: z = -y
    top, left = -min(b[1] for b in boxes), min(b[0] for b in boxes)
    for job in jobs:
        x0, y0, x1, y1 = job.request.bounds
        asked = job.request.conditions
        if y0 == -top:  # the first row: its emotion
            label(scene, asked["emotion"], (x0 + x1) / 2, top + 0.18, "CENTER")
        if x0 == left:  # the first column: its view
            label(scene, asked["view"], left - 0.15, -(y0 + y1) / 2, "RIGHT")
    right, bottom = max(b[2] for b in boxes), -max(b[3] for b in boxes)
    return left - 1.35, bottom - 0.1, right + 0.1, top + 0.35


def render(scene: Any, box: tuple[float, float, float, float], out_dir: str) -> list[str]:
    """The sheet and its labels seen from the front by an orthographic camera around `box`."""
    x0, z0, x1, z1 = box
    camera = bpy.data.objects.new("Camera", bpy.data.cameras.new("Camera"))
    scene.collection.objects.link(camera)
    camera.location = ((x0 + x1) / 2, -10.0, (z0 + z1) / 2)
    camera.rotation_euler = (math.pi / 2, 0.0, 0.0)
    camera.data.type, camera.data.ortho_scale = "ORTHO", x1 - x0
    scene.camera = camera
    scene.render.engine = "BLENDER_WORKBENCH"
    scene.display.shading.light = "FLAT"
    scene.display.shading.color_type = "OBJECT"  # the labels' grey; strokes keep their ink
    scene.render.resolution_x = WIDTH
    scene.render.resolution_y = round(WIDTH * (z1 - z0) / (x1 - x0))
    scene.render.resolution_percentage = 100
    scene.render.film_transparent = False
    if scene.world is None:
        scene.world = bpy.data.worlds.new("World")
    scene.world.color = (1.0, 1.0, 1.0)
    scene.view_settings.view_transform = "Standard"
    scene.render.filepath = os.path.join(out_dir, "sheet.png")
    bpy.ops.render.render(write_still=True)
    return [scene.render.filepath]


def main(report: dict, folder: str) -> None:
    bpy.ops.wm.read_userpref()
    for ob in list(bpy.data.objects):
        bpy.data.objects.remove(ob)
    scene = bpy.context.scene
    scene.frame_start = scene.frame_end = 1
    scene.frame_set(1)
    scene.cursor.location = (0.0, 0.0, 0.0)
    run = Run()
    report["connection"] = run.connect()
    run.ctl.tick()  # the pickers
    settings = scene.ai_sketcher
    settings.seed = SEED  # Variety: the model's own best
    for name, value in CONDITIONS.items():
        settings.picker(name).value = value
    report["sheet"] = run.op("character_sheet")
    run.wait()
    report["message"] = run.c.message
    report["object"] = bpy.context.view_layer.objects.active.name
    report["frames"] = render(scene, labels(scene, run.c.session.jobs), folder)


if __name__ == "__main__":
    run_and_report(main)

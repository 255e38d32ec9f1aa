"""Runs inside Blender (the bpy module): drives the installed AI Sketcher extension end to end.

Usage: <python with bpy> scenario.py REPORT.json, with BLENDER_USER_RESOURCES set to the user
folder install.py installed into, and AI_SKETCHER_SERVER to a running server. It builds a
storyboard scene, presses the add-on's operators as a user would (with undo), calls the add-on's
timer function itself (bpy.app.timers do not fire without Blender's event loop) and writes what
it saw as JSON for tests/test_blender_real.py. Only the stdlib and bpy are used here.
"""

import importlib
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
from mathutils import Vector
# isort: on

from scene import add_stroke, arc, build_scene, fingerprint, new_gp_object, rows, strokes

MODULE = "bl_ext.user_default.ai_sketcher"
SUGGESTION_LAYER = "AI Sketcher"  # as gpencil.SUGGESTION_LAYER: the name the artist sees
WAIT = 90.0  # seconds any one suggestion may take on a busy machine


class Run:
    """The add-on's controller plus helpers to press operators and let the timer run."""

    @property
    def ctl(self) -> Any:
        """The extension's controller module (imported once Blender has enabled it)."""
        return importlib.import_module(MODULE + ".controller")

    @property
    def c(self) -> Any:
        return self.ctl.get()

    def op(self, name: str, **props: Any) -> list[str]:
        """Press an operator as a user would (with an undo step); its result or error text."""
        try:
            return sorted(getattr(bpy.ops.ai_sketcher, name)("EXEC_DEFAULT", True, **props))
        except RuntimeError as e:
            return ["ERROR", str(e)]

    def connect(self, timeout: float = 30.0) -> str:
        end = time.monotonic() + timeout
        while not self.c.connected and time.monotonic() < end:
            self.ctl.tick()
            time.sleep(0.05)
        return self.c.connection_text

    def wait(self, ob: Any = None, frame: int = 1) -> list[int]:
        """Run the timer until the session ends; the suggestion layer's stroke count per tick."""
        growth, end = [], time.monotonic() + WAIT
        while self.c.session is not None and self.c.session.running:
            if time.monotonic() > end:
                raise TimeoutError("the suggestion did not finish in time")
            self.ctl.tick()
            if ob is not None:
                got = strokes(ob, SUGGESTION_LAYER, frame)
                growth.append(len(got) if got is not None else -1)
            time.sleep(0.02)
        self.ctl.tick()
        return growth

    def session_info(self) -> dict | None:
        s = self.c.session
        if s is None:
            return None
        return {
            "current": s.current,
            "n": s.n,
            "counts": s.counts(),
            "message": self.c.message,
            "options": self.c._options,
            "jobs": [
                {
                    "object": j.target.object_name,
                    "layer": j.target.layer_name,
                    "frame": j.target.frame,
                    "mode": j.request.mode,
                    "strokes": [list(map(list, st)) for st in j.request.strokes],
                    "bounds": j.request.bounds,
                    "seed": j.request.seed,
                    "depth": j.request.depth,
                    "radius": j.request.radius,
                    "material_index": j.request.material_index,
                    "per_sample": [len(j.strokes(i)) for i in range(s.n)],
                }
                for j in s.jobs
            ],
        }


def undo() -> list[str]:
    window = bpy.context.window_manager.windows[0]
    with bpy.context.temp_override(window=window, screen=window.screen):
        return sorted(bpy.ops.ed.undo())


class Layout:
    """Stands in for UILayout to run the panel's draw(); records what it asks for."""

    def __init__(self, calls):
        self.calls, self.enabled = calls, True

    def __getattr__(self, name):
        def call(*args, **kwargs):
            self.calls.append(
                [name, [str(a) for a in args], kwargs.get("text", ""), kwargs.get("icon", "")]
            )
            if name == "prop":
                getattr(args[0], args[1])  # raises if the property does not exist
            return Layout(self.calls)

        return call


def panel_calls(context: Any, panel: Any = None) -> dict:
    """What a panel's draw() asks for (the sidebar's by default), and the icons and operators
    it names that do not exist."""
    panels = importlib.import_module(MODULE + ".panels")
    calls = []
    panel = panel or panels.SKETCH_PT_sidebar
    panel.draw(type("Panel", (), {"layout": Layout(calls)})(), context)
    icons = set(bpy.types.UILayout.bl_rna.functions["label"].parameters["icon"].enum_items.keys())
    return {
        "calls": calls,
        "bad_icons": sorted({c[3] for c in calls if c[3]} - icons),
        "operators_missing": sorted(
            c[1][0]
            for c in calls
            if c[0] == "operator" and not hasattr(bpy.ops.ai_sketcher, c[1][0].split(".")[1])
        ),
    }


def layers(ob: Any) -> list[str]:
    return [layer.name for layer in ob.data.layers]


def variety(settings: Any) -> dict:
    """Variety starts at each model's best from the welcome and keeps the artist's own per model;
    the Auto model is left chosen afterwards, at the Variety the artist gave it (0.8)."""
    models = {
        m.name: m.temperature
        for m in importlib.import_module(MODULE + ".controller").get().models()
    }
    seen = {"models": models, "auto": settings.variety}
    settings.variety = 0.8
    seen["auto_after"] = settings.variety
    for name in models:
        settings.model = name
        seen[name] = settings.variety
    settings.model = "__any__"
    seen["auto_back"] = settings.variety
    return seen


def setup(run: Run, report: dict) -> tuple[Any, Any, Any]:
    """The installed extension is on in a new session; build the scene and connect."""
    report["version"] = bpy.app.version_string
    bpy.ops.wm.read_userpref()  # a fresh bpy starts from factory settings; install.py saved ours
    report["enabled"] = list(addon_utils.check(MODULE))
    report["operators"] = [
        hasattr(bpy.ops.ai_sketcher, n)
        for n in ("suggest", "autodraw", "autodraw_all", "alternative", "accept", "reject")
    ]
    scene, camera, ob, layer = build_scene()
    report["connection"] = run.connect()
    settings = scene.ai_sketcher
    report["variety"] = variety(settings)
    settings.alternatives = 3
    run.ctl.tick()  # the first tick after the welcome adds the condition pickers
    report["pickers"] = [c.name for c in settings.conditions]
    report["welcome_conditions"] = [list(m.conditions) for m in run.c.models()]
    settings.picker("category").value = "face"  # a menu filled from the server's welcome
    polled = ("suggest", "autodraw", "accept", "reject")
    bpy.context.view_layer.objects.active = None
    report["poll_without_object"] = [getattr(bpy.ops.ai_sketcher, n).poll() for n in polled]
    bpy.context.view_layer.objects.active = ob
    report["poll_with_object"] = [getattr(bpy.ops.ai_sketcher, n).poll() for n in polled]
    report["layer_matrix"] = rows(layer.matrix_local)
    report["object_matrix"] = rows(ob.matrix_world)
    report["original"] = strokes(ob, "Lines", 1)
    return scene, camera, ob


def suggest_accept_undo(run: Run, report: dict, ob: Any, original: dict) -> Any:
    """Suggest, Next, Accept, Undo, Reject; returns the object as it is after the undo."""
    settings = bpy.context.scene.ai_sketcher
    for seed in range(1, 9):  # the model may end a sketch at once: press again if so
        settings.seed = seed
        result = run.op("suggest")
        growth = run.wait(ob)
        if run.c.session is None or any(run.c.session.counts()):
            break
    report["suggest"] = {
        "result": result,
        "growth": growth,
        "session": run.session_info(),
        "layers": layers(ob),
        "active_layer": ob.data.layers.active.name,
        "shown": strokes(ob, SUGGESTION_LAYER, 1),
    }
    s = run.c.session
    if s is not None and sum(1 for c in s.counts() if c) > 1:
        report["flip"] = {
            "result": run.op("alternative", direction="NEXT"),
            "current": run.c.session.current,
            "shown": strokes(ob, SUGGESTION_LAYER, 1),
        }
    report["panel_during_suggestion"] = panel_calls(bpy.context)
    shown = fingerprint(ob, SUGGESTION_LAYER)
    report["accept"] = {
        "result": run.op("accept"),
        "message": run.c.message,
        "layers": layers(ob),
        "artist": strokes(ob, "Lines", 1),
    }
    after = fingerprint(ob, "Lines")
    report["accept"]["original_untouched"] = after["1"][: len(original["1"])] == original["1"]
    report["undo"] = {"result": undo()}
    ob = bpy.data.objects["Storyboard"]  # undo replaced every datablock
    report["undo"].update(
        layers=layers(ob),
        artist_is_original=fingerprint(ob, "Lines") == original,
        suggestion_is_back=SUGGESTION_LAYER in ob.data.layers
        and fingerprint(ob, SUGGESTION_LAYER) == shown,
    )
    report["reject"] = {
        "result": run.op("reject"),
        "layers": layers(ob),
        "artist_is_original": fingerprint(ob, "Lines") == original,
    }
    return ob


def autodraw(run: Run, report: dict, scene: Any, camera: Any, ob: Any, original: dict) -> None:
    """Autodraw face inside the camera's view, then accept it."""
    scene.ai_sketcher.seed = 5
    report["camera"] = {
        "matrix": rows(camera.matrix_world),
        "type": camera.data.type,
        "frame": [list(v) for v in camera.data.view_frame(scene=scene)],
    }
    auto = report["autodraw"] = {"result": run.op("autodraw")}
    auto.update(
        growth=run.wait(ob), session=run.session_info(), shown=strokes(ob, SUGGESTION_LAYER, 1)
    )
    auto["accept"] = run.op("accept")
    auto["artist"] = strokes(ob, "Lines", 1)
    auto["original_untouched"] = (
        fingerprint(ob, "Lines")["1"][: len(original["1"])] == original["1"]
    )
    camera.data.type, camera.data.ortho_scale = "ORTHO", 6.0  # parallel rays: no server needed
    gpencil = importlib.import_module(MODULE + ".gpencil")
    request, where = gpencil.autodraw_request(scene, ob, 1)
    report["ortho"] = {
        "frame": [list(v) for v in camera.data.view_frame(scene=scene)],
        "bounds": list(request.bounds),
        "where": where,
    }
    scene.camera = None
    request, where = gpencil.autodraw_request(scene, ob, 1)
    report["no_camera"] = {"bounds": list(request.bounds), "where": where}
    scene.camera = camera
    camera.data.type = "PERSP"


def autodraw_all(run: Run, report: dict, ob: Any) -> None:
    """Autodraw all: the current frame of two selected objects, then keyframes in the range."""
    settings = bpy.context.scene.ai_sketcher
    other, _ = new_gp_object("Panel 2", location=(8.0, 0.0, 0.0))
    other.select_set(True)
    ob.select_set(True)
    bpy.context.view_layer.objects.active = ob
    settings.seed, settings.autodraw_scope = 9, "OBJECTS"
    both = report["all_objects"] = {"result": run.op("autodraw_all")}
    run.wait()
    both.update(
        session=run.session_info(),
        layers={o.name: layers(o) for o in (ob, other)},
        shown={o.name: strokes(o, SUGGESTION_LAYER, 1) for o in (ob, other)},
    )
    both["reject"] = run.op("reject")
    both["layers_after_reject"] = {o.name: layers(o) for o in (ob, other)}
    other.select_set(False)
    for frame in (5, 30):  # 30 is outside the scene's range 1..20
        ob.data.layers["Lines"].frames.new(frame)
    settings.autodraw_scope = "KEYFRAMES"
    keys = report["keyframes"] = {"result": run.op("autodraw_all")}
    run.wait()
    keys.update(
        session=run.session_info(),
        suggestion_frames=sorted(f.frame_number for f in ob.data.layers[SUGGESTION_LAYER].frames),
    )
    run.op("reject")


def problems(run: Run, report: dict, ob: Any) -> None:
    """Problems are reported, not raised: an empty layer, then a server that is not there."""
    empty = ob.data.layers.new("Empty", set_active=True)
    report["empty_layer"] = {"result": run.op("suggest"), "layers": layers(ob)}
    ob.data.layers.remove(empty)
    url = os.environ["AI_SKETCHER_SERVER"]
    os.environ["AI_SKETCHER_SERVER"] = "ws://127.0.0.1:9"
    run.ctl.reconnect()
    end = time.monotonic() + 20
    while run.c.client.state == "connecting" and time.monotonic() < end:
        run.ctl.tick()
        time.sleep(0.05)
    report["no_server"] = {"result": run.op("suggest"), "panel": panel_calls(bpy.context)}
    os.environ["AI_SKETCHER_SERVER"] = url
    run.ctl.reconnect()


GUIDE = "AI Guide"


def refine(run: Run, report: dict, ob: Any) -> None:
    """Optimize my drawing at Strength 0 and 1, same seed: two different redraws."""
    settings = bpy.context.scene.ai_sketcher
    settings.alternatives, settings.seed = 1, 3
    before = fingerprint(ob, "Lines")
    out = report["refine"] = {}
    for strength in (0.0, 1.0):
        settings.strength = strength
        result = run.op("refine")
        run.wait(ob)
        out[str(strength)] = {
            "result": result,
            "session": run.session_info(),
            "shown": strokes(ob, SUGGESTION_LAYER, 1),
        }
        run.op("reject")
    out["artist_untouched"] = fingerprint(ob, "Lines") == before


def guide_until_shown(run: Run, ob: Any) -> bool:
    """Run the timer until the guide answers for the layer as it is now."""
    end = time.monotonic() + WAIT
    while time.monotonic() < end:
        run.ctl.tick()
        g = run.c.guide
        gpencil = importlib.import_module(MODULE + ".gpencil")
        if (
            g.in_flight is None
            and g.shown == gpencil.guide_signature(ob, 1)
            and g.changed_at is None
        ):
            return True
        time.sleep(0.05)
    return False


def guide_state(ob: Any) -> dict:
    layer = ob.data.layers.get(GUIDE)
    return {
        "layers": layers(ob),
        "active_layer": ob.data.layers.active.name,
        "opacity": layer.opacity if layer else None,
        "lock": layer.lock if layer else None,
        "strokes": strokes(ob, GUIDE, 1) if layer else None,
    }


def guide(run: Run, report: dict, ob: Any) -> None:
    """Shadow guide on: a stroke, then a second; then suggest, accept and undo with the guide
    on; then off."""
    settings = bpy.context.scene.ai_sketcher
    bpy.context.view_layer.objects.active = ob
    ob.data.layers.active = ob.data.layers["Lines"]
    settings.guide = True
    steps = report["guide"] = {"on": run.c.guide.enabled, "steps": []}
    drawing = ob.data.layers["Lines"].get_frame_at(1).drawing
    for points in (
        arc(1.1 * math.pi, 1.9 * math.pi, 8, 0.4, 0.0, 1.4),  # a mouth
        [(-0.4, 0.0, 1.8), (-0.3, 0.0, 1.9), (-0.2, 0.0, 1.8)],
    ):  # an eye
        add_stroke(drawing, points)  # the artist's stroke
        drawn = fingerprint(ob, "Lines")
        step = {"shown": guide_until_shown(run, ob), "message": run.c.message}
        step.update(guide_state(ob))
        step["artist_untouched"] = fingerprint(ob, "Lines") == drawn
        steps["steps"].append(step)
        drawing = ob.data.layers["Lines"].get_frame_at(1).drawing
    before = fingerprint(ob, "Lines")
    settings.alternatives, settings.seed = 2, 4
    steps["suggest"] = run.op("suggest")
    run.wait(ob)
    run.ctl.tick()
    steps["accept"] = run.op("accept")
    for _ in range(5):
        run.ctl.tick()
        time.sleep(0.05)
    steps["undo"] = undo()
    ob = bpy.data.objects["Storyboard"]
    steps["artist_after_accept_undo"] = fingerprint(ob, "Lines") == before
    bpy.context.scene.ai_sketcher.guide = False
    run.ctl.tick()
    steps["off"] = {"layers": layers(ob), "artist_untouched": fingerprint(ob, "Lines") == before}


def reference_image() -> Any:
    """A 320 x 240 photo-like image (a dark disc, centre (160, 120) from the top-left, radius 70,
    on a light gradient) shown by an image empty standing in the X-Z plane, moved and scaled."""
    import numpy as np  # Blender ships numpy

    width, height = 320, 240
    y, x = np.mgrid[0:height, 0:width]
    grey = 0.85 - 0.2 * x / width
    grey[(x - 160) ** 2 + (y - 120) ** 2 < 70**2] = 0.15
    rgba = np.dstack([grey, grey, grey, np.ones_like(grey)])[::-1]  # Blender: bottom row first
    image = bpy.data.images.new("Photo", width, height)
    image.pixels.foreach_set(rgba.astype(np.float32).ravel())
    empty = bpy.data.objects.new("Reference", None)
    empty.empty_display_type = "IMAGE"
    empty.data = image
    empty.empty_display_size = 4.0
    empty.location = (0.5, -0.2, 1.0)
    empty.rotation_euler = (math.pi / 2, 0.0, 0.0)
    bpy.context.scene.collection.objects.link(empty)
    return empty


def trace(run: Run, report: dict, ob: Any) -> None:
    """Trace image: the reference's line drawing lands on a new layer of the Grease Pencil
    object, in the picture's plane, around its disc; the artist's layer is untouched."""
    before = fingerprint(ob, "Lines")
    empty = reference_image()
    bpy.context.view_layer.objects.active = ob
    empty.select_set(True)
    out = report["trace"] = {"poll": bpy.ops.ai_sketcher.trace_image.poll()}
    out["result"] = run.op("trace_image")
    end = time.monotonic() + WAIT
    while run.c.tracing is not None and time.monotonic() < end:
        run.ctl.tick()
        time.sleep(0.02)
    run.ctl.tick()
    out["message"] = run.c.message
    out["layers"] = layers(ob)
    layer = ob.data.layers.get("Trace of Photo")
    to_world = ob.matrix_world @ layer.matrix_local if layer is not None else None
    to_image = empty.matrix_world.inverted()
    got = strokes(ob, "Trace of Photo", bpy.context.scene.frame_current) or []
    out["local"] = [[list(to_image @ (to_world @ Vector(p))) for p in st["points"]] for st in got]
    out["artist_untouched"] = fingerprint(ob, "Lines") == before
    empty.select_set(False)


def main(report: dict) -> None:
    run = Run()
    scene, camera, ob = setup(run, report)
    original = fingerprint(ob, "Lines")
    ob = suggest_accept_undo(run, report, ob, original)
    autodraw(run, report, scene, camera, ob, original)
    autodraw_all(run, report, ob)
    problems(run, report, ob)
    report["reconnected"] = run.connect()
    refine(run, report, ob)
    guide(run, report, ob)
    trace(run, report, ob)
    report["top_level_modules"] = sorted({"websockets", "msgpack"} & set(sys.modules))


def entry() -> None:
    out = sys.argv[-1]
    report = {}
    try:
        main(report)
    except Exception:
        report["error"] = traceback.format_exc()
    finally:
        try:
            addon_utils.disable(MODULE)  # unregister before exit: 4.5 hangs at exit otherwise
        except Exception:
            report.setdefault("error", traceback.format_exc())
        with open(out, "w") as f:
            json.dump(report, f, indent=1)
        sys.stdout.flush()
        os._exit(0)


if __name__ == "__main__":
    entry()

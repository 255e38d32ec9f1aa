"""Runs inside Blender (the bpy module): the extension's characters end to end, for
tests/test_blender_character_real.py.

Usage: <python with bpy> characters.py FOLDER REPORT.json, with BLENDER_USER_RESOURCES and
AI_SKETCHER_SERVER set as for scenario.py. It suggests three alternatives, flips to another
one, accepts it and keeps its character; autodraws three keyframes with that character (two with
timeline markers); stops a character sheet, then draws one from the kept character and one of a
new character; keeps that one, saves the file into FOLDER, reopens it and autodraws with the
character it kept. Only the stdlib
and bpy are used here.
"""

import importlib
import os
from typing import Any

import bpy
from render_faces import run_and_report
from scenario import MODULE, SUGGESTION_LAYER, Run, layers, panel_calls
from scene import build_scene, fingerprint, strokes

KEYFRAMES = (1, 5, 9)
MARKERS = {1: "happy", 5: "sad, mid-profile left"}  # frame 9 has none: the panel's look


def session_info(run: Run) -> dict:
    """The session as scenario.py reports it, plus each job's own conditions and character and
    the characters the server sent back."""
    info = run.session_info()
    for job, j in zip(run.c.session.jobs, info["jobs"]):
        j.update(
            conditions=job.request.conditions,
            character=job.request.character,
            characters={str(k): v for k, v in job.characters.items()},
            received=[[list(p) for p in st] for st in job.strokes(run.c.session.current)],
            error=job.error,
        )
    return info


def everything_else(keep: Any) -> dict:
    """Every object but `keep`, with each Grease Pencil layer's strokes as exact bytes."""
    out = {}
    for ob in bpy.data.objects:
        if ob.name == keep:
            continue
        gp = {} if ob.type != "GREASEPENCIL" else {n: fingerprint(ob, n) for n in layers(ob)}
        out[ob.name] = {"type": ob.type, "matrix": [list(r) for r in ob.matrix_world], "gp": gp}
    return out


def character_panel(context: Any) -> dict:
    """The Character sub-panel's poll and draw calls (scenario.panel_calls' checks)."""
    panels = importlib.import_module(MODULE + ".panels")
    out = panel_calls(context, panels.SKETCH_PT_character)
    out["poll"] = panels.SKETCH_PT_character.poll(context)
    return out


def kept(settings: Any) -> dict:
    return {
        "character": settings.character,
        "model": settings.character_model,
        "traits": settings.character_traits,
        "same": settings.same_character,
    }


def keep_an_alternative(run: Run, report: dict, ob: Any) -> None:
    """Suggest three alternatives (a woman, cartoon) and flip to one that has a character (the
    library's real drawings may carry none), accept it and keep its character."""
    settings = bpy.context.scene.ai_sketcher
    out = report["first"] = {
        "panel_before": character_panel(bpy.context),
        "keep_poll_before": bpy.ops.ai_sketcher.keep_character.poll(),
    }
    settings.alternatives = 3
    settings.picker("gender").value = "female"
    settings.picker("style").value = "cartoon"
    for seed in range(11, 19):  # the network may end a sketch at once: press again if so
        settings.seed = seed
        out["suggest"] = run.op("suggest")
        run.wait(ob)
        s = run.c.session
        job = s.jobs[0]
        wanted = [i for i in range(s.n) if job.characters.get(i) and job.strokes(i)]
        if wanted:
            break
    out["session"] = session_info(run)
    out["first_shown"] = s.current
    out["keep_poll_first_shown"] = bpy.ops.ai_sketcher.keep_character.poll()
    pick = next((i for i in wanted if i != s.current), wanted[0])
    out["flips"] = []
    while s.current != pick and len(out["flips"]) < s.n:
        out["flips"].append(run.op("alternative", direction="NEXT"))
    out["current"] = s.current
    out["shown"] = strokes(ob, SUGGESTION_LAYER, 1)
    out["panel_during"] = panel_calls(bpy.context)
    out["keep_poll"] = bpy.ops.ai_sketcher.keep_character.poll()
    out["accept"] = run.op("accept")
    out["keep"] = run.op("keep_character")
    out["message"] = run.c.message
    out["kept"] = kept(settings)
    out["panel_after"] = character_panel(bpy.context)


def autodraw_markers(run: Run, report: dict, ob: Any) -> None:
    """Autodraw all on three keyframes with the kept character: markers on two of them; the
    panel says angry (for the third) and male (which the character overrides: not sent)."""
    scene = bpy.context.scene
    settings = scene.ai_sketcher
    for frame in KEYFRAMES[1:]:
        ob.data.layers["Lines"].frames.new(frame)
    for frame, name in MARKERS.items():
        scene.timeline_markers.new(name, frame=frame)
    settings.picker("gender").value = "male"
    settings.picker("style").value = "__any__"
    settings.picker("emotion").value = "angry"
    settings.alternatives, settings.seed = 1, 21
    settings.autodraw_scope = "KEYFRAMES"
    out = report["markers"] = {"result": run.op("autodraw_all")}
    run.wait()
    out["session"] = session_info(run)
    out["options"] = dict(run.c._options)
    out["frames"] = {
        str(f): strokes(ob, SUGGESTION_LAYER, f) for f in KEYFRAMES
    }  # each keyframe's face, on its own frame
    out["reject"] = run.op("reject")
    settings.same_character = False  # today's behaviour: no character, the panel's conditions
    out["without"] = {"result": run.op("autodraw_all")}
    out["without"]["session"] = session_info(run)
    run.op("reject")
    settings.same_character = True
    settings.picker("gender").value = "__any__"
    settings.picker("emotion").value = "__any__"


def sheet(run: Run, report: dict, name: str) -> None:
    """Character sheet: a new object with a face per emotion x view; nothing else changes."""
    before = everything_else(None)
    out = report[name] = {"result": run.op("character_sheet"), "message": run.c.message}
    ob = bpy.context.view_layer.objects.active
    out["object"] = ob.name
    run.wait()
    out["session"] = session_info(run)
    out["summary"] = run.c.message
    out["layers"] = layers(ob)
    out["active_is_sheet"] = bpy.context.view_layer.objects.active == ob
    frame = ob.data.layers["Faces"].frames[0].frame_number
    out["strokes"] = [s["points"] for s in strokes(ob, "Faces", frame)]
    out["matrix"] = [list(r) for r in ob.matrix_world]
    out["others_untouched"] = everything_else(ob.name) == before


def stop_a_sheet(run: Run, report: dict) -> None:
    """Stop a character sheet while it draws: its object stays with the faces drawn so far, and
    the cancelled requests still open on the server do not crowd out the next sheet's."""
    out = report["stopped"] = {"result": run.op("character_sheet")}
    out["object"] = bpy.context.view_layer.objects.active.name
    run.ctl.tick()
    out["running"] = run.c.session is not None and run.c.session.running
    out["stop"] = run.op("reject")
    out["message"] = run.c.message
    out["session"] = run.c.session is not None
    out["still_there"] = out["object"] in bpy.data.objects


def save_and_reopen(run: Run, report: dict, folder: str) -> None:
    """Keep the new sheet's character, save, reopen: the character is still kept, and Autodraw
    face draws it."""
    settings = bpy.context.scene.ai_sketcher
    out = report["reopen"] = {"keep": run.op("keep_character")}
    out["kept"] = kept(settings)
    path = os.path.join(folder, "characters.blend")
    bpy.ops.wm.save_as_mainfile(filepath=path)
    bpy.ops.wm.read_homefile(app_template="")  # another file in between: nothing left over
    out["forgotten_in_other_file"] = bpy.context.scene.ai_sketcher.character
    bpy.ops.wm.open_mainfile(filepath=path)
    settings = bpy.context.scene.ai_sketcher
    out["kept_after"] = kept(settings)
    ob = bpy.data.objects["Storyboard"]
    bpy.context.view_layer.objects.active = ob
    bpy.context.scene.frame_set(1)
    run.ctl.tick()
    settings.alternatives, settings.seed = 1, 31
    out["autodraw"] = run.op("autodraw")
    run.wait()
    out["session"] = session_info(run)
    run.op("reject")


def main(report: dict, folder: str) -> None:
    bpy.ops.wm.read_userpref()
    run = Run()
    scene, _, ob, _ = build_scene()
    report["version"] = bpy.app.version_string
    report["connection"] = run.connect()
    run.ctl.tick()  # the pickers
    report["storyboard_before"] = fingerprint(ob, "Lines")
    keep_an_alternative(run, report, ob)
    autodraw_markers(run, report, ob)
    bpy.context.scene.frame_set(1)
    stop_a_sheet(run, report)
    sheet(run, report, "sheet")
    run.op("forget_character")
    report["forgotten"] = kept(bpy.context.scene.ai_sketcher)
    bpy.context.scene.ai_sketcher.seed = 41
    sheet(run, report, "new_sheet")
    save_and_reopen(run, report, folder)


if __name__ == "__main__":
    run_and_report(main)

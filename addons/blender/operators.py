"""The add-on's operators: Suggest, Optimize my drawing, Autodraw face, Autodraw all,
Next/Previous, Accept, Reject, Trace image, and the character's: Keep character, Forget,
Character sheet.

Each one is undoable, greys itself out without a Grease Pencil object, and reports problems
with self.report. They only start or end sessions; the timer in controller.py draws the strokes.
"""

# No `from __future__ import annotations`: Blender reads property annotations as objects.
import json
from typing import Any

import bpy
from bpy.props import EnumProperty

from . import controller, geometry, gpencil
from .properties import keeps_characters, kept_traits, model_name, offered
from .session import (
    Job,
    Target,
    conditions_for,
    describe_character,
    face_problem,
    look_conditions,
    plural,
    seed_for,
    sheet_requests,
    traits,
)
from .wire import protocol
from .wire.client import sentence

UNDO = {"REGISTER", "UNDO"}


class _NeedsGreasePencil:
    """poll(): an active Grease Pencil object."""

    @classmethod
    def poll(cls, context: Any) -> bool:
        if gpencil.is_gp(context.active_object):
            return True
        cls.poll_message_set("Select a Grease Pencil object first")
        return False


def _connected(op: Any) -> Any:
    """The Controller if it is connected; else reports why not and returns None."""
    c = controller.get()
    if not c.connected:
        op.report({"ERROR"}, c.connection_text)
        return None
    return c


def _on_active_layer(op: Any, context: Any, mode: str) -> set[str]:
    """Start a suggestion (complete or refine) from the active layer's strokes on this frame."""
    c = _connected(op)
    if c is None:
        return {"CANCELLED"}
    ob, scene = context.active_object, context.scene
    settings, frame = scene.ai_sketcher, scene.frame_current
    try:
        layer = gpencil.artist_layer(ob)
        request = gpencil.suggest_request(ob, frame)
    except (gpencil.GPencilError, geometry.GeometryError) as e:
        op.report({"WARNING"}, sentence(str(e)))
        return {"CANCELLED"}
    if mode == "refine":
        request.mode = "refine"
    request.seed = seed_for(c.base_seed(settings), ob.name, frame)
    conditions = conditions_for(offered(settings), settings.chosen(), face=False)
    c.start(
        mode,
        [Job(Target(ob.name, layer.name, frame), request)],
        settings,
        conditions,
        model_name(settings),
    )
    return {"FINISHED"}


class SKETCH_OT_suggest(_NeedsGreasePencil, bpy.types.Operator):
    """Continue the strokes of the active layer on the current frame"""

    bl_idname = "ai_sketcher.suggest"
    bl_label = "Suggest strokes"
    bl_options = UNDO

    def execute(self, context: Any) -> set[str]:
        return _on_active_layer(self, context, "suggest")


class SKETCH_OT_refine(_NeedsGreasePencil, bpy.types.Operator):
    """Redraw the strokes of the active layer on the current frame as a suggestion; Strength
    sets how far towards the model's real drawings"""

    bl_idname = "ai_sketcher.refine"
    bl_label = "Optimize my drawing"
    bl_options = UNDO

    def execute(self, context: Any) -> set[str]:
        return _on_active_layer(self, context, "refine")


def _face_conditions(op: Any, settings: Any) -> dict[str, str] | None:
    problem = face_problem(offered(settings))
    if problem:
        op.report({"ERROR"}, sentence(problem))
        return None
    return conditions_for(offered(settings), settings.chosen(), face=True)


def _kept_character(op: Any, settings: Any, same: bool = True) -> Any:
    """The kept character to draw (None: draw without one, as when none is kept, "Same
    character" is off, or the model keeps none); False after reporting why it cannot be."""
    if not same or not settings.character or not keeps_characters(settings):
        return None
    model = model_name(settings)
    if settings.character_model and settings.character_model != model:
        op.report(
            {"ERROR"},
            f"The kept character was drawn by the '{settings.character_model}' model; choose "
            "that model, or Forget the character.",
        )
        return False
    return settings.character


def marker_text(scene: Any, frame: int) -> str:
    """The names of the timeline markers on `frame` ("sad, mid-profile left"), for the emotion
    and view of a kept character's face there."""
    return " ".join(m.name for m in scene.timeline_markers if m.frame == frame)


def _with_character(request: Any, character: Any, settings: Any, scene: Any, frame: int) -> None:
    """Make a face request draw `character` (if any), looking as the frame's marker says."""
    if character:
        request.character = character
        request.conditions = look_conditions(
            offered(settings), settings.chosen(), marker_text(scene, frame)
        )


class SKETCH_OT_autodraw(_NeedsGreasePencil, bpy.types.Operator):
    """Draw a face on the current frame, inside the camera's view (or the object's bounds)"""

    bl_idname = "ai_sketcher.autodraw"
    bl_label = "Autodraw face"
    bl_options = UNDO

    def execute(self, context: Any) -> set[str]:
        c = _connected(self)
        ob, scene = context.active_object, context.scene
        settings, frame = scene.ai_sketcher, scene.frame_current
        conditions = _face_conditions(self, settings) if c is not None else None
        character = _kept_character(self, settings, settings.same_character) if conditions else None
        if conditions is None or character is False:
            return {"CANCELLED"}
        try:
            layer = gpencil.artist_layer(ob)
            request, where = gpencil.autodraw_request(scene, ob, frame)
        except (gpencil.GPencilError, geometry.GeometryError) as e:
            self.report({"WARNING"}, sentence(str(e)))
            return {"CANCELLED"}
        request.seed = seed_for(c.base_seed(settings), ob.name, frame)
        _with_character(request, character, settings, scene, frame)
        c.start(
            "autodraw",
            [Job(Target(ob.name, layer.name, frame), request)],
            settings,
            conditions,
            model_name(settings),
            kept_traits(settings) if character else None,
        )
        who = "the kept character" if character else "a face"
        self.report({"INFO"}, f"Drawing {who} in the {where}.")
        return {"FINISHED"}


class SKETCH_OT_autodraw_all(bpy.types.Operator):
    """Draw a face on the current frame of every selected Grease Pencil object, or on every
    keyframe in the scene's frame range, each with its own seed"""

    bl_idname = "ai_sketcher.autodraw_all"
    bl_label = "Autodraw all"
    bl_options = UNDO

    @classmethod
    def poll(cls, context: Any) -> bool:
        if gpencil.selected_gp_objects(context):
            return True
        cls.poll_message_set("Select one or more Grease Pencil objects first")
        return False

    def execute(self, context: Any) -> set[str]:
        c = _connected(self)
        scene = context.scene
        settings = scene.ai_sketcher
        conditions = _face_conditions(self, settings) if c is not None else None
        character = _kept_character(self, settings, settings.same_character) if conditions else None
        if conditions is None or character is False:
            return {"CANCELLED"}
        base, jobs, skipped = c.base_seed(settings), [], []
        for ob in gpencil.selected_gp_objects(context):
            try:
                layer = gpencil.artist_layer(ob)
                frames = (
                    [scene.frame_current]
                    if settings.autodraw_scope == "OBJECTS"
                    else gpencil.keyframes(ob, scene.frame_start, scene.frame_end)
                )
                for frame in frames:
                    request, _ = gpencil.autodraw_request(scene, ob, frame)
                    request.seed = seed_for(base, ob.name, frame)
                    _with_character(request, character, settings, scene, frame)
                    jobs.append(Job(Target(ob.name, layer.name, frame), request))
            except (gpencil.GPencilError, geometry.GeometryError) as e:
                skipped.append(f"{ob.name}: {e}")
        if not jobs:
            why = (
                skipped[0]
                if skipped
                else (
                    f"the active layers have no keyframes between frames {scene.frame_start} and "
                    f"{scene.frame_end}"
                )
            )
            self.report({"WARNING"}, sentence(f"Nothing to autodraw: {why}"))
            return {"CANCELLED"}
        c.start(
            "autodraw_all",
            jobs,
            settings,
            conditions,
            model_name(settings),
            kept_traits(settings) if character else None,
        )
        note = f" Skipped {'; '.join(skipped)}." if skipped else ""
        who = " of the kept character" if character else ""
        self.report({"INFO"}, f"Drawing {plural(len(jobs), 'face')}{who}.{note}")
        return {"FINISHED"}


class SKETCH_OT_alternative(bpy.types.Operator):
    """Show the next or previous alternative suggestion"""

    bl_idname = "ai_sketcher.alternative"
    bl_label = "Next / previous alternative"
    bl_options = UNDO

    direction: EnumProperty(
        name="Direction",
        default="NEXT",
        items=[
            ("NEXT", "Next", "Show the next alternative"),
            ("PREVIOUS", "Previous", "Show the previous alternative"),
        ],
    )

    @classmethod
    def poll(cls, context: Any) -> bool:
        s = controller.get().session
        if s is not None and s.n > 1:
            return True
        cls.poll_message_set("Suggest strokes with 2 or more alternatives first")
        return False

    def execute(self, context: Any) -> set[str]:
        c = controller.get()
        c.session.flip(1 if self.direction == "NEXT" else -1)
        c.apply()
        gpencil.tag_redraw()
        return {"FINISHED"}


class _HasSuggestion:
    """poll(): a suggestion in progress, or a Grease Pencil object with an AI Sketcher layer."""

    @classmethod
    def poll(cls, context: Any) -> bool:
        ob = context.active_object
        if controller.get().session is not None or (
            gpencil.is_gp(ob) and gpencil.suggestion_layer(ob) is not None
        ):
            return True
        cls.poll_message_set("There is no suggestion; suggest strokes first")
        return False


class SKETCH_OT_accept(_HasSuggestion, bpy.types.Operator):
    """Add the suggestion on show to your layer (one undo step) and remove the AI Sketcher
    layer"""

    bl_idname = "ai_sketcher.accept"
    bl_label = "Accept"
    bl_options = UNDO

    def execute(self, context: Any) -> set[str]:
        c = controller.get()
        objects = c.targets_with_suggestions(context)
        names = dict(c.layer_names)
        try:  # every target first, so that an error changes nothing
            plans = [(ob, gpencil.accept_target(ob, names.get(ob.name))) for ob in objects]
        except (gpencil.GPencilError, geometry.GeometryError) as e:
            self.report({"ERROR"}, sentence(str(e)))
            return {"CANCELLED"}
        if not any(gpencil.suggestion_count(ob) for ob in objects):
            self.report(
                {"WARNING"},
                "There are no suggested strokes to accept yet; wait for "
                "them, or reject the suggestion.",
            )
            return {"CANCELLED"}
        if c.session is not None and c.session.kind != controller.SHEET:
            c.accepted = shown_character(context)  # to keep after the session ends
        c.end(remove=False)
        copied, into = 0, []
        for ob, layer in plans:
            n = gpencil.accept(ob, layer)
            copied += n
            if n:
                into.append(f"'{layer.name}' of '{ob.name}'")
        c.message = (
            f"Added {plural(copied, 'stroke')} to {', '.join(into)}; Edit > Undo takes "
            f"{'them' if copied > 1 else 'it'} back."
        )
        self.report({"INFO"}, c.message)
        return {"FINISHED"}


class SKETCH_OT_reject(_HasSuggestion, bpy.types.Operator):
    """Stop the suggestion and remove the AI Sketcher layer (or stop a character sheet); your
    layers stay as they were"""

    bl_idname = "ai_sketcher.reject"
    bl_label = "Reject"
    bl_options = UNDO

    def execute(self, context: Any) -> set[str]:
        c = controller.get()
        s = c.session
        if s is not None and s.kind == controller.SHEET and s.running:
            c.end(remove=False)
            c.message = "Stopped the character sheet; the faces drawn so far stay on it."
            self.report({"INFO"}, c.message)
            return {"FINISHED"}
        removed = c.end(
            remove=True, objects={ob.name for ob in gpencil.selected_gp_objects(context)}
        )
        c.message = (
            "Suggestion removed; your layers are as they were."
            if removed
            else "There was no suggestion layer to remove."
        )
        self.report({"INFO"}, c.message)
        return {"FINISHED"}


class SKETCH_OT_trace_image(bpy.types.Operator):
    """Trace the selected reference image (an image empty) into strokes on a new layer of the
    active Grease Pencil object, where the image shows; the image is left as it is"""

    bl_idname = "ai_sketcher.trace_image"
    bl_label = "Trace image"
    bl_options = UNDO

    @classmethod
    def poll(cls, context: Any) -> bool:
        if not gpencil.is_gp(context.active_object):
            cls.poll_message_set("Make a Grease Pencil object active to draw the trace into")
            return False
        if gpencil.selected_image_empty(context) is None:
            cls.poll_message_set("Also select the reference image (an image empty) to trace")
            return False
        return True

    def execute(self, context: Any) -> set[str]:
        c = _connected(self)
        if c is None:
            return {"CANCELLED"}
        if not c.client.welcome.trace:
            self.report({"ERROR"}, "This server cannot trace images; start this version's server")
            return {"CANCELLED"}
        empty = gpencil.selected_image_empty(context)
        try:
            c.trace(context.active_object, empty, context.scene.frame_current)
        except gpencil.GPencilError as e:
            self.report({"WARNING"}, sentence(str(e)))
            return {"CANCELLED"}
        except protocol.ProtocolError as e:
            self.report({"WARNING"}, sentence(f"cannot send this image ({e.message})"))
            return {"CANCELLED"}
        self.report({"INFO"}, c.message)
        return {"FINISHED"}


def shown_character(context: Any) -> Any:
    """The character of the face on show (on the active object's current frame first), or of
    the one accepted last; None when there is none (controller.Character)."""
    active = context.active_object
    return controller.get().shown_character(
        active.name if active else None, context.scene.frame_current
    )


class SKETCH_OT_keep_character(bpy.types.Operator):
    """Keep the character of the face on show (or accepted last): Autodraw face, Autodraw all
    and Character sheet then draw this same person; it is saved with the file"""

    bl_idname = "ai_sketcher.keep_character"
    bl_label = "Keep character"
    bl_options = UNDO

    @classmethod
    def poll(cls, context: Any) -> bool:
        if shown_character(context) is not None:
            return True
        if controller.get().session is not None:
            cls.poll_message_set(
                "The suggestion on show has no character to keep; flip to another "
                "alternative, or draw a Character sheet"
            )
        else:
            cls.poll_message_set("Autodraw a face with a model that keeps characters first")
        return False

    def execute(self, context: Any) -> set[str]:
        found = shown_character(context)
        settings = context.scene.ai_sketcher
        settings.character = found.text
        settings.character_model = found.model
        settings.character_traits = json.dumps(dict(found.traits), sort_keys=True)
        c = controller.get()
        c.message = "Kept this character. " + describe_character(
            found.traits, offered(settings), found.model
        )
        self.report({"INFO"}, c.message)
        return {"FINISHED"}


class SKETCH_OT_forget_character(bpy.types.Operator):
    """Forget the kept character: the autodraws draw new people again"""

    bl_idname = "ai_sketcher.forget_character"
    bl_label = "Forget"
    bl_options = UNDO

    @classmethod
    def poll(cls, context: Any) -> bool:
        if context.scene.ai_sketcher.character:
            return True
        cls.poll_message_set("No character is kept")
        return False

    def execute(self, context: Any) -> set[str]:
        settings = context.scene.ai_sketcher
        settings.character = settings.character_model = settings.character_traits = ""
        c = controller.get()
        c.message = "Forgot the character; the autodraws draw new people again."
        self.report({"INFO"}, c.message)
        return {"FINISHED"}


class SKETCH_OT_character_sheet(bpy.types.Operator):
    """Draw the kept character (or, with none kept, a new one) once per emotion and view, each
    face in a cell of its own, on a new Grease Pencil object at the 3D cursor; nothing else in
    the scene is changed"""

    bl_idname = "ai_sketcher.character_sheet"
    bl_label = "Character sheet"
    bl_options = UNDO

    def execute(self, context: Any) -> set[str]:
        c = _connected(self)
        if c is None:
            return {"CANCELLED"}
        scene = context.scene
        settings = scene.ai_sketcher
        if not keeps_characters(settings):
            self.report(
                {"ERROR"},
                f"The model '{model_name(settings)}' keeps no characters, so it cannot draw a "
                "character sheet; choose one that does, such as 'faces'.",
            )
            return {"CANCELLED"}
        if c.session is not None and c.session.running:
            self.report(
                {"WARNING"},
                "A suggestion is still being drawn; wait for it to finish (or Reject it), "
                "then press Character sheet again.",
            )
            return {"CANCELLED"}
        character = _kept_character(self, settings)
        if character is False or _face_conditions(self, settings) is None:
            return {"CANCELLED"}
        requests = sheet_requests(offered(settings), settings.chosen(), character)
        frame = min(scene.frame_start, scene.frame_current)
        ob = gpencil.new_sheet(context, frame)
        base = c.base_seed(settings)
        jobs = []
        for i, request in enumerate(requests):
            request.seed = seed_for(base, gpencil.SHEET_NAME, i)
            jobs.append(Job(Target(ob.name, gpencil.SHEET_LAYER, frame), request))
        kept = kept_traits(settings) if character else traits(requests[0].conditions)
        common = conditions_for(offered(settings), {}, face=True)
        c.start_sheet(jobs, settings, common, model_name(settings), kept)
        who = (
            "the kept character"
            if character
            else "a new character (the first face, then the others from its character)"
        )
        self.report(
            {"INFO"},
            f"Drawing {plural(len(jobs), 'face')} of {who} on the new object '{ob.name}'.",
        )
        return {"FINISHED"}


classes = (
    SKETCH_OT_suggest,
    SKETCH_OT_refine,
    SKETCH_OT_autodraw,
    SKETCH_OT_autodraw_all,
    SKETCH_OT_alternative,
    SKETCH_OT_accept,
    SKETCH_OT_reject,
    SKETCH_OT_trace_image,
    SKETCH_OT_keep_character,
    SKETCH_OT_forget_character,
    SKETCH_OT_character_sheet,
)
register, unregister = bpy.utils.register_classes_factory(classes)

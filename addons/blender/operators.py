"""The add-on's operators: Suggest, Optimize my drawing, Autodraw face, Autodraw all,
Next/Previous, Accept, Reject, Trace image.

Each one is undoable, greys itself out without a Grease Pencil object, and reports problems
with self.report. They only start or end sessions; the timer in controller.py draws the strokes.
"""

# No `from __future__ import annotations`: Blender reads property annotations as objects.
from typing import Any

import bpy
from bpy.props import EnumProperty

from . import controller, geometry, gpencil
from .properties import model_name, offered
from .session import Job, Target, conditions_for, face_problem, plural, seed_for
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
        if conditions is None:
            return {"CANCELLED"}
        try:
            layer = gpencil.artist_layer(ob)
            request, where = gpencil.autodraw_request(scene, ob, frame)
        except (gpencil.GPencilError, geometry.GeometryError) as e:
            self.report({"WARNING"}, sentence(str(e)))
            return {"CANCELLED"}
        request.seed = seed_for(c.base_seed(settings), ob.name, frame)
        c.start(
            "autodraw",
            [Job(Target(ob.name, layer.name, frame), request)],
            settings,
            conditions,
            model_name(settings),
        )
        self.report({"INFO"}, f"Drawing a face in the {where}.")
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
        if conditions is None:
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
        c.start("autodraw_all", jobs, settings, conditions, model_name(settings))
        note = f" Skipped {'; '.join(skipped)}." if skipped else ""
        self.report({"INFO"}, f"Drawing {plural(len(jobs), 'face')}.{note}")
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
    """Stop the suggestion and remove the AI Sketcher layer; your layers stay as they were"""

    bl_idname = "ai_sketcher.reject"
    bl_label = "Reject"
    bl_options = UNDO

    def execute(self, context: Any) -> set[str]:
        c = controller.get()
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


classes = (
    SKETCH_OT_suggest,
    SKETCH_OT_refine,
    SKETCH_OT_autodraw,
    SKETCH_OT_autodraw_all,
    SKETCH_OT_alternative,
    SKETCH_OT_accept,
    SKETCH_OT_reject,
    SKETCH_OT_trace_image,
)
register, unregister = bpy.utils.register_classes_factory(classes)

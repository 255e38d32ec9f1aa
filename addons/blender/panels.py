"""The sidebar panel (3D view > N > AI Sketcher): server status, settings and the buttons; its
Character sub-panel for models that keep characters."""

# No `from __future__ import annotations`, like the other modules that define bpy classes.
from typing import Any

import bpy

from . import controller, gpencil
from .properties import keeps_characters, kept_traits, offered
from .session import LOOK, describe_character, missing_face_conditions, wrap

WRAP = 42  # characters per label line; Blender's labels do not wrap by themselves


def _text(layout: Any, text: str, icon: str = "NONE") -> None:
    for i, line in enumerate(wrap(text, WRAP)):
        layout.label(text=line, icon=icon if i == 0 else "BLANK1")


class SKETCH_PT_sidebar(bpy.types.Panel):
    """Suggest and autodraw Grease Pencil strokes with the local AI-Sketcher server."""

    bl_label = "AI Sketcher"
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "AI Sketcher"

    def draw(self, context: Any) -> None:
        layout = self.layout
        c = controller.get()
        settings = context.scene.ai_sketcher
        icon = (
            "CHECKMARK"
            if c.connected
            else ("SORTTIME" if c.client.state == "connecting" else "ERROR")
        )
        _text(layout.box(), c.connection_text, icon)

        col = layout.column()
        col.enabled = c.connected
        col.prop(settings, "model")
        conditions = offered(settings)
        for name in conditions:  # the chosen model's, in the welcome's order
            picker = settings.picker(name)
            if picker is not None:
                col.prop(picker, "value", text=name.replace("_", " ").capitalize())
        missing = missing_face_conditions(conditions)
        if c.connected and missing:
            _text(col, f"This model has no {', '.join(missing)}.", "INFO")
        col.prop(settings, "variety", slider=True)
        col.prop(settings, "strength", slider=True)
        col.prop(settings, "alternatives")
        col.prop(settings, "seed")

        col.separator()
        col.operator("ai_sketcher.suggest", icon="GREASEPENCIL")
        col.operator("ai_sketcher.refine", icon="SHADERFX")
        col.prop(settings, "guide", icon="GHOST_ENABLED")
        col.operator("ai_sketcher.autodraw", icon="USER")
        row = col.row(align=True)
        row.operator("ai_sketcher.autodraw_all", icon="RENDER_ANIMATION")
        row.prop(settings, "autodraw_scope", text="")
        col.operator("ai_sketcher.trace_image", icon="IMAGE_REFERENCE")

        s = c.session
        if s is not None and s.kind == controller.SHEET:
            if s.running:
                layout.operator("ai_sketcher.reject", text="Stop the character sheet", icon="X")
            s = None  # a character sheet has no alternatives to flip, accept or reject
        ob = context.active_object
        if s is not None or (gpencil.is_gp(ob) and gpencil.suggestion_layer(ob) is not None):
            box = layout.box()
            if s is not None and s.n > 1:
                row = box.row(align=True)
                row.operator(
                    "ai_sketcher.alternative", text="", icon="TRIA_LEFT"
                ).direction = "PREVIOUS"
                row.label(text=f"Alternative {s.current + 1} of {s.n}")
                row.operator(
                    "ai_sketcher.alternative", text="", icon="TRIA_RIGHT"
                ).direction = "NEXT"
            row = box.row(align=True)
            row.operator("ai_sketcher.accept", icon="CHECKMARK")
            row.operator("ai_sketcher.reject", icon="X")
            if s is not None and keeps_characters(settings):
                box.operator(
                    "ai_sketcher.keep_character",
                    text=f"Keep character of alternative {s.current + 1}",
                    icon="PINNED",
                )
        if c.message:
            _text(layout, c.message)


class SKETCH_PT_character(bpy.types.Panel):
    """Keep a character and draw the same person again: Autodraw with markers, Character
    sheet. Shown when the chosen model keeps characters."""

    bl_label = "Character"
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "AI Sketcher"
    bl_parent_id = "SKETCH_PT_sidebar"

    @classmethod
    def poll(cls, context: Any) -> bool:
        return controller.get().connected and keeps_characters(context.scene.ai_sketcher)

    def draw(self, context: Any) -> None:
        layout = self.layout
        settings = context.scene.ai_sketcher
        if settings.character:
            box = layout.box()
            known = kept_traits(settings)
            _text(box, describe_character(known, offered(settings), settings.character_model))
            row = box.row(align=True)
            row.prop(settings, "same_character")
            row.operator("ai_sketcher.forget_character", icon="X")
            conditions = offered(settings)
            looks = [n for n in LOOK if n in conditions]
            own = [n for n in conditions if n not in LOOK and n != "category"]
            if looks:
                theirs = f"; {' and '.join(own)} stay the character's" if own else ""
                _text(
                    box,
                    'A timeline marker on a frame ("sad, mid-profile left") sets its '
                    f"{' and '.join(looks)}{theirs}.",
                    "MARKER",
                )
        else:
            _text(layout, "Keep the character of a face on show to draw that person again.")
        layout.operator("ai_sketcher.keep_character", icon="PINNED")
        layout.operator("ai_sketcher.character_sheet", icon="OUTLINER_OB_GREASEPENCIL")


classes = (SKETCH_PT_sidebar, SKETCH_PT_character)
register, unregister = bpy.utils.register_classes_factory(classes)

"""User-wide settings (Edit > Preferences > Add-ons > AI Sketcher): the server's address."""

# No `from __future__ import annotations`: Blender reads property annotations as objects.
from typing import Any

import bpy
from bpy.props import StringProperty

from . import controller
from .wire import client as client_module


def _reconnect(self: Any, context: Any) -> None:
    controller.reconnect()


class SketchPreferences(bpy.types.AddonPreferences):
    """Where the AI-Sketcher server runs; the panel shows whether it is reachable."""

    bl_idname = __package__

    server: StringProperty(
        name="Server",
        default=client_module.DEFAULT_URL,
        update=_reconnect,
        description="Address of the AI-Sketcher server, as its `ready` line prints it",
    )
    token: StringProperty(
        name="Token",
        default="",
        subtype="PASSWORD",
        update=_reconnect,
        description="The secret the server was started with (--token); leave empty if it has none",
    )

    def draw(self, context: Any) -> None:
        layout = self.layout
        layout.prop(self, "server")
        layout.prop(self, "token")
        layout.label(text=f"Start the server with: {client_module.start_command(self.server)}")
        layout.label(text=controller.get().connection_text)


classes = (SketchPreferences,)
register, unregister = bpy.utils.register_classes_factory(classes)

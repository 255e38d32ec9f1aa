"""AI Sketcher for Blender: suggests and autodraws Grease Pencil strokes from a local server.

Blender calls register() when the extension is enabled. It checks the wire's bundled pure-Python
packages (wire/vendor/, filled by install.py and imported relatively: nothing goes on sys.path),
then registers the modules in order; unregister() goes in reverse. The extension runs as
install.py builds it (with the wire inside it). Importing this package does not import bpy, so
the pure modules (geometry.py, session.py) can be tested without Blender.
"""

from __future__ import annotations

from types import ModuleType


def _modules() -> tuple[ModuleType, ...]:
    from . import controller, operators, panels, preferences, properties

    return (preferences, controller, properties, operators, panels)


def register() -> None:
    from .wire import vendor  # noqa: F401  (first: a broken copy says what to do about it)

    for module in _modules():
        module.register()


def unregister() -> None:
    for module in reversed(_modules()):
        module.unregister()

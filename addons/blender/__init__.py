"""AI Sketcher for Blender: suggests and autodraws Grease Pencil strokes from a local server.

Blender calls register() when the extension is enabled. It checks the bundled pure-Python
packages (vendor/, filled by install.py and imported relatively: nothing goes on sys.path), then
registers the modules in order; unregister() goes in reverse. Importing this package does not
import bpy, so the pure modules (geometry.py, session.py) can be tested without Blender.
"""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType


def _load_vendored() -> None:
    """Import install.py's copies of websockets and msgpack (vendor/ says what to do if they are
    broken); a repository checkout has no vendor/ and is left to this Python's own."""
    if importlib.util.find_spec(f"{__name__}.vendor") is not None:
        importlib.import_module(f"{__name__}.vendor")


def _modules() -> tuple[ModuleType, ...]:
    from . import controller, operators, panels, preferences, properties

    return (preferences, controller, properties, operators, panels)


def register() -> None:
    _load_vendored()
    for module in _modules():
        module.register()


def unregister() -> None:
    for module in reversed(_modules()):
        module.unregister()

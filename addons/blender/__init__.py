"""AI Sketcher for Blender: suggests and autodraws Grease Pencil strokes from a local server.

Blender calls register() when the extension is enabled. It puts the bundled pure-Python packages
(vendor/, filled by install.py) on sys.path, checks them, then registers the modules in order;
unregister() goes in reverse. Importing this package does not import bpy, so the pure modules
(geometry.py, session.py) can be tested without Blender.
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType

VENDOR = Path(__file__).resolve().parent / "vendor"
VENDORED = ("websockets", "msgpack")


def _load_vendored() -> None:
    """Make the bundled packages importable, or fail with what to do about it."""
    if VENDOR.is_dir() and str(VENDOR) not in sys.path:
        sys.path.insert(0, str(VENDOR))
    for name in VENDORED:
        try:
            __import__(name)
        except Exception as e:  # noqa: BLE001  (a broken copy fails in many ways; one fix)
            python = ".".join(map(str, sys.version_info[:3]))
            raise ImportError(
                f"AI Sketcher cannot load {name} ({type(e).__name__}: {e}) in Blender's Python "
                f"{python}. Run `python install.py --only blender` again from the AI-Sketcher "
                f"folder, then restart Blender; it copies websockets and msgpack into {VENDOR}."
            ) from None


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

"""AI Sketcher for Krita: suggests the next strokes on a paint or vector layer from a local server.

Krita imports this package at start-up. It checks the bundled pure-Python packages (vendor/,
filled by install.py and imported relatively: nothing goes on sys.path), then registers the
extension and the docker. Outside Krita (tests, a repository checkout) only the pure modules are
meant to be used; there this Python's own websockets and msgpack serve.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys


def _load_vendored() -> None:
    """Import install.py's copies of websockets and msgpack (vendor/ says what to do if they are
    broken); a repository checkout has no vendor/ and is left to this Python's own."""
    if importlib.util.find_spec(f"{__name__}.vendor") is not None:
        importlib.import_module(f"{__name__}.vendor")


_load_vendored()

if "krita" in sys.modules:  # running inside Krita, which imported its API before loading us
    from .extension import register

    register()

"""AI Sketcher for Krita: suggests the next strokes on a paint or vector layer from a local server.

Krita imports this package at start-up. It checks the wire's bundled pure-Python packages
(wire/vendor/, filled by install.py and imported relatively: nothing goes on sys.path), then
registers the extension and the docker. The plugin runs as install.py builds it (with the wire
inside it); from a checkout only the pure modules (svg.py) are meant to be imported.
"""

from __future__ import annotations

import sys

if "krita" in sys.modules:  # running inside Krita, which imported its API before loading us
    from .wire import vendor  # noqa: F401  (first: a broken copy says what to do about it)

    # isort: split
    from .extension import register

    register()

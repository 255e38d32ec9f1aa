"""AI Sketcher for Krita: suggests the next strokes on a paint or vector layer from a local server.

Krita imports this package at start-up. It puts the bundled pure-Python packages (vendor/,
filled by install.py) on sys.path, checks them, and registers the extension and the docker.
Outside Krita (tests, a repository checkout) only the pure modules are meant to be used.
"""

from __future__ import annotations

import sys
from pathlib import Path

VERSION = "0.1.0"
CLIENT_NAME = f"krita-ai-sketcher/{VERSION}"
VENDOR = Path(__file__).resolve().parent / "vendor"
VENDORED = ("websockets", "msgpack")


def _load_vendored() -> None:
    """Make the bundled packages importable, or fail with what to do about it."""
    if VENDOR.is_dir() and str(VENDOR) not in sys.path:
        sys.path.insert(0, str(VENDOR))
    for name in VENDORED:
        try:
            __import__(name)
        except Exception as e:  # a broken copy fails in many ways; one fix
            python = ".".join(map(str, sys.version_info[:3]))
            raise ImportError(
                f"AI Sketcher cannot load {name} ({type(e).__name__}: {e}) in this Python "
                f"{python}. Run `python install.py` again from the AI-Sketcher folder, then "
                "restart Krita; it copies websockets and msgpack into "
                f"{VENDOR}."
            ) from None


_load_vendored()

if "krita" in sys.modules:  # running inside Krita, which imported its API before loading us
    from .extension import register

    register()

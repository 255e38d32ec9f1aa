"""websockets and msgpack for this add-on: install.py's pure-Python copies, in this folder.

install.py installs this file as `<add-on>/wire/vendor/__init__.py`, in place of the checkout's
wire/vendor.py. The wire imports the copies relatively (`from .vendor import msgpack`), and both
packages import their own parts
relatively too, so nothing goes on `sys.path` and no top-level `websockets` or `msgpack` module
appears: another add-on's copies, of any version, cannot clash with these. Importing this
package checks them at once, so that a broken copy fails here with what to do about it.
"""

from __future__ import annotations

import sys
from pathlib import Path

try:
    from . import msgpack, websockets
    from .websockets import exceptions as _exceptions  # the parts the wire uses
    from .websockets.sync import client as _sync_client
except Exception as e:  # a broken or partial copy fails in many ways; the fix is the same
    python = ".".join(map(str, sys.version_info[:3]))
    raise ImportError(
        f"AI Sketcher cannot load its copy of websockets or msgpack ({type(e).__name__}: {e}) "
        f"in this Python {python}. Run `python install.py` again in the AI-Sketcher folder "
        f"(it copies them into {Path(__file__).resolve().parent}), then restart Krita or "
        "Blender."
    ) from None

__all__ = ["msgpack", "websockets"]
del _exceptions, _sync_client

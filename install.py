#!/usr/bin/env python3
"""Install (or uninstall) the AI-Sketcher add-ons for the current user: `python install.py`.

Krita: copies the plugin into <resources>/pykrita, puts its shortcuts into <resources>/actions,
and enables it in kritarc (after a backup, keeping every other key). Blender (4.3+): copies the
extension into each Blender's `extensions/user_default` folder and enables it with Blender itself
when it finds one (--blender-exe). Both get the wire (wire/: the protocol and the client kit) as
their `wire` subpackage, with `wire/vendor/` inside it: pure-Python copies of websockets and
msgpack (without msgpack's C extension) taken from this Python, which the wire imports
relatively (`from .vendor import msgpack`). Nothing is put on `sys.path`, so another add-on's
copies cannot clash with ours.

Why Blender gets vendored copies and not the `wheels = [...]` of blender_manifest.toml:
- Blender unpacks an extension's wheels into one `site-packages` shared by every extension and
  puts it on `sys.path`, keeping only the newest version of a package that several extensions
  list: exactly the shared top-level `websockets`/`msgpack` this layout avoids.
- Blender's manual asks for wheels unmodified from PyPI, and msgpack publishes only CPython
  wheels per platform and Python version (no py3-none-any wheel), so install.py would have to
  download one per platform at the user's site, or rebuild a wheel from the installed copy
  (a modified wheel): neither fits an offline, stdlib-only installer.
- Blender installs the wheels when it installs a package (`blender --command extension
  install-file` of a zip that `extension build` made); the `bpy` module the tests use as
  Blender has no `--command`. The folder install.py writes is a valid extension all the same
  (`blender_manifest.toml`, `[build]` excludes), enabled through Blender's own `addon_utils`.

Running it again changes nothing; --uninstall removes everything it added. Stdlib only; the
work is in installer/ (one file per concern).
"""

from __future__ import annotations

import sys

from installer.cli import main

if __name__ == "__main__":
    sys.exit(main())

"""The add-ons as install.py builds them (their source plus the wire and its vendored copies),
for tests of their pure modules: the add-ons import the wire one way, from inside themselves,
so a checkout's add-on folder is source, not an importable package."""

from __future__ import annotations

import atexit
import importlib
import shutil
import sys
import tempfile
from pathlib import Path
from types import ModuleType

from installer.package import build_package
from installer.paths import REPO

SOURCES = {
    "blender": REPO / "addons" / "blender",
    "krita": REPO / "addons" / "krita" / "ai_sketcher",
}
_root: Path | None = None


def addon_module(host: str, module: str) -> ModuleType:
    """`module` of the `host` add-on (built once per test process, imported as
    `ai_sketcher_<host>`: both hosts' packages are named ai_sketcher when installed)."""
    global _root
    if _root is None:
        _root = Path(tempfile.mkdtemp(prefix="ai-sketcher-addons-"))
        atexit.register(shutil.rmtree, _root, True)
        sys.path.insert(0, str(_root))
    package = f"ai_sketcher_{host}"
    if not (_root / package).is_dir():
        build_package(SOURCES[host], _root / package)
    return importlib.import_module(f"{package}.{module}")

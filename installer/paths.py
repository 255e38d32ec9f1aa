"""Where each host keeps its per-user files, on Linux, macOS and Windows."""

from __future__ import annotations

import os
import platform
import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PLUGIN = "ai_sketcher"  # the add-on's package name in both hosts


def _system() -> str:
    return platform.system()


def _per_user(system: str | None, windows: tuple[str, str], mac: str, xdg: tuple[str, str]) -> Path:
    """A per-user folder: Windows' (variable, fallback under the home), macOS' (under the home)
    or the XDG one (variable, fallback under the home)."""
    system = system or _system()
    home = Path.home()
    if system == "Windows":
        return Path(os.environ.get(windows[0]) or home / windows[1])
    if system == "Darwin":
        return home / mac
    return Path(os.environ.get(xdg[0]) or home / xdg[1])


def krita_resource_dir(system: str | None = None) -> Path:
    """Krita's per-user resource folder: pykrita/ and actions/ live in it."""
    where = (
        ("APPDATA", "AppData/Roaming"),
        "Library/Application Support",
        ("XDG_DATA_HOME", ".local/share"),
    )
    return _per_user(system, *where) / "krita"


def kritarc_path(system: str | None = None) -> Path:
    """Krita's settings file, where plugins are enabled."""
    where = ("LOCALAPPDATA", "AppData/Local"), "Library/Preferences", ("XDG_CONFIG_HOME", ".config")
    return _per_user(system, *where) / "kritarc"


def blender_config_root(system: str | None = None) -> Path:
    """The folder that holds Blender's per-version user folders."""
    system = system or _system()
    home = Path.home()
    if system == "Windows":
        root = Path(os.environ.get("APPDATA") or home / "AppData" / "Roaming")
        return root / "Blender Foundation" / "Blender"
    if system == "Darwin":
        return home / "Library" / "Application Support" / "Blender"
    return Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config") / "blender"


def blender_version(folder: Path) -> tuple[int, int] | None:
    """The Blender version a user folder is named for (`4.5` -> (4, 5)), or None."""
    match = re.fullmatch(r"(\d+)\.(\d+)", folder.name)
    return (int(match[1]), int(match[2])) if match else None


def blender_user_dirs(system: str | None = None) -> list[Path]:
    """Blender's per-version user folders (e.g. ~/.config/blender/4.5), oldest first."""
    if os.environ.get("BLENDER_USER_RESOURCES"):
        return [Path(os.environ["BLENDER_USER_RESOURCES"])]
    root = blender_config_root(system)
    if not root.is_dir():
        return []
    versions = [d for d in root.iterdir() if d.is_dir() and blender_version(d)]
    return sorted(versions, key=lambda d: blender_version(d) or (0, 0))

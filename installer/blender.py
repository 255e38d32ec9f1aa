"""Blender (4.3+): the extension in each Blender's `user_default` extensions folder, enabled (or
disabled) with Blender itself when one is found."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
from pathlib import Path

from .package import put_tree, refuse_foreign, remove_tree, staged
from .paths import PLUGIN, REPO, blender_config_root, blender_user_dirs, blender_version
from .report import Report

SOURCE = REPO / "addons" / "blender"
EXTENSIONS = Path("extensions") / "user_default"  # the local repository every Blender 4.2+ has
MODULE = f"bl_ext.user_default.{PLUGIN}"
MINIMUM = (4, 3)  # Grease Pencil v3, as blender_manifest.toml says
TIMEOUT = 300  # seconds Blender may take to start, enable the extension and save


def targets(args: argparse.Namespace, report: Report, uninstall: bool) -> list[Path]:
    """The Blender user folders to install into (or remove from), from the options or found."""
    if args.blender_dir:
        return [args.blender_dir]
    if args.blender_version and not os.environ.get("BLENDER_USER_RESOURCES"):
        return [blender_config_root() / v for v in args.blender_version]
    found = blender_user_dirs()
    if uninstall:
        return found
    minimum = ".".join(map(str, MINIMUM))
    old = [d for d in found if (blender_version(d) or MINIMUM) < MINIMUM]
    if old:
        report.did(
            f"Skipped {', '.join(map(str, old))}: the extension needs Blender "
            f"{minimum} or newer (Grease Pencil v3)."
        )
    kept = [d for d in found if d not in old]
    if not kept:
        report.did(
            f"Skipped Blender: found no user folder of Blender {minimum} or newer in "
            f"{blender_config_root()} (start Blender once, or pass --blender-version 4.5)."
        )
    return kept


# Runs inside Blender (or a Python with the bpy module): enables or disables the extension in the
# user preferences of the folder BLENDER_USER_RESOURCES names, and saves them.
_SCRIPT = """
import sys
import bpy
import addon_utils
action, module, folder = sys.argv[-3:]
running = "%d.%d" % tuple(bpy.app.version[:2])
if folder not in ("", running):
    print("AI-SKETCHER-RESULT version " + running)
    sys.exit(3)
bpy.ops.wm.read_userpref()  # the bpy module starts from factory settings
addon_utils.modules_refresh()
errors = []
if action == "enable":
    ok = addon_utils.enable(module, default_set=True, handle_error=errors.append) is not None
else:
    addon_utils.disable(module, default_set=True)
    ok = True
if ok:
    bpy.ops.wm.save_userpref()
if action == "enable" and ok:
    addon_utils.disable(module)  # unregister before exit: Blender 4.5 hangs at exit otherwise
print("AI-SKETCHER-RESULT " + ("ok" if ok else "failed " + repr(errors)))
sys.exit(0 if ok else 2)
"""


def blender_executable(args: argparse.Namespace) -> str | None:
    """The Blender to enable the extension with: --blender-exe, else `blender` on PATH."""
    return str(args.blender_exe) if args.blender_exe else shutil.which("blender")


def run_blender(exe: str, user_dir: Path, action: str) -> str | None:
    """Enable or disable the extension with Blender itself; None if it worked, else why not."""
    version = user_dir.name if blender_version(user_dir) else ""
    args = [MODULE, "" if os.environ.get("BLENDER_USER_RESOURCES") else version]
    if Path(exe).name.startswith("python"):  # a Python with the bpy module
        cmd = [exe, "-c", _SCRIPT, action, *args]
    else:
        cmd = [
            exe,
            "--background",
            "--python-exit-code",
            "1",
            "--python-expr",
            _SCRIPT,
            "--",
            action,
            *args,
        ]
    env = {**os.environ, "BLENDER_USER_RESOURCES": str(user_dir)}
    try:
        run = subprocess.run(
            cmd, capture_output=True, text=True, timeout=TIMEOUT, env=env, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"{exe} did not run ({e})"
    result = next(
        (
            line.split(" ", 1)[1]
            for line in run.stdout.splitlines()
            if line.startswith("AI-SKETCHER-RESULT ")
        ),
        None,
    )
    if run.returncode == 0 and result == "ok":
        return None
    if result and result.startswith("version "):
        return f"{exe} is Blender {result.split()[1]}, not {version}"
    tail = (run.stderr or run.stdout).strip().splitlines()[-3:]
    return f"{exe} exited with code {run.returncode}: {' / '.join(tail) or result}"


def install(args: argparse.Namespace, report: Report) -> None:
    """Install or update the extension in each Blender user folder, and enable it there."""
    folders = targets(args, report, uninstall=False)
    if not folders:
        return
    exe = blender_executable(args)
    manual = []
    with staged(SOURCE) as (folder, vendored):
        for user_dir in folders:
            put_tree(
                folder, user_dir / EXTENSIONS / PLUGIN, report, "the Blender extension", vendored
            )
            why = (
                "no Blender executable was found (pass --blender-exe)"
                if exe is None
                else (None if report.dry_run else run_blender(exe, user_dir, "enable"))
            )
            if why is None:
                prefs = user_dir / "config" / "userpref.blend"
                report.did(f"Enabled the extension in {prefs} (with {exe}).")
            else:
                report.did(f"Left the extension disabled in {user_dir}: {why}.")
                manual.append(user_dir.name if blender_version(user_dir) else str(user_dir))
    report.next_steps += [
        "Restart Blender (quit it first if it is running: it saves its preferences on quit)."
    ]
    if manual:
        report.next_steps.append(
            f"Once, in Blender ({', '.join(manual)}): Edit > Preferences "
            "> Add-ons, search 'AI Sketcher' and tick it."
        )
    report.next_steps += [
        "Start the server in the AI-Sketcher folder: python -m sketch_server",
        "In the 3D view, press N and open the AI Sketcher tab; select a Grease Pencil object.",
    ]


def _emptied_folders(args: argparse.Namespace, user_dir: Path, package: Path) -> list[Path]:
    """Folders to remove after the extension, innermost first, each only if it is empty.

    A version folder install.py made for --blender-version (Blender never ran) goes too, and the
    Blender folder above it; a folder the user named (--blender-dir, BLENDER_USER_RESOURCES)
    stays.
    """
    folders = [package.parent, package.parent.parent]
    if not args.blender_dir and not os.environ.get("BLENDER_USER_RESOURCES"):
        folders.append(user_dir)
        if user_dir.parent == blender_config_root():
            folders.append(user_dir.parent)
    return folders


def uninstall(args: argparse.Namespace, report: Report) -> None:
    """Disable the extension with Blender where one is found, and remove it from every folder."""
    exe = blender_executable(args)
    removed = False
    for user_dir in targets(args, report, uninstall=True):
        package = user_dir / EXTENSIONS / PLUGIN
        refuse_foreign(package)
        if not package.exists():
            remove_tree(package, report)  # an old copy left aside by a failed update
            continue
        removed = True
        if exe is not None and not report.dry_run:
            prefs = user_dir / "config" / "userpref.blend"
            why = run_blender(exe, user_dir, "disable")
            report.did(
                f"Removed the extension from {prefs}."
                if why is None
                else f"Left {prefs} as it was ({why}); Blender drops the missing extension "
                "by itself."
            )
        remove_tree(package, report)
        if not report.dry_run:
            for folder in _emptied_folders(args, user_dir, package):
                if folder.is_dir() and not any(folder.iterdir()):
                    folder.rmdir()
    if not removed:
        report.did("Found no Blender extension of ours to remove.")
    else:
        report.next_steps.append("Restart Blender if it is running.")

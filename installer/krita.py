"""Krita: the plugin in <resources>/pykrita, its shortcuts in <resources>/actions, its enable key
in kritarc."""

from __future__ import annotations

import argparse
import filecmp
import shutil
from pathlib import Path

from .kritarc import update_kritarc
from .package import put_tree, remove_tree, staged
from .paths import PLUGIN, REPO, krita_resource_dir, kritarc_path
from .report import Report

SOURCE = REPO / "addons" / "krita"


def _folders(args: argparse.Namespace) -> tuple[Path, Path, Path]:
    """Krita's resource folder, and its pykrita/ and actions/ folders."""
    root = args.krita_dir or krita_resource_dir()
    return root, root / "pykrita", root / "actions"


def _loose_files(pykrita: Path, actions: Path) -> list[tuple[Path, Path]]:
    """(source, installed) for the files beside the package: Krita's plugin entry and shortcuts."""
    return [
        (SOURCE / f"{PLUGIN}.desktop", pykrita / f"{PLUGIN}.desktop"),
        (SOURCE / f"{PLUGIN}.action", actions / f"{PLUGIN}.action"),
    ]


def install(args: argparse.Namespace, report: Report) -> None:
    """Install or update the plugin, its shortcuts and its kritarc key."""
    root, pykrita, actions = _folders(args)
    if not root.exists():
        report.did(f"Created {root} (Krita has not run on this account yet; that is fine).")
    with staged(SOURCE / PLUGIN) as (folder, vendored):
        put_tree(folder, pykrita / PLUGIN, report, "the Krita plugin", vendored)
    for src, dst in _loose_files(pykrita, actions):
        if dst.exists() and filecmp.cmp(src, dst, shallow=False):
            continue
        report.did(f"Wrote {dst}.")
        if not report.dry_run:
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
    update_kritarc(args.kritarc or kritarc_path(), True, report)
    report.next_steps += [
        "Restart Krita (quit it first if it is running).",
        "Open the docker: Settings > Dockers > AI Sketcher.",
        "Start the server in the AI-Sketcher folder: python -m sketch_server",
        "Draw on a vector layer, then press Suggest strokes (Ctrl+Alt+A).",
    ]


def uninstall(args: argparse.Namespace, report: Report) -> None:
    """Remove the plugin, its shortcuts and its kritarc key, and the folders left empty."""
    root, pykrita, actions = _folders(args)
    removed = remove_tree(pykrita / PLUGIN, report)
    for _, path in _loose_files(pykrita, actions):
        if path.exists():
            report.did(f"Removed {path}.")
            removed = True
            if not report.dry_run:
                path.unlink()
    for folder in (pykrita, actions, root):  # only if empty: Krita recreates what it needs
        if not report.dry_run and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
    if not removed:
        report.did(f"Found no Krita plugin files in {root}.")
    update_kritarc(args.kritarc or kritarc_path(), False, report)
    report.next_steps.append("Restart Krita if it is running.")

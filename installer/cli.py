"""The command line: `python install.py [--only HOST] [--dry-run] [--uninstall] ...`."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from . import blender, krita
from .paths import blender_config_root, krita_resource_dir, kritarc_path
from .report import InstallError, Report

HOSTS = {"krita": (krita.install, krita.uninstall), "blender": (blender.install, blender.uninstall)}


def _version_arg(text: str) -> str:
    if not re.fullmatch(r"\d+\.\d+", text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a Blender version like 4.5")
    return text


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The options, with the defaults this machine would use in their help."""
    ap = argparse.ArgumentParser(description="Install the AI-Sketcher add-ons for this user.")
    ap.add_argument("--only", choices=sorted(HOSTS), help="install for one host only")
    ap.add_argument(
        "--krita-dir",
        type=Path,
        metavar="DIR",
        help=f"Krita's resource folder (default here: {krita_resource_dir()})",
    )
    ap.add_argument(
        "--kritarc",
        type=Path,
        metavar="FILE",
        help=f"Krita's settings file (default here: {kritarc_path()})",
    )
    ap.add_argument(
        "--blender-dir",
        type=Path,
        metavar="DIR",
        help="one Blender user folder to use, e.g. ~/.config/blender/4.5 (default: "
        f"every Blender 4.3+ folder in {blender_config_root()})",
    )
    ap.add_argument(
        "--blender-version",
        action="append",
        type=_version_arg,
        metavar="X.Y",
        help="install for this Blender version even if it has not run yet (repeatable)",
    )
    ap.add_argument(
        "--blender-exe",
        type=Path,
        metavar="FILE",
        help="Blender executable that enables the extension (default: `blender` on "
        "PATH; a Python with the bpy module works too)",
    )
    ap.add_argument("--dry-run", action="store_true", help="say what would be done, do nothing")
    ap.add_argument("--uninstall", action="store_true", help="remove what install.py added")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Install (or uninstall) for every host asked for; 0 on success, 1 with the reason."""
    args = parse_args(argv)
    report = Report(args.dry_run)
    hosts = [args.only] if args.only else list(HOSTS)
    try:
        for host in hosts:
            install, uninstall = HOSTS[host]
            (uninstall if args.uninstall else install)(args, report)
    except (InstallError, OSError) as e:
        for line in report.lines:
            print(line)
        print(f"install.py: error: {e}", file=sys.stderr)
        return 1
    for line in report.lines:
        print(line)
    if report.next_steps and not args.dry_run:
        print("\nNext:")
        for i, step in enumerate(report.next_steps, 1):
            print(f"  {i}. {step}")
    return 0

#!/usr/bin/env python3
"""Install (or uninstall) the AI-Sketcher add-ons for the current user: `python install.py`.

Krita: copies the plugin into <resources>/pykrita with its pure-Python dependencies (websockets,
msgpack without its C extension) and the shared client and protocol files, puts its shortcuts
into <resources>/actions, and enables it in kritarc (after a backup, keeping every other key).
Blender (4.3+): copies the extension into each Blender's user extensions folder with the same
dependencies, and enables it with Blender itself when it finds one (--blender-exe).
Running it again changes nothing; --uninstall removes everything it added. Stdlib only.
"""

from __future__ import annotations

import argparse
import filecmp
import importlib.util
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parent
PLUGIN = "ai_sketcher"
KRITA_SOURCE = REPO / "addons" / "krita"
COMMON = REPO / "addons" / "common"
SHARED_FILES = (
    COMMON / "client.py",
    COMMON / "suggestion.py",
    COMMON / "guide.py",
    REPO / "sketch_server" / "protocol.py",
    REPO / "sketch_server" / "protocol_core.py",  # protocol.py imports these two relatively
    REPO / "sketch_server" / "protocol_frames.py",
)
VENDORED = ("websockets", "msgpack")
COMPILED = (".so", ".pyd", ".dylib")  # C extensions: both packages fall back to pure Python
SKIPPED = ("__pycache__", "*.pyc", "*.pyo")
MARKER = "install.json"  # in the installed package: proves the folder is ours
BACKUP_SUFFIX = ".ai-sketcher-backup"
KRITARC_GROUP, KRITARC_KEY = "python", f"enable_{PLUGIN}"
BLENDER_SOURCE = REPO / "addons" / "blender"
BLENDER_REPO = "user_default"  # the local extensions repository every Blender 4.2+ has
BLENDER_MODULE = f"bl_ext.{BLENDER_REPO}.{PLUGIN}"
BLENDER_MIN = (4, 3)  # Grease Pencil v3, as blender_manifest.toml says
BLENDER_TIMEOUT = 300  # seconds Blender may take to start, enable the extension and save


class InstallError(Exception):
    """Something install.py cannot do; the message says what the person can do about it."""


@dataclass
class Report:
    """What was done (or would be, with --dry-run), printed at the end."""

    dry_run: bool
    lines: list[str] = field(default_factory=list)
    next_steps: list[str] = field(default_factory=list)

    def did(self, text: str) -> None:
        """Note a step, worded as done; with --dry-run reworded as "would ..."."""
        if self.dry_run:
            verb, rest = text.split(" ", 1)
            text = f"would {_INFINITIVES.get(verb, verb.lower())} {rest}"
        self.lines.append(text)


_INFINITIVES = {
    "Backed": "back",
    "Created": "create",
    "Enabled": "enable",
    "Found": "find",
    "Installed": "install",
    "Left": "leave",
    "Removed": "remove",
    "Skipped": "skip",
    "Updated": "update",
    "Wrote": "write",
}


# --- where things live ------------------------------------------------------------------------


def _system() -> str:
    return platform.system()


def krita_resource_dir(system: str | None = None) -> Path:
    """Krita's per-user resource folder: pykrita/ and actions/ live in it."""
    system = system or _system()
    home = Path.home()
    if system == "Windows":
        return Path(os.environ.get("APPDATA") or home / "AppData" / "Roaming") / "krita"
    if system == "Darwin":
        return home / "Library" / "Application Support" / "krita"
    return Path(os.environ.get("XDG_DATA_HOME") or home / ".local" / "share") / "krita"


def kritarc_path(system: str | None = None) -> Path:
    """Krita's settings file, where plugins are enabled."""
    system = system or _system()
    home = Path.home()
    if system == "Windows":
        return Path(os.environ.get("LOCALAPPDATA") or home / "AppData" / "Local") / "kritarc"
    if system == "Darwin":
        return home / "Library" / "Preferences" / "kritarc"
    return Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config") / "kritarc"


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


def blender_user_dirs(system: str | None = None) -> list[Path]:
    """Blender's per-version user folders (e.g. ~/.config/blender/4.5), oldest first."""
    if os.environ.get("BLENDER_USER_RESOURCES"):
        return [Path(os.environ["BLENDER_USER_RESOURCES"])]
    root = blender_config_root(system)
    if not root.is_dir():
        return []
    versions = [d for d in root.iterdir() if d.is_dir() and re.fullmatch(r"\d+\.\d+", d.name)]
    return sorted(versions, key=lambda d: tuple(map(int, d.name.split("."))))


# --- kritarc ----------------------------------------------------------------------------------


def edit_ini(text: str, group: str, key: str, value: str | None) -> str:
    """`text` with `key` in `[group]` set to `value` (None: removed); every other line is kept."""
    nl = "\r\n" if "\r\n" in text else "\n"
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.strip() == f"[{group}]"), None)
    if start is None:
        if value is None:
            return text
        if text and not text.endswith(("\n", "\r")):
            text += nl
        return text + (nl if text.strip() else "") + f"[{group}]{nl}{key}={value}{nl}"
    end = next(
        (i for i in range(start + 1, len(lines)) if lines[i].lstrip().startswith("[")), len(lines)
    )
    pattern = re.compile(rf"\s*{re.escape(key)}\s*=")
    found = [i for i in range(start + 1, end) if pattern.match(lines[i])]
    if value is not None:
        line = f"{key}={value}{nl}"
        if found:
            lines[found[0]] = line
            drop = set(found[1:])
        else:
            last = max((i for i in range(start, end) if lines[i].strip()), default=start)
            if not lines[last].endswith(("\n", "\r")):
                lines[last] += nl
            lines.insert(last + 1, line)
            drop = set()
        return "".join(line for i, line in enumerate(lines) if i not in drop)
    if not found:
        return text
    kept = [i for i in range(start + 1, end) if i not in found]
    if all(not lines[i].strip() for i in kept):  # the group held only our key: drop it too
        drop = set(range(start, end))
        if start > 0 and not lines[start - 1].strip():
            drop.add(start - 1)
    else:
        drop = set(found)
    return "".join(line for i, line in enumerate(lines) if i not in drop)


def update_kritarc(path: Path, enable: bool, report: Report) -> None:
    """Set or remove our enable key, backing the file up before changing it.

    Uninstalling deletes the backup when it holds exactly what the file goes back to, and the
    file itself when our key was all it held, so that nothing of ours is left behind.
    """
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    new = edit_ini(old, KRITARC_GROUP, KRITARC_KEY, "true" if enable else None)
    if new == old:
        report.did(
            f"Left {path} as it was ([{KRITARC_GROUP}] {KRITARC_KEY} "
            f"{'is already true' if enable else 'is not there'})."
        )
        return
    backup = path.with_name(path.name + BACKUP_SUFFIX)
    restored = not enable and backup.is_file() and backup.read_text(encoding="utf-8") == new
    action = "Enabled the plugin in" if enable else "Removed the plugin's enable key from"
    if not enable and not new.strip():
        report.did(f"{action} {path}, which held nothing else, so removed the file.")
    else:
        if old and not restored:
            report.did(f"Backed up {path} to {backup}.")
        report.did(
            f"{action} {path} ([{KRITARC_GROUP}] {KRITARC_KEY}"
            f"{'=true' if enable else ''}; every other setting kept)."
        )
    if restored:
        report.did(f"Removed {backup}: {path} is back to what it held.")
    if report.dry_run:
        return
    if not enable and not new.strip():
        path.unlink()
    else:
        if old and not restored:
            shutil.copy2(path, backup)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".ai-sketcher-tmp")
        tmp.write_text(new, encoding="utf-8")
        os.replace(tmp, path)
    if restored:
        backup.unlink()


# --- building the plugin folder ---------------------------------------------------------------


def _copytree(src: Path, dst: Path) -> None:
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns(*SKIPPED))


def vendor(dest: Path) -> dict[str, str]:
    """Copy websockets and msgpack from this Python into `dest`, minus compiled extensions."""
    versions = {}
    for name in VENDORED:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.origin:
            raise InstallError(
                f"{name} is not installed in this Python ({sys.executable}), and the add-ons "
                "need a copy of it. Run `pip install -e .` in the AI-Sketcher folder, then run "
                "install.py again with the same Python."
            )
        _copytree(Path(spec.origin).parent, dest / name)
        for path in list((dest / name).rglob("*")):
            if path.suffix in COMPILED:
                path.unlink()
        dist = metadata.distribution(name)
        versions[name] = dist.version
        for f in dist.files or []:
            if re.match(r"(LICEN[CS]E|COPYING|NOTICE)", f.name, re.IGNORECASE):
                (dest / "LICENSES").mkdir(exist_ok=True)
                shutil.copy2(f.locate(), dest / "LICENSES" / f"{name}-{f.name}")
    return versions


def check_vendored(vendor_dir: Path) -> None:
    """Import the copies in a clean Python, without site-packages, as Krita's Python would."""
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import msgpack, websockets.sync.client;"
        "assert msgpack.Packer.__module__ == 'msgpack.fallback', msgpack.Packer.__module__"
    )
    run = subprocess.run(
        [sys.executable, "-I", "-S", "-B", "-c", code, str(vendor_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if run.returncode:
        raise InstallError(
            f"the copied websockets/msgpack do not import on their own:\n{run.stderr.strip()}"
        )


def build_krita_package(dest: Path) -> dict[str, str]:
    """The complete plugin folder as it will be installed, written to `dest`."""
    _copytree(KRITA_SOURCE / PLUGIN, dest)
    for f in SHARED_FILES:
        shutil.copy2(f, dest / f.name)
    versions = vendor(dest / "vendor")
    check_vendored(dest / "vendor")
    marker = {"installed_by": "AI-Sketcher install.py", "source": str(REPO), "vendored": versions}
    (dest / MARKER).write_text(json.dumps(marker, indent=1, sort_keys=True) + "\n")
    return versions


def _files(root: Path) -> list[Path]:
    """Files under `root` that matter, leaving out the bytecode Python writes by itself."""
    return sorted(
        p.relative_to(root)
        for p in root.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix not in (".pyc", ".pyo")
    )


def same_tree(a: Path, b: Path) -> bool:
    """Whether two folders hold the same files with the same bytes."""
    files = _files(a)
    return files == _files(b) and all(filecmp.cmp(a / f, b / f, shallow=False) for f in files)


def _ours(package: Path) -> bool:
    return (package / MARKER).is_file()


def _refuse_foreign(package: Path) -> None:
    if package.exists() and not _ours(package):
        raise InstallError(
            f"{package} exists but was not put there by install.py; move it "
            "away (it may be another plugin of the same name), then run again."
        )


# --- hosts ------------------------------------------------------------------------------------


def install_krita(args: argparse.Namespace, report: Report) -> None:
    root = args.krita_dir or krita_resource_dir()
    pykrita, actions = root / "pykrita", root / "actions"
    package = pykrita / PLUGIN
    _refuse_foreign(package)
    if not root.exists():
        report.did(f"Created {root} (Krita has not run on this account yet; that is fine).")
    with tempfile.TemporaryDirectory(prefix="ai-sketcher-") as tmp:
        staged = Path(tmp) / PLUGIN
        versions = build_krita_package(staged)
        vendored = ", ".join(f"{k} {v}" for k, v in versions.items())
        if package.exists() and same_tree(staged, package):
            report.did(f"Left {package} as it was (already this version).")
        else:
            verb = "Updated" if package.exists() else "Installed"
            report.did(f"{verb} the Krita plugin in {package} (with {vendored}, pure Python).")
            if not report.dry_run:
                pykrita.mkdir(parents=True, exist_ok=True)
                old = pykrita / f".{PLUGIN}.old"
                if old.exists():
                    shutil.rmtree(old)
                if package.exists():
                    package.rename(old)
                shutil.copytree(staged, package)
                shutil.rmtree(old, ignore_errors=True)
    for src, dst in (
        (KRITA_SOURCE / f"{PLUGIN}.desktop", pykrita / f"{PLUGIN}.desktop"),
        (KRITA_SOURCE / f"{PLUGIN}.action", actions / f"{PLUGIN}.action"),
    ):
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


def uninstall_krita(args: argparse.Namespace, report: Report) -> None:
    root = args.krita_dir or krita_resource_dir()
    pykrita, actions = root / "pykrita", root / "actions"
    package = pykrita / PLUGIN
    _refuse_foreign(package)
    removed = False
    if package.exists():
        report.did(f"Removed {package}.")
        removed = True
        if not report.dry_run:
            shutil.rmtree(package)
    for path in (
        pykrita / f"{PLUGIN}.desktop",
        actions / f"{PLUGIN}.action",
        pykrita / f".{PLUGIN}.old",
    ):
        if path.exists():
            report.did(f"Removed {path}.")
            removed = True
            if not report.dry_run:
                shutil.rmtree(path) if path.is_dir() else path.unlink()
    for folder in (pykrita, actions, root):  # only if empty: Krita recreates what it needs
        if not report.dry_run and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
    if not removed:
        report.did(f"Found no Krita plugin files in {root}.")
    update_kritarc(args.kritarc or kritarc_path(), False, report)
    report.next_steps.append("Restart Krita if it is running.")


def _blender_version(folder: Path) -> tuple[int, int] | None:
    match = re.fullmatch(r"(\d+)\.(\d+)", folder.name)
    return (int(match[1]), int(match[2])) if match else None


def blender_targets(args: argparse.Namespace, report: Report, uninstall: bool) -> list[Path]:
    """The Blender user folders to install into (or remove from), from the options or found."""
    if args.blender_dir:
        return [args.blender_dir]
    if args.blender_version and not os.environ.get("BLENDER_USER_RESOURCES"):
        return [blender_config_root() / v for v in args.blender_version]
    found = blender_user_dirs()
    if uninstall:
        return found
    old = [d for d in found if (_blender_version(d) or BLENDER_MIN) < BLENDER_MIN]
    if old:
        report.did(
            f"Skipped {', '.join(map(str, old))}: the extension needs Blender "
            f"{'.'.join(map(str, BLENDER_MIN))} or newer (Grease Pencil v3)."
        )
    targets = [d for d in found if d not in old]
    if not targets:
        report.did(
            f"Skipped Blender: found no user folder of Blender "
            f"{'.'.join(map(str, BLENDER_MIN))} or newer in {blender_config_root()} "
            "(start Blender once, or pass --blender-version 4.5)."
        )
    return targets


def build_blender_extension(dest: Path) -> dict[str, str]:
    """The extension folder as it will be installed, written to `dest`."""
    _copytree(BLENDER_SOURCE, dest)
    for f in SHARED_FILES:
        shutil.copy2(f, dest / f.name)
    versions = vendor(dest / "vendor")
    check_vendored(dest / "vendor")
    marker = {"installed_by": "AI-Sketcher install.py", "source": str(REPO), "vendored": versions}
    (dest / MARKER).write_text(json.dumps(marker, indent=1, sort_keys=True) + "\n")
    return versions


# Runs inside Blender (or a Python with the bpy module): enables or disables the extension in the
# user preferences of the folder BLENDER_USER_RESOURCES names, and saves them.
_BLENDER_SCRIPT = """
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
    version = user_dir.name if _blender_version(user_dir) else ""
    args = [BLENDER_MODULE, "" if os.environ.get("BLENDER_USER_RESOURCES") else version]
    if Path(exe).name.startswith("python"):  # a Python with the bpy module
        cmd = [exe, "-c", _BLENDER_SCRIPT, action, *args]
    else:
        cmd = [
            exe,
            "--background",
            "--python-exit-code",
            "1",
            "--python-expr",
            _BLENDER_SCRIPT,
            "--",
            action,
            *args,
        ]
    env = {**os.environ, "BLENDER_USER_RESOURCES": str(user_dir)}
    try:
        run = subprocess.run(
            cmd, capture_output=True, text=True, timeout=BLENDER_TIMEOUT, env=env, check=False
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


def install_blender(args: argparse.Namespace, report: Report) -> None:
    targets = blender_targets(args, report, uninstall=False)
    if not targets:
        return
    exe = blender_executable(args)
    manual = []
    with tempfile.TemporaryDirectory(prefix="ai-sketcher-") as tmp:
        staged = Path(tmp) / PLUGIN
        versions = build_blender_extension(staged)
        vendored = ", ".join(f"{k} {v}" for k, v in versions.items())
        for user_dir in targets:
            package = user_dir / "extensions" / BLENDER_REPO / PLUGIN
            _refuse_foreign(package)
            if package.exists() and same_tree(staged, package):
                report.did(f"Left {package} as it was (already this version).")
            else:
                verb = "Updated" if package.exists() else "Installed"
                report.did(
                    f"{verb} the Blender extension in {package} (with {vendored}, pure Python)."
                )
                if not report.dry_run:
                    package.parent.mkdir(parents=True, exist_ok=True)
                    old = package.parent.parent / f".{PLUGIN}.old"
                    if old.exists():
                        shutil.rmtree(old)
                    if package.exists():
                        package.rename(old)
                    shutil.copytree(staged, package)
                    shutil.rmtree(old, ignore_errors=True)
            why = (
                "no Blender executable was found (pass --blender-exe)"
                if exe is None
                else (None if report.dry_run else run_blender(exe, user_dir, "enable"))
            )
            if why is None:
                report.did(
                    f"Enabled the extension in {user_dir / 'config' / 'userpref.blend'} "
                    f"(with {exe})."
                )
            else:
                report.did(f"Left the extension disabled in {user_dir}: {why}.")
                manual.append(user_dir.name if _blender_version(user_dir) else str(user_dir))
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


def _emptied_blender_folders(args: argparse.Namespace, user_dir: Path, package: Path) -> list[Path]:
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


def uninstall_blender(args: argparse.Namespace, report: Report) -> None:
    exe = blender_executable(args)
    removed = False
    for user_dir in blender_targets(args, report, uninstall=True):
        package = user_dir / "extensions" / BLENDER_REPO / PLUGIN
        _refuse_foreign(package)
        if not package.exists():
            continue
        removed = True
        if exe is not None and not report.dry_run:
            why = run_blender(exe, user_dir, "disable")
            report.did(
                f"Removed the extension from {user_dir / 'config' / 'userpref.blend'}."
                if why is None
                else f"Left {user_dir / 'config' / 'userpref.blend'} as "
                f"it was ({why}); Blender drops the missing extension by itself."
            )
        report.did(f"Removed {package}.")
        if not report.dry_run:
            shutil.rmtree(package)
            for folder in _emptied_blender_folders(args, user_dir, package):
                if folder.is_dir() and not any(folder.iterdir()):
                    folder.rmdir()
    if not removed:
        report.did("Found no Blender extension of ours to remove.")
    else:
        report.next_steps.append("Restart Blender if it is running.")


HOSTS = {"krita": (install_krita, uninstall_krita), "blender": (install_blender, uninstall_blender)}


# --- command line -----------------------------------------------------------------------------


def _version_arg(text: str) -> str:
    if not re.fullmatch(r"\d+\.\d+", text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a Blender version like 4.5")
    return text


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
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


if __name__ == "__main__":
    sys.exit(main())

"""The one add-on folder builder both hosts use, and the shared put/remove of installed folders.

An installed add-on is its own source folder, the wire as its `wire` subpackage with `vendor/`
inside it (pure-Python copies of websockets and msgpack, imported relatively) and a marker
file that proves the folder is install.py's. It is built in a temporary folder, checked, and only
then swapped in for the old one.
"""

from __future__ import annotations

import ast
import filecmp
import importlib.util
import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path

from .paths import PLUGIN, REPO
from .report import InstallError, Report

WIRE = REPO / "wire"  # copied whole into each add-on as its `wire` subpackage
CHECKOUT_VENDOR = "vendor.py"  # the checkout's stand-in for the copies, left out of an add-on
VENDOR_INIT = Path(__file__).with_name("vendor_init.py")  # installed as wire/vendor/__init__.py
VENDORED = ("websockets", "msgpack")
COMPILED = (".so", ".pyd", ".dylib")  # C extensions: both packages fall back to pure Python
SKIPPED = ("__pycache__", "*.pyc", "*.pyo")
MARKER = "install.json"  # in the installed package: proves the folder is ours


def _copytree(src: Path, dst: Path) -> None:
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns(*SKIPPED))


def vendor(dest: Path) -> dict[str, str]:
    """Copy websockets and msgpack from this Python into the package `dest`, minus compiled
    extensions, with their licences; returns their versions."""
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
    shutil.copy2(VENDOR_INIT, dest / "__init__.py")
    return versions


def check_vendored(package: Path) -> None:
    """Import the package's wire in a clean Python without site-packages, as a host's Python
    would: it must load with its own pure-Python msgpack and websockets, and neither name may
    appear at the top level."""
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); from wire import client, protocol;"
        "from wire.vendor import msgpack; m = msgpack.Packer.__module__;"
        "assert m == 'wire.vendor.msgpack.fallback', m;"
        "top = {'msgpack', 'websockets'} & set(sys.modules); assert not top, top"
    )
    run = subprocess.run(
        [sys.executable, "-I", "-S", "-B", "-c", code, str(package)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if run.returncode:
        raise InstallError(f"the add-on's wire does not import on its own:\n{run.stderr.strip()}")


def wire_version() -> str:
    """The project's version, as the wire (wire/protocol.py) writes it."""
    tree = ast.parse((WIRE / "protocol.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and [getattr(t, "id", "") for t in node.targets] == [
            "VERSION"
        ]:
            return str(ast.literal_eval(node.value))
    raise InstallError("wire/protocol.py has no VERSION; the checkout is broken")


def build_package(source: Path, dest: Path) -> dict[str, str]:
    """The complete add-on folder as it will be installed, written to `dest` (a Blender
    manifest gets the project's version)."""
    _copytree(source, dest)
    shutil.copytree(WIRE, dest / "wire", ignore=shutil.ignore_patterns(*SKIPPED, CHECKOUT_VENDOR))
    manifest = dest / "blender_manifest.toml"
    if manifest.is_file():
        text = manifest.read_text(encoding="utf-8")
        manifest.write_text(
            re.sub(r'(?m)^version = ".*"$', f'version = "{wire_version()}"', text, count=1),
            encoding="utf-8",
        )
    versions = vendor(dest / "wire" / "vendor")
    check_vendored(dest)
    marker = {"installed_by": "AI-Sketcher install.py", "source": str(REPO), "vendored": versions}
    (dest / MARKER).write_text(json.dumps(marker, indent=1, sort_keys=True) + "\n")
    return versions


@contextmanager
def staged(source: Path) -> Iterator[tuple[Path, str]]:
    """The add-on built from `source` in a temporary folder, and what it vendors, in words."""
    with tempfile.TemporaryDirectory(prefix="ai-sketcher-") as tmp:
        folder = Path(tmp) / PLUGIN
        versions = build_package(source, folder)
        yield folder, ", ".join(f"{k} {v}" for k, v in versions.items())


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


def refuse_foreign(package: Path) -> None:
    """Stop, with what to do, if `package` exists but install.py did not make it."""
    if package.exists() and not (package / MARKER).is_file():
        raise InstallError(
            f"{package} exists but was not put there by install.py; move it "
            "away (it may be another plugin of the same name), then run again."
        )


def _aside(package: Path) -> Path:
    """Where the old package waits while the new one is copied in: outside the folder the host
    scans for add-ons, so that it never sees two of them."""
    return package.parent.parent / f".{package.name}.old"


def put_tree(staged_package: Path, package: Path, report: Report, what: str, vendored: str) -> None:
    """Install `staged_package` as `package` unless it already holds the same files. The old
    folder is moved aside first and removed last, so a failed copy leaves no mix of the two."""
    refuse_foreign(package)
    if package.exists() and same_tree(staged_package, package):
        report.did(f"Left {package} as it was (already this version).")
        return
    verb = "Updated" if package.exists() else "Installed"
    report.did(f"{verb} {what} in {package} (with {vendored}, pure Python).")
    if report.dry_run:
        return
    package.parent.mkdir(parents=True, exist_ok=True)
    old = _aside(package)
    if old.exists():
        shutil.rmtree(old)
    if package.exists():
        package.rename(old)
    shutil.copytree(staged_package, package)
    shutil.rmtree(old, ignore_errors=True)


def remove_tree(package: Path, report: Report) -> bool:
    """Remove an installed `package` (and an old copy left aside); whether there was one."""
    refuse_foreign(package)
    found = False
    for path in (package, _aside(package)):
        if path.exists():
            found = True
            report.did(f"Removed {path}.")
            if not report.dry_run:
                shutil.rmtree(path)
    return found

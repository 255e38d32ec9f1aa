"""Rules of the codebase that a reviewer would otherwise check by hand: imports point down
(issue 29; it replaces issue 11's 500-line rule, withdrawn: files split by concern, never by
count)."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


PACKAGES = ("wire", "model", "sketch_server", "lab")
# What each host's Python has beside the stdlib (Blender ships numpy).
HOST_APIS = {"blender": {"bpy", "mathutils", "numpy"}, "krita/ai_sketcher": {"krita", "PyQt5"}}
LINT_IMPORTS = "import sys; from importlinter.cli import lint_imports_command as c; sys.exit(c())"


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """import-linter's `lint-imports` on the packages under `root`, with the contracts in its
    pyproject.toml."""
    return subprocess.run(
        [sys.executable, "-c", LINT_IMPORTS, "--no-cache"],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_imports_point_down() -> None:
    """The wire imports nothing of the project, the model (the runtime) neither the server nor
    the lab, the server not the lab, the lab not the server, and no package's modules import
    each other in a circle (pyproject.toml, [tool.importlinter])."""
    done = lint_imports(REPO)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert " kept, 0 broken" in done.stdout


@pytest.mark.parametrize(
    ("where", "line", "contract"),
    [
        ("model/strokes.py", "import sketch_server.server", "never imports the server or the lab"),
        ("model/sample.py", "import lab.render", "never imports the server or the lab"),
        ("sketch_server/engine.py", "import lab.train", "the server never imports the lab"),
        ("lab/train.py", "import sketch_server.engine", "the lab never imports the server"),
        ("wire/protocol.py", "import model.strokes", "imports nothing else"),
        ("sketch_server/connection.py", "import sketch_server.server", "no import cycles"),
    ],
)
def test_an_upward_import_breaks_the_contract(
    tmp_path: Path, where: str, line: str, contract: str
) -> None:
    """The check can fail: a copy of the code with one upward import added is refused, naming
    the contract and the import."""
    for package in PACKAGES:
        for source in (REPO / package).rglob("*.py"):
            target = tmp_path / source.relative_to(REPO)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(source.read_bytes())
    (tmp_path / "pyproject.toml").write_bytes((REPO / "pyproject.toml").read_bytes())
    edited = tmp_path / where
    edited.write_text(edited.read_text(encoding="utf-8") + f"\n{line}  # upward\n")
    done = lint_imports(tmp_path)
    assert done.returncode != 0
    assert f"{contract}" in done.stdout and "BROKEN" in done.stdout, done.stdout[-3000:]
    module = where.replace("/", ".").removesuffix(".py")
    assert module in done.stdout or f".{module.rsplit('.', 1)[1]}" in done.stdout


def _imports(path: Path) -> list[tuple[int, str]]:
    """(level, module) of every import in a file; level 0 is absolute."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(0, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            found += [(node.level, node.module or a.name) for a in node.names]
    return found


@pytest.mark.parametrize("addon", ["blender", "krita/ai_sketcher"])
def test_the_addons_import_only_the_wire_their_host_and_themselves(addon: str) -> None:
    """An add-on reaches the project only through the wire (`from .wire import ...`, the copy
    install.py puts inside it); otherwise it uses the stdlib, its host's API and its own
    modules."""
    folder = REPO / "addons" / addon
    own = {f.stem for f in folder.glob("*.py")} | {"wire"}
    for path in sorted(folder.glob("*.py")):
        for level, module in _imports(path):
            top = module.split(".")[0]
            if level:
                assert level == 1 and top in own, f"{path.name}: from {'.' * level}{module}"
            else:
                assert top in sys.stdlib_module_names or top in HOST_APIS[addon], (
                    f"{path.name}: {module}"
                )

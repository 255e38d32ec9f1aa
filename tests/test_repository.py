"""Rules of the codebase that a reviewer would otherwise check by hand: imports point down
(issue 29; it replaces issue 11's 500-line rule, withdrawn: files split by concern, never by
count)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


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
    """The wire imports nothing of the project, the model never the server, the runtime the
    server loads never the lab, and no package's modules import each other in a circle
    (pyproject.toml, [tool.importlinter])."""
    done = lint_imports(REPO)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert " kept, 0 broken" in done.stdout


@pytest.mark.parametrize(
    ("where", "line", "contract"),
    [
        ("model/strokes.py", "import sketch_server.server", "the model never imports the server"),
        ("sketch_server/engine.py", "import model.train", "never imports the lab"),
        ("sketch_server/protocol_core.py", "import model.strokes", "imports nothing else"),
        ("sketch_server/connection.py", "import sketch_server.server", "no import cycles"),
    ],
)
def test_an_upward_import_breaks_the_contract(
    tmp_path: Path, where: str, line: str, contract: str
) -> None:
    """The check can fail: a copy of the code with one upward import added is refused, naming
    the contract and the import."""
    for package in ("model", "sketch_server"):
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

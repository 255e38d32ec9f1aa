"""Docs that cannot rot: every shell block of README.md and docs/*.md runs, as written.

Each ```sh block runs with bash in a fresh temporary folder laid out like a checkout: the
docs' and bench's scripts and the shipped weights are copied in, so nothing in the repository
is written, and `../shared` points at the project's data when it exists.
AI_SKETCHER_DOCS_QUICK=1 shrinks training steps, sample counts and grid sizes (see
model.cli.quick), so the whole set takes about two minutes. A block that cannot run here says
why in the line before it:

    <!-- docs-test: skip (installs into the user's Krita) -->
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from model import cli

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
SKIP = re.compile(r"<!--\s*docs-test:\s*skip\s*\((?P<reason>.+)\)\s*-->")
FENCE = re.compile(r"^(?P<indent>[ \t]*)```(?P<lang>[\w-]*)\s*$")
SHELLS = ("sh", "bash", "shell")


@dataclass(frozen=True)
class Block:
    """One fenced shell block: where it is, its script, and the reason it is skipped (if any)."""

    doc: str
    line: int
    script: str
    skip: str | None


def shell_blocks(path: Path) -> list[Block]:
    """The ```sh blocks of a Markdown file, each with the skip marker just above it, if any."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks, i = [], 0
    while i < len(lines):
        fence = FENCE.match(lines[i])
        if not fence:
            i += 1
            continue
        end = next((j for j in range(i + 1, len(lines)) if lines[j].strip() == "```"), len(lines))
        if fence["lang"] in SHELLS:
            indent = len(fence["indent"])
            body = "\n".join(line[indent:] for line in lines[i + 1 : end])
            above = next((lines[j] for j in range(i - 1, -1, -1) if lines[j].strip()), "")
            marker = SKIP.search(above)
            blocks.append(
                Block(
                    str(path.relative_to(REPO)),
                    i + 1,
                    body + "\n",
                    marker["reason"] if marker else None,
                )
            )
        i = end + 1
    return blocks


BLOCKS = [b for doc in DOCS for b in shell_blocks(doc)]


def checkout(tmp: Path) -> Path:
    """A throwaway folder that the docs' relative paths work in; returns where to run."""
    work = tmp / "work"
    for folder in ("docs", "bench"):  # the scripts the docs run by path
        (work / folder).mkdir(parents=True)
        for script in (REPO / folder).glob("*.py"):
            shutil.copy2(script, work / folder / script.name)
    shutil.copytree(REPO / "model" / "weights", work / "model" / "weights")
    if SHARED.is_dir():
        (tmp / "shared").symlink_to(SHARED)
    (tmp / "home").mkdir()
    return work


def environment(tmp: Path) -> dict[str, str]:
    """This Python first on PATH, the repository's code, a private HOME, quick runs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AI_SKETCHER_")}
    env.update(
        {
            "PATH": os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")]),
            "PYTHONPATH": str(REPO),
            "HOME": str(tmp / "home"),
            cli.QUICK_ENV: "1",
            "OMP_NUM_THREADS": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    return env


def test_the_docs_have_shell_blocks_and_skips_give_reasons() -> None:
    """The extractor finds the documented commands, and only some are marked to skip."""
    assert len(BLOCKS) >= 10
    assert any(b.doc == "README.md" and b.skip is None for b in BLOCKS)
    for b in BLOCKS:
        assert b.skip is None or len(b.skip) > 10, f"{b.doc}:{b.line}: say why it is skipped"


@pytest.mark.slow
# The Reproduce blocks of models.md and experiments.md replay 33 to 36 command lines each; the
# one block they were split from (79 lines, ~60 commands) took 451 s here.
@pytest.mark.timeout(960)
@pytest.mark.parametrize("block", BLOCKS, ids=[f"{b.doc}:{b.line}" for b in BLOCKS])
def test_documented_commands_run(block: Block, tmp_path: Path) -> None:
    """The block exits 0 in a fresh folder (shrunk by AI_SKETCHER_DOCS_QUICK)."""
    if block.skip:
        pytest.skip(block.skip)
    if "../shared" in block.script and not SHARED.is_dir():
        pytest.skip(f"needs the project's data folder {SHARED}")
    work = checkout(tmp_path)
    done = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", block.script],
        cwd=work,
        env=environment(tmp_path),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, (
        f"{block.doc}:{block.line} failed ({done.returncode}):\n{block.script}\n"
        f"--- stdout (end)\n{done.stdout[-3000:]}\n--- stderr (end)\n{done.stderr[-3000:]}"
    )
    assert "Traceback" not in done.stderr


LINK = re.compile(r"\]\((?!https?://|mailto:)(?P<path>[^)#\s]*)(?:#(?P<anchor>[^)\s]+))?\)")


def anchors(path: Path) -> set[str]:
    """The anchors GitHub makes for a Markdown file's headings (outside code blocks)."""
    out, fenced = set(), False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced and line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            out.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return out


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(REPO)))
def test_every_relative_link_and_anchor_resolves(doc: Path) -> None:
    """A link to a file of the repository finds it, and a link to a section finds its heading."""
    broken = []
    for m in LINK.finditer(doc.read_text(encoding="utf-8")):
        target = (doc.parent / m["path"]).resolve() if m["path"] else doc
        if not target.exists():
            broken.append(m[0])
        elif m["anchor"] and target.suffix == ".md" and m["anchor"] not in anchors(target):
            broken.append(m[0])
    assert not broken, broken

"""Rules of the codebase that a reviewer would otherwise check by hand (issue 11)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
MAX_LINES = 500  # past this a file usually holds two concerns; split it along them


def tracked_python_files() -> list[Path]:
    """The repository's own Python files (git's list, so ignored outputs do not count)."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "*.py"], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        pytest.skip(f"not a git checkout ({e})")
    return [REPO / line for line in out.splitlines() if line]


def test_no_python_file_passes_500_lines() -> None:
    files = tracked_python_files()
    assert len(files) > 50, "git listed too few files; the check would say nothing"
    long = {
        str(p.relative_to(REPO)): n
        for p in files
        if p.is_file() and (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not long, f"files over {MAX_LINES} lines (split each along its concerns): {long}"

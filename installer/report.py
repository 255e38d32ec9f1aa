"""What install.py did (or would do, with --dry-run), and the error it stops with."""

from __future__ import annotations

from dataclasses import dataclass, field


class InstallError(Exception):
    """Something install.py cannot do; the message says what the person can do about it."""


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

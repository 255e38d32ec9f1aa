"""kritarc, Krita's settings file: our enable key set or removed, other lines kept, backed up."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from .paths import PLUGIN
from .report import Report

BACKUP_SUFFIX = ".ai-sketcher-backup"
KRITARC_GROUP, KRITARC_KEY = "python", f"enable_{PLUGIN}"


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

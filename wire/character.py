"""Characters in the hosts, in pure Python: the cells of a character sheet, and the emotion and
view a name asks for (a Blender timeline marker "sad, mid-profile left", a Krita layer "panel 3
happy").

A character itself is opaque to a client: a string from done.characters, sent back as
suggest.character (docs/protocol.md, Characters). What a host needs around it is here, so that
Krita, Blender and the tests share it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

# The conditions a sheet varies, in its columns and rows; the rest are the character's own.
SHEET_COLUMNS = "emotion"
SHEET_ROWS = "view"
SHEET_GAP = 0.15  # of a cell's size, between cells


@dataclass(frozen=True)
class SheetCell:
    """One face of a sheet: what to draw and where, in document units with y down."""

    conditions: Mapping[str, str] = field(default_factory=dict)
    bounds: tuple[float, float, float, float] = (0.0, 0.0, 1.0, 1.0)  # x0, y0, x1, y1
    label: str = ""


def sheet_cells(
    conditions: Mapping[str, Sequence[str]],
    origin: tuple[float, float] = (0.0, 0.0),
    cell: float = 256.0,
) -> list[SheetCell]:
    """A character sheet's cells, row by row: a column per emotion and a row per view (from a
    model's welcome `conditions`), each `cell` units square, the first at `origin`. A model
    without one of them gets a single column or row."""
    if cell <= 0:
        raise ValueError(f"a sheet cell must have a positive size, not {cell}")
    columns = list(conditions.get(SHEET_COLUMNS) or [""])
    rows = list(conditions.get(SHEET_ROWS) or [""])
    step = cell * (1 + SHEET_GAP)
    out = []
    for r, row in enumerate(rows):
        for c, column in enumerate(columns):
            x0, y0 = origin[0] + c * step, origin[1] + r * step
            asked = {k: v for k, v in ((SHEET_COLUMNS, column), (SHEET_ROWS, row)) if v}
            out.append(SheetCell(asked, (x0, y0, x0 + cell, y0 + cell), ", ".join(asked.values())))
    return out


def conditions_in_text(text: str, conditions: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """The condition values a name mentions, as whole words, case-insensitive; the longest
    value wins where several match ("mid-profile left" over "left"), and the first mention of
    a condition counts."""
    found: dict[str, tuple[int, str]] = {}
    low = text.lower()
    taken: list[tuple[int, int]] = []
    candidates = sorted(
        ((value, key) for key, values in conditions.items() for value in values if value),
        key=lambda kv: -len(kv[0]),
    )
    for value, key in candidates:
        pattern = r"(?<![\w-])" + re.escape(value.lower()) + r"(?![\w-])"
        for m in re.finditer(pattern, low):
            if any(m.start() < end and start < m.end() for start, end in taken):
                continue
            taken.append((m.start(), m.end()))
            if key not in found or m.start() < found[key][0]:
                found[key] = (m.start(), value)
            break
    return {key: value for key, (_, value) in found.items()}

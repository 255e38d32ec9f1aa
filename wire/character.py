"""Characters in the hosts, in pure Python: the cells of a character sheet, and the emotion and
view a name asks for (a Blender timeline marker "sad, mid-profile left", a Krita layer "panel 3
happy").

A character is a string from done.characters, sent back as suggest.character (docs/protocol.md,
Characters); a client reads only the conditions it was drawn under, to say who it keeps. What a
host needs around it is here, so that Krita, Blender and the tests share it (the page mirrors
it in static/character.js).
"""

from __future__ import annotations

import re
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from .protocol import ProtocolError, Suggest, character_parts

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


ONE = 0x3C00  # 1.0 as float16


def character_conditions(character: str, conditions: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """The conditions a character was drawn under, read from its last numbers: the model's
    condition vector, a block per condition of the model's welcome `conditions` in order, 1.0
    for the value and 0 for the rest. A block that is not that (a condition left unset) is left
    out, and so is everything for a string that is not a character of that length."""
    try:
        Suggest(id=0, mode="generate", character=character)  # the wire's own check
    except ProtocolError:
        return {}
    halves = character_parts(character)[1]
    width = sum(len(values) for values in conditions.values())
    count = len(halves) // 2
    if count <= width:
        return {}
    numbers = struct.unpack(f"<{width}H", halves[2 * (count - width) :])
    found, at = {}, 0
    for name, values in conditions.items():
        block = numbers[at : at + len(values)]
        at += len(values)
        if block.count(ONE) == 1 and all(v in (ONE, 0) for v in block):
            found[name] = values[block.index(ONE)]
    return found

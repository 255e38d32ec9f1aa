"""The operators' Blender-specific bookkeeping, in pure Python (no bpy): targets, seeds,
conditions, and the conditions and cells of a kept character.

The suggestion state itself (jobs, alternatives, flip) is wire/suggestion.py, shared with
Krita. Blender's jobs target an object's frame by names and frame numbers only, never Blender
data, so that undo (which replaces all Blender data) cannot break a session.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import geometry
from .wire.character import SHEET_COLUMNS, SHEET_ROWS, conditions_in_text, sheet_cells
from .wire.suggestion import MAX_IN_FLIGHT, Draw, Job, Session, plural, summary, variety_for

__all__ = ["MAX_IN_FLIGHT", "Draw", "Job", "Session", "plural", "summary", "variety_for"]

ANY = "__any__"  # the enum item meaning "leave this condition to the model"
# What makes a model a face model for Autodraw face (the pickers come from the welcome).
FACE_CONDITIONS = ("gender", "emotion", "style", "view")
# What changes from shot to shot (a marker names them); the other conditions but the category
# (gender, style) are who a kept character is, and come from the character.
LOOK = (SHEET_COLUMNS, SHEET_ROWS)
SHEET_CELL = 1.0  # a character sheet's cell, in the new object's local units

Stroke2 = Sequence[Sequence[float]]


@dataclass(frozen=True)
class Target:
    """Where one job's strokes go: an object, the artist's layer on it, and a frame number."""

    object_name: str
    layer_name: str
    frame: int


@dataclass
class Request:
    """What to ask the server for one target (the arguments of SuggestClient.suggest)."""

    mode: str  # "complete", "generate" or "refine" ("guide" for the guide's own reading)
    strokes: list[Stroke2] = field(default_factory=list)
    bounds: tuple[float, float, float, float] | None = None
    seed: int | None = None
    depth: float = 0.0  # local y of the plane the results are drawn on
    radius: float = 0.01  # line radius of the drawn strokes
    material_index: int = 0
    conditions: dict[str, str] | None = None  # this job's own conditions (None: the session's)
    character: str | None = None  # draw this person again (a kept character)
    after_first: bool = False  # a sheet's face that waits for the first face's character


def seed_for(base: int, object_name: str, frame: int) -> int:
    """A seed of its own for every (object, frame), reproducible from the base seed."""
    digest = hashlib.blake2b(f"{base}\0{object_name}\0{frame}".encode(), digest_size=4).digest()
    return int.from_bytes(digest, "little")


def conditions_for(
    offered: Mapping[str, Sequence[str]], chosen: Mapping[str, str], face: bool
) -> dict[str, str]:
    """The conditions to send: the chosen ones the model offers, and category=face for faces.

    `offered` is the model's conditions from the welcome (empty list: any value); `chosen` maps
    condition names to the panel's choices (ANY or "" leaves it to the model).
    """
    out = {}
    for name, allowed in offered.items():
        value = chosen.get(name, ANY)
        if face and name == "category":
            value = "face"
        if value and value != ANY and (not allowed or value in allowed):
            out[name] = value
    return out


def condition_names(models: Sequence[Any]) -> list[str]:
    """Every condition the server's models take (protocol.ModelInfo), in the welcome's order."""
    return list(dict.fromkeys(name for m in models for name in m.conditions))


def add_pickers(settings: Any, names: Sequence[str]) -> bool:
    """Give a scene's settings a condition picker for each name it lacks (a choice made for a
    name stays, for a model that takes it again); True if it added any."""
    have = {c.name for c in settings.conditions}
    missing = [n for n in names if n not in have]
    for name in missing:
        settings.conditions.add().name = name
    return bool(missing)


def preferred_model(models: Sequence[Any]) -> Any:
    """The model "Auto" picks: the first that takes face conditions (this add-on draws faces for
    storyboards), else the server's default; None before the welcome lists any."""
    return next(
        (m for m in models if any(n in m.conditions for n in FACE_CONDITIONS)),
        models[0] if models else None,
    )


def face_problem(offered: Mapping[str, Sequence[str]]) -> str | None:
    """Why a model cannot autodraw faces, or None when it can."""
    categories = offered.get("category")
    if (
        categories
        and "face" not in categories
        and not any(name in offered for name in FACE_CONDITIONS)
    ):
        return "this model has no 'face' category, so it cannot autodraw faces; pick another model"
    return None


def missing_face_conditions(offered: Mapping[str, Sequence[str]]) -> list[str]:
    """The face conditions (gender, emotion, style, view) this model does not take."""
    return [name for name in FACE_CONDITIONS if name not in offered]


def enum_number(value: str) -> int:
    """A stable enum item number for a value, so a saved choice survives a new item list."""
    digest = hashlib.blake2b(value.encode(), digest_size=4).digest()
    return (int.from_bytes(digest, "little") & 0x7FFFFFFF) or 1  # 0 is ANY's


def wrap(text: str, width: int) -> Iterable[str]:
    """`text` in lines of at most `width` characters, for panel labels (which do not wrap)."""
    line = ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            yield line
            line = word
        else:
            line = f"{line} {word}" if line else word
    if line:
        yield line


# --- characters ------------------------------------------------------------------------------


def look_conditions(
    offered: Mapping[str, Sequence[str]], chosen: Mapping[str, str], text: str = ""
) -> dict[str, str]:
    """The conditions of one shot of a kept character: category=face where the model has
    categories, and the emotion and view that `text` (a timeline marker's name) mentions, else
    the panel's. Gender and style are left out: they are the character's own."""
    base = conditions_for(offered, {k: v for k, v in chosen.items() if k in LOOK}, face=True)
    named = conditions_in_text(text, {k: offered[k] for k in LOOK if k in offered})
    return {**base, **named}


def traits(conditions: Mapping[str, str] | None) -> dict[str, str]:
    """Who a face is, of the conditions it was asked for: all but its category, emotion and
    view."""
    return {k: v for k, v in (conditions or {}).items() if k not in LOOK and k != "category"}


def describe_character(
    known: Mapping[str, str], offered: Mapping[str, Sequence[str]], model: str
) -> str:
    """A line for the panel about a kept character: the traits it was asked for, and which
    the model chose itself (those the character does not say and the add-on did not ask)."""
    names = [n for n in offered if n not in LOOK and n != "category"]
    parts = [known[n] for n in names if known.get(n)]
    parts += [known[n] for n in known if n not in names and known[n]]  # of another server
    chosen = [n for n in names if not known.get(n)]
    if chosen:
        parts.append(
            f"{' and '.join(chosen)} as '{model}' drew {'them' if len(chosen) > 1 else 'it'}"
        )
    return f"A face from '{model}': {', '.join(parts)}." if parts else f"A face from '{model}'."


def sheet_requests(
    offered: Mapping[str, Sequence[str]],
    chosen: Mapping[str, str],
    character: str | None,
    cell: float = SHEET_CELL,
) -> list[Request]:
    """A character sheet's faces, centred on (0, 0): a "generate" request per emotion x view
    the model offers (wire/character.py sheet_cells), row by row. Each draws `character`;
    without one, the first face is drawn from the panel's conditions and the others wait for
    its character (`after_first`)."""
    cells = sheet_cells(offered, (0.0, 0.0), cell)
    box = geometry.bounds([[c.bounds[:2], c.bounds[2:]] for c in cells])
    assert box is not None
    dx, dy = -(box[0] + box[2]) / 2, -(box[1] + box[3]) / 2
    first = conditions_for(offered, chosen, face=True)
    common = conditions_for(offered, {}, face=True)  # the category only
    out = []
    for i, c in enumerate(cells):
        x0, y0, x1, y1 = c.bounds
        bounds = (x0 + dx, y0 + dy, x1 + dx, y1 + dy)
        asked = dict(first if i == 0 and character is None else common)
        asked.update(c.conditions)
        out.append(
            Request(
                mode="generate",
                bounds=bounds,
                radius=geometry.stroke_radius(bounds),
                conditions=asked,
                character=character,
                after_first=character is None and i > 0,
            )
        )
    return out


def sheet_summary(session: Session) -> str:
    """A sentence for the panel about a character sheet in progress or done."""
    total = len(session.jobs)
    drawn = sum(1 for job in session.jobs if job.strokes(0))
    errors = session.errors()
    failed = ""
    if errors:
        why = errors[0] if errors[0].endswith(".") else errors[0] + "."
        failed = f" {plural(len(errors), 'face')} failed: {why}"
    if session.running:
        done = sum(job.finished for job in session.jobs)
        return f"Drawing the character sheet... {done} of {total} faces done.{failed}"
    return f"The character sheet has {drawn} of {plural(total, 'face')}.{failed}"

"""The operators' Blender-specific bookkeeping, in pure Python (no bpy): targets, seeds,
conditions.

The suggestion state itself (jobs, alternatives, flip) is wire/suggestion.py, shared with
Krita. Blender's jobs target an object's frame by names and frame numbers only, never Blender
data, so that undo (which replaces all Blender data) cannot break a session.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .wire.suggestion import MAX_IN_FLIGHT, Draw, Job, Session, plural, summary, variety_for

__all__ = ["MAX_IN_FLIGHT", "Draw", "Job", "Session", "plural", "summary", "variety_for"]

ANY = "__any__"  # the enum item meaning "leave this condition to the model"
# What makes a model a face model for Autodraw face (the pickers come from the welcome).
FACE_CONDITIONS = ("gender", "emotion", "style", "view")

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

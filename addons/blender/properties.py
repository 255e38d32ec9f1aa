"""Per-scene settings (Scene.ai_sketcher): model, conditions, variety, alternatives, seed, and
the kept character.

The model menu and the condition pickers come from the server's welcome: one picker for each
condition a model of the server takes (the controller adds them when the welcome arrives; the
panel shows the chosen model's). Menu items carry stable numbers (session.enum_number), so a
saved choice survives a server that lists other values.
"""

# No `from __future__ import annotations`: Blender reads property annotations as objects.
import json
from typing import Any

import bpy
from bpy.props import (
    BoolProperty,
    CollectionProperty,
    EnumProperty,
    FloatProperty,
    IntProperty,
    PointerProperty,
    StringProperty,
)

from . import controller
from .session import ANY, enum_number, preferred_model, variety_for
from .wire import protocol

# Blender keeps only pointers to enum item strings: the lists must outlive the callback.
_items: dict[str, list[tuple[str, str, str, int]]] = {}


def _keep(key: str, items: list[tuple[str, str, str, int]]) -> list[tuple[str, str, str, int]]:
    _items[key] = items
    return items


def _model_items(self: Any, context: Any) -> list[tuple[str, str, str, int]]:
    models = controller.get().models()
    auto = preferred_model(models)
    label = f"Auto ({auto.name})" if auto is not None else "Auto"
    items = [(ANY, label, "The server's face model if it has one, else its default model", 0)]
    items += [(m.name, m.name, m.description or m.name, enum_number(m.name)) for m in models]
    return _keep("model", items)


def _chosen(settings: Any) -> Any:
    """The chosen model's ModelInfo ("Auto" resolved), or None before the welcome."""
    return controller.get().model_info("" if settings.model in ("", ANY) else settings.model)


def model_name(settings: Any) -> str | None:
    """The chosen model's name ("Auto" resolved), or None before the welcome."""
    info = _chosen(settings)
    return info.name if info is not None else None


def offered(settings: Any) -> dict[str, tuple[str, ...]]:
    """The conditions the chosen model takes, from the welcome; {} before it arrives."""
    info = _chosen(settings)
    return dict(info.conditions) if info is not None else {}


def _choice_items(self: Any, context: Any) -> list[tuple[str, str, str, int]]:
    """A condition picker's menu: Any, then the values the chosen model takes for it."""
    values = offered(self.id_data.ai_sketcher).get(self.name, ())  # id_data: the scene
    out = [(ANY, "Any", f"Leave the {self.name} to the model", 0)]
    out += [(v, v, "", enum_number(v)) for v in values]
    return _keep(f"condition:{self.name}", out)


class ConditionChoice(bpy.types.PropertyGroup):
    """One condition the server's models take (`name`, from the welcome) and the choice for it."""

    value: EnumProperty(name="Value", items=_choice_items)


def _chosen_varieties(settings: Any) -> dict[str, float]:
    """The Variety the artist chose per model, kept in the scene as JSON."""
    try:
        saved = json.loads(settings.varieties or "{}")
    except ValueError:
        return {}
    return {k: float(v) for k, v in saved.items() if isinstance(v, (int, float))}


def _get_variety(self: Any) -> float:
    """The chosen model's Variety: the artist's own for it, else its measured best (welcome)."""
    return variety_for(_chosen(self), _chosen_varieties(self), protocol.DEFAULT_TEMPERATURE)


def _set_variety(self: Any, value: float) -> None:
    info = _chosen(self)
    if info is None:
        return  # before the welcome there is no model to remember it for
    chosen = _chosen_varieties(self)
    chosen[info.name] = round(float(value), 4)
    self.varieties = json.dumps(chosen, sort_keys=True)


def _guide_toggled(self: Any, context: Any) -> None:
    controller.get().set_guide(self.guide)


class SketchSettings(bpy.types.PropertyGroup):
    """What the next suggestion asks for; saved with the .blend file."""

    model: EnumProperty(
        name="Model", description="Which of the server's models draws", items=_model_items
    )
    conditions: CollectionProperty(type=ConditionChoice, name="Conditions")
    variety: FloatProperty(
        name="Variety",
        default=protocol.DEFAULT_TEMPERATURE,
        min=protocol.MIN_TEMPERATURE,
        max=protocol.MAX_TEMPERATURE,
        precision=2,
        get=_get_variety,
        set=_set_variety,
        description="How adventurous the strokes are (the sampling temperature): low is safe, "
        "high is wild. Each model starts at its own measured best",
    )
    varieties: StringProperty(
        name="Variety per model", default="", options={"HIDDEN"}, description="JSON, by model"
    )
    strength: FloatProperty(
        name="Strength",
        default=protocol.DEFAULT_STRENGTH,
        min=0.0,
        max=1.0,
        precision=2,
        description="Optimize my drawing: 0 keeps the model's own redraw "
        "of your strokes, 1 moves it onto the nearest real "
        "drawings",
    )
    guide: BoolProperty(
        name="Shadow guide",
        default=False,
        update=_guide_toggled,
        description="After each stroke, show real drawings like yours faintly "
        "on a locked layer under yours",
    )
    alternatives: IntProperty(
        name="Alternatives",
        default=3,
        min=1,
        max=protocol.MAX_N,
        description="How many different suggestions to draw; Next and Previous flip between them",
    )
    seed: IntProperty(
        name="Seed",
        default=0,
        min=0,
        description="Same seed, same strokes (on the same server); 0 draws a "
        "new random seed every time",
    )
    autodraw_scope: EnumProperty(
        name="Autodraw all",
        default="OBJECTS",
        items=[
            (
                "OBJECTS",
                "Selected objects",
                "The current frame of every selected Grease Pencil object",
            ),
            (
                "KEYFRAMES",
                "Keyframes in range",
                "Every keyframe of the active layer in the scene's frame range, on every "
                "selected Grease Pencil object",
            ),
        ],
    )

    character: StringProperty(
        name="Character",
        default="",
        options={"HIDDEN"},
        description="The kept character, as the server gave it (saved with the file)",
    )
    character_model: StringProperty(
        name="Character's model",
        default="",
        options={"HIDDEN"},
        description="The model that drew the kept character (only it can draw it again)",
    )
    character_traits: StringProperty(
        name="Character's traits",
        default="",
        options={"HIDDEN"},
        description="JSON: the conditions the kept character was asked for (gender, style)",
    )
    same_character: BoolProperty(
        name="Same character",
        default=True,
        description="Autodraw face and Autodraw all draw the kept character, with the emotion "
        "and view of a timeline marker on each frame (else the panel's)",
    )

    def picker(self, name: str) -> Any:
        """The ConditionChoice for condition `name`, or None before the welcome listed it."""
        return next((c for c in self.conditions if c.name == name), None)

    def chosen(self) -> dict[str, str]:
        """The panel's condition choices, by condition name."""
        return {c.name: c.value for c in self.conditions}


def kept_traits(settings: Any) -> dict[str, str]:
    """What the add-on asked of the kept character (gender, style), from the scene."""
    try:
        saved = json.loads(settings.character_traits or "{}")
    except ValueError:
        return {}
    if not isinstance(saved, dict):
        return {}
    return {str(k): v for k, v in saved.items() if isinstance(v, str)}


def keeps_characters(settings: Any) -> bool:
    """Whether the chosen model keeps characters (its welcome entry says so)."""
    info = _chosen(settings)
    return bool(info is not None and info.characters)


classes = (ConditionChoice, SketchSettings)
_register, _unregister = bpy.utils.register_classes_factory(classes)


def register() -> None:
    _register()
    bpy.types.Scene.ai_sketcher = PointerProperty(type=SketchSettings)


def unregister() -> None:
    del bpy.types.Scene.ai_sketcher
    _unregister()
    _items.clear()

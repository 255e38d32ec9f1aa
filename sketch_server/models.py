"""The models a server hosts: their folders, devices, libraries and how the welcome lists them."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from model.character import has_characters
from model.checkpoint import SHIPPED_MODELS, Checkpoint, CheckpointError, load, shipped
from model.device import DeviceError, device_label
from model.device import resolve_device as _resolve
from model.library import LibraryError, SketchLibrary, open_library
from model.sample import runnable_modes
from wire.protocol import ModelInfo

from .config import ConfigError

log = logging.getLogger("sketch_server")

__all__ = [
    "device_label",
    "load_libraries",
    "load_models",
    "model_infos",
    "model_name",
    "resolve_device",
]


def resolve_device(spec: str) -> torch.device:
    """The torch device for --device, or a ConfigError saying what to use instead."""
    try:
        return _resolve(spec)
    except DeviceError as e:
        raise ConfigError(str(e)) from None


def model_name(directory: Path) -> str:
    """A model's name on the wire: its folder's name (as given: a symlink keeps its own name)."""
    return Path(os.path.abspath(directory)).name


def load_models(dirs: tuple[Path, ...], device: torch.device) -> dict[str, Checkpoint]:
    """Load each checkpoint folder (the shipped models if none), keyed by folder name."""
    models: dict[str, Checkpoint] = {}
    for directory in dirs or tuple(shipped(name) for name in SHIPPED_MODELS):
        name = model_name(directory)
        if name in models:
            raise ConfigError(
                f"two models are named {name!r} (models are named by folder); "
                "rename one of the folders"
            )
        if not Path(directory).is_dir():
            raise ConfigError(f"model folder {directory} does not exist")
        try:
            models[name] = load(directory, device)
        except CheckpointError as e:
            raise ConfigError(str(e)) from None
    return models


def load_libraries(
    dirs: tuple[Path, ...], models: Mapping[str, Checkpoint]
) -> dict[str, SketchLibrary]:
    """The sketch library beside each served model that has one, keyed by model name."""
    libraries = {}
    for directory in dirs or tuple(shipped(name) for name in SHIPPED_MODELS):
        name = model_name(directory)
        if name not in models:
            continue
        try:
            library = open_library(directory, models[name])
        except LibraryError as e:
            raise ConfigError(str(e)) from None
        if library is not None:
            libraries[name] = library
    return libraries


def model_infos(
    models: Mapping[str, Checkpoint], libraries: Mapping[str, SketchLibrary] | None = None
) -> dict[str, ModelInfo]:
    """What the welcome says about each model, by name, in the order given."""
    return {d["name"]: ModelInfo(**d) for d in describe(models, libraries)}


def describe(
    models: Mapping[str, Checkpoint], libraries: Mapping[str, SketchLibrary] | None = None
) -> list[dict[str, Any]]:
    """Name, description, conditions, modes, characters and library of each model, as the
    welcome lists them."""
    libraries = libraries or {}
    return [
        {
            "name": name,
            "description": str(ckpt.meta.get("description") or f"{ckpt.config.preset} model"),
            "conditions": {a: list(ckpt.vocab.values[a]) for a in ckpt.vocab.attributes}
            if ckpt.config.use_condition
            else {},
            "modes": list(runnable_modes(ckpt)),
            "temperature": ckpt.sample.temperature,
            "characters": has_characters(ckpt),
            **({"provenance": str(ckpt.meta["provenance"])} if ckpt.meta.get("provenance") else {}),
            **(
                {
                    "library": {
                        "size": len(lib),
                        "licence": lib.library.licence,
                        "source": lib.library.source,
                    }
                }
                if (lib := libraries.get(name)) is not None
                else {}
            ),
        }
        for name, ckpt in models.items()
    ]

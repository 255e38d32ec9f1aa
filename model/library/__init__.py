"""A model's sketch library: real drawings behind every mode (see docs/models.md).

`python -m lab.library build ...` writes one beside a checkpoint; `open_library` reads it back
ready to search.
"""

from __future__ import annotations

import os

from model.checkpoint import Checkpoint

from .store import Library, LibraryError, exists
from .suggest import SketchLibrary


def open_library(directory: str | os.PathLike[str], ckpt: Checkpoint) -> SketchLibrary | None:
    """The searchable library in a model folder, or None when the folder has none."""
    if not exists(directory):
        return None
    try:
        return SketchLibrary(Library.load(directory), ckpt)
    except ValueError as e:
        raise LibraryError(f"{directory}: {e}") from None


__all__ = ["Library", "LibraryError", "SketchLibrary", "open_library"]

"""From a validated message to what the engine runs: the model's request, and the checks that
need this server's models (a model's conditions, a drawing's extent) before a job starts."""

from __future__ import annotations

import math
from collections.abc import Sequence

from model.sample import SketchRequest
from wire.protocol import ModelInfo, ProtocolError, RequestId, Suggest

CONDITIONS_SHOWN = 12  # allowed values an unknown_condition message lists before "and N more"
MAX_COORDINATE = 1e12  # beyond this a drawing's coordinates lose all precision in float math


def sketch_request(msg: Suggest) -> SketchRequest:
    """The model's request for a validated `suggest`: every field comes from the wire."""
    return SketchRequest(
        mode=msg.mode,
        strokes=msg.strokes,
        conditions=dict(msg.conditions),
        n=msg.n,
        temperature=msg.temperature,
        seed=msg.seed,
        max_points=msg.max_points,
        bounds=msg.bounds,  # None: the model draws in its own box
        use_library=msg.use_library,
        strength=msg.strength,
        character=msg.character,
    )


def check_extent(
    strokes: Sequence[Sequence[tuple[float, float]]],
    bounds: tuple[float, float, float, float] | None,
    rid: RequestId,
) -> None:
    """Refuse a drawing area too wide for a float: the strokes drawn in it would overflow too."""
    if strokes:
        xs = [x for stroke in strokes for x, _ in stroke]
        ys = [y for stroke in strokes for _, y in stroke]
        what, width, height = "strokes", max(xs) - min(xs), max(ys) - min(ys)
    elif bounds is not None:
        x0, y0, x1, y1 = bounds
        what, width, height = "bounds", x1 - x0, y1 - y0
    else:
        return
    if not (math.isfinite(width) and math.isfinite(height)):
        raise ProtocolError(
            "bad_request",
            f"{what} span an area too wide to compute with "
            "(its width or height overflows a 64-bit float); draw in a smaller area",
            rid,
        )
    corners = (
        [abs(v) for stroke in strokes for p in stroke for v in p]
        if strokes
        else [abs(v) for v in (bounds or ())]
    )
    if max(corners, default=0.0) > MAX_COORDINATE:
        raise ProtocolError(
            "bad_request",
            f"{what} reach coordinates beyond +-{MAX_COORDINATE:g}"
            ", where a drawing loses all precision; move it nearer the origin",
            rid,
        )


def check_condition(info: ModelInfo, key: str, value: str, rid: RequestId) -> None:
    """Raise unknown_condition unless the model takes condition `key` with this `value`."""
    allowed = info.conditions.get(key)
    if allowed is None:
        takes = ", ".join(map(repr, info.conditions)) or "none"
        raise ProtocolError(
            "unknown_condition",
            f"model {info.name!r} has no condition {key!r}; it takes: {takes}",
            rid,
        )
    if allowed and value not in allowed:
        shown = ", ".join(map(repr, allowed[:CONDITIONS_SHOWN]))
        more = len(allowed) - CONDITIONS_SHOWN
        rest = f" and {more} more (the welcome message lists them all)" if more > 0 else ""
        raise ProtocolError(
            "unknown_condition",
            f"{value!r} is not a {key} model {info.name!r} knows; it knows {shown}{rest}",
            rid,
        )

"""A paint layer's raster -> the strokes of the request that carried it, before it starts."""

from __future__ import annotations

import asyncio
import dataclasses
from concurrent.futures import Executor

from model.vectorise import TooMuchToTrace, VectoriseError, vectorise

from .protocol import MAX_POINTS, MAX_STROKES, ClientMessage, Guide, ProtocolError, Suggest


async def from_raster(msg: ClientMessage, traces: Executor | None = None) -> ClientMessage:
    """A suggest or guide with its raster traced into strokes (on the `traces` pool: it takes
    up to a second; model.vectorise bounds what a trace may cost); any other message, or one
    with strokes, as it is."""
    if not isinstance(msg, (Suggest, Guide)) or msg.strokes or msg.raster is None:
        return msg
    loop = asyncio.get_running_loop()
    try:
        lines = await loop.run_in_executor(traces, vectorise, msg.raster.png, msg.raster.box)
    except TooMuchToTrace as e:
        raise ProtocolError("too_large", str(e), msg.id) from None
    except VectoriseError as e:
        raise ProtocolError("bad_request", str(e), msg.id) from None
    if not lines:
        raise ProtocolError(
            "bad_request",
            "the raster has no lines in it, so the layer looks empty (or its marks are too "
            "faint or too small); draw on the layer first, or pick the layer you drew on",
            msg.id,
        )
    points = sum(len(line) for line in lines)
    if len(lines) > MAX_STROKES or points > MAX_POINTS:
        raise ProtocolError(
            "too_large",
            f"the raster traces to {len(lines)} strokes with {points} points; a request may "
            f"carry {MAX_STROKES} strokes and {MAX_POINTS} points; select a smaller area",
            msg.id,
        )
    return dataclasses.replace(msg, strokes=tuple(tuple(line) for line in lines), raster=None)

"""Messages the protocol tests share: a valid one of every kind, and helpers to break them."""

from __future__ import annotations

from typing import Any

import pytest

from wire.protocol import (
    Cancel,
    Done,
    Error,
    Guide,
    GuideDrawing,
    GuideResult,
    Hello,
    ModelInfo,
    ProtocolError,
    StrokeChunk,
    Suggest,
    Trace,
    Welcome,
    parse_client_message,
    parse_server_message,
)

MODEL = ModelInfo(
    name="quickdraw",
    description="QuickDraw doodles",
    conditions={"category": ("cat", "dog"), "style": ()},
    modes=("complete", "generate"),
)
CLIENT_MESSAGES = [
    Hello(client="krita-ai-sketcher/0.1.0"),
    Hello(client="blender-ai-sketcher/0.1.0", token="s3cret"),
    Suggest(id=1, mode="generate"),
    Suggest(
        id="r-1",
        model="quickdraw",
        mode="complete",
        strokes=[[(0, 0), (10, 5.5)], [(3, 3), (4, 4), (-5, 1e9)]],
        conditions={"category": "cat"},
        n=2,
        temperature=0.8,
        seed=(1 << 64) - 1,
        max_points=500,
        bounds=(0, 0, 100, 50),
    ),
    Cancel(id="r-1"),
    Cancel(id=-7),
    Suggest(id="r-2", mode="refine", strokes=[[(0, 0), (1, 1)]], strength=1, use_library=False),
    Guide(id="g1", strokes=[[(0, 0), (1, 1)]]),
    Guide(id=4, model="faces", strokes=[[(0, 0), (1, 1)]], conditions={"emotion": "happy"}, k=16),
    Trace(id="t1", image=b"\xff\xd8\xff\xe0" + bytes(40), box=(0, 0, 64, 48)),
]
SERVER_MESSAGES = [
    Welcome(server="ai-sketcher/0.1.0", device="cpu", models=(MODEL, ModelInfo(name="tiny"))),
    Welcome(server="ai-sketcher/0.1.0", device="cuda:0", models=(), trace=True),
    StrokeChunk(id="r-1", sample=1, index=0, points=[(1, 2), (3.25, 4)]),
    Done(id="r-1", samples=[[[(1, 2), (3, 4)]], []], elapsed_ms=1234, cancelled=True),
    Done(id=9, samples=[], elapsed_ms=0),
    Done(id=2, samples=[[[(1, 2), (3, 4)]]], elapsed_ms=5, sources=["quickdraw:cat:123"]),
    Done(id=3, samples=[[], [[(1, 2), (3, 4)]]], elapsed_ms=5, notes=["left the drawing", ""]),
    Welcome(
        server="ai-sketcher/0.1.0",
        device="cpu",
        models=(
            ModelInfo(
                name="objects",
                library={"size": 8719, "licence": "CC BY 4.0", "source": "QuickDraw"},
            ),
            ModelInfo(name="quickdraw", modes=("complete", "generate"), provenance="Magenta"),
        ),
    ),
    GuideResult(
        id="g1",
        elapsed_ms=16,
        drawings=[
            GuideDrawing(strokes=[[(0, 0), (1, 1)]], weight=0.75, source="quickdraw:cat:1"),
            {"strokes": [[[2, 2], [3, 3]]], "weight": 0.25, "source": "quickdraw:cat:2"},
        ],
    ),
    GuideResult(id=5, elapsed_ms=0, drawings=[]),
    Error(code="bad_request", message="strokes[3] has 1 point; a stroke needs at least 2", id=3),
    Error(code="internal", message="the model crashed; see the server log"),
]
ALL_MESSAGES = CLIENT_MESSAGES + SERVER_MESSAGES


def parse_any(d: dict[str, Any]) -> Any:
    """A client or server message; "guide" goes both ways, its answer carries drawings."""
    client = d["type"] in ("hello", "suggest", "cancel", "trace") or (
        d["type"] == "guide" and "drawings" not in d
    )
    return (parse_client_message if client else parse_server_message)(d)


def suggest_map(**changes: Any) -> dict[str, Any]:
    """A valid suggest wire map with some keys changed; a value of ... removes the key."""
    d = {"type": "suggest", "id": "r1", "mode": "complete", "strokes": [[[0, 0], [1, 1]]]}
    d.update(changes)
    return {k: v for k, v in d.items() if v is not ...}


def many_strokes(count: int, points: int) -> list[list[list[int]]]:
    """`count` strokes of `points` points each, as wire lists."""
    return [[[i, j] for j in range(points)] for i in range(count)]


def raises(code: str, message: str, fn: Any, *args: Any) -> ProtocolError:
    """fn(*args) raises ProtocolError with exactly this code and message."""
    with pytest.raises(ProtocolError) as info:
        fn(*args)
    assert (info.value.code, info.value.message) == (code, message)
    return info.value

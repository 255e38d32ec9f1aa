"""Tests for the v1 wire protocol: round trips, exact error texts, hostile frames and fuzzing."""

from __future__ import annotations

import ast
import dataclasses
import json
import math
import re
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import msgpack
import msgpack.fallback
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sketch_server import protocol as p
from sketch_server.protocol import (
    MAX_CONTAINERS,
    MAX_FRAME_BYTES,
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
    Welcome,
    decode,
    encode,
    parse_client_message,
    parse_server_message,
)

MODULE_PATH = Path(p.__file__)
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
]
SERVER_MESSAGES = [
    Welcome(server="ai-sketcher/0.1.0", device="cpu", models=(MODEL, ModelInfo(name="tiny"))),
    Welcome(server="ai-sketcher/0.1.0", device="cuda:0", models=()),
    StrokeChunk(id="r-1", sample=1, index=0, points=[(1, 2), (3.25, 4)]),
    Done(id="r-1", samples=[[[(1, 2), (3, 4)]], []], elapsed_ms=1234, cancelled=True),
    Done(id=9, samples=[], elapsed_ms=0),
    Done(id=2, samples=[[[(1, 2), (3, 4)]]], elapsed_ms=5, sources=["quickdraw:cat:123"]),
    Welcome(
        server="ai-sketcher/0.1.0",
        device="cpu",
        models=(
            ModelInfo(
                name="objects",
                library={"size": 8719, "licence": "CC BY 4.0", "source": "QuickDraw"},
            ),
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


def _fallback_msgpack() -> types.SimpleNamespace:
    """The pure-Python msgpack that Krita uses, shaped like the msgpack module."""
    fb = msgpack.fallback
    return types.SimpleNamespace(unpackb=fb.unpackb, packb=lambda o, **kw: fb.Packer(**kw).pack(o))


@pytest.fixture(params=["c", "fallback"])
def codec(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test with the C msgpack extension and again with the pure-Python fallback."""
    if request.param == "fallback":
        monkeypatch.setattr(p, "msgpack", _fallback_msgpack())
    return request.param


def _parse_any(d: dict[str, Any]) -> Any:
    """A client or server message; "guide" goes both ways, its answer carries drawings."""
    client = d["type"] in ("hello", "suggest", "cancel") or (
        d["type"] == "guide" and "drawings" not in d
    )
    return (parse_client_message if client else parse_server_message)(d)


def _suggest(**changes: Any) -> dict[str, Any]:
    """A valid suggest wire map with some keys changed; a value of ... removes the key."""
    d = {"type": "suggest", "id": "r1", "mode": "complete", "strokes": [[[0, 0], [1, 1]]]}
    d.update(changes)
    return {k: v for k, v in d.items() if v is not ...}


def _strokes(count: int, points: int) -> list[list[list[int]]]:
    return [[[i, j] for j in range(points)] for i in range(count)]


def _raises(code: str, message: str, fn: Any, *args: Any) -> ProtocolError:
    with pytest.raises(ProtocolError) as info:
        fn(*args)
    assert (info.value.code, info.value.message) == (code, message)
    return info.value


@pytest.mark.parametrize("msg", ALL_MESSAGES, ids=lambda m: type(m).__name__)
def test_to_wire_from_wire_round_trip(msg: Any) -> None:
    """Every message survives to_wire -> from_wire and to_wire -> parse_*_message unchanged."""
    wire = msg.to_wire()
    assert wire["type"] == msg.TYPE
    assert type(msg).from_wire(wire) == msg
    assert _parse_any(wire) == msg


@pytest.mark.parametrize("binary", [True, False], ids=["msgpack", "json"])
@pytest.mark.parametrize("msg", ALL_MESSAGES, ids=lambda m: type(m).__name__)
def test_frame_round_trip(msg: Any, binary: bool, codec: str) -> None:
    """Every message survives encode -> decode -> parse in both frame kinds and msgpack builds."""
    frame = encode(msg, binary=binary)
    assert isinstance(frame, bytes if binary else str)
    assert _parse_any(decode(frame)) == msg
    if binary:
        assert _parse_any(decode(bytearray(frame))) == msg
        assert _parse_any(decode(memoryview(frame))) == msg


def test_to_wire_uses_plain_lists_and_dicts() -> None:
    """to_wire gives the exact wire layout, with lists and dicts rather than tuples and proxies."""
    wire = CLIENT_MESSAGES[3].to_wire()
    assert wire == {
        "type": "suggest",
        "id": "r-1",
        "model": "quickdraw",
        "mode": "complete",
        "strokes": [[[0.0, 0.0], [10.0, 5.5]], [[3.0, 3.0], [4.0, 4.0], [-5.0, 1e9]]],
        "conditions": {"category": "cat"},
        "n": 2,
        "temperature": 0.8,
        "seed": (1 << 64) - 1,
        "max_points": 500,
        "bounds": [0.0, 0.0, 100.0, 50.0],
        "use_library": True,
        "strength": 0.5,
    }
    assert json.loads(encode(SERVER_MESSAGES[0], binary=False))["models"][0] == {
        "name": "quickdraw",
        "description": "QuickDraw doodles",
        "conditions": {"category": ["cat", "dog"], "style": []},
        "modes": ["complete", "generate"],
    }
    assert "id" not in Error(code="busy", message="try again").to_wire()


def test_constructors_normalise_and_freeze() -> None:
    """Constructors turn lists into tuples and ints into floats, and the result is read-only."""
    s = Suggest(
        id="a", mode="refine", strokes=[[[0, 0], [1, 2]]], temperature=1, bounds=[0, 0, 1, 1]
    )
    assert s.strokes == (((0.0, 0.0), (1.0, 2.0)),)
    assert all(type(v) is float for v in (*s.strokes[0][1], s.temperature, *s.bounds))
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.n = 3  # type: ignore[misc]
    with pytest.raises(TypeError):
        s.conditions["x"] = "y"  # type: ignore[index]
    assert Welcome(server="s", device="d", models=[MODEL.to_wire()]).models == (MODEL,)


def test_defaults_fill_in_optional_fields() -> None:
    """A minimal suggest gets the documented defaults, which are module constants."""
    s = parse_client_message({"type": "suggest", "id": 5, "mode": "generate"})
    assert (s.n, s.temperature, s.max_points, s.seed, s.model, s.bounds, s.strokes) == (
        1,
        p.DEFAULT_TEMPERATURE,
        p.DEFAULT_MAX_POINTS,
        None,
        None,
        None,
        (),
    )
    assert dict(s.conditions) == {}


def test_unknown_keys_are_ignored_and_null_means_absent() -> None:
    """Unknown keys (forward compatibility) are dropped and optional nulls act as absent keys."""
    s = parse_client_message(_suggest(future_field={"x": [1]}, seed=None, n=None, model=None))
    assert s == Suggest(id="r1", mode="complete", strokes=[[(0, 0), (1, 1)]])
    h = parse_client_message({"type": "hello", "protocol": 1, "client": "c/1", "id": [1]})
    assert h == Hello(client="c/1")


def test_limits_accept_exact_maximums() -> None:
    """Exactly 1000 strokes, 20000 points, n=8 and the temperature bounds are all accepted."""
    assert len(parse_client_message(_suggest(strokes=_strokes(1000, 20))).strokes) == 1000
    assert len(parse_client_message(_suggest(strokes=_strokes(1, 20000))).strokes[0]) == 20000
    for changes in (
        {"n": 8},
        {"temperature": 0.01},
        {"temperature": 2},
        {"max_points": 1000},
        {"seed": -(1 << 63)},
        {"id": "x" * 64},
    ):
        parse_client_message(_suggest(**changes))


NAN, INF = math.nan, math.inf
SEED_RANGE = "between -9223372036854775808 and 18446744073709551615"
NEEDS_STROKES = (
    "needs at least one stroke in strokes (or a raster); use mode 'generate' to draw from nothing"
)
CLIENT_ERRORS = [
    (_suggest(strokes="abc"), "bad_request", "strokes must be a list of strokes, not string"),
    (
        _suggest(strokes=[5]),
        "bad_request",
        "strokes[0] must be a list of [x, y] points, not integer",
    ),
    (
        _suggest(strokes=[[[0, 0], [1, 2, 3]]]),
        "bad_request",
        "strokes[0][1] must be an [x, y] pair, not a list of 3",
    ),
    (
        _suggest(strokes=[[[0, 0], {"x": 1}]]),
        "bad_request",
        "strokes[0][1] must be an [x, y] pair, not map",
    ),
    (
        _suggest(strokes=[[[0, 0], ["a", 1]]]),
        "bad_request",
        "strokes[0][1] must hold two numbers, not [string, integer]",
    ),
    (
        _suggest(strokes=[[[0, 0], [True, 1]]]),
        "bad_request",
        "strokes[0][1] must hold two numbers, not [boolean, integer]",
    ),
    (
        _suggest(strokes=[[[0, 0], [1, 1], [NAN, 2]]]),
        "bad_request",
        "strokes[0][2] has a value that is not finite",
    ),
    (
        _suggest(strokes=[[[0, 0], [1, -INF]]]),
        "bad_request",
        "strokes[0][1] has a value that is not finite",
    ),
    (
        _suggest(strokes=[[[0, 0], [10**400, 1]]]),
        "bad_request",
        "strokes[0][1] has a value that is not finite",
    ),
    (
        _suggest(strokes=_strokes(3, 2) + [[[0, 0]]]),
        "bad_request",
        "strokes[3] has 1 point; a stroke needs at least 2",
    ),
    (_suggest(strokes=[[]]), "bad_request", "strokes[0] has 0 points; a stroke needs at least 2"),
    (
        _suggest(strokes=_strokes(1001, 2)),
        "too_large",
        "strokes has 1001 strokes; the limit is 1000",
    ),
    (
        _suggest(strokes=_strokes(2, 10001)),
        "too_large",
        "strokes has 20002 points in total; the limit is 20000",
    ),
    (_suggest(id=...), "bad_request", "id is required"),
    (_suggest(id=""), "bad_request", "id must not be empty"),
    (_suggest(id="x" * 65), "bad_request", "id is 65 characters long; the limit is 64"),
    (_suggest(id=1.5), "bad_request", "id must be a string or an integer, not number"),
    (_suggest(id=True), "bad_request", "id must be a string or an integer, not boolean"),
    (_suggest(id=1 << 64), "bad_request", f"id must be {SEED_RANGE}, not 18446744073709551616"),
    (_suggest(mode=...), "bad_request", "mode is required"),
    (_suggest(mode="draw"), "bad_request", "mode 'draw' is not one of complete, generate, refine"),
    (_suggest(mode=2), "bad_request", "mode must be a string, not integer"),
    (_suggest(strokes=[]), "bad_request", f"mode 'complete' {NEEDS_STROKES}"),
    (_suggest(mode="refine", strokes=...), "bad_request", f"mode 'refine' {NEEDS_STROKES}"),
    (_suggest(model=""), "bad_request", "model must not be empty"),
    (_suggest(model=3), "bad_request", "model must be a string, not integer"),
    (_suggest(n=0), "bad_request", "n must be between 1 and 8, not 0"),
    (_suggest(n=9), "bad_request", "n must be between 1 and 8, not 9"),
    (_suggest(n=True), "bad_request", "n must be an integer, not boolean"),
    (_suggest(n=2.0), "bad_request", "n must be an integer, not number"),
    (_suggest(temperature=0), "bad_request", "temperature must be between 0.01 and 2.0, not 0"),
    (_suggest(temperature=2.5), "bad_request", "temperature must be between 0.01 and 2.0, not 2.5"),
    (_suggest(temperature="hot"), "bad_request", "temperature must be a number, not string"),
    (_suggest(temperature=False), "bad_request", "temperature must be a number, not boolean"),
    (_suggest(temperature=NAN), "bad_request", "temperature must be a finite number, not nan"),
    (_suggest(seed=1 << 64), "bad_request", f"seed must be {SEED_RANGE}, not 18446744073709551616"),
    (_suggest(seed=1.5), "bad_request", "seed must be an integer, not number"),
    (_suggest(max_points=0), "bad_request", "max_points must be between 1 and 1000, not 0"),
    (_suggest(max_points=1001), "bad_request", "max_points must be between 1 and 1000, not 1001"),
    (
        _suggest(bounds=[0, 0, 1]),
        "bad_request",
        "bounds must be 4 numbers [x0, y0, x1, y1], not a list of 3",
    ),
    (
        _suggest(bounds={"x0": 0}),
        "bad_request",
        "bounds must be a list of 4 numbers [x0, y0, x1, y1], not map",
    ),
    (_suggest(bounds=[0, 0, "1", 1]), "bad_request", "bounds[2] must be a number, not string"),
    (
        _suggest(bounds=[0, 0, 0, 5]),
        "bad_request",
        "bounds [0, 0, 0, 5] must have x0 < x1 and y0 < y1",
    ),
    (_suggest(conditions=["cat"]), "bad_request", "conditions must be a map, not list"),
    (
        _suggest(conditions={"category": 3}),
        "bad_request",
        "conditions.category must be a string, not integer",
    ),
    (_suggest(conditions={"category": ""}), "bad_request", "conditions.category must not be empty"),
    (
        _suggest(conditions={"": "x"}),
        "bad_request",
        "conditions has a key '' that is not a name (a string of 1 to 128 characters)",
    ),
    (
        {"type": "hello", "protocol": 2, "client": "c/1"},
        "unsupported_protocol",
        "protocol 2 is not supported; this side speaks 1",
    ),
    (
        {"type": "hello", "protocol": 2},
        "unsupported_protocol",
        "protocol 2 is not supported; this side speaks 1",
    ),
    (
        {"type": "hello", "protocol": "1", "client": "c/1"},
        "bad_request",
        "protocol must be an integer, not string",
    ),
    (
        {"type": "hello", "protocol": True, "client": "c/1"},
        "bad_request",
        "protocol must be an integer, not boolean",
    ),
    ({"type": "hello", "client": "c/1"}, "bad_request", "protocol is required"),
    ({"type": "hello", "protocol": 1}, "bad_request", "client is required"),
    (
        {"type": "hello", "protocol": 1, "client": "c/1", "token": 5},
        "bad_request",
        "token must be a string, not integer",
    ),
    ({"type": "cancel"}, "bad_request", "id is required"),
    ({"type": "cancel", "id": [1]}, "bad_request", "id must be a string or an integer, not list"),
    (
        {"type": "foo"},
        "bad_request",
        "unknown message type 'foo'; expected one of hello, suggest, cancel, guide",
    ),
    (
        {"type": "welcome"},
        "bad_request",
        "unknown message type 'welcome'; expected one of hello, suggest, cancel, guide",
    ),
    ({"id": 1}, "bad_request", "frame has no 'type' field"),
    ({"type": 7}, "bad_request", "type must be a string, not integer"),
    ([1, 2], "bad_request", "frame must be a map with a 'type' field, not list"),
]


@pytest.mark.parametrize(
    "wire,code,message",
    CLIENT_ERRORS,
    ids=[f"{i}:{c[2][:40]}" for i, c in enumerate(CLIENT_ERRORS)],
)
def test_client_message_errors(wire: Any, code: str, message: str) -> None:
    """Each malformed client message fails with its documented code and exact message."""
    _raises(code, message, parse_client_message, wire)


MODEL_WIRE = MODEL.to_wire()
WELCOME_WIRE = SERVER_MESSAGES[0].to_wire()
SERVER_ERRORS = [
    (
        {**WELCOME_WIRE, "protocol": 2},
        "unsupported_protocol",
        "protocol 2 is not supported; this side speaks 1",
    ),
    (
        {**WELCOME_WIRE, "models": [{**MODEL_WIRE, "modes": ["draw"]}]},
        "bad_request",
        "models[0].modes[0] is 'draw'; expected each of complete, generate, refine at most once",
    ),
    (
        {**WELCOME_WIRE, "models": [{**MODEL_WIRE, "modes": []}]},
        "bad_request",
        "models[0].modes must name at least one mode",
    ),
    (
        {**WELCOME_WIRE, "models": [MODEL_WIRE, MODEL_WIRE]},
        "bad_request",
        "models[1].name 'quickdraw' repeats models[0].name",
    ),
    (
        {**WELCOME_WIRE, "models": [{**MODEL_WIRE, "conditions": {"category": "cat"}}]},
        "bad_request",
        "models[0].conditions.category must be a list of strings, not string",
    ),
    (
        {**WELCOME_WIRE, "models": ["quickdraw"]},
        "bad_request",
        "models[0] must be a map, not string",
    ),
    ({**WELCOME_WIRE, "device": ...}, "bad_request", "device is required"),
    (
        {"type": "stroke", "id": "a", "sample": 8, "index": 0, "points": [[0, 0], [1, 1]]},
        "bad_request",
        "sample must be between 0 and 7, not 8",
    ),
    (
        {"type": "stroke", "id": "a", "sample": 0, "index": 0, "points": [[0, 0]]},
        "bad_request",
        "points has 1 point; a stroke needs at least 2",
    ),
    (
        {"type": "done", "id": "a", "samples": [], "elapsed_ms": 1, "cancelled": "yes"},
        "bad_request",
        "cancelled must be a boolean, not string",
    ),
    (
        {"type": "done", "id": "a", "samples": [], "elapsed_ms": -1},
        "bad_request",
        "elapsed_ms must be between 0 and 18446744073709551615, not -1",
    ),
    (
        {"type": "done", "id": "a", "samples": [[]] * 9, "elapsed_ms": 1},
        "bad_request",
        "samples has 9 sketches; the limit is 8",
    ),
    (
        {"type": "done", "id": "a", "samples": [_strokes(1, 10001)] * 2, "elapsed_ms": 1},
        "too_large",
        "samples have 20002 points in total; the limit is 20000",
    ),
    (
        {"type": "done", "id": "a", "samples": [[[[0, 0], [1, NAN]]]], "elapsed_ms": 1},
        "bad_request",
        "samples[0][0][1] has a value that is not finite",
    ),
    (
        {"type": "error", "code": "oops", "message": "x"},
        "bad_request",
        "code 'oops' is not one of bad_request, unsupported_protocol, unauthorized, unknown_model, "
        "unknown_condition, too_large, busy, internal",
    ),
    ({"type": "error", "code": "busy", "message": ""}, "bad_request", "message must not be empty"),
    (
        {"type": "hello"},
        "bad_request",
        "unknown message type 'hello'; expected one of welcome, stroke, done, guide, error",
    ),
]


@pytest.mark.parametrize(
    "wire,code,message",
    SERVER_ERRORS,
    ids=[f"{i}:{c[2][:40]}" for i, c in enumerate(SERVER_ERRORS)],
)
def test_server_message_errors(wire: Any, code: str, message: str) -> None:
    """Each malformed server message fails with its documented code and exact message."""
    wire = {k: v for k, v in wire.items() if v is not ...}
    _raises(code, message, parse_server_message, wire)


def test_errors_carry_the_request_id_once_it_is_readable() -> None:
    """A ProtocolError names the request when its id was valid, so the reply can say which."""
    assert (
        _raises(
            "bad_request", "n must be between 1 and 8, not 0", parse_client_message, _suggest(n=0)
        ).id
        == "r1"
    )
    assert (
        _raises(
            "bad_request", "mode is required", parse_client_message, _suggest(id=7, mode=...)
        ).id
        == 7
    )
    assert (
        _raises(
            "bad_request", "id must not be empty", parse_client_message, _suggest(id="", n=0)
        ).id
        is None
    )
    err = _raises(
        "too_large",
        "strokes has 1001 strokes; the limit is 1000",
        parse_client_message,
        _suggest(strokes=_strokes(1001, 2)),
    )
    assert err.to_error() == Error(
        code="too_large", id="r1", message="strokes has 1001 strokes; the limit is 1000"
    )
    assert str(err) == "too_large: strokes has 1001 strokes; the limit is 1000"


MSGPACK_ERROR = ("bad_request", "binary frame is not valid msgpack")
TOO_MANY_CONTAINERS = (
    f"frame holds more than {MAX_CONTAINERS} lists and maps; "
    "a request may carry at most 20000 points"
)
BINARY_FRAMES = [
    (b"\xc1", *MSGPACK_ERROR),
    (b"", *MSGPACK_ERROR),
    (b"\x92\x01", *MSGPACK_ERROR),
    (msgpack.packb({"type": "cancel", "id": 1}) + b"\x00", *MSGPACK_ERROR),
    (msgpack.packb({"type": "x", "t": msgpack.ExtType(1, b"a")}), *MSGPACK_ERROR),
    (msgpack.packb({"type": "x", "t": msgpack.Timestamp(1, 0)}), *MSGPACK_ERROR),
    (b"\x81\xa4type\xa2\xff\xfe", *MSGPACK_ERROR),
    (msgpack.packb({1: "x"}), *MSGPACK_ERROR),
    (b"\x82\xa4type\xa1x\xa1a" + b"\x91" * 5000 + b"\xc0", *MSGPACK_ERROR),
    (msgpack.packb([1, 2]), "bad_request", "frame must be a map with a 'type' field, not list"),
    (msgpack.packb("hello"), "bad_request", "frame must be a map with a 'type' field, not string"),
    (msgpack.packb({b"type": "hello"}), "bad_request", "frame has no 'type' field"),
    (msgpack.packb({"type": None}), "bad_request", "type must be a string, not null"),
    (
        b"\x00" * (MAX_FRAME_BYTES + 1),
        "too_large",
        "frame is 12582913 bytes; the limit is 12582912",
    ),
    (
        msgpack.packb({"type": "x", "a": [[]] * (MAX_CONTAINERS + 1)}),
        "too_large",
        TOO_MANY_CONTAINERS,
    ),
    (
        msgpack.packb({"type": "x", "a": [{}] * (MAX_CONTAINERS + 1)}),
        "too_large",
        TOO_MANY_CONTAINERS,
    ),
]


@pytest.mark.parametrize(
    "frame,code,message",
    BINARY_FRAMES,
    ids=[f"{i}:{c[2][:30]}" for i, c in enumerate(BINARY_FRAMES)],
)
def test_decode_rejects_bad_binary_frames(
    frame: bytes, code: str, message: str, codec: str
) -> None:
    """Malformed, hostile or oversize msgpack frames fail with an exact code and message."""
    _raises(code, message, decode, frame)


TEXT_FRAMES = [
    (
        '{"type":"suggest","temperature":NaN}',
        "bad_request",
        "text frame contains NaN; numbers must be finite",
    ),
    (
        '{"type":"x","a":[Infinity]}',
        "bad_request",
        "text frame contains Infinity; numbers must be finite",
    ),
    (
        '{"type":"x","a":-Infinity}',
        "bad_request",
        "text frame contains -Infinity; numbers must be finite",
    ),
    ('{"type":', "bad_request", "text frame is not valid JSON: Expecting value at character 8"),
    ("", "bad_request", "text frame is not valid JSON: Expecting value at character 0"),
    ('{"type":"x"} {}', "bad_request", "text frame is not valid JSON: Extra data at character 13"),
    ('{"type":"x","a":' + "1" * 5000 + "}", "bad_request", "text frame is not valid JSON"),
    (
        '{"type":"x","a":' + "[" * 20000 + "]" * 20000 + "}",
        "bad_request",
        "text frame is not valid JSON",
    ),
    ("[1]", "bad_request", "frame must be a map with a 'type' field, not list"),
    ('{"id":1}', "bad_request", "frame has no 'type' field"),
    ('{"type":1}', "bad_request", "type must be a string, not integer"),
    (" " * (MAX_FRAME_BYTES + 1), "too_large", "frame is 12582913 bytes; the limit is 12582912"),
    (
        "\u00e9" * (MAX_FRAME_BYTES // 2 + 1),
        "too_large",
        "frame is 12582914 bytes; the limit is 12582912",
    ),
    ('{"type":"x","a":[' + "[]," * MAX_CONTAINERS + "[]]}", "too_large", TOO_MANY_CONTAINERS),
]


@pytest.mark.parametrize(
    "frame,code,message", TEXT_FRAMES, ids=[f"{i}:{c[2][:30]}" for i, c in enumerate(TEXT_FRAMES)]
)
def test_decode_rejects_bad_text_frames(frame: str, code: str, message: str) -> None:
    """Malformed, non-finite or oversize JSON frames fail with an exact code and message."""
    _raises(code, message, decode, frame)


def test_json_inf_from_overflowing_literal_is_caught_by_validation() -> None:
    """1e999 parses to inf in JSON, and message validation still refuses it as not finite."""
    frame = json.dumps(_suggest(strokes=[[[0, 0], [1, 1]]])).replace("[1, 1]", "[1e999, 1]")
    _raises(
        "bad_request",
        "strokes[0][1] has a value that is not finite",
        parse_client_message,
        decode(frame),
    )


def test_encode_refuses_frames_the_peer_would_reject() -> None:
    """encode raises too_large instead of producing a frame over MAX_FRAME_BYTES."""
    big = Error(code="internal", message="x" * MAX_FRAME_BYTES)
    for binary in (True, False):
        with pytest.raises(ProtocolError) as info:
            encode(big, binary=binary)
        assert info.value.code == "too_large"
        assert re.fullmatch(r"error frame is \d+ bytes; the limit is 12582912", info.value.message)


def test_module_imports_only_stdlib_and_msgpack() -> None:
    """The module imports nothing but the stdlib and msgpack, so the add-ons can embed it."""
    tree = ast.parse(MODULE_PATH.read_text())
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    imported |= {
        node.module.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0
    }
    assert imported - set(sys.stdlib_module_names) == {"msgpack"}
    code = (
        "import sys\nfor m in ('numpy', 'torch', 'websockets', 'sketch_server'):\n"
        "    sys.modules[m] = None\n"
        f"sys.path.insert(0, {str(MODULE_PATH.parent)!r})\n"
        "import protocol\nprotocol.decode(protocol.encode(protocol.Cancel(id=1)))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_docs_examples_are_valid_messages() -> None:
    """Every example in docs/protocol.md parses, except the session's deliberately bad request."""
    doc = (MODULE_PATH.parents[1] / "docs" / "protocol.md").read_text()
    examples = [block.strip() for block in re.findall(r"```json\n(.*?)```", doc, re.S)]
    session = re.search(r"## Example session.*?```\n(.*?)```", doc, re.S)
    assert session and len(examples) == 10
    lines = re.split(r"\n(?=[→←] )", session.group(1).strip())
    examples += [line[2:].replace("\n", " ") for line in lines[:-2]]
    for frame in examples:
        _parse_any(decode(frame))
    bad, reply = (decode(line[2:].replace("\n", " ")) for line in lines[-2:])
    err = _raises(reply["code"], reply["message"], parse_client_message, bad)
    assert err.to_error() == parse_server_message(reply)


# --- fuzzing -------------------------------------------------------------------------------------

FIELD_NAMES = sorted(
    {
        f.name
        for cls in (Hello, Welcome, ModelInfo, Suggest, Cancel, StrokeChunk, Done, Error)
        for f in dataclasses.fields(cls)
    }
)
TYPE_NAMES = ["hello", "suggest", "cancel", "welcome", "stroke", "done", "error"]
scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(1 << 63), (1 << 64) - 1)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
    | st.binary(max_size=10)
    | st.sampled_from(TYPE_NAMES + list(p.MODES))
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=6)
        | st.dictionaries(st.text(max_size=8) | st.sampled_from(FIELD_NAMES), inner, max_size=5)
    ),
    max_leaves=12,
)
messages = st.builds(
    lambda t, rest: {**rest, "type": t},
    st.sampled_from(TYPE_NAMES) | st.text(max_size=8) | scalars,
    st.dictionaries(st.sampled_from(FIELD_NAMES) | st.text(max_size=8), values, max_size=8),
)
FUZZ = settings(max_examples=300, deadline=200, suppress_health_check=[HealthCheck.too_slow])


def _only_protocol_errors(fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except ProtocolError as e:
        assert e.code in p.ERROR_CODES and e.message
        return None


@FUZZ
@given(messages)
def test_fuzz_maps_only_raise_protocol_error(d: dict[str, Any]) -> None:
    """Arbitrary maps, as dicts and through both frame kinds, only ever raise ProtocolError."""
    for parse in (parse_client_message, parse_server_message):
        msg = _only_protocol_errors(parse, d)
        if msg is not None:  # anything accepted must survive its own round trip
            assert parse(decode(encode(msg))) == msg
        for frame in (msgpack.packb(d, use_bin_type=True), json.dumps(d, default=repr)):
            decoded = _only_protocol_errors(decode, frame)
            if decoded is not None:
                _only_protocol_errors(parse, decoded)


@FUZZ
@given(
    st.sampled_from(
        [
            "strokes",
            "conditions",
            "n",
            "temperature",
            "seed",
            "max_points",
            "bounds",
            "mode",
            "model",
            "id",
        ]
    ),
    values,
)
def test_fuzz_one_bad_field_in_a_valid_suggest(key: str, value: Any) -> None:
    """A valid suggest with one field replaced by anything is accepted or fails cleanly."""
    wire = CLIENT_MESSAGES[3].to_wire()
    wire[key] = value
    msg = _only_protocol_errors(parse_client_message, wire)
    if msg is not None:
        assert parse_client_message(decode(encode(msg, binary=False))) == msg


@FUZZ
@given(st.binary(max_size=200) | st.text(max_size=200))
def test_fuzz_raw_frames_only_raise_protocol_error(frame: bytes | str) -> None:
    """Arbitrary bytes and text fed to decode only ever raise ProtocolError."""
    d = _only_protocol_errors(decode, frame)
    if d is not None:
        _only_protocol_errors(parse_client_message, d)


def test_lone_surrogate_in_a_json_string_is_refused() -> None:
    """A JSON \\ud800 escape cannot be sent back, so it is refused where it is read."""
    frame = '{"type": "hello", "protocol": 1, "client": "x\\ud800"}'
    with pytest.raises(p.ProtocolError) as info:
        p.parse_client_message(p.decode(frame))
    assert info.value.code == "bad_request"
    assert info.value.message == "client is not valid Unicode text (it holds a lone surrogate)"


@pytest.mark.parametrize(
    "wire,rid",
    [
        ({"type": "paint", "id": "r1"}, "r1"),
        ({"id": 7}, 7),
        ({"type": 3, "id": "r2"}, "r2"),
        ({"id": [1]}, None),
        ({"type": "paint", "id": True}, None),
    ],
)
def test_errors_about_the_type_keep_a_readable_id(wire: Any, rid: Any) -> None:
    """An unknown or missing type still names the request, so the client can match the error."""
    with pytest.raises(ProtocolError) as info:
        parse_client_message(wire)
    assert info.value.id == rid and info.value.to_error().id == rid

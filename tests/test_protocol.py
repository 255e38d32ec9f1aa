"""Tests for the v1 wire protocol's messages: round trips, defaults, limits, exact error texts."""

from __future__ import annotations

import dataclasses
import json
import math
import re
from pathlib import Path
from typing import Any

import pytest

from wire import protocol as p
from wire.protocol import (
    Error,
    Hello,
    ProtocolError,
    Suggest,
    Welcome,
    decode,
    encode,
    parse_client_message,
    parse_server_message,
)

from .protocol_cases import (
    ALL_MESSAGES,
    CLIENT_MESSAGES,
    MODEL,
    SERVER_MESSAGES,
    many_strokes,
    parse_any,
    raises,
    suggest_map,
)


@pytest.mark.parametrize("msg", ALL_MESSAGES, ids=lambda m: type(m).__name__)
def test_to_wire_from_wire_round_trip(msg: Any) -> None:
    """Every message survives to_wire -> from_wire and to_wire -> parse_*_message unchanged."""
    wire = msg.to_wire()
    assert wire["type"] == msg.TYPE
    assert type(msg).from_wire(wire) == msg
    assert parse_any(wire) == msg


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
        "temperature": 0.5,
        "characters": False,
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
    s = parse_client_message(suggest_map(future_field={"x": [1]}, seed=None, n=None, model=None))
    assert s == Suggest(id="r1", mode="complete", strokes=[[(0, 0), (1, 1)]])
    h = parse_client_message({"type": "hello", "protocol": 1, "client": "c/1", "id": [1]})
    assert h == Hello(client="c/1")


def test_limits_accept_exact_maximums() -> None:
    """Exactly 1000 strokes, 20000 points, n=8 and the temperature bounds are all accepted."""
    assert len(parse_client_message(suggest_map(strokes=many_strokes(1000, 20))).strokes) == 1000
    assert (
        len(parse_client_message(suggest_map(strokes=many_strokes(1, 20000))).strokes[0]) == 20000
    )
    for changes in (
        {"n": 8},
        {"temperature": 0.01},
        {"temperature": 2},
        {"max_points": 1000},
        {"seed": -(1 << 63)},
        {"id": "x" * 64},
    ):
        parse_client_message(suggest_map(**changes))


NAN, INF = math.nan, math.inf
SEED_RANGE = "between -9223372036854775808 and 18446744073709551615"
NEEDS_STROKES = (
    "needs at least one stroke in strokes (or a raster); use mode 'generate' to draw from nothing"
)
CLIENT_ERRORS = [
    (suggest_map(strokes="abc"), "bad_request", "strokes must be a list of strokes, not string"),
    (
        suggest_map(strokes=[5]),
        "bad_request",
        "strokes[0] must be a list of [x, y] points, not integer",
    ),
    (
        suggest_map(strokes=[[[0, 0], [1, 2, 3]]]),
        "bad_request",
        "strokes[0][1] must be an [x, y] pair, not a list of 3",
    ),
    (
        suggest_map(strokes=[[[0, 0], {"x": 1}]]),
        "bad_request",
        "strokes[0][1] must be an [x, y] pair, not map",
    ),
    (
        suggest_map(strokes=[[[0, 0], ["a", 1]]]),
        "bad_request",
        "strokes[0][1] must hold two numbers, not [string, integer]",
    ),
    (
        suggest_map(strokes=[[[0, 0], [True, 1]]]),
        "bad_request",
        "strokes[0][1] must hold two numbers, not [boolean, integer]",
    ),
    (
        suggest_map(strokes=[[[0, 0], [1, 1], [NAN, 2]]]),
        "bad_request",
        "strokes[0][2] has a value that is not finite",
    ),
    (
        suggest_map(strokes=[[[0, 0], [1, -INF]]]),
        "bad_request",
        "strokes[0][1] has a value that is not finite",
    ),
    (
        suggest_map(strokes=[[[0, 0], [10**400, 1]]]),
        "bad_request",
        "strokes[0][1] has a value that is not finite",
    ),
    (
        suggest_map(strokes=many_strokes(3, 2) + [[[0, 0]]]),
        "bad_request",
        "strokes[3] has 1 point; a stroke needs at least 2",
    ),
    (
        suggest_map(strokes=[[]]),
        "bad_request",
        "strokes[0] has 0 points; a stroke needs at least 2",
    ),
    (
        suggest_map(strokes=many_strokes(1001, 2)),
        "too_large",
        "strokes has 1001 strokes; the limit is 1000",
    ),
    (
        suggest_map(strokes=many_strokes(2, 10001)),
        "too_large",
        "strokes has 20002 points in total; the limit is 20000",
    ),
    (suggest_map(id=...), "bad_request", "id is required"),
    (suggest_map(id=""), "bad_request", "id must not be empty"),
    (suggest_map(id="x" * 65), "bad_request", "id is 65 characters long; the limit is 64"),
    (suggest_map(id=1.5), "bad_request", "id must be a string or an integer, not number"),
    (suggest_map(id=True), "bad_request", "id must be a string or an integer, not boolean"),
    (suggest_map(id=1 << 64), "bad_request", f"id must be {SEED_RANGE}, not 18446744073709551616"),
    (suggest_map(mode=...), "bad_request", "mode is required"),
    (
        suggest_map(mode="draw"),
        "bad_request",
        "mode 'draw' is not one of complete, generate, refine",
    ),
    (suggest_map(mode=2), "bad_request", "mode must be a string, not integer"),
    (suggest_map(strokes=[]), "bad_request", f"mode 'complete' {NEEDS_STROKES}"),
    (suggest_map(mode="refine", strokes=...), "bad_request", f"mode 'refine' {NEEDS_STROKES}"),
    (suggest_map(model=""), "bad_request", "model must not be empty"),
    (suggest_map(model=3), "bad_request", "model must be a string, not integer"),
    (suggest_map(n=0), "bad_request", "n must be between 1 and 8, not 0"),
    (suggest_map(n=9), "bad_request", "n must be between 1 and 8, not 9"),
    (suggest_map(n=True), "bad_request", "n must be an integer, not boolean"),
    (suggest_map(n=2.0), "bad_request", "n must be an integer, not number"),
    (suggest_map(temperature=0), "bad_request", "temperature must be between 0.01 and 2.0, not 0"),
    (
        suggest_map(temperature=2.5),
        "bad_request",
        "temperature must be between 0.01 and 2.0, not 2.5",
    ),
    (suggest_map(temperature="hot"), "bad_request", "temperature must be a number, not string"),
    (suggest_map(temperature=False), "bad_request", "temperature must be a number, not boolean"),
    (suggest_map(temperature=NAN), "bad_request", "temperature must be a finite number, not nan"),
    (
        suggest_map(seed=1 << 64),
        "bad_request",
        f"seed must be {SEED_RANGE}, not 18446744073709551616",
    ),
    (suggest_map(seed=1.5), "bad_request", "seed must be an integer, not number"),
    (suggest_map(max_points=0), "bad_request", "max_points must be between 1 and 1000, not 0"),
    (
        suggest_map(max_points=1001),
        "bad_request",
        "max_points must be between 1 and 1000, not 1001",
    ),
    (
        suggest_map(bounds=[0, 0, 1]),
        "bad_request",
        "bounds must be 4 numbers [x0, y0, x1, y1], not a list of 3",
    ),
    (
        suggest_map(bounds={"x0": 0}),
        "bad_request",
        "bounds must be a list of 4 numbers [x0, y0, x1, y1], not map",
    ),
    (suggest_map(bounds=[0, 0, "1", 1]), "bad_request", "bounds[2] must be a number, not string"),
    (
        suggest_map(bounds=[0, 0, 0, 5]),
        "bad_request",
        "bounds [0, 0, 0, 5] must have x0 < x1 and y0 < y1",
    ),
    (suggest_map(conditions=["cat"]), "bad_request", "conditions must be a map, not list"),
    (
        suggest_map(conditions={"category": 3}),
        "bad_request",
        "conditions.category must be a string, not integer",
    ),
    (
        suggest_map(conditions={"category": ""}),
        "bad_request",
        "conditions.category must not be empty",
    ),
    (
        suggest_map(conditions={"": "x"}),
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
        "unknown message type 'foo'; expected one of hello, suggest, cancel, guide, trace",
    ),
    (
        {"type": "welcome"},
        "bad_request",
        "unknown message type 'welcome'; expected one of hello, suggest, cancel, guide, trace",
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
    raises(code, message, parse_client_message, wire)


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
        {**WELCOME_WIRE, "models": [{**MODEL_WIRE, "temperature": 3}]},
        "bad_request",
        "models[0].temperature must be between 0.01 and 2.0, not 3",
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
        {"type": "done", "id": "a", "samples": [many_strokes(1, 10001)] * 2, "elapsed_ms": 1},
        "too_large",
        "samples have 20002 points in total; the limit is 20000",
    ),
    (
        {"type": "done", "id": "a", "samples": [[[[0, 0], [1, NAN]]]], "elapsed_ms": 1},
        "bad_request",
        "samples[0][0][1] has a value that is not finite",
    ),
    (
        {"type": "done", "id": "a", "samples": [[]], "elapsed_ms": 1, "notes": [3]},
        "bad_request",
        "notes[0] must be a string, not integer",
    ),
    (
        {
            "type": "welcome",
            "server": "s",
            "device": "cpu",
            "protocol": 1,
            "models": [{"name": "m", "modes": ["generate"], "provenance": ""}],
        },
        "bad_request",
        "models[0].provenance must not be empty",
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
    raises(code, message, parse_server_message, wire)


def test_errors_carry_the_request_id_once_it_is_readable() -> None:
    """A ProtocolError names the request when its id was valid, so the reply can say which."""
    assert (
        raises(
            "bad_request",
            "n must be between 1 and 8, not 0",
            parse_client_message,
            suggest_map(n=0),
        ).id
        == "r1"
    )
    assert (
        raises(
            "bad_request", "mode is required", parse_client_message, suggest_map(id=7, mode=...)
        ).id
        == 7
    )
    assert (
        raises(
            "bad_request", "id must not be empty", parse_client_message, suggest_map(id="", n=0)
        ).id
        is None
    )
    err = raises(
        "too_large",
        "strokes has 1001 strokes; the limit is 1000",
        parse_client_message,
        suggest_map(strokes=many_strokes(1001, 2)),
    )
    assert err.to_error() == Error(
        code="too_large", id="r1", message="strokes has 1001 strokes; the limit is 1000"
    )
    assert str(err) == "too_large: strokes has 1001 strokes; the limit is 1000"


def test_docs_examples_are_valid_messages() -> None:
    """Every example in docs/protocol.md parses, except the session's deliberately bad request."""
    doc = (Path(p.__file__).parents[1] / "docs" / "protocol.md").read_text()
    examples = [block.strip() for block in re.findall(r"```json\n(.*?)```", doc, re.S)]
    session = re.search(r"## Example session.*?```\n(.*?)```", doc, re.S)
    assert session and len(examples) == 14
    lines = re.split(r"\n(?=[→←] )", session.group(1).strip())
    examples += [line[2:].replace("\n", " ") for line in lines[:-2]]
    for frame in examples:
        parse_any(decode(frame))
    bad, reply = (decode(line[2:].replace("\n", " ")) for line in lines[-2:])
    err = raises(reply["code"], reply["message"], parse_client_message, bad)
    assert err.to_error() == parse_server_message(reply)


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

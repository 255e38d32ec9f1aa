"""The server on malformed, hostile and fuzzed messages: a named error for each, never a crash
or a hang, and the connection (or the server) goes on as the spec says."""

from __future__ import annotations

import asyncio
import json
import math
from pathlib import Path
from typing import Any

import msgpack
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed

from sketch_server.server import SketchServer
from wire.protocol import MAX_FRAME_BYTES, ProtocolError, Suggest, parse_client_message

from .conftest import FACE, TIMEOUT, Client, check_result

pytestmark = pytest.mark.timeout(120)
REPO = Path(__file__).resolve().parent.parent


# --- malformed messages -------------------------------------------------------------------

POINT_HEAVY = [[[float(i), float(j)] for j in range(300)] for i in range(100)]  # 30,000 points
MALFORMED: list[tuple[str, bytes | str, str, str, str | None]] = [
    (
        "wrong type",
        msgpack.packb({"type": "suggest", "id": "r", "mode": "generate", "n": "2"}),
        "bad_request",
        "n must be an integer, not string",
        "r",
    ),
    (
        "missing field",
        msgpack.packb({"type": "suggest", "id": "r"}),
        "bad_request",
        "mode is required",
        "r",
    ),
    (
        "NaN",
        msgpack.packb({"type": "suggest", "id": "r", "mode": "generate", "temperature": math.nan}),
        "bad_request",
        "temperature must be a finite number",
        "r",
    ),
    (
        "NaN point",
        msgpack.packb(
            {"type": "suggest", "id": "r", "mode": "refine", "strokes": [[[0, 0], [math.inf, 1]]]}
        ),
        "bad_request",
        "strokes[0][1] has a value that is not finite",
        "r",
    ),
    (
        "NaN in JSON",
        '{"type": "suggest", "id": "r", "mode": "generate", "temperature": NaN}',
        "bad_request",
        "numbers must be finite",
        "r",  # the frame is refused as a whole, but its id is readable
    ),
    (
        "huge array",
        msgpack.packb({"type": "suggest", "id": "r", "mode": "refine", "strokes": POINT_HEAVY}),
        "too_large",
        "30000 points in total; the limit is 20000",
        "r",
    ),
    (
        "too many strokes",
        msgpack.packb(
            {"type": "suggest", "id": "r", "mode": "refine", "strokes": [[[0, 0], [1, 1]]] * 1001}
        ),
        "too_large",
        "1001 strokes; the limit is 1000",
        "r",
    ),
    (
        "frame over 12 MiB",
        msgpack.packb(
            {"type": "suggest", "id": "r", "mode": "generate", "pad": "x" * (MAX_FRAME_BYTES + 10)}
        ),
        "too_large",
        f"the limit is {MAX_FRAME_BYTES}",
        None,
    ),
    (
        "unknown type",
        msgpack.packb({"type": "paint", "id": "r"}),
        "bad_request",
        "unknown message type 'paint'",
        "r",
    ),
    ("no type", msgpack.packb({"id": "r"}), "bad_request", "frame has no 'type' field", "r"),
    ("type not a string", '{"type": 3, "id": 7}', "bad_request", "type must be a string", 7),
    ("not a map", msgpack.packb([1, 2, 3]), "bad_request", "frame must be a map", None),
    ("bad msgpack", b"\xc1\x00\x01", "bad_request", "binary frame is not valid msgpack", None),
    (
        "lone surrogate",
        '{"type": "suggest", "id": "\\ud800", "mode": "generate"}',
        "bad_request",
        "unpaired UTF-16 surrogate",
        None,
    ),
    ("bad JSON", '{"type": "suggest", ', "bad_request", "text frame is not valid JSON", None),
    (
        "one-point stroke",
        msgpack.packb({"type": "suggest", "id": "r", "mode": "refine", "strokes": [[[5, 5]]]}),
        "bad_request",
        "strokes[0] has 1 point; a stroke needs at least 2",
        "r",
    ),
    (
        "n too big",
        msgpack.packb({"type": "suggest", "id": "r", "mode": "generate", "n": 9}),
        "bad_request",
        "n must be between 1 and 8",
        "r",
    ),
    (
        "unknown model",
        msgpack.packb({"type": "suggest", "id": "r", "mode": "generate", "model": "picasso"}),
        "unknown_model",
        "model 'picasso' is not on this server",
        "r",
    ),
    (
        "unknown condition",
        msgpack.packb(
            {"type": "suggest", "id": "r", "mode": "generate", "conditions": {"style": "sketchy"}}
        ),
        "unknown_condition",
        "has no condition 'style'",
        "r",
    ),
    (
        "overflowing bounds",
        msgpack.packb(
            {"type": "suggest", "id": "r", "mode": "generate", "bounds": [-1e308, 0, 1e308, 10]}
        ),
        "bad_request",
        "too wide",
        "r",
    ),
    (
        "unknown category",
        msgpack.packb(
            {
                "type": "suggest",
                "id": "r",
                "mode": "generate",
                "conditions": {"category": "unicorn"},
            }
        ),
        "unknown_condition",
        "'unicorn' is not a category",
        "r",
    ),
]


@pytest.mark.parametrize(
    "frame,code,text,rid", [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED]
)
async def test_malformed_message(
    client: Client, frame: bytes | str, code: str, text: str, rid: str | None
) -> None:
    """Each malformed frame gets its error code, with the id when readable; the connection lives."""
    await client.send_raw(frame)
    error = await client.expect_error(code, text)
    assert error.get("id") == rid
    check_result(await client.suggest("after", mode="complete", strokes=FACE, max_points=5), 1)


async def test_json_text_frames_work_on_a_binary_connection(client: Client) -> None:
    """A valid JSON text request on a binary connection is served, with binary replies."""
    await client.send_raw(
        json.dumps(
            {
                "type": "suggest",
                "id": "t\U0001f600",
                "mode": "complete",
                "strokes": FACE,
                "max_points": 5,
            }
        )
    )  # a surrogate pair
    check_result(await client.result("t\U0001f600"), 1)


async def test_frame_far_over_the_limit_closes_only_that_connection(
    server: SketchServer, client: Client
) -> None:
    """A frame over websockets' max_size closes that connection with 1009; others go on."""
    other = await Client.open(server.url)
    await client.send_raw(b"\x00" * (server.config.max_frame + 1))
    with pytest.raises(ConnectionClosed) as closed:
        await client.recv()
    assert closed.value.sent is not None and closed.value.sent.code == 1009
    check_result(await other.suggest(mode="complete", strokes=FACE, max_points=5), 1)
    await other.close()


# --- fuzzing ------------------------------------------------------------------------------

_any = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
    | st.binary(max_size=4),
    lambda kids: (
        st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=6), kids, max_size=3)
    ),
    max_leaves=12,
)
_point = st.lists(st.integers(-5, 300) | st.floats(-1e6, 1e6) | _any, min_size=1, max_size=3)
_FIELDS = {
    "id": st.text(max_size=70) | st.integers(-(2**63), 2**64 - 1) | _any,
    "mode": st.sampled_from(["complete", "generate", "refine"]) | _any,
    "strokes": st.lists(st.lists(_point, max_size=5), max_size=4) | _any,
    "conditions": st.dictionaries(
        st.sampled_from(["category", "style"]),
        st.sampled_from(["cat", "unicorn"]) | _any,
        max_size=2,
    )
    | _any,
    "n": st.integers(-1, 9) | _any,
    "temperature": st.floats(allow_nan=True) | _any,
    "seed": st.integers(-(2**63), 2**64 - 1) | _any,
    "max_points": st.integers(-1, 25) | _any,
    "bounds": st.lists(st.floats(-1e3, 1e3), min_size=3, max_size=5) | _any,
    "model": st.sampled_from(["objects", "nope"]) | _any,
    "protocol": st.integers(0, 2) | _any,
    "client": st.text(max_size=140) | _any,
    "token": st.text(max_size=4) | _any,
}
_coordinate = st.floats(-1e4, 1e4) | st.integers(-100, 400)
_GOOD_SUGGEST = st.fixed_dictionaries(
    {
        "type": st.just("suggest"),
        "id": st.text(min_size=1, max_size=6) | st.integers(0, 99),
        "mode": st.sampled_from(["complete", "generate", "refine"]),
        "strokes": st.lists(
            st.lists(st.lists(_coordinate, min_size=2, max_size=2), min_size=2, max_size=6),
            min_size=1,
            max_size=3,
        ),
    },
    optional={
        "n": st.integers(1, 3),
        "max_points": st.integers(1, 15),
        "temperature": st.floats(0.01, 2.0),
        "seed": st.integers(0, 2**64 - 1),
        "conditions": st.just({"category": "cat"}),
        "bounds": st.just([0, 0, 50, 80]),
    },
)
# Mostly valid requests with a field or two broken, then maps of anything.
_MESSAGES = st.builds(
    lambda good, broken: {**good, **broken},
    _GOOD_SUGGEST,
    st.dictionaries(st.sampled_from(sorted(_FIELDS)), _any, max_size=2),
) | st.fixed_dictionaries(
    {"type": st.sampled_from(["hello", "suggest", "cancel", "welcome", "done"]) | _any},
    optional=_FIELDS,
)


def _frame(msg: dict[str, Any], text: bool) -> bytes | str:
    if text:
        try:
            return json.dumps(msg)
        except (TypeError, ValueError):  # bytes have no JSON form: send msgpack instead
            pass
    return msgpack.packb(msg, use_bin_type=True)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(msg=_MESSAGES, text=st.booleans(), raw=st.none() | st.binary(max_size=40))
async def test_fuzzed_messages_never_crash_or_hang(
    server: SketchServer, msg: dict[str, Any], text: bool, raw: bytes | None
) -> None:
    """Random maps and bytes get valid replies (never `internal`), and the connection lives on."""
    c = await Client.open(server.url)
    try:
        await c.send_raw(raw if raw is not None else _frame(msg, text))
        try:
            started = parse_client_message(msg) if raw is None else None
        except ProtocolError:
            started = None
        if isinstance(started, Suggest):
            await c.send({"type": "cancel", "id": started.id})
        await c.send({"type": "hello", "protocol": 1, "client": "sentinel/1"})
        replies: list[dict[str, Any]] = []

        def finished() -> bool:
            sentinel = any(
                r["type"] == "error" and "already said hello" in r["message"] for r in replies
            )
            ended = not isinstance(started, Suggest) or any(
                r["type"] in ("done", "error") and r.get("id") == started.id for r in replies
            )
            return sentinel and ended

        async with asyncio.timeout(TIMEOUT):
            while not finished():
                replies.append(await c.recv())
        assert not any(r.get("code") == "internal" for r in replies), replies
    finally:
        await c.close()
    assert server.engine._thread is not None and server.engine._thread.is_alive()

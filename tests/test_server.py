"""End-to-end tests: a real server on 127.0.0.1 port 0 with a real model and websockets clients."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import math
from pathlib import Path
from typing import Any

import msgpack
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed, InvalidStatus

from sketch_server.engine import Job
from sketch_server.protocol import MAX_FRAME_BYTES, ProtocolError, Suggest, parse_client_message
from sketch_server.server import SketchServer

from .conftest import FACE, TIMEOUT, Client, Hold, Result

pytestmark = pytest.mark.timeout(120)
REPO = Path(__file__).resolve().parent.parent


def check_result(result: Result, n: int) -> None:
    """A finished request: `done` holds exactly what the `stroke` messages streamed, per sample."""
    assert result.end["type"] == "done", result.end
    assert isinstance(result.end["elapsed_ms"], int) and result.end["elapsed_ms"] >= 0
    samples = result.samples
    assert len(samples) == n
    streamed: list[list[Any]] = [[] for _ in range(n)]
    for msg in result.strokes:
        assert msg["index"] == len(streamed[msg["sample"]]), "indexes count up without gaps"
        streamed[msg["sample"]].append(msg["points"])
    assert streamed == samples
    for sample in samples:
        for stroke in sample:
            assert len(stroke) >= 2
            assert all(math.isfinite(v) for point in stroke for v in point)


async def wait_until(condition: Any, timeout: float = TIMEOUT) -> None:
    """Poll `condition()` until it is true, or fail after `timeout` seconds."""
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.02)


# --- hello and welcome --------------------------------------------------------------------


async def test_hello_gets_welcome(server: SketchServer, model: str) -> None:
    """A binary hello gets a binary welcome listing the model, its conditions and modes."""
    c = await Client.open(server.url, hello=False)
    welcome = await c.hello()
    assert welcome["type"] == "welcome" and welcome["protocol"] == 1
    assert welcome["server"].startswith("ai-sketcher/")
    assert welcome["device"] == "cpu"
    [info] = welcome["models"]
    assert info["name"] == model
    assert "cat" in info["conditions"]["category"]
    assert set(info["modes"]) == {"complete", "generate", "refine"}
    await c.close()


async def test_text_hello_gets_text_replies(server: SketchServer) -> None:
    """After a JSON hello every reply is a text frame, even to a binary request."""
    c = await Client.open(server.url, binary=False)
    await c.send(
        {
            "type": "suggest",
            "id": 1,
            "mode": "complete",
            "strokes": FACE,
            "seed": 3,
            "max_points": 10,
        },
        binary=True,
    )
    check_result(await c.result(1), 1)
    await c.close()


async def test_first_message_must_be_hello(server: SketchServer) -> None:
    """A suggest before hello gets bad_request, and a hello afterwards still works."""
    c = await Client.open(server.url, hello=False)
    await c.send({"type": "suggest", "id": "early", "mode": "generate"})
    error = await c.expect_error("bad_request", "the first message must be hello, not suggest")
    assert error["id"] == "early"
    assert (await c.hello())["type"] == "welcome"
    await c.close()


async def test_wrong_protocol_then_hello_again(server: SketchServer) -> None:
    """hello with protocol 2 gets unsupported_protocol; the connection stays open for hello 1."""
    c = await Client.open(server.url, hello=False)
    await c.send({"type": "hello", "protocol": 2, "client": "future/9"})
    await c.expect_error("unsupported_protocol", "protocol 2 is not supported")
    assert (await c.hello())["type"] == "welcome"
    await c.close()


async def test_second_hello_is_bad_request(client: Client) -> None:
    """A second hello after welcome gets bad_request and changes nothing."""
    await client.send({"type": "hello", "protocol": 1, "client": "pytest/1"})
    await client.expect_error("bad_request", "already said hello")
    check_result(await client.suggest(mode="complete", strokes=FACE, max_points=5), 1)


async def test_no_hello_in_time_closes(make_server: Any) -> None:
    """A connection that never says hello is closed with 1008 after hello_timeout."""
    server = await make_server(hello_timeout=0.3)
    c = await Client.open(server.url, hello=False)
    with pytest.raises(ConnectionClosed) as closed:
        await c.recv(timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008


# --- suggestions --------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["complete", "generate", "refine"])
async def test_suggest_streams_strokes_then_done(client: Client, mode: str) -> None:
    """Each mode streams `stroke` messages and ends with a `done` holding the same strokes."""
    strokes = [] if mode == "generate" else FACE
    result = await client.suggest(
        mode=mode, strokes=strokes, n=8, seed=5, conditions={"category": "cat"}, max_points=30
    )
    check_result(result, 8)
    assert result.strokes, "the model drew nothing at all"
    assert result.end["cancelled"] is False
    for sample in result.samples:
        assert sum(len(s) for s in sample) <= 30 + len(sample)  # 1-point strokes are doubled
        if mode == "complete":  # only the new strokes: the given ones are never re-sent
            assert not any(stroke in FACE for stroke in sample)


async def test_n_alternatives(client: Client) -> None:
    """n=3 gives three samples, drawn differently."""
    result = await client.suggest(mode="complete", strokes=FACE, n=3, seed=11, max_points=40)
    check_result(result, 3)
    assert {msg["sample"] for msg in result.strokes} <= {0, 1, 2}
    assert len({json.dumps(s) for s in result.samples}) > 1


async def test_same_seed_same_result(client: Client) -> None:
    """The same request and seed give the same strokes; another seed gives others."""
    ask = dict(mode="complete", strokes=FACE, n=2, seed=42, temperature=0.8, max_points=40)
    first = await client.suggest("a", **ask)
    again = await client.suggest("b", **ask)
    other = await client.suggest("c", **{**ask, "seed": 43})
    assert first.samples == again.samples
    assert first.samples != other.samples


async def test_cancel(client: Client, hold: Hold) -> None:
    """A cancel ends the request with done(cancelled) holding exactly the strokes streamed."""
    await client.send(
        {
            "type": "suggest",
            "id": "long",
            "mode": "complete",
            "strokes": FACE,
            "n": 8,
            "max_points": 1000,
            "seed": 1,
        }
    )
    await client.send({"type": "cancel", "id": "long"})
    await client.send({"type": "hello", "protocol": 1, "client": "pytest/1"})
    await client.expect_error("bad_request", "already said hello")  # the cancel has been read
    hold.release()
    result = await client.result("long")
    check_result(result, 8)
    assert result.end["cancelled"] is True


async def test_cancel_of_unknown_id_is_ignored(client: Client) -> None:
    """Cancelling an id that never existed sends nothing back."""
    await client.send({"type": "cancel", "id": "never"})
    await client.send({"type": "hello", "protocol": 1, "client": "pytest/1"})
    await client.expect_error("bad_request", "already said hello")  # nothing came before it


async def test_duplicate_id_in_flight(client: Client, hold: Hold) -> None:
    """A second request with the id of one still open gets bad_request; the first goes on."""
    ask = {
        "type": "suggest",
        "id": 7,
        "mode": "complete",
        "strokes": FACE,
        "n": 8,
        "max_points": 1000,
    }
    await client.send(ask)
    await client.send(ask)
    error = await client.expect_error("bad_request", "request id 7 is still in flight")
    assert error["id"] == 7
    await client.send({"type": "cancel", "id": 7})
    hold.release()
    check_result(await client.result(7), 8)


async def test_two_clients_at_once(server: SketchServer) -> None:
    """Two connections drawing at the same time both get their whole results."""
    a, b = await Client.open(server.url), await Client.open(server.url, binary=False)
    ra, rb = await asyncio.gather(
        a.suggest("x", mode="complete", strokes=FACE, n=4, seed=1, max_points=60),
        b.suggest("x", mode="refine", strokes=FACE, n=2, seed=2, max_points=60),
    )
    check_result(ra, 4)
    check_result(rb, 2)
    await a.close()
    await b.close()


async def test_disconnect_mid_job_frees_it(
    server: SketchServer, hold: Hold, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A client that leaves mid-request has its jobs cancelled, and other clients carry on."""
    jobs: list[Job] = []
    submit = server.engine.submit

    def recording_submit(*args: Any, **kwargs: Any) -> Job:
        jobs.append(submit(*args, **kwargs))
        return jobs[-1]

    monkeypatch.setattr(server.engine, "submit", recording_submit)
    leaver = await Client.open(server.url)
    for rid in (1, 2):
        await leaver.send(
            {
                "type": "suggest",
                "id": rid,
                "mode": "complete",
                "strokes": FACE,
                "n": 8,
                "max_points": 1000,
            }
        )
    await wait_until(lambda: server.engine.open_jobs == 2)
    assert await asyncio.to_thread(hold.stepping.wait, TIMEOUT)  # the engine is drawing them
    leaver.ws.transport.abort()  # gone without a closing handshake, as a crash would
    await wait_until(lambda: len(jobs) == 2 and all(j.cancelled.is_set() for j in jobs))
    hold.release()
    await wait_until(lambda: server.engine.open_jobs == 0)
    stayer = await Client.open(server.url)
    check_result(await stayer.suggest(mode="complete", strokes=FACE, max_points=10), 1)
    await stayer.close()


async def test_pings_and_clients_are_served_while_drawing(
    server: SketchServer, client: Client, hold: Hold
) -> None:
    """While the engine is inside a sampling step, pings, cancels and new clients are served."""
    await client.send(
        {
            "type": "suggest",
            "id": "big",
            "mode": "complete",
            "strokes": FACE,
            "n": 8,
            "max_points": 1000,
        }
    )
    assert await asyncio.to_thread(hold.stepping.wait, TIMEOUT)
    pong = await client.ws.ping()
    await asyncio.wait_for(pong, 5)
    other = await Client.open(server.url)  # hello and welcome
    await other.close()
    await client.send({"type": "cancel", "id": "big"})
    hold.release()
    assert (await client.result("big")).end["cancelled"] is True


async def test_busy_per_connection(make_server: Any, hold: Hold) -> None:
    """Past max_jobs_per_connection open requests, the next one gets busy."""
    server = await make_server(max_jobs_per_connection=2)
    c = await Client.open(server.url)
    for rid in (1, 2, 3):
        await c.send(
            {
                "type": "suggest",
                "id": rid,
                "mode": "complete",
                "strokes": FACE,
                "n": 8,
                "max_points": 1000,
            }
        )
    error = await c.expect_error("busy", "already has 2 requests open")
    assert error["id"] == 3
    for rid in (1, 2):
        await c.send({"type": "cancel", "id": rid})
    hold.release()
    check_result(await c.result(1), 8)
    check_result(await c.result(2), 8)
    await c.close()


async def test_busy_engine(make_server: Any, hold: Hold) -> None:
    """When the engine holds max_jobs open requests, another client's request gets busy."""
    server = await make_server(max_jobs=1)
    a, b = await Client.open(server.url), await Client.open(server.url)
    await a.send(
        {
            "type": "suggest",
            "id": 1,
            "mode": "complete",
            "strokes": FACE,
            "n": 8,
            "max_points": 1000,
        }
    )
    await wait_until(lambda: server.engine.open_jobs == 1)
    busy = await b.suggest(1, mode="complete", strokes=FACE)
    assert busy.end["code"] == "busy" and "try again" in busy.end["message"]
    await a.send({"type": "cancel", "id": 1})
    hold.release()
    check_result(await a.result(1), 8)
    check_result(await b.suggest(2, mode="complete", strokes=FACE, max_points=5), 1)
    await a.close()
    await b.close()


async def test_mode_the_model_does_not_offer(
    server: SketchServer, model: str, client: Client
) -> None:
    """A mode missing from the model's `modes` gets bad_request."""
    server.infos[model] = dataclasses.replace(server.infos[model], modes=("complete", "refine"))
    result = await client.suggest(mode="generate")
    assert result.end["code"] == "bad_request"
    assert "cannot generate" in result.end["message"]


async def test_unexpected_failure_is_internal_and_the_server_goes_on(
    server: SketchServer, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug met while handling a request becomes an `internal` error; nothing else breaks."""

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("injected failure")

    monkeypatch.setattr(server.engine, "submit", broken)
    result = await client.suggest(mode="complete", strokes=FACE)
    assert result.end["code"] == "internal" and "server log" in result.end["message"]
    monkeypatch.undo()
    check_result(await client.suggest(mode="complete", strokes=FACE, max_points=5), 1)


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
        None,
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


# --- safety -------------------------------------------------------------------------------


async def test_foreign_origin_is_refused(server: SketchServer) -> None:
    """A browser handshake from another site gets HTTP 403; the server keeps serving."""
    with pytest.raises(InvalidStatus) as refused:
        await Client.open(server.url, origin="http://evil.example")
    assert refused.value.response.status_code == 403
    c = await Client.open(server.url)
    await c.close()


async def test_allowed_origin_is_let_in(make_server: Any) -> None:
    """An Origin on the allow list may connect; another one may not."""
    server = await make_server(allowed_origins=("http://localhost:3000",))
    c = await Client.open(server.url, origin="http://localhost:3000")
    await c.close()
    with pytest.raises(InvalidStatus):
        await Client.open(server.url, origin="http://localhost:3001")


async def test_token(make_server: Any) -> None:
    """With a token, a hello without it or with a wrong one is unauthorized and the connection
    is closed; a new connection with the right one works."""
    server = await make_server(token="s3cret")
    for hello, text in (({}, "needs a token"), ({"token": "guess"}, "hello.token is wrong")):
        c = await Client.open(server.url, hello=False)
        await c.send({"type": "hello", "protocol": 1, "client": "pytest/1", **hello})
        await c.expect_error("unauthorized", text)
        with pytest.raises(ConnectionClosed) as closed:
            await c.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    c = await Client.open(server.url, hello=False)
    await c.send({"type": "suggest", "id": 1, "mode": "generate"})
    await c.expect_error("bad_request", "the first message must be hello")
    assert (await c.hello(token="s3cret", client="pytest/\U0001f600"))["type"] == "welcome"
    await c.close()


async def test_repeated_wrong_tokens_are_slowed_down(make_server: Any) -> None:
    """After three failed hellos a minute from one address, each answer waits longer."""
    server = await make_server(token="s3cret")
    waits = []
    for _ in range(6):
        c = await Client.open(server.url, hello=False)
        started = asyncio.get_running_loop().time()
        await c.send({"type": "hello", "protocol": 1, "client": "pytest/1", "token": "guess"})
        await c.expect_error("unauthorized", "wrong")
        waits.append(asyncio.get_running_loop().time() - started)
        await c.close()
    assert max(waits[:3]) < 1.0  # not slowed (generous: the machine may be busy)
    assert waits[3] >= 0.25 and waits[4] >= 0.5 and waits[5] >= 1.0


async def test_connections_beyond_the_limit_are_refused(make_server: Any) -> None:
    """Past max_connections, a handshake gets HTTP 503 that says why; closing one lets in the
    next."""
    server = await make_server(max_connections=2)
    first, second = await Client.open(server.url), await Client.open(server.url)
    with pytest.raises(InvalidStatus) as refused:
        await Client.open(server.url)
    assert refused.value.response.status_code == 503
    assert b"connections open" in refused.value.response.body
    await first.close()
    await wait_until(lambda: len(server.connections) < 2)
    third = await Client.open(server.url)
    await second.close()
    await third.close()


@pytest.mark.parametrize(
    "fields",
    [
        {"mode": "generate", "bounds": [1e300, 1e300, 1.7e300, 1.7e300]},
        {"mode": "complete", "strokes": [[[1e13, 0], [1e13 + 5, 5]]]},
    ],
)
async def test_coordinates_too_large_for_float_math_are_refused(client: Client, fields) -> None:
    """Bounds or strokes far beyond any document get bad_request naming them, not internal."""
    await client.send({"type": "suggest", "id": "big", "max_points": 5, **fields})
    error = await client.expect_error("bad_request", "beyond +-1e+12")
    assert error["id"] == "big"


async def test_shutdown_ends_each_open_request_with_one_error(make_server: Any, hold: Hold) -> None:
    """Requests in flight when the server stops each get one `error` (busy), then the close."""
    server = await make_server()
    c = await Client.open(server.url)
    for rid in ("a", "b"):
        await c.send(
            {
                "type": "suggest",
                "id": rid,
                "mode": "generate",
                "max_points": 500,
                "use_library": False,
            }
        )
    await asyncio.to_thread(hold.stepping.wait, TIMEOUT)
    closing = asyncio.create_task(server.close())
    got = [await c.recv(), await c.recv()]
    assert sorted(m["id"] for m in got) == ["a", "b"]
    assert all(m["type"] == "error" and m["code"] == "busy" for m in got)
    assert "shutting down" in got[0]["message"]
    with pytest.raises(ConnectionClosed):
        await c.recv()
    hold.release()
    await closing


async def test_a_pipelining_client_does_not_hold_up_another(server: SketchServer) -> None:
    """One client pouring thousands of frames in does not stall another client's answers."""
    flood, other = await Client.open(server.url), await Client.open(server.url)
    frame = msgpack.packb({"type": "cancel", "id": "nothing"})

    async def pour() -> None:
        for _ in range(3000):
            await flood.ws.send(frame)

    pouring = asyncio.create_task(pour())
    started = asyncio.get_running_loop().time()
    result = await other.suggest("mine", mode="generate", n=1)
    took = asyncio.get_running_loop().time() - started
    await pouring
    assert result.end["type"] == "done" and took < 1.5, took  # it took 1.8 s before
    await flood.close()
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


# --- the command line ---------------------------------------------------------------------

"""End-to-end tests: a real server on 127.0.0.1 port 0 with a real model and websockets clients."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from sketch_server.engine import Job
from sketch_server.server import SketchServer

from .conftest import FACE, TIMEOUT, Client, Hold, check_result, wait_until

pytestmark = pytest.mark.timeout(120)
REPO = Path(__file__).resolve().parent.parent


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
    assert info["temperature"] == server.engine.models[model].sample.temperature
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

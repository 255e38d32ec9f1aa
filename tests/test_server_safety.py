"""The server's guards, each on a real server: Origin, token, connection limits, fairness,
numbers too large for float math, and an orderly shutdown."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import msgpack
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from sketch_server.server import SketchServer

from .conftest import TIMEOUT, Client, Hold

pytestmark = pytest.mark.timeout(120)
REPO = Path(__file__).resolve().parent.parent


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
    """After three failed hellos a minute, server-wide, each answer waits longer; the right
    token is never kept waiting."""
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
    started = asyncio.get_running_loop().time()
    right = await Client.open(server.url, hello=False)
    assert (await right.hello(token="s3cret"))["type"] == "welcome"
    assert asyncio.get_running_loop().time() - started < 0.5
    await right.close()


async def test_parallel_guesses_are_answered_one_at_a_time(make_server: Any) -> None:
    """Twenty connections guessing at once cannot each wait out their delay in parallel: the
    answers come one at a time, while the right token gets in at once."""
    server = await make_server(token="s3cret")
    for _ in range(4):  # use up the free failures
        c = await Client.open(server.url, hello=False)
        await c.send({"type": "hello", "protocol": 1, "client": "x", "token": "guess"})
        await c.expect_error("unauthorized", "wrong")
        await c.close()
    guessers = [await Client.open(server.url, hello=False) for _ in range(20)]
    loop = asyncio.get_running_loop()
    started = loop.time()
    for c in guessers:
        await c.send({"type": "hello", "protocol": 1, "client": "x", "token": "guess"})
    right = await Client.open(server.url, hello=False)
    assert (await right.hello(token="s3cret"))["type"] == "welcome"
    assert loop.time() - started < 1.0  # past the guessers, which are still waiting
    answered = 0
    try:
        async with asyncio.timeout(3.0):
            for c in guessers:
                await c.expect_error("unauthorized", "wrong")
                answered += 1
    except TimeoutError:
        pass
    assert answered <= 4, f"{answered} wrong guesses answered in 3 s"
    for c in (*guessers, right):
        await c.close()


async def test_a_full_server_makes_room_by_closing_the_connection_idle_longest(
    make_server: Any, hold: Hold
) -> None:
    """Past max_connections greeted ones, a newcomer's hello closes the one idle longest (code
    1013, try again later); when every one has a request open, the newcomer is told busy."""
    server = await make_server(max_connections=2)
    first, second = await Client.open(server.url), await Client.open(server.url)
    await second.send({"type": "cancel", "id": "x"})  # second was active more recently
    third = await Client.open(server.url)
    with pytest.raises(ConnectionClosed) as closed:
        await first.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1013
    for c in (second, third):  # both busy: nothing to make room with
        await c.send({"type": "suggest", "id": "long", "mode": "generate", "max_points": 500,
                      "use_library": False})  # fmt: skip
    await asyncio.to_thread(hold.stepping.wait, TIMEOUT)
    fourth = await Client.open(server.url, hello=False)
    await fourth.send({"type": "hello", "protocol": 1, "client": "pytest/1"})
    await fourth.expect_error("busy", "each with a request open")
    hold.release()
    for c in (second, third, fourth):
        await c.close()


async def test_connections_that_never_say_hello_do_not_lock_out_a_client(make_server: Any):
    """A token server with more silent connections than max_connections (an attacker without
    the token, reconnecting at the hello deadline) still lets the right token in; past
    max_pending silent ones, a handshake gets HTTP 503 that says why."""
    server = await make_server(token="s3cret", max_connections=4, max_pending=12)
    silent = [await Client.open(server.url, hello=False) for _ in range(11)]
    right = await Client.open(server.url, hello=False)
    assert (await right.hello(token="s3cret"))["type"] == "welcome"
    silent.append(await Client.open(server.url, hello=False))
    with pytest.raises(InvalidStatus) as refused:
        await Client.open(server.url, hello=False)
    assert refused.value.response.status_code == 503
    assert b"have yet to say hello" in refused.value.response.body
    for c in (*silent, right):
        await c.close()


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


async def test_the_guide_queue_answers_the_owner_who_used_it_least_first() -> None:
    """One owner filling the queue with slow guides does not make another wait behind all of
    them: the newcomer's guide runs next after the one running."""
    import threading
    import time

    from sketch_server.guides import GuideQueue

    queue = GuideQueue()
    queue.start()
    order: list[str] = []
    lock = threading.Lock()

    def job(name: str, seconds: float, pause: object) -> str:
        time.sleep(seconds)
        with lock:
            order.append(name)
        return name

    try:
        greedy = [asyncio.create_task(queue.run("greedy", job, f"g{i}", 0.05)) for i in range(6)]
        await asyncio.sleep(0.02)  # g0 is running
        assert await queue.run("normal", job, "n", 0.0) == "n"
        assert order.index("n") <= 2, order
        assert await asyncio.gather(*greedy) == [f"g{i}" for i in range(6)]
        with pytest.raises(ZeroDivisionError):  # a failing guide hands its error to its caller
            await queue.run("x", lambda pause: 1 / 0)
    finally:
        queue.close()

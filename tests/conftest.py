"""Shared fixtures: the model the server tests serve, a live server on port 0, and a test client."""

from __future__ import annotations

import asyncio
import json
import math
import os
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import msgpack
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.protocol import State

from model.checkpoint import Checkpoint, load, shipped
from model.sample import DecodeBatch
from sketch_server.config import ServerConfig
from sketch_server.server import SketchServer, model_name, run_server
from wire.protocol import decode, parse_server_message

MODEL_ENV = "AI_SKETCHER_TEST_MODEL"
TIMEOUT = 30.0  # seconds any single wait in a test may take; the box may be busy training
FACE = [[[10, 10], [60, 12], [62, 58]], [[20, 30], [40, 31]]]  # two strokes, document units


def find_test_model() -> Path:
    """The shipped objects model, or while it does not exist yet, $AI_SKETCHER_TEST_MODEL."""
    default = shipped("objects")
    if (default / "config.json").is_file():
        return default
    fallback = os.environ.get(MODEL_ENV)
    if fallback:
        return Path(fallback)
    pytest.fail(
        f"no model to serve: {default} has no config.json yet; train or copy the default "
        f"model there, or point {MODEL_ENV} at a checkpoint folder",
        pytrace=False,
    )


@pytest.fixture(scope="session")
def model_dir() -> Path:
    """Folder of the checkpoint the tests serve."""
    return find_test_model()


@pytest.fixture(scope="session")
def checkpoint(model_dir: Path) -> Checkpoint:
    """The served model, loaded once on the CPU and shared by every test server."""
    return load(model_dir, "cpu")


@pytest.fixture(scope="session")
def model(model_dir: Path) -> str:
    """The served model's name on the wire."""
    return model_name(model_dir)


@pytest.fixture
async def make_server(
    checkpoint: Checkpoint, model_dir: Path
) -> AsyncIterator[Callable[..., Awaitable[SketchServer]]]:
    """A factory for servers on 127.0.0.1:0 with config overrides, all closed after the test."""
    async with AsyncExitStack() as stack:

        async def start(**overrides: Any) -> SketchServer:
            config = replace(ServerConfig(port=0, models=(model_dir,)), **overrides)
            manager = run_server(config, {model_name(model_dir): checkpoint})
            return await asyncio.wait_for(stack.enter_async_context(manager), TIMEOUT)

        yield start


@pytest.fixture
async def server(make_server: Callable[..., Awaitable[SketchServer]]) -> SketchServer:
    """A server with the default settings on a free port."""
    return await make_server()


class Hold:
    """Holds every sampling step until released, so requests stay open as long as a test needs."""

    def __init__(self) -> None:
        self.released = threading.Event()
        self.stepping = threading.Event()  # set once the engine is inside a (held) step

    def release(self) -> None:
        self.released.set()


@pytest.fixture
def hold(monkeypatch: pytest.MonkeyPatch) -> Iterator[Hold]:
    """Hold the engine's sampling steps (of every server in the test) until `release()`."""
    h = Hold()
    step = DecodeBatch.step

    def held_step(self: DecodeBatch, part: Any = None) -> Any:
        h.stepping.set()
        h.released.wait(TIMEOUT)
        return step(self, part)

    monkeypatch.setattr(DecodeBatch, "step", held_step)
    yield h
    h.release()  # never leave a worker blocked


@dataclass
class Result:
    """Everything one request got: its `stroke` messages in order and its `done` or `error`."""

    strokes: list[dict[str, Any]]
    end: dict[str, Any]

    @property
    def samples(self) -> list[list[list[list[float]]]]:
        return self.end["samples"]


class Client:
    """A protocol v1 client over a real websockets connection; every wait has a timeout."""

    def __init__(self, ws: ClientConnection, binary: bool = True) -> None:
        self.ws = ws
        self.binary = binary  # frame kind this client sends, and expects back after hello
        self.pending: list[dict[str, Any]] = []  # received but not yet asked for

    @classmethod
    async def open(
        cls, url: str, *, binary: bool = True, hello: bool = True, **connect_args: Any
    ) -> Client:
        ws = await asyncio.wait_for(connect(url, open_timeout=TIMEOUT, **connect_args), TIMEOUT)
        client = cls(ws, binary)
        if hello:
            welcome = await client.hello()
            assert welcome["type"] == "welcome", welcome
        return client

    async def close(self) -> None:
        if self.ws.state is not State.CLOSED:  # closing twice trips websockets over its transport
            await asyncio.wait_for(self.ws.close(), TIMEOUT)

    async def send(self, msg: Mapping[str, Any], binary: bool | None = None) -> None:
        """Send a map as is (no validation), msgpack or JSON by this client's frame kind."""
        binary = self.binary if binary is None else binary
        await self.send_raw(
            msgpack.packb(dict(msg), use_bin_type=True) if binary else json.dumps(dict(msg))
        )

    async def send_raw(self, frame: bytes | str) -> None:
        await asyncio.wait_for(self.ws.send(frame), TIMEOUT)

    async def recv(self, timeout: float = TIMEOUT) -> dict[str, Any]:
        """The next message, checked to be a valid server message in the expected frame kind."""
        if self.pending:
            return self.pending.pop(0)
        frame = await asyncio.wait_for(self.ws.recv(), timeout)
        assert isinstance(frame, bytes) == self.binary, f"reply in the wrong frame kind: {frame!r}"
        d = decode(frame)
        parse_server_message(d)  # raises if the server sent something the protocol forbids
        return d

    async def hello(self, **fields: Any) -> dict[str, Any]:
        await self.send({"type": "hello", "protocol": 1, "client": "pytest/1", **fields})
        return await self.recv()

    async def expect_error(self, code: str, text: str = "") -> dict[str, Any]:
        """The next message, which must be an `error` with this code whose message has `text`."""
        msg = await self.recv()
        assert msg["type"] == "error", msg
        assert msg["code"] == code, msg
        assert text in msg["message"], msg
        return msg

    async def result(self, rid: Any) -> Result:
        """Collect request `rid`'s messages until its `done` or `error`, keeping others pending."""
        strokes, others = [], []
        try:
            while True:
                msg = await self.recv()
                if msg.get("id") != rid or msg["type"] not in ("stroke", "done", "error"):
                    others.append(msg)
                elif msg["type"] == "stroke":
                    strokes.append(msg)
                else:
                    return Result(strokes, msg)
        finally:
            self.pending = others + self.pending

    async def suggest(self, rid: Any = "r1", **fields: Any) -> Result:
        """Send a suggest (small max_points unless given) and wait for its whole result."""
        await self.send({"type": "suggest", "id": rid, "max_points": 30, **fields})
        return await self.result(rid)


@pytest.fixture
async def client(server: SketchServer) -> AsyncIterator[Client]:
    """A binary client that has said hello to `server`."""
    c = await Client.open(server.url)
    yield c
    await c.close()


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

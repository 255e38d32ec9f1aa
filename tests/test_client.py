"""wire/client.py against a real server: connect, stream, cancel, reconnect, errors."""

from __future__ import annotations

import asyncio
import contextlib
import http.server
import io
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import msgpack
import pytest
from PIL import Image, ImageDraw
from websockets.sync.server import serve as sync_serve

from sketch_server.config import DEFAULT_PORT, ServerConfig
from sketch_server.server import model_name, run_server
from wire import client as client_module
from wire import protocol
from wire.client import StateChanged, SuggestClient

from .conftest import FACE, TIMEOUT

pytestmark = pytest.mark.timeout(120)


class ServerThread:
    """A real server on its own event loop in a thread, so that sync tests can block freely."""

    def __init__(self, checkpoint: Any, model_dir: Any, port: int = 0, **overrides: Any) -> None:
        self.config = replace(ServerConfig(port=port, models=(model_dir,)), **overrides)
        self.models = {model_name(model_dir): checkpoint}
        self.ready = threading.Event()
        self.url = ""
        self.port = port
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)
        self._error: BaseException | None = None

    async def _main(self) -> None:
        try:
            self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
            async with run_server(self.config, self.models) as server:
                self.url, self.port = server.url, server.port
                self.ready.set()
                await self._stop.wait()
        except BaseException as e:  # re-raised by start()
            self._error = e
            self.ready.set()

    def start(self) -> ServerThread:
        self._thread.start()
        assert self.ready.wait(TIMEOUT), "the server did not start"
        if self._error is not None:
            raise self._error
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(TIMEOUT)
        assert not self._thread.is_alive(), "the server did not stop"


@pytest.fixture
def start_server(checkpoint, model_dir) -> Iterator[Callable[..., ServerThread]]:
    """A factory for threaded servers; every one is stopped after the test."""
    servers: list[ServerThread] = []

    def start(**kwargs: Any) -> ServerThread:
        servers.append(ServerThread(checkpoint, model_dir, **kwargs).start())
        return servers[-1]

    yield start
    for s in servers:
        s.stop()


@pytest.fixture
def make_client() -> Iterator[Callable[..., SuggestClient]]:
    """A factory for started clients (fast backoff for tests), all closed after the test."""
    clients: list[SuggestClient] = []

    def make(url: str, **kwargs: Any) -> SuggestClient:
        kwargs.setdefault("backoff", (0.05, 0.2))
        c = SuggestClient(url, "pytest-client/1", **kwargs)
        c.start()
        clients.append(c)
        return c

    yield make
    for c in clients:
        c.close()


def drain(c: SuggestClient, until: Callable[[Any], bool], timeout: float = TIMEOUT) -> list[Any]:
    """Poll the way a host's timer does until a message satisfies `until`; returns all seen."""
    seen: list[Any] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for msg in c.poll():
            seen.append(msg)
            if until(msg):
                return seen
        time.sleep(0.01)
    raise AssertionError(f"timed out; state {c.state!r}, error {c.error!r}, saw {seen!r}")


def wait_until(c: SuggestClient, condition: Callable[[], bool], timeout: float = TIMEOUT) -> None:
    """Keep polling (as a host does) until `condition()` holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out; state {c.state!r}, error {c.error!r}"
        c.poll()
        time.sleep(0.01)


def ends(job: str) -> Callable[[Any], bool]:
    return lambda m: isinstance(m, (protocol.Done, protocol.Error)) and m.id == job


def state_is(state: str) -> Callable[[Any], bool]:
    return lambda m: isinstance(m, StateChanged) and m.state == state


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_connects_and_reports_the_welcome(start_server, make_client, model):
    """The client says hello, reports 'connected' and hands the welcome to the host."""
    server = start_server()
    c = make_client(server.url)
    seen = drain(c, state_is("connected"))
    welcome = next(m for m in seen if isinstance(m, protocol.Welcome))
    assert c.state == "connected" and c.error is None and c.welcome == welcome
    assert [m.name for m in welcome.models] == [model]
    assert "category" in welcome.models[0].conditions


def test_streams_strokes_then_done(start_server, make_client):
    """Strokes arrive one by one before `done`, and `done` repeats exactly what was streamed."""
    c = make_client(start_server().url)
    drain(c, state_is("connected"))
    job = c.suggest("complete", FACE, {}, n=2, seed=3, max_points=40, temperature=0.6)
    seen = drain(c, ends(job))
    done = seen[-1]
    assert isinstance(done, protocol.Done) and not done.cancelled
    chunks = [m for m in seen if isinstance(m, protocol.StrokeChunk)]
    assert all(m.id == job and len(m.points) >= 2 for m in chunks)
    streamed: dict[int, dict[int, Any]] = {}
    for m in chunks:
        streamed.setdefault(m.sample, {})[m.index] = m.points
    assert len(done.samples) == 2
    for i, sample in enumerate(done.samples):
        assert [streamed.get(i, {})[j] for j in range(len(sample))] == list(sample)


def test_suggest_and_guide_send_a_paint_layer_raster(start_server, make_client):
    """A (PNG, box) raster with no strokes is traced by the server: suggest and guide answer."""
    im = Image.new("RGBA", (120, 120), (0, 0, 0, 0))
    ImageDraw.Draw(im).ellipse([20, 20, 100, 100], outline=(0, 0, 0, 255), width=3)
    buf = io.BytesIO()
    im.save(buf, "PNG")
    raster = (buf.getvalue(), [100, 100, 220, 220])
    c = make_client(start_server().url)
    drain(c, state_is("connected"))
    job = c.suggest("complete", [], {}, n=1, seed=1, max_points=40, raster=raster)
    assert isinstance(drain(c, ends(job))[-1], protocol.Done)
    guide = c.guide([], {}, k=2, raster=raster)
    reply = drain(c, lambda m: getattr(m, "id", None) == guide)[-1]
    assert isinstance(reply, protocol.GuideResult), reply


def test_trace_streams_an_images_line_drawing_then_done(start_server, make_client):
    """trace(image, box) is a job like a suggestion's: strokes of sample 0, then one Done; bytes
    that are no PNG or JPEG raise at once."""
    im = Image.new("L", (200, 160), 230)
    ImageDraw.Draw(im).ellipse([40, 30, 160, 130], fill=40)
    buf = io.BytesIO()
    im.save(buf, "JPEG")
    c = make_client(start_server().url)
    drain(c, state_is("connected"))
    assert c.welcome.trace
    job = c.trace(buf.getvalue(), [0, 0, 200, 160])
    seen = drain(c, ends(job))
    done = seen[-1]
    assert isinstance(done, protocol.Done) and done.sources == ("trace",), done
    chunks = [m for m in seen if isinstance(m, protocol.StrokeChunk) and m.id == job]
    assert chunks and [m.points for m in chunks] == list(done.samples[0])
    with pytest.raises(protocol.ProtocolError, match="not a PNG or JPEG image"):
        c.trace(b"GIF89a" + bytes(30), [0, 0, 1, 1])


def test_recent_strokes_fit_one_request():
    """A drawing over the protocol's limits is cut to its latest strokes; dots are dropped."""
    many = [[(i, 0), (i, 1)] for i in range(protocol.MAX_STROKES + 5)]
    kept = client_module.recent_strokes(many + [[(0, 0)]])
    assert len(kept) == protocol.MAX_STROKES and kept[-1] == many[-1]
    long = [[(0, 0)] * 15000, [(1, 1)] * 6000, [(2, 2)] * 10]
    assert client_module.recent_strokes(long) == long[1:]
    assert client_module.recent_strokes(FACE) == FACE


def test_requests_are_checked_before_they_are_queued(make_client):
    """A request the protocol forbids raises ProtocolError at once, naming the field."""
    c = make_client(f"ws://127.0.0.1:{free_port()}")
    with pytest.raises(protocol.ProtocolError, match="temperature"):
        c.suggest("complete", FACE, temperature=5.0)
    with pytest.raises(protocol.ProtocolError, match="needs at least one stroke"):
        c.suggest("complete", [])


def test_cancel_ends_the_job_with_a_cancelled_done(start_server, make_client, hold):
    """cancel() stops a long request; it still ends with one done, marked cancelled."""
    c = make_client(start_server().url)
    drain(c, state_is("connected"))
    job = c.suggest("generate", [], n=8, max_points=1000, seed=1, use_library=False)
    assert hold.stepping.wait(TIMEOUT)  # the job is in the batch, its step held
    c.cancel(job)
    threading.Timer(0.5, hold.release).start()  # let the cancel arrive first
    seen = drain(c, ends(job))
    assert isinstance(seen[-1], protocol.Done) and seen[-1].cancelled
    assert sum(isinstance(m, (protocol.Done, protocol.Error)) for m in seen) == 1
    c.cancel(job)  # a late cancel is harmless
    job2 = c.suggest("complete", FACE, n=1, max_points=20, seed=2)
    assert isinstance(drain(c, ends(job2))[-1], protocol.Done)


def test_reconnects_after_the_server_restarts(start_server, make_client, hold):
    """When the server stops, the open job ends with its error saying so; it reconnects later."""
    first = start_server()
    c = make_client(first.url)
    drain(c, state_is("connected"))
    job = c.suggest("generate", [], n=8, max_points=1000, seed=5, use_library=False)
    assert hold.stepping.wait(TIMEOUT)  # the job is in the batch, its step held
    threading.Timer(1.0, hold.release).start()  # the engine stops only after its step ends
    first.stop()
    seen = drain(c, ends(job))
    assert isinstance(seen[-1], protocol.Error) and "shutting down" in seen[-1].message
    wait_until(c, lambda: c.state in ("disconnected", "connecting"))  # the close follows
    wait_until(c, lambda: "no AI-Sketcher server" in (c.error or ""))
    down = c.suggest("complete", FACE)  # while it is down: fails at once, in words
    error = drain(c, ends(down))[-1]
    assert isinstance(error, protocol.Error) and "python -m sketch_server" in error.message

    start_server(port=first.port)
    drain(c, state_is("connected"))
    again = c.suggest("complete", FACE, max_points=20, seed=1)
    assert isinstance(drain(c, ends(again))[-1], protocol.Done)


def test_says_how_to_start_the_server_when_none_is_running(make_client):
    """With nothing listening, the error names the address and the command that starts a server."""
    port = free_port()
    c = make_client(f"ws://127.0.0.1:{port}")
    drain(c, state_is("disconnected"))
    assert c.error == (
        f"no AI-Sketcher server is running at ws://127.0.0.1:{port}; start it "
        f"with `python -m sketch_server --port {port}` and this add-on connects "
        "by itself"
    )
    assert client_module.start_command(client_module.DEFAULT_URL) == "python -m sketch_server"
    assert client_module.DEFAULT_PORT == DEFAULT_PORT  # the add-on looks where the server listens


def test_unauthorized_says_a_token_is_needed(start_server, make_client):
    """A server started with --token refuses a client without it, in words; with it, it works."""
    server = start_server(token="s3cret")
    refused = make_client(server.url)
    drain(refused, state_is("error"))
    assert "needs a token" in refused.error and "--token" in refused.error
    allowed = make_client(server.url, token="s3cret")
    drain(allowed, state_is("connected"))


@pytest.fixture
def stub_server() -> Iterator[Callable[[Callable[[Any], None]], str]]:
    """A websockets server in a thread running a given handler: a server that is not ours."""
    servers = []

    def start(handler: Callable[[Any], None]) -> str:
        server = sync_serve(handler, "127.0.0.1", 0)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"ws://127.0.0.1:{server.socket.getsockname()[1]}"

    yield start
    for server in servers:
        server.shutdown()


def wait_for_hangup(ws: Any) -> None:
    """Hold the connection open until the client closes it, as a real server would."""
    with contextlib.suppress(Exception):
        ws.recv(timeout=TIMEOUT)


def test_wrong_protocol_version_is_explained(make_client, stub_server):
    """A server that answers with another protocol version gets a 'same version' sentence."""

    def newer_server(ws: Any) -> None:
        ws.recv()
        ws.send(
            msgpack.packb(
                {
                    "type": "welcome",
                    "protocol": 2,
                    "server": "ai-sketcher/9",
                    "device": "cpu",
                    "models": [],
                }
            )
        )
        wait_for_hangup(ws)

    c = make_client(stub_server(newer_server))
    drain(c, state_is("error"))
    assert "another protocol version" in c.error and "same AI-Sketcher version" in c.error


def test_server_refusing_our_protocol_is_explained(make_client, stub_server):
    """An unsupported_protocol error reply to hello is reported the same way."""

    def older_server(ws: Any) -> None:
        ws.recv()
        ws.send(
            protocol.encode(
                protocol.Error(code="unsupported_protocol", message="protocol 1 is not supported")
            )
        )
        wait_for_hangup(ws)

    c = make_client(stub_server(older_server))
    drain(c, state_is("error"))
    assert "another protocol version" in c.error


def test_something_else_on_the_port_is_named(make_client):
    """An HTTP server that is not a WebSocket server is reported as not an AI-Sketcher server."""

    class Page(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    httpd = http.server.HTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        c = make_client(f"ws://127.0.0.1:{httpd.server_port}")
        drain(c, state_is("error"))
        assert "HTTP 404" in c.error and "not an AI-Sketcher server" in c.error
    finally:
        httpd.shutdown()


def test_close_is_quick_and_ends_open_jobs(start_server, make_client):
    """close() returns promptly, and a job still open then ends with an error."""
    c = make_client(start_server().url)
    drain(c, state_is("connected"))
    job = c.suggest("generate", [], n=8, max_points=1000, temperature=1.0, seed=9)
    time.sleep(0.1)
    started = time.monotonic()
    c.close()
    assert time.monotonic() - started < 2.0
    ending = [m for m in c.poll() if ends(job)(m)]
    assert len(ending) == 1
    assert isinstance(ending[0], protocol.Done) or "closed" in ending[0].message


def test_sentence_makes_status_lines():
    """Messages become sentences: capital first letter, a full stop unless one is there."""
    from wire.client import sentence

    assert sentence("no server at x") == "No server at x."
    assert sentence("Done!") == "Done!" and sentence("  ") == ""

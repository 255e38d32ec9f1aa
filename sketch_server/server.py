"""The WebSocket server: protocol v1 (docs/protocol.md) in front of the inference engine.

Plain HTTP GETs on the same port get the drawing page (sketch_server/web.py).

Each connection has one task reading frames and one task per open request forwarding that
request's strokes as the engine draws them. Nothing a client sends, and no way it leaves, can
stop another client's request or the server: protocol mistakes become `error` replies, and
unexpected failures are logged and become `internal` errors.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import math
import os
import time
from collections import deque
from collections.abc import AsyncIterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from http import HTTPStatus
from importlib import metadata
from pathlib import Path

import numpy as np
import torch
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.frames import CloseCode
from websockets.http11 import Request as HttpRequest
from websockets.http11 import Response as HttpResponse

from model.checkpoint import SHIPPED_MODELS, Checkpoint, CheckpointError, load, shipped
from model.library import LibraryError, SketchLibrary, open_library
from model.sample import Request

from . import web
from .config import ConfigError, ServerConfig
from .engine import DoneOut, Engine, EngineBusy, Job, StrokeOut, describe
from .protocol import (
    Cancel,
    ClientMessage,
    Done,
    Error,
    Guide,
    GuideDrawing,
    GuideResult,
    Hello,
    ModelInfo,
    ProtocolError,
    RequestId,
    StrokeChunk,
    Suggest,
    Welcome,
    decode,
    encode,
    parse_client_message,
    readable_id,
)

log = logging.getLogger("sketch_server")

DEFAULT_BOUNDS = (0.0, 0.0, 255.0, 255.0)  # where to draw when a request has no strokes
OFF_LOOP_BYTES = 64 << 10  # frames this big are decoded on a thread so pings keep flowing
CONDITIONS_SHOWN = 12  # allowed values an unknown_condition message lists before "and N more"
AUTH_FREE, AUTH_WINDOW, AUTH_MAX_DELAY = 3, 60.0, 5.0  # failed hellos: free, per s, most delay
MAX_COORDINATE = 1e12  # beyond this a drawing's coordinates lose all precision in float math


def _version() -> str:
    try:
        return metadata.version("ai-sketcher")
    except metadata.PackageNotFoundError:  # running from a checkout that was not pip-installed
        return "dev"


SERVER_NAME = f"ai-sketcher/{_version()}"


# --- models and devices -------------------------------------------------------------------


def resolve_device(spec: str) -> torch.device:
    """The torch device for a --device value: "auto" is CUDA when available, else the CPU."""
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(spec)
    except RuntimeError:
        raise ConfigError(f"device {spec!r} is not a torch device; use auto, cpu, cuda or "
                          "cuda:N") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(f"device {spec!r} was asked for, but this torch has no working "
                              "CUDA; use --device cpu (or auto)")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ConfigError(f"device {spec!r} does not exist; this machine has "
                              f"{torch.cuda.device_count()} CUDA device(s)")
    elif device.type != "cpu":
        raise ConfigError(f"device {spec!r} is not supported; use auto, cpu, cuda or cuda:N")
    return device


def device_label(device: torch.device) -> str:
    """How the welcome names a device, e.g. "cpu" or "cuda:0 (NVIDIA H100 80GB HBM3)"."""
    if device.type != "cuda":
        return device.type
    index = torch.cuda.current_device() if device.index is None else device.index
    return f"cuda:{index} ({torch.cuda.get_device_name(index)})"


def model_name(directory: Path) -> str:
    """A model's name on the wire: its folder's name (as given: a symlink keeps its own name)."""
    return Path(os.path.abspath(directory)).name


def load_models(dirs: tuple[Path, ...], device: torch.device) -> dict[str, Checkpoint]:
    """Load each checkpoint folder (the shipped models if none), keyed by folder name."""
    models: dict[str, Checkpoint] = {}
    for directory in dirs or tuple(shipped(name) for name in SHIPPED_MODELS):
        name = model_name(directory)
        if name in models:
            raise ConfigError(f"two models are named {name!r} (models are named by folder); "
                              "rename one of the folders")
        if not Path(directory).is_dir():
            raise ConfigError(f"model folder {directory} does not exist")
        try:
            models[name] = load(directory, device)
        except CheckpointError as e:
            raise ConfigError(str(e)) from None
    return models


def load_libraries(dirs: tuple[Path, ...], models: Mapping[str, Checkpoint]
                   ) -> dict[str, SketchLibrary]:
    """The sketch library beside each served model that has one, keyed by model name."""
    libraries = {}
    for directory in dirs or tuple(shipped(name) for name in SHIPPED_MODELS):
        name = model_name(directory)
        if name not in models:
            continue
        try:
            library = open_library(directory, models[name])
        except LibraryError as e:
            raise ConfigError(str(e)) from None
        if library is not None:
            libraries[name] = library
    return libraries


def model_infos(models: Mapping[str, Checkpoint],
                libraries: Mapping[str, SketchLibrary] | None = None) -> dict[str, ModelInfo]:
    """What the welcome says about each model, by name, in the order given."""
    return {d["name"]: ModelInfo(**d) for d in describe(models, libraries)}


def _one_thread() -> None:
    torch.set_num_threads(1)  # a guide is one small CNN pass; more threads only contend


# --- the server ---------------------------------------------------------------------------


class SketchServer:
    """A running server: the engine, the listening socket and every open connection."""

    def __init__(self, config: ServerConfig, models: Mapping[str, Checkpoint],
                 libraries: Mapping[str, SketchLibrary] | None = None) -> None:
        if not models:
            raise ConfigError("the server needs at least one model")
        self.config = config
        self.models = dict(models)
        self.libraries = dict(libraries or {})
        self.infos = model_infos(self.models, self.libraries)
        self.default_model = next(iter(self.infos))
        devices = {ckpt.device for ckpt in self.models.values()}
        self.device = ", ".join(sorted(map(device_label, devices)))
        welcome = Welcome(server=SERVER_NAME, device=self.device, models=tuple(self.infos.values()))
        self.welcome_frames = {True: encode(welcome, binary=True),
                               False: encode(welcome, binary=False)}
        self.engine = Engine(self.models, max_jobs=config.max_jobs, max_rows=config.max_rows,
                             threads=config.torch_threads, libraries=self.libraries,
                             reference_decoder=config.reference_decoder)
        # Guides run one at a time beside the engine: each is a few milliseconds of search.
        self.guides = ThreadPoolExecutor(1, "sketch-guide", initializer=_one_thread)
        self.ws: Server | None = None
        self.host = config.host
        self.port = config.port
        self.allowed_origins = config.allowed_origins  # and the page's own, once port is known
        # websockets reads this list at every handshake, so the page's origins join it after bind
        self.ws_origins: list[str | None] = [None, *config.allowed_origins]
        self.site = web.Site(web.load_assets(), web.content_security_policy(()))
        self.connections: set[_Connection] = set()
        self.auth_failures: dict[str, deque[float]] = {}  # peer host -> times of failed hellos

    @property
    def url(self) -> str:
        """The address clients connect to, e.g. ws://127.0.0.1:8737."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"ws://{host}:{self.port}"

    @property
    def page_url(self) -> str:
        """Where a browser opens the drawing page, e.g. http://127.0.0.1:8737/."""
        host = "127.0.0.1" if self.host in web.WILDCARDS else self.host
        return f"http://{f'[{host}]' if ':' in host else host}:{self.port}/"

    async def start(self) -> None:
        """Start the engine, then listen; `port` is the real port afterwards (also for port 0)."""
        self.engine.start()
        cfg = self.config
        try:
            self.ws = await serve(
                self._handle, cfg.host, cfg.port,
                origins=self.ws_origins,  # a second guard behind check_origin
                process_request=self._process_request,
                compression=None,  # loopback traffic: deflate would only cost CPU
                max_size=cfg.max_frame, ping_interval=cfg.ping_interval,
                ping_timeout=cfg.ping_timeout, close_timeout=cfg.close_timeout,
                logger=logging.getLogger("sketch_server.websockets"))
        except OSError as e:
            await asyncio.to_thread(self.engine.close)
            raise ConfigError(f"cannot listen on {cfg.host}:{cfg.port}: {e.strerror or e}; "
                              "is another server running there? Pick another --port") from None
        sockets = self.ws.sockets
        self.port = sockets[0].getsockname()[1]
        own = web.page_origins(cfg.host, self.port)
        self.allowed_origins = (*cfg.allowed_origins, *own)
        self.ws_origins.extend(own)
        self.site.csp = web.content_security_policy(own)
        if len({s.getsockname()[1] for s in sockets}) > 1:
            log.warning("%s resolved to several addresses that got different ports; "
                        "clients should use %s", cfg.host, self.url)

    async def close(self) -> None:
        """End every open request with an error, close every connection (code 1001), stop
        listening, then stop the engine."""
        for conn in list(self.connections):
            await conn.shut_down()
        if self.ws is not None:
            self.ws.close()
            await self.ws.wait_closed()
        await asyncio.to_thread(self.engine.close)
        self.guides.shutdown(wait=False, cancel_futures=True)

    def _process_request(self, connection: ServerConnection,
                         request: HttpRequest) -> HttpResponse | None:
        """Refuse foreign Origins (403); serve the page to plain GETs; let upgrades through."""
        refusal = web.check_origin(connection, request, self.allowed_origins)
        if refusal is not None:
            return refusal
        if web.is_upgrade(request) and len(self.connections) >= self.config.max_connections:
            log.warning("refused a connection: %d are open, the limit", len(self.connections))
            return connection.respond(HTTPStatus.SERVICE_UNAVAILABLE,
                                      f"the server has {len(self.connections)} connections open, "
                                      "its limit; close one and try again\n")
        return None if web.is_upgrade(request) else self.site.respond(connection, request)

    async def _handle(self, ws: ServerConnection) -> None:
        conn = _Connection(self, ws)
        self.connections.add(conn)
        try:
            await conn.serve()
        finally:
            self.connections.discard(conn)
            await conn.abandon()

    def auth_delay(self, host: str) -> float:
        """Seconds to wait before judging a hello from a host that keeps failing: nothing for
        the first AUTH_FREE failures a minute, then doubling up to AUTH_MAX_DELAY."""
        recent = self.auth_failures.get(host)
        now = time.monotonic()
        while recent and now - recent[0] > AUTH_WINDOW:
            recent.popleft()
        if not recent or len(recent) < AUTH_FREE:
            return 0.0
        return min(AUTH_MAX_DELAY, 0.25 * 2 ** (len(recent) - AUTH_FREE))

    def auth_failed(self, host: str) -> None:
        self.auth_failures.setdefault(host, deque(maxlen=64)).append(time.monotonic())


async def start_server(config: ServerConfig,
                       models: Mapping[str, Checkpoint] | None = None,
                       libraries: Mapping[str, SketchLibrary] | None = None) -> SketchServer:
    """Load the configured models and their libraries (unless given), start the engine and listen.

    Raises ConfigError with a message for people when a model, device or port is unusable.
    """
    if models is None:
        device = resolve_device(config.device)
        models = await asyncio.to_thread(load_models, config.models, device)
    if libraries is None:
        libraries = await asyncio.to_thread(load_libraries, config.models, models)
    server = SketchServer(config, models, libraries)
    await server.start()
    log.info("serving %s on %s at %s", ", ".join(server.infos), server.device, server.url)
    return server


@asynccontextmanager
async def run_server(config: ServerConfig,
                     models: Mapping[str, Checkpoint] | None = None,
                     libraries: Mapping[str, SketchLibrary] | None = None
                     ) -> AsyncIterator[SketchServer]:
    """`async with run_server(config) as server:` a started server, closed on the way out."""
    server = await start_server(config, models, libraries)
    try:
        yield server
    finally:
        await server.close()


# --- one connection -----------------------------------------------------------------------


def _polyline(points: np.ndarray) -> list[list[float]]:
    """A stroke as wire points; the protocol needs 2, so a 1-point stroke is sent as [p, p]."""
    out = points.tolist()
    return out * 2 if len(out) == 1 else out


def _parse(frame: str | bytes, greeted: bool) -> ClientMessage:
    """Decode and validate one frame (pure: may run on a worker thread)."""
    d = decode(frame)
    if isinstance(frame, str):
        try:  # JSON's \ud800-style escapes can make strings that no reply could carry
            json.dumps(d, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise ProtocolError("bad_request", "text frame holds an unpaired UTF-16 surrogate "
                                "escape (\\ud800 to \\udfff), which is not valid Unicode") from None
    if not greeted and d["type"] != "hello":
        kind = d["type"] if len(d["type"]) <= 40 else d["type"][:37] + "..."
        raise ProtocolError("bad_request", f"the first message must be hello, not {kind}",
                            readable_id(d))
    return parse_client_message(d)


class _Connection:
    """One client: reads its frames in order and forwards the results of its requests."""

    def __init__(self, server: SketchServer, ws: ServerConnection) -> None:
        self.server = server
        self.config = server.config
        self.engine = server.engine
        self.ws = ws
        address = ws.remote_address
        self.peer = f"{address[0]}:{address[1]}" if address else "?"
        self.host = str(address[0]) if address else "?"
        self.client = "?"  # hello.client, once known
        self.binary: bool | None = None  # frame kind of the hello, which every reply then uses
        self.jobs: dict[RequestId, Job] = {}  # open requests by id
        self.forwarders: set[asyncio.Task[None]] = set()
        self.guides: set[RequestId] = set()  # guide ids being answered

    async def serve(self) -> None:
        """Handle frames until the client leaves; a client that never says hello is closed."""
        deadline = asyncio.get_running_loop().time() + self.config.hello_timeout
        try:
            while True:
                if self.binary is None:
                    try:
                        async with asyncio.timeout_at(deadline):
                            frame = await self.ws.recv()
                    except TimeoutError:
                        log.info("%s sent no hello within %g s; closing", self.peer,
                                 self.config.hello_timeout)
                        await self.ws.close(CloseCode.POLICY_VIOLATION,
                                            f"no hello within {self.config.hello_timeout:g} s")
                        return
                else:
                    frame = await self.ws.recv()
                await self._on_frame(frame)
                # A client pipelining many frames must not hold the loop: after each frame,
                # let the other connections and the forwarders run.
                await asyncio.sleep(0)
        except ConnectionClosed as e:
            log.debug("%s (%s) left: %s", self.peer, self.client, e)

    async def abandon(self) -> None:
        """The client has gone: stop its requests so they free their place in the batch."""
        for job in self.jobs.values():
            self.engine.cancel(job)
        if self.jobs:
            log.info("%s (%s) left with %d open request(s); cancelled them", self.peer,
                     self.client, len(self.jobs))
        self.jobs.clear()
        for task in self.forwarders:
            task.cancel()
        await asyncio.gather(*self.forwarders, return_exceptions=True)

    async def shut_down(self) -> None:
        """The server is stopping: each open request gets one `error` (busy), then no more."""
        forwarders, self.forwarders = set(self.forwarders), set()
        for task in forwarders:
            task.cancel()
        await asyncio.gather(*forwarders, return_exceptions=True)
        ended = [*self.jobs, *self.guides]
        for job in self.jobs.values():
            self.engine.cancel(job)
        self.jobs.clear()
        self.guides.clear()
        for rid in ended:
            try:
                await self._send(Error(id=rid, code="busy", message="the server is shutting "
                                       "down; send the request again when it is back"),
                                 bool(self.binary))
            except ConnectionClosed:
                return

    async def _send(self, msg: Hello | Welcome | StrokeChunk | Done | GuideResult | Error,
                    binary: bool) -> None:
        await self.ws.send(encode(msg, binary=binary))

    async def _on_frame(self, frame: str | bytes) -> None:
        received = time.perf_counter()
        frame_binary = not isinstance(frame, str)
        reply_binary = self.binary if self.binary is not None else frame_binary
        msg: ClientMessage | None = None
        try:
            greeted = self.binary is not None
            if len(frame) > OFF_LOOP_BYTES:
                msg = await asyncio.to_thread(_parse, frame, greeted)
            else:
                msg = _parse(frame, greeted)
            if isinstance(msg, Hello):
                await self._hello(msg, frame_binary)
            elif isinstance(msg, Suggest):
                self._suggest(msg, received)
            elif isinstance(msg, Guide):
                self._guide(msg, received, reply_binary)
            elif isinstance(msg, Cancel):
                job = self.jobs.get(msg.id)
                if job is not None:  # unknown or finished ids are ignored: cancel can cross done
                    self.engine.cancel(job)
        except ProtocolError as e:
            log.debug("%s (%s): %s", self.peer, self.client, e)
            await self._send(e.to_error(), reply_binary)
        except ConnectionClosed:
            raise
        except Exception:
            log.exception("failed to handle a frame from %s (%s)", self.peer, self.client)
            rid = msg.id if isinstance(msg, (Suggest, Guide)) else None
            if rid is not None and rid in self.jobs:  # it started: its forwarder sends its end
                return
            await self._send(Error(id=rid, code="internal", message="the server failed to handle "
                                   "this message; the server log has the details"), reply_binary)

    async def _hello(self, msg: Hello, frame_binary: bool) -> None:
        if self.binary is not None:
            raise ProtocolError("bad_request", "this connection has already said hello; "
                                "send hello only once per connection")
        token = self.config.token
        if token is not None:
            delay = self.server.auth_delay(self.host)
            if delay:
                await asyncio.sleep(delay)
            if msg.token is None:
                why = ("this server needs a token: put the token it was started with (--token, "
                       "AI_SKETCHER_TOKEN or --token-file) in hello.token")
            elif not hmac.compare_digest(msg.token.encode("utf-8", "surrogatepass"),
                                         token.encode("utf-8", "surrogatepass")):
                why = ("hello.token is wrong; use the token the server was started with "
                       "(--token, AI_SKETCHER_TOKEN or --token-file)")
            else:
                why = ""
            if why:
                self.server.auth_failed(self.host)
                log.warning("%s sent a hello without the right token; closing", self.peer)
                await self._send(Error(code="unauthorized", message=why), frame_binary)
                await self.ws.close(CloseCode.POLICY_VIOLATION, "unauthorized")
                return
        self.client = msg.client
        self.binary = frame_binary
        log.info("%s connected: %s", self.peer, msg.client)
        await self.ws.send(self.server.welcome_frames[frame_binary])

    def _model(self, name: str | None, conditions: Mapping[str, str], rid: RequestId
               ) -> tuple[str, ModelInfo]:
        """The named (or default) model and its description, once the conditions are checked."""
        name = name if name is not None else self.server.default_model
        info = self.server.infos.get(name)
        if info is None:
            raise ProtocolError("unknown_model", f"model {name!r} is not on this server; it has "
                                f"{', '.join(map(repr, self.server.infos))}", rid)
        for key, value in conditions.items():
            _check_condition(info, key, value, rid)
        return name, info

    def _guide(self, msg: Guide, received: float, binary: bool) -> None:
        """Find the library drawings that fit the strokes, on the guide thread, and answer."""
        rid = msg.id
        if rid in self.guides:
            raise ProtocolError("bad_request", f"guide id {rid!r} is still being answered; use a "
                                "new id for each guide", rid)
        if len(self.guides) >= self.config.max_jobs_per_connection:
            raise ProtocolError("busy", f"this connection already has {len(self.guides)} guides "
                                "open; send the next once one is answered", rid)
        name, _ = self._model(msg.model, msg.conditions, rid)
        _check_extent(msg.strokes, None, rid)
        library = self.server.libraries.get(name)
        self.guides.add(rid)
        task = asyncio.create_task(self._answer_guide(msg, library, received, binary))
        self.forwarders.add(task)
        task.add_done_callback(self.forwarders.discard)

    async def _answer_guide(self, msg: Guide, library: SketchLibrary | None, received: float,
                            binary: bool) -> None:
        try:
            found = [] if library is None else await asyncio.get_running_loop().run_in_executor(
                self.server.guides, library.guide, [np.asarray(s) for s in msg.strokes],
                dict(msg.conditions), msg.k)
            drawings = tuple(GuideDrawing(strokes=[_polyline(p) for p in strokes if len(p)],
                                          weight=min(max(weight, 0.0), 1.0), source=source)
                             for strokes, weight, source in found)
            reply: GuideResult | Error = GuideResult(
                id=msg.id, drawings=drawings,
                elapsed_ms=int((time.perf_counter() - received) * 1000))
        except Exception:
            log.exception("guide %r from %s failed", msg.id, self.peer)
            reply = Error(id=msg.id, code="internal", message="the server failed to find a "
                          "guide; the server log has the details")
        finally:
            self.guides.discard(msg.id)
        try:
            await self._send(reply, binary)
        except ConnectionClosed:
            pass

    def _suggest(self, msg: Suggest, received: float) -> None:
        """Check a request against this server's models and limits, then start it."""
        rid = msg.id
        if rid in self.jobs:
            raise ProtocolError("bad_request", f"request id {rid!r} is still in flight; use a new "
                                "id for each request that has not finished", rid)
        name, info = self._model(msg.model, msg.conditions, rid)
        if msg.mode not in info.modes:
            raise ProtocolError("bad_request", f"model {name!r} cannot {msg.mode}; it offers "
                                f"{', '.join(info.modes)}", rid)
        _check_extent(msg.strokes, msg.bounds, rid)
        if len(self.jobs) >= self.config.max_jobs_per_connection:
            raise ProtocolError("busy", f"this connection already has {len(self.jobs)} requests "
                                "open, the most it may; wait for one to end or cancel one", rid)
        request = Request(mode=msg.mode, strokes=msg.strokes, conditions=dict(msg.conditions),
                          n=msg.n, temperature=msg.temperature, seed=msg.seed,
                          max_points=msg.max_points,
                          bounds=msg.bounds if msg.bounds is not None else DEFAULT_BOUNDS,
                          use_library=msg.use_library, strength=msg.strength)
        try:
            job = self.engine.submit(name, request, asyncio.get_running_loop(), owner=self)
        except EngineBusy as e:
            raise ProtocolError("busy", str(e), rid) from None
        self.jobs[rid] = job
        task = asyncio.create_task(self._forward(rid, job, received, bool(self.binary)))
        self.forwarders.add(task)
        task.add_done_callback(self.forwarders.discard)

    async def _forward(self, rid: RequestId, job: Job, received: float, binary: bool) -> None:
        """Send a request's strokes as they are drawn, then its one `done` or `error`."""
        try:
            while True:
                event = await job.events.get()
                if isinstance(event, StrokeOut):
                    await self._send(StrokeChunk(id=rid, sample=event.sample, index=event.index,
                                                 points=_polyline(event.points)), binary)
                    continue
                self._release(rid, job)  # before the last frame: the client may reuse the id
                if isinstance(event, DoneOut):
                    elapsed = int((time.perf_counter() - received) * 1000)
                    samples = [[_polyline(p) for p in sample] for sample in event.samples]
                    await self._send(Done(id=rid, samples=samples, elapsed_ms=elapsed,
                                          cancelled=event.cancelled,
                                          sources=event.sources or None), binary)
                else:
                    await self._send(Error(id=rid, code=event.code, message=event.message),
                                     binary)
                return
        except ConnectionClosed:
            return
        except Exception as e:  # the request ends here with one error, and nothing after it
            self.engine.cancel(job)
            self._release(rid, job)
            if isinstance(e, ProtocolError) and e.code == "too_large":
                error = Error(id=rid, code="too_large", message=f"the result is too large to "
                              f"send ({e.message}); ask for fewer samples or max_points")
            else:
                log.exception("failed to send the result of request %r to %s", rid, self.peer)
                error = Error(id=rid, code="internal", message="the server failed to send this "
                              "result; the server log has the details")
            try:
                await self._send(error, binary)
            except ConnectionClosed:
                pass
            except Exception:
                log.exception("could not send the error that ends request %r either", rid)

    def _release(self, rid: RequestId, job: Job) -> None:
        if self.jobs.get(rid) is job:
            del self.jobs[rid]


def _check_extent(strokes: Sequence[Sequence[tuple[float, float]]],
                  bounds: tuple[float, float, float, float] | None, rid: RequestId) -> None:
    """Refuse a drawing area too wide for a float: the strokes drawn in it would overflow too."""
    if strokes:
        xs = [x for stroke in strokes for x, _ in stroke]
        ys = [y for stroke in strokes for _, y in stroke]
        what, width, height = "strokes", max(xs) - min(xs), max(ys) - min(ys)
    elif bounds is not None:
        x0, y0, x1, y1 = bounds
        what, width, height = "bounds", x1 - x0, y1 - y0
    else:
        return
    if not (math.isfinite(width) and math.isfinite(height)):
        raise ProtocolError("bad_request", f"{what} span an area too wide to compute with "
                            "(its width or height overflows a 64-bit float); draw in a smaller "
                            "area", rid)
    corners = ([abs(v) for stroke in strokes for p in stroke for v in p] if strokes
               else [abs(v) for v in (bounds or ())])
    if max(corners, default=0.0) > MAX_COORDINATE:
        raise ProtocolError("bad_request", f"{what} reach coordinates beyond +-{MAX_COORDINATE:g}"
                            ", where a drawing loses all precision; move it nearer the origin",
                            rid)


def _check_condition(info: ModelInfo, key: str, value: str, rid: RequestId) -> None:
    """Raise unknown_condition unless the model takes condition `key` with this `value`."""
    allowed = info.conditions.get(key)
    if allowed is None:
        takes = ", ".join(map(repr, info.conditions)) or "none"
        raise ProtocolError("unknown_condition", f"model {info.name!r} has no condition {key!r}; "
                            f"it takes: {takes}", rid)
    if allowed and value not in allowed:
        shown = ", ".join(map(repr, allowed[:CONDITIONS_SHOWN]))
        more = len(allowed) - CONDITIONS_SHOWN
        rest = f" and {more} more (the welcome message lists them all)" if more > 0 else ""
        raise ProtocolError("unknown_condition", f"{value!r} is not a {key} model {info.name!r} "
                            f"knows; it knows {shown}{rest}", rid)

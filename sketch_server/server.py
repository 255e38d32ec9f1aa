"""The WebSocket server: protocol v1 (docs/protocol.md) in front of the inference engine.

Each connection (sketch_server/connection.py) has one task reading frames and one task per open
request forwarding that request's strokes as the engine draws them. Nothing a client sends, and
no way it leaves, can stop another client's request or the server: protocol mistakes become
`error` replies, and unexpected failures are logged and become `internal` errors.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from http import HTTPStatus

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.frames import CloseCode
from websockets.http11 import Request as HttpRequest
from websockets.http11 import Response as HttpResponse
from websockets.typing import Origin

from model.checkpoint import Checkpoint
from model.library import SketchLibrary
from wire.protocol import VERSION, Welcome, encode

from . import web
from .config import ConfigError, ServerConfig
from .connection import Connection
from .engine import Engine
from .fairness import Fairness
from .guides import GuideQueue
from .models import (
    device_label,
    load_libraries,
    load_models,
    model_infos,
    model_name,
    resolve_device,
)
from .rasters import TracePool

log = logging.getLogger("sketch_server")

__all__ = [
    "SERVER_NAME",
    "SketchServer",
    "model_name",
    "resolve_device",
    "run_server",
    "start_server",
]

AUTH_FREE, AUTH_WINDOW, AUTH_MAX_DELAY = 3, 60.0, 5.0  # failed hellos: free, per s, most delay


SERVER_NAME = f"ai-sketcher/{VERSION}"


def _host(connection: ServerConnection) -> str:
    address = connection.remote_address
    return str(address[0]) if address else "?"


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


# --- the server ---------------------------------------------------------------------------


class SketchServer:
    """A running server: the engine, the listening socket and every open connection."""

    def __init__(
        self,
        config: ServerConfig,
        models: Mapping[str, Checkpoint],
        libraries: Mapping[str, SketchLibrary] | None = None,
    ) -> None:
        if not models:
            raise ConfigError("the server needs at least one model")
        self.config = config
        self.models = dict(models)
        self.libraries = dict(libraries or {})
        self.infos = model_infos(self.models, self.libraries)
        self.default_model = next(iter(self.infos))
        devices = {ckpt.device for ckpt in self.models.values()}
        self.device = ", ".join(sorted(map(device_label, devices)))
        welcome = Welcome(
            server=SERVER_NAME, device=self.device, models=tuple(self.infos.values()), trace=True
        )
        self.welcome_frames = {
            True: encode(welcome, binary=True),
            False: encode(welcome, binary=False),
        }
        # One rule for the engine and the guides: an artist's light work goes first, whichever
        # lane it is in, and greedy clients' heavy work gets a share of the time meanwhile.
        self.fairness = Fairness()
        self.engine = Engine(
            self.models,
            max_jobs=config.max_jobs,
            max_rows=config.max_rows,
            threads=config.torch_threads,
            libraries=self.libraries,
            reference_decoder=config.reference_decoder,
            fairness=self.fairness,
        )
        # Guides run beside the engine on two threads: one for artists' guides, one for the
        # rest (paced), the connection that has used the least guide time first.
        self.guides = GuideQueue(self.fairness)
        # Rasters are traced in worker processes of their own (each connection traces one at a
        # time), so tracing never holds up parsing, guides or the engine.
        self.traces = TracePool()
        self.ws: Server | None = None
        self.host = config.host
        self.port = config.port
        self.allowed_origins = config.allowed_origins  # and the page's own, once port is known
        # websockets reads this list at every handshake, so the page's origins join it after bind
        self.ws_origins: list[Origin | None] = [None, *map(Origin, config.allowed_origins)]
        self.site = web.Site(web.load_assets(), web.content_security_policy(()))
        self.connections: set[Connection] = set()
        self.auth_failures: deque[float] = deque(maxlen=1024)  # times of hellos without the token
        self.auth_turn = asyncio.Lock()  # wrong tokens are answered one at a time
        self.evictions: set[asyncio.Task[None]] = set()  # idle connections being closed
        self.closing = False  # close() has begun: no new connections
        self.stopping = asyncio.Event()  # set with closing, for anything waiting to end early

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
        self.guides.start()
        cfg = self.config
        try:
            self.ws = await serve(
                self._handle,
                cfg.host,
                cfg.port,
                origins=self.ws_origins,  # a second guard behind check_origin
                process_request=self._process_request,
                compression=None,  # loopback traffic: deflate would only cost CPU
                max_size=cfg.max_frame,
                ping_interval=cfg.ping_interval,
                ping_timeout=cfg.ping_timeout,
                close_timeout=cfg.close_timeout,
                logger=logging.getLogger("sketch_server.websockets"),
            )
        except OSError as e:
            await asyncio.to_thread(self.engine.close)
            self.traces.close()
            self.guides.close()
            raise ConfigError(
                f"cannot listen on {cfg.host}:{cfg.port}: {e.strerror or e}; "
                "is another server running there? Pick another --port"
            ) from None
        sockets = self.ws.sockets
        self.port = sockets[0].getsockname()[1]
        own = web.page_origins(cfg.host, self.port)
        self.allowed_origins = (*cfg.allowed_origins, *own)
        self.ws_origins.extend(map(Origin, own))
        self.site.csp = web.content_security_policy(own)
        if len({s.getsockname()[1] for s in sockets}) > 1:
            log.warning(
                "%s resolved to several addresses that got different ports; clients should use %s",
                cfg.host,
                self.url,
            )

    async def close(self) -> None:
        """End every open request with an error, close every connection (code 1001), stop
        listening, then stop the engine."""
        self.closing = True
        self.stopping.set()
        conns = list(self.connections)
        for conn in conns:  # all at once: none may start a request while another is told busy
            conn.closing = True
        for conn in conns:
            await conn.shut_down()
        if self.ws is not None:
            self.ws.close()
            await self.ws.wait_closed()
        self.fairness.close()  # nothing heavy waits for its turn any more
        await asyncio.to_thread(self.engine.close)
        self.guides.close()
        self.traces.close()

    def _process_request(
        self, connection: ServerConnection, request: HttpRequest
    ) -> HttpResponse | None:
        """Refuse foreign Origins (403); serve the page to plain GETs; let upgrades through."""
        refusal = web.check_origin(connection, request, self.allowed_origins)
        if refusal is not None:
            return refusal
        if web.is_upgrade(request) and self.closing:
            return connection.respond(
                HTTPStatus.SERVICE_UNAVAILABLE, "the server is shutting down; try again later\n"
            )
        if web.is_upgrade(request):
            crowded = self._too_many(connection)
            if crowded:
                log.warning("refused a connection from %s: %s", _host(connection), crowded)
                return connection.respond(HTTPStatus.SERVICE_UNAVAILABLE, crowded + "\n")
        return None if web.is_upgrade(request) else self.site.respond(connection, request)

    def _too_many(self, connection: ServerConnection) -> str:
        """Why a new connection cannot be taken now, or "": too many still to say hello (they
        are closed at the hello deadline), or too many from one other machine. Greeted ones are
        handled at their hello (admit)."""
        pending = [c for c in self.connections if c.binary is None]
        if len(pending) >= self.config.max_pending:
            return (
                f"{len(pending)} connections have yet to say hello, the most the server waits "
                "for; try again in a few seconds"
            )
        host = _host(connection)
        if not _loopback(host):  # this machine's clients share one address: no quota there
            mine = sum(c.host == host for c in self.connections)
            if mine >= self.config.max_connections_per_address:
                return (
                    f"{host} has {mine} connections open, the most one address may; close one "
                    "and try again"
                )
        return ""

    async def _handle(self, ws: ServerConnection) -> None:
        conn = Connection(self, ws)
        self.connections.add(conn)
        try:
            await conn.serve()
        finally:
            self.connections.discard(conn)
            await conn.abandon()

    async def auth_failed(self) -> None:
        """A hello without the right token: after AUTH_FREE such hellos a minute, server-wide
        (an attacker has many connections and addresses), each one's answer waits, doubling
        up to AUTH_MAX_DELAY, and one at a time, so parallel connections cannot each wait in
        parallel. A hello with the right token never waits."""
        now = time.monotonic()
        failures = self.auth_failures
        while failures and now - failures[0] > AUTH_WINDOW:
            failures.popleft()
        failures.append(now)
        if len(failures) <= AUTH_FREE:
            return
        async with self.auth_turn:
            if self.closing:
                return
            delay = min(AUTH_MAX_DELAY, 0.25 * 2 ** (len(failures) - AUTH_FREE - 1))
            try:  # a stopping server does not wait for it
                await asyncio.wait_for(self.stopping.wait(), delay)
            except TimeoutError:
                pass

    async def admit(self, conn: Connection) -> bool:
        """Make room for a connection that said a good hello: when max_connections are greeted
        already, the one idle longest (nothing open) is closed for it; False when every one is
        busy. Connections still to say hello never count: they cannot lock greeted ones out."""
        greeted = [
            c for c in self.connections if c.binary is not None and not c.evicted and c is not conn
        ]
        if len(greeted) < self.config.max_connections:
            return True
        idle = [c for c in greeted if c.idle]
        if not idle:
            return False
        oldest = min(idle, key=lambda c: c.last_active)
        log.warning(
            "%d connections are open, the limit: closing %s (%s), idle longest, for %s",
            len(greeted),
            oldest.peer,
            oldest.client,
            conn.peer,
        )
        oldest.evicted = True  # no longer counted while it closes (in the background)
        closing = asyncio.create_task(
            oldest.ws.close(CloseCode.TRY_AGAIN_LATER, "the server is full; it was idle")
        )
        self.evictions.add(closing)
        closing.add_done_callback(self.evictions.discard)
        return True


async def start_server(
    config: ServerConfig,
    models: Mapping[str, Checkpoint] | None = None,
    libraries: Mapping[str, SketchLibrary] | None = None,
) -> SketchServer:
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
    log.info(
        "clients must send the token in their hello"
        if config.token is not None
        else "no token: any client that can reach %s may connect",
        *(() if config.token is not None else (server.url,)),
    )
    return server


@asynccontextmanager
async def run_server(
    config: ServerConfig,
    models: Mapping[str, Checkpoint] | None = None,
    libraries: Mapping[str, SketchLibrary] | None = None,
) -> AsyncIterator[SketchServer]:
    """`async with run_server(config) as server:` a started server, closed on the way out."""
    server = await start_server(config, models, libraries)
    try:
        yield server
    finally:
        await server.close()

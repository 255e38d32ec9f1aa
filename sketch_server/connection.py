"""One client connection: reads its frames in order, starts its requests and guides, and forwards
their results; nothing a client sends, and no way it leaves, can stop another client."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
from collections.abc import Collection, Mapping
from typing import Protocol

import numpy as np
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed
from websockets.frames import CloseCode

from model.library import SketchLibrary
from model.sample import StrokeEvent
from wire.protocol import (
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
    Trace,
    Welcome,
    decode,
    encode,
    parse_client_message,
    readable_id,
)

from .config import ServerConfig
from .engine import Engine, EngineBusy, Job, wire_points
from .guides import GuideQueue
from .rasters import TraceAccount, TracePool, from_raster, line_drawing
from .requests import check_condition, check_extent, sketch_request

log = logging.getLogger("sketch_server")

OFF_LOOP_BYTES = 64 << 10  # frames this big are decoded on a thread so pings keep flowing


def _parse(frame: str | bytes, greeted: bool) -> ClientMessage:
    """Decode and validate one frame (pure: may run on a worker thread)."""
    d = decode(frame)
    if isinstance(frame, str):
        try:  # JSON's \ud800-style escapes can make strings that no reply could carry
            json.dumps(d, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise ProtocolError(
                "bad_request",
                "text frame holds an unpaired UTF-16 surrogate "
                "escape (\\ud800 to \\udfff), which is not valid Unicode",
            ) from None
    if not greeted and d["type"] != "hello":
        kind = d["type"] if len(d["type"]) <= 40 else d["type"][:37] + "..."
        raise ProtocolError(
            "bad_request", f"the first message must be hello, not {kind}", readable_id(d)
        )
    return parse_client_message(d)


def _printable(text: str) -> str:
    """A client's own text as one log line: line breaks and terminal codes escaped."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _shutting_down(rid: RequestId | None) -> Error:
    return Error(
        id=rid,
        code="busy",
        message="the server is shutting down; send the request again when it is back",
    )


class Host(Protocol):
    """What a connection needs of the server that accepted it (server.SketchServer, which
    imports this module, so the connection names only what it uses)."""

    @property
    def config(self) -> ServerConfig: ...
    @property
    def engine(self) -> Engine: ...
    @property
    def guides(self) -> GuideQueue: ...
    @property
    def traces(self) -> TracePool: ...
    @property
    def infos(self) -> Mapping[str, ModelInfo]: ...
    @property
    def libraries(self) -> Mapping[str, SketchLibrary]: ...
    @property
    def default_model(self) -> str: ...
    @property
    def welcome_frames(self) -> Mapping[bool, bytes | str]: ...

    async def admit(self, conn: Connection) -> bool: ...

    async def auth_failed(self) -> None: ...


class Connection:
    """One client: reads its frames in order and forwards the results of its requests."""

    def __init__(self, server: Host, ws: ServerConnection) -> None:
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
        self.tracing: dict[RequestId, bool] = {}  # requests whose rasters are traced: cancelled?
        self.trace_turn = asyncio.Lock()  # one trace at a time per connection
        self.trace_account = TraceAccount()  # how much tracing it has used lately
        self.closing = False  # the server is shutting down: every request now gets `busy`
        self.answered: set[RequestId] = set()  # ids that got their `busy` at shutdown
        self.last_active = time.perf_counter()  # when it last sent a frame
        self.evicted = False  # closed to let a newcomer in (the server was full)

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
                        log.info(
                            "%s sent no hello within %g s; closing",
                            self.peer,
                            self.config.hello_timeout,
                        )
                        await self.ws.close(
                            CloseCode.POLICY_VIOLATION,
                            f"no hello within {self.config.hello_timeout:g} s",
                        )
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
            log.info(
                "%s (%s) left with %d open request(s); cancelled them",
                self.peer,
                self.client,
                len(self.jobs),
            )
        self.jobs.clear()
        for task in self.forwarders:
            task.cancel()
        await asyncio.gather(*self.forwarders, return_exceptions=True)

    async def shut_down(self) -> None:
        """The server is stopping: each open request (suggest, guide, or raster being traced)
        gets one `error` (busy), then no more; frames that come later are answered busy."""
        self.closing = True
        ended = [*self.jobs, *self.guides, *self.tracing]
        self.answered.update(ended)
        forwarders, self.forwarders = set(self.forwarders), set()
        for task in forwarders:
            task.cancel()
        await asyncio.gather(*forwarders, return_exceptions=True)
        for job in self.jobs.values():
            self.engine.cancel(job)
        self.jobs.clear()
        self.guides.clear()
        for rid in ended:
            try:
                await self._send(_shutting_down(rid), bool(self.binary))
            except ConnectionClosed:
                return

    async def _send(
        self, msg: Hello | Welcome | StrokeChunk | Done | GuideResult | Error, binary: bool
    ) -> None:
        await self.ws.send(encode(msg, binary=binary))

    async def _on_frame(self, frame: str | bytes) -> None:
        received = time.perf_counter()
        self.last_active = received
        frame_binary = not isinstance(frame, str)
        reply_binary = self.binary if self.binary is not None else frame_binary
        msg: ClientMessage | None = None
        try:
            greeted = self.binary is not None
            if len(frame) > OFF_LOOP_BYTES:
                msg = await asyncio.to_thread(_parse, frame, greeted)
            else:
                msg = _parse(frame, greeted)
            if self.closing and isinstance(msg, (Suggest, Guide, Trace)):
                await self._send(_shutting_down(msg.id), reply_binary)
                return
            if isinstance(msg, Trace):
                self._line_trace(msg, received, reply_binary)  # the reader goes on meanwhile
                return
            if isinstance(msg, (Suggest, Guide)) and msg.raster is not None and not msg.strokes:
                self._trace(msg, received, reply_binary)  # the reader goes on meanwhile
                return
            if isinstance(msg, Cancel) and msg.id in self.tracing:
                self.tracing[msg.id] = True  # it will not start once traced
            await self._dispatch(msg, received, frame_binary, reply_binary)
        except ProtocolError as e:
            log.debug("%s (%s): %s", self.peer, self.client, e)
            await self._send(e.to_error(), reply_binary)
        except ConnectionClosed:
            raise
        except Exception:
            await self._internal(msg, reply_binary)

    async def _dispatch(
        self, msg: ClientMessage, received: float, frame_binary: bool, reply_binary: bool
    ) -> None:
        """Act on a parsed message (a raster already traced into strokes)."""
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

    async def _internal(self, msg: ClientMessage | None, binary: bool) -> None:
        """A bug handling a message: logged, and the request (if it has an id) ends with one
        `internal` error unless it started, whose forwarder then sends its end."""
        log.exception("failed to handle a frame from %s (%s)", self.peer, self.client)
        rid = msg.id if isinstance(msg, (Suggest, Guide, Trace)) else None
        if rid is not None and rid in self.jobs:
            return
        await self._send(
            Error(
                id=rid,
                code="internal",
                message="the server failed to handle this message; the server log has the details",
            ),
            binary,
        )

    def _trace(self, msg: Suggest | Guide, received: float, binary: bool) -> None:
        """Trace a request's raster into strokes in a task (one trace at a time per connection,
        on the server's trace pool), then start it as if it had come with those strokes."""
        if isinstance(msg, Suggest):
            self._check_room(msg.id, {*self.jobs, *self.tracing}, "request")
        else:
            self._check_room(msg.id, {*self.guides, *self.tracing}, "guide")
        self.tracing[msg.id] = False
        task = asyncio.create_task(self._traced(msg, received, binary))
        self.forwarders.add(task)
        task.add_done_callback(self.forwarders.discard)

    async def _traced(self, msg: Suggest | Guide, received: float, binary: bool) -> None:
        cancelled = False
        try:
            async with self.trace_turn:
                traced = await from_raster(msg, self.server.traces, self.trace_account)
        except ProtocolError as e:
            await self._send_quietly(e.to_error(), binary)
            return
        finally:
            cancelled = self.tracing.pop(msg.id, False)
        if self.closing:  # shutdown came while it was traced
            if msg.id not in self.answered:
                await self._send_quietly(_shutting_down(msg.id), binary)
            return
        if cancelled and isinstance(traced, Suggest):
            done = Done(
                id=msg.id,
                samples=tuple(() for _ in range(traced.n)),
                elapsed_ms=int((time.perf_counter() - received) * 1000),
                cancelled=True,
            )
            await self._send_quietly(done, binary)
            return
        try:
            await self._dispatch(traced, received, binary, binary)
        except ProtocolError as e:
            await self._send_quietly(e.to_error(), binary)
        except Exception:
            await self._internal(traced, binary)

    def _line_trace(self, msg: Trace, received: float, binary: bool) -> None:
        """Trace an image's line drawing in a task (one trace at a time per connection, on the
        server's trace pool) and answer it like a one-alternative suggestion."""
        self._check_room(msg.id, {*self.jobs, *self.tracing}, "request")
        self.tracing[msg.id] = False
        task = asyncio.create_task(self._line_traced(msg, received, binary))
        self.forwarders.add(task)
        task.add_done_callback(self.forwarders.discard)

    async def _line_traced(self, msg: Trace, received: float, binary: bool) -> None:
        cancelled = False
        try:
            async with self.trace_turn:
                lines = await line_drawing(
                    msg.image, msg.box, self.server.traces, self.trace_account
                )
        except ProtocolError as e:
            e.id = msg.id
            await self._send_quietly(e.to_error(), binary)
            return
        finally:
            cancelled = self.tracing.pop(msg.id, False)
        if self.closing:
            if msg.id not in self.answered:
                await self._send_quietly(_shutting_down(msg.id), binary)
            return
        strokes = () if cancelled else tuple(wire_points(np.asarray(line)) for line in lines)
        try:
            for i, stroke in enumerate(strokes):
                await self._send(StrokeChunk(id=msg.id, sample=0, index=i, points=stroke), binary)
            done = Done(
                id=msg.id,
                samples=(strokes,),  # type: ignore[arg-type]
                elapsed_ms=int((time.perf_counter() - received) * 1000),
                cancelled=cancelled,
                sources=("trace",),
            )
            await self._send(done, binary)
        except ConnectionClosed:
            pass

    async def _send_quietly(self, msg: Done | Error, binary: bool) -> None:
        try:
            await self._send(msg, binary)
        except ConnectionClosed:
            pass

    async def _hello(self, msg: Hello, frame_binary: bool) -> None:
        if self.binary is not None:
            raise ProtocolError(
                "bad_request",
                "this connection has already said hello; send hello only once per connection",
            )
        token = self.config.token
        if token is not None:
            if msg.token is None:
                why = (
                    "this server needs a token: put the token it was started with (--token, "
                    "AI_SKETCHER_TOKEN or --token-file) in hello.token"
                )
            elif not hmac.compare_digest(
                msg.token.encode("utf-8", "surrogatepass"), token.encode("utf-8", "surrogatepass")
            ):
                why = (
                    "hello.token is wrong; use the token the server was started with "
                    "(--token, AI_SKETCHER_TOKEN or --token-file)"
                )
            else:
                why = ""
            if why:  # the right token is never kept waiting; wrong ones are, one at a time
                log.warning("%s sent a hello without the right token; closing", self.peer)
                await self.server.auth_failed()
                await self._send(Error(code="unauthorized", message=why), frame_binary)
                await self.ws.close(CloseCode.POLICY_VIOLATION, "unauthorized")
                return
        if not await self.server.admit(self):
            raise ProtocolError(
                "busy",
                f"the server has {self.config.max_connections} connections, each with a request "
                "open; try again when one ends",
            )
        self.client = _printable(msg.client)  # it goes into log lines: no forged ones
        self.binary = frame_binary
        log.info("%s connected: %s", self.peer, self.client)
        await self.ws.send(self.server.welcome_frames[frame_binary])

    @property
    def idle(self) -> bool:
        """Greeted and with nothing open: it may be closed to let a newcomer in."""
        return self.binary is not None and not (self.jobs or self.guides or self.tracing)

    def _model(
        self, name: str | None, conditions: Mapping[str, str], rid: RequestId
    ) -> tuple[str, ModelInfo]:
        """The named (or default) model and its description, once the conditions are checked."""
        name = name if name is not None else self.server.default_model
        info = self.server.infos.get(name)
        if info is None:
            raise ProtocolError(
                "unknown_model",
                f"model {name!r} is not on this server; it has "
                f"{', '.join(map(repr, self.server.infos))}",
                rid,
            )
        for key, value in conditions.items():
            check_condition(info, key, value, rid)
        return name, info

    def _check_room(self, rid: RequestId, open_ids: Collection[RequestId], kind: str) -> None:
        """Refuse a `kind` ("request" or "guide") whose id is still open here, or one past the
        connection's limit of open ones."""
        if rid in open_ids:
            raise ProtocolError(
                "bad_request",
                f"{kind} id {rid!r} is still in flight; use a new id for each {kind} "
                "that has not finished",
                rid,
            )
        if len(open_ids) >= self.config.max_jobs_per_connection:
            raise ProtocolError(
                "busy",
                f"this connection already has {len(open_ids)} {kind}s open, the most it may; "
                "wait for one to end",
                rid,
            )

    def _guide(self, msg: Guide, received: float, binary: bool) -> None:
        """Find the library drawings that fit the strokes, on the guide thread, and answer."""
        rid = msg.id
        self._check_room(rid, {*self.guides, *self.tracing}, "guide")
        name, _ = self._model(msg.model, msg.conditions, rid)
        check_extent(msg.strokes, None, rid)
        library = self.server.libraries.get(name)
        self.guides.add(rid)
        task = asyncio.create_task(self._answer_guide(msg, library, received, binary))
        self.forwarders.add(task)
        task.add_done_callback(self.forwarders.discard)

    async def _answer_guide(
        self, msg: Guide, library: SketchLibrary | None, received: float, binary: bool
    ) -> None:
        try:
            found = (
                []
                if library is None
                else await self.server.guides.run(
                    self,
                    library.guide,
                    [np.asarray(s) for s in msg.strokes],
                    dict(msg.conditions),
                    msg.k,
                )
            )
            drawings = tuple(
                GuideDrawing(
                    strokes=tuple(wire_points(p) for p in strokes if len(p)),
                    weight=min(max(weight, 0.0), 1.0),
                    source=source,
                )
                for strokes, weight, source in found
            )
            reply: GuideResult | Error = GuideResult(
                id=msg.id,
                drawings=drawings,
                elapsed_ms=int((time.perf_counter() - received) * 1000),
            )
        except Exception:
            log.exception("guide %r from %s failed", msg.id, self.peer)
            reply = Error(
                id=msg.id,
                code="internal",
                message="the server failed to find a guide; the server log has the details",
            )
        finally:
            self.guides.discard(msg.id)
        try:
            await self._send(reply, binary)
        except ConnectionClosed:
            pass

    def _suggest(self, msg: Suggest, received: float) -> None:
        """Check a request against this server's models and limits, then start it."""
        rid = msg.id
        self._check_room(rid, {*self.jobs, *self.tracing}, "request")
        name, info = self._model(msg.model, msg.conditions, rid)
        if msg.mode not in info.modes:
            raise ProtocolError(
                "bad_request",
                f"model {name!r} cannot {msg.mode}; it offers {', '.join(info.modes)}",
                rid,
            )
        if msg.character is not None and not info.characters:
            raise ProtocolError(
                "bad_request",
                f"model {name!r} keeps no characters (it has no latent beyond its conditions); "
                "leave character out",
                rid,
            )
        check_extent(msg.strokes, msg.bounds, rid)
        try:
            job = self.engine.submit(
                name,
                sketch_request(msg),
                asyncio.get_running_loop(),
                owner=self,
                id=rid,
                received=received,
            )
        except EngineBusy as e:
            raise ProtocolError("busy", str(e), rid) from None
        self.jobs[rid] = job
        task = asyncio.create_task(self._forward(rid, job, bool(self.binary)))
        self.forwarders.add(task)
        task.add_done_callback(self.forwarders.discard)

    async def _forward(self, rid: RequestId, job: Job, binary: bool) -> None:
        """Send a request's strokes as they are drawn, then its one `done` or `error`."""
        try:
            while True:
                event = await job.events.get()
                if isinstance(event, StrokeEvent):
                    await self._send(
                        StrokeChunk(
                            id=rid,
                            sample=event.sample,
                            index=event.index,
                            points=wire_points(event.points),
                        ),
                        binary,
                    )
                    continue
                self._release(rid, job)  # before the last frame: the client may reuse the id
                await self._send(event, binary)  # the job's one done or error
                return
        except ConnectionClosed:
            return
        except Exception as e:  # the request ends here with one error, and nothing after it
            self.engine.cancel(job)
            self._release(rid, job)
            if isinstance(e, ProtocolError) and e.code == "too_large":
                error = Error(
                    id=rid,
                    code="too_large",
                    message=f"the result is too large to "
                    f"send ({e.message}); ask for fewer samples or max_points",
                )
            else:
                log.exception("failed to send the result of request %r to %s", rid, self.peer)
                error = Error(
                    id=rid,
                    code="internal",
                    message="the server failed to send this result; the server log has the details",
                )
            try:
                await self._send(error, binary)
            except ConnectionClosed:
                pass
            except Exception:
                log.exception("could not send the error that ends request %r either", rid)

    def _release(self, rid: RequestId, job: Job) -> None:
        if self.jobs.get(rid) is job:
            del self.jobs[rid]

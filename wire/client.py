"""SuggestClient: one connection to the local AI-Sketcher server, owned by a worker thread.

Host add-ons (Krita, Blender) call suggest(), cancel() and poll() from their UI thread; none of
them blocks. The worker thread owns a websockets *sync* client, says hello, reconnects with
backoff when the server goes away, and turns every failure into a sentence an artist can act on.

Contract for poll(): it returns protocol messages (Welcome, StrokeChunk, Done, Error) and
StateChanged events, in order. Every job id that suggest() returned ends with exactly one Done
or Error, also when the connection drops or was never up (the Error then has code "internal" and
says what happened). Pure Python: install.py copies the wire into each add-on.
"""

from __future__ import annotations

import itertools
import logging
import os
import queue
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlsplit

from . import protocol
from .vendor import websockets

ConnectionClosed = websockets.exceptions.ConnectionClosed
InvalidHandshake = websockets.exceptions.InvalidHandshake
InvalidStatus = websockets.exceptions.InvalidStatus
InvalidURI = websockets.exceptions.InvalidURI
ClientConnection = websockets.sync.client.ClientConnection
connect = websockets.sync.client.connect

log = logging.getLogger("ai_sketcher.client")
Request = protocol.Suggest | protocol.Guide | protocol.Trace  # what opens a job

DEFAULT_PORT = protocol.DEFAULT_PORT
DEFAULT_URL = f"ws://127.0.0.1:{DEFAULT_PORT}"  # sketch_server/config.py's DEFAULT_HOST
START_COMMAND = "python -m sketch_server"
STATES = ("connecting", "connected", "disconnected", "error")
RECV_SLICE = 0.03  # seconds the worker waits for a frame before it looks at its outbox again


@dataclass(frozen=True)
class StateChanged:
    """The connection changed state; `error` says in plain words what is wrong, or is None."""

    state: str
    error: str | None = None


class _RefusedError(Exception):
    """A connection attempt that failed; `state` is "disconnected" or "error"."""

    def __init__(self, state: str, message: str) -> None:
        super().__init__(message)
        self.state = state
        self.message = message


def sentence(text: str) -> str:
    """`text` as a sentence for a status line: capital first letter, full stop at the end."""
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def start_command(url: str) -> str:
    """The shell command that starts a server the add-on at `url` can reach."""
    try:
        port = urlsplit(url).port
    except ValueError:
        port = None
    return START_COMMAND if port in (None, DEFAULT_PORT) else f"{START_COMMAND} --port {port}"


def recent_strokes(strokes: Sequence[Sequence[Sequence[float]]]) -> list[Sequence[Sequence[float]]]:
    """The latest strokes that fit in one request (protocol stroke and point limits).

    A big drawing is sent from its most recent strokes back, so that it still gets suggestions
    instead of a too_large error; strokes of fewer than 2 points are left out.
    """
    out: list[Sequence[Sequence[float]]] = []
    points = 0
    for stroke in reversed(strokes):
        if len(stroke) < 2:
            continue
        if len(out) == protocol.MAX_STROKES or points + len(stroke) > protocol.MAX_POINTS:
            break
        out.append(stroke)
        points += len(stroke)
    return out[::-1]


class SuggestClient:
    """A protocol v1 connection run by a worker thread; the caller only queues and drains."""

    def __init__(
        self,
        url: str,
        client_name: str,
        token: str | None = None,
        *,
        open_timeout: float = 3.0,
        hello_timeout: float = 5.0,
        backoff: tuple[float, float] = (0.25, 4.0),
    ) -> None:
        self.url = url
        self.client_name = client_name  # "name/version", sent in hello
        # The server's own variable, so a token set once for both reaches the add-ons too.
        self.token = token or os.environ.get("AI_SKETCHER_TOKEN") or None
        self.open_timeout = open_timeout
        self.hello_timeout = hello_timeout
        self.backoff = backoff  # first and longest wait between connection attempts, seconds
        self.state = "connecting"
        self.error: str | None = None
        self.welcome: protocol.Welcome | None = None
        self._inbox: queue.Queue[Any] = queue.Queue()
        self._outbox: queue.Queue[Request | protocol.Cancel] = queue.Queue()
        self._open_jobs: set[str] = set()  # touched by the worker thread only
        self._ids = itertools.count(1)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- the caller's side: none of these block -------------------------------------------

    @property
    def status_text(self) -> str:
        """The connection's state in one sentence, for the host's status line."""
        if self.state == "connected" and self.welcome is not None:
            return f"Connected to {self.welcome.server} ({self.welcome.device})."
        if self.state == "connecting" and not self.error:
            return f"Connecting to {self.url}..."
        return sentence(self.error or f"Not connected to {self.url}.")

    def start(self) -> None:
        """Start the worker thread, which connects and keeps reconnecting until close()."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name="ai-sketcher-client", daemon=True
            )
            self._thread.start()

    def suggest(
        self,
        mode: str,
        strokes: Sequence[Sequence[Sequence[float]]],
        conditions: Mapping[str, str] | None = None,
        n: int = 1,
        temperature: float = protocol.DEFAULT_TEMPERATURE,
        seed: int | None = None,
        max_points: int | None = None,
        bounds: Sequence[float] | None = None,
        model: str | None = None,
        strength: float | None = None,
        use_library: bool | None = None,
        raster: tuple[bytes, Sequence[float]] | None = None,
        character: str | None = None,
    ) -> str:
        """Queue a request and return its job id; raises protocol.ProtocolError if it is invalid.

        Options left as None take the protocol's defaults. `raster` is (PNG bytes, document box
        [x0, y0, x1, y1]) of a paint layer, traced by the server when `strokes` is empty.
        `character` (from a Done's characters) draws that person again."""
        job = f"j{next(self._ids)}"
        given: dict[str, Any] = {
            "max_points": max_points,
            "strength": strength,
            "use_library": use_library,
        }
        msg = protocol.Suggest(
            id=job,
            model=model,
            mode=mode,
            strokes=_sketch(strokes),
            conditions=dict(conditions or {}),
            n=n,
            temperature=temperature,
            seed=seed,
            bounds=None if bounds is None else _box(bounds),
            raster=_raster(raster),
            character=character,
            **{k: v for k, v in given.items() if v is not None},
        )
        self._outbox.put(msg)
        return job

    def guide(
        self,
        strokes: Sequence[Sequence[Sequence[float]]],
        conditions: Mapping[str, str] | None = None,
        k: int = protocol.DEFAULT_GUIDE_K,
        model: str | None = None,
        raster: tuple[bytes, Sequence[float]] | None = None,
    ) -> str:
        """Ask for the real drawings that fit the strokes (a shadow guide); returns its id.
        The answer is a protocol.GuideResult (or an Error) with that id. `raster` is as for
        suggest: a paint layer's (PNG, box), used when `strokes` is empty."""
        job = f"g{next(self._ids)}"
        self._outbox.put(
            protocol.Guide(
                id=job,
                model=model,
                strokes=_sketch(strokes),
                conditions=dict(conditions or {}),
                k=k,
                raster=_raster(raster),
            )
        )
        return job

    def trace(self, image: bytes, box: Sequence[float]) -> str:
        """Ask for the line drawing of an image (PNG or JPEG bytes, covering document box
        [x0, y0, x1, y1]) as strokes; returns its id. It is answered like a suggestion with
        one alternative: StrokeChunks, then a Done (or an Error). Raises
        protocol.ProtocolError if the image cannot be sent."""
        job = f"t{next(self._ids)}"
        self._outbox.put(protocol.Trace(id=job, image=bytes(image), box=_box(box)))
        return job

    def cancel(self, job_id: str) -> None:
        """Ask the server to stop a job early; it still ends with a Done (cancelled=True)."""
        self._outbox.put(protocol.Cancel(id=job_id))

    def poll(self) -> list[Any]:
        """Everything that arrived since the last poll: protocol messages and StateChanged."""
        out = []
        while True:
            try:
                out.append(self._inbox.get_nowait())
            except queue.Empty:
                return out

    def close(self, timeout: float = 2.0) -> None:
        """Stop the worker and close the connection; waits at most `timeout` seconds."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    # --- the worker thread ----------------------------------------------------------------

    def _set_state(self, state: str, error: str | None = None) -> None:
        if (state, error) != (self.state, self.error):
            self.state, self.error = state, error
            self._inbox.put(StateChanged(state, error))

    def _run(self) -> None:
        delay = self.backoff[0]
        while not self._stop.is_set():
            try:
                with self._open() as ws:
                    self._greet(ws)
                    delay = self.backoff[0]
                    self._set_state("connected")
                    try:
                        self._serve(ws)
                    finally:
                        self._end_open_jobs(
                            "the add-on was closed"
                            if self._stop.is_set()
                            else "the connection to the server was lost before this "
                            "suggestion was finished; try again once it is back"
                        )
                continue
            except _RefusedError as e:
                self._set_state(e.state, e.message)
            except Exception as e:  # a bug must not kill the only thread the host relies on
                log.exception("the connection worker failed")
                self._set_state(
                    "disconnected", f"the add-on's connection failed ({e!r}); reconnecting"
                )
            self._wait(delay)
            delay = min(delay * 2, self.backoff[1])
        self._end_open_jobs("the add-on was closed")
        self._fail_outbox("the add-on was closed")

    def _wait(self, seconds: float) -> None:
        """Sleep between attempts, failing requests at once instead of holding them."""
        for _ in range(max(1, round(seconds / 0.05))):
            self._fail_outbox(self.error or "the server is not connected")
            if self._stop.wait(0.05):
                return

    def _take_outbox(self) -> Iterator[Any]:
        """The messages queued by suggest() and cancel(), each taken once, until none is left."""
        while True:
            try:
                yield self._outbox.get_nowait()
            except queue.Empty:
                return

    def _fail_outbox(self, why: str) -> None:
        for msg in self._take_outbox():
            if isinstance(msg, Request):
                self._inbox.put(protocol.Error(id=msg.id, code="internal", message=why))

    def _end_open_jobs(self, why: str) -> None:
        for job in sorted(self._open_jobs):
            self._inbox.put(protocol.Error(id=job, code="internal", message=why))
        self._open_jobs.clear()

    def _open(self) -> ClientConnection:
        """Open the WebSocket, or raise _RefusedError saying why it cannot be opened."""
        url = self.url
        try:
            return connect(
                url,
                open_timeout=self.open_timeout,
                proxy=None,
                compression=None,
                max_size=4 * protocol.MAX_FRAME_BYTES,
                user_agent_header=None,
            )
        except InvalidURI:
            raise _RefusedError(
                "error", f"'{url}' is not a server address; it should look like {DEFAULT_URL}"
            ) from None
        except InvalidStatus as e:
            raise _RefusedError(
                "error",
                f"something at {url} answered with HTTP "
                f"{e.response.status_code}, but it is not an AI-Sketcher "
                "server; check the address and port",
            ) from None
        except InvalidHandshake as e:
            if not isinstance(e.__cause__, (EOFError, OSError)):  # else: it hung up on us
                raise _RefusedError(
                    "error",
                    f"something at {url} answered, but it is not an "
                    "AI-Sketcher server; check the address and port",
                ) from None
            raise _RefusedError("disconnected", self._not_running()) from None
        except (OSError, TimeoutError, EOFError, ConnectionClosed) as e:
            log.debug("cannot connect to %s: %r", url, e)
            raise _RefusedError("disconnected", self._not_running()) from None

    def _not_running(self) -> str:
        return (
            f"no AI-Sketcher server is running at {self.url}; start it with "
            f"`{start_command(self.url)}` and this add-on connects by itself"
        )

    def _greet(self, ws: ClientConnection) -> None:
        """Exchange hello and welcome, or raise _RefusedError saying why the server refused."""
        url = self.url
        try:
            ws.send(protocol.encode(protocol.Hello(client=self.client_name, token=self.token)))
            reply = protocol.parse_server_message(
                protocol.decode(ws.recv(timeout=self.hello_timeout))
            )
        except protocol.ProtocolError as e:
            if e.code == "unsupported_protocol":
                raise _RefusedError("error", self._version_message(e.message)) from None
            raise _RefusedError(
                "error",
                f"the server at {url} sent a welcome this add-on cannot "
                f"read ({e.message}); install matching versions of the "
                "add-on and the server",
            ) from None
        except (ConnectionClosed, TimeoutError, OSError):
            raise _RefusedError(
                "disconnected",
                f"the server at {url} closed the connection before "
                "greeting this add-on; it may be starting or "
                "stopping, so the add-on keeps trying",
            ) from None
        if isinstance(reply, protocol.Welcome):
            self.welcome = reply
            self._inbox.put(reply)
            return
        if isinstance(reply, protocol.Error) and reply.code == "unauthorized":
            raise _RefusedError(
                "error",
                f"the server at {url} needs a token: enter the one it was "
                "started with (--token) in the add-on's settings, or set "
                "AI_SKETCHER_TOKEN where the host app starts",
            )
        if isinstance(reply, protocol.Error) and reply.code == "unsupported_protocol":
            raise _RefusedError("error", self._version_message(reply.message))
        detail = reply.message if isinstance(reply, protocol.Error) else reply.TYPE
        raise _RefusedError("error", f"the server at {url} refused this add-on ({detail})")

    def _version_message(self, detail: str) -> str:
        return (
            f"the server at {self.url} speaks another protocol version ({detail}); "
            "install the add-on and the server from the same AI-Sketcher version "
            "(run install.py again from the server's folder)"
        )

    def _serve(self, ws: ClientConnection) -> None:
        """Send what the caller queued and queue what arrives, until closed or stopped."""
        while not self._stop.is_set():
            self._flush(ws)
            try:
                frame = ws.recv(timeout=RECV_SLICE)
            except TimeoutError:
                continue
            except ConnectionClosed:
                self._set_state("disconnected", f"the server at {self.url} went away; reconnecting")
                return
            self._receive(frame)

    def _flush(self, ws: ClientConnection) -> None:
        for msg in self._take_outbox():
            if isinstance(msg, Request):
                self._open_jobs.add(str(msg.id))
            elif str(msg.id) not in self._open_jobs:
                continue  # a cancel for a job that already ended, or one from an old connection
            try:
                ws.send(protocol.encode(msg))
            except ConnectionClosed:
                return  # _serve notices the closed socket and ends the open jobs
            except protocol.ProtocolError as e:  # only too_large can get here
                self._open_jobs.discard(str(msg.id))
                self._inbox.put(protocol.Error(id=msg.id, code=e.code, message=e.message))

    def _receive(self, frame: bytes | str) -> None:
        try:
            msg = protocol.parse_server_message(protocol.decode(frame))
        except protocol.ProtocolError as e:
            log.warning("unreadable message from the server: %s", e)
            rid = e.id if e.id is not None and str(e.id) in self._open_jobs else None
            if rid is not None:
                self._open_jobs.discard(str(rid))
            self._inbox.put(
                protocol.Error(
                    id=rid,
                    code="internal",
                    message=f"the server sent a message this add-on "
                    f"cannot read ({e.message}); install matching versions of both",
                )
            )
            return
        if (
            isinstance(msg, (protocol.Done, protocol.GuideResult, protocol.Error))
            and msg.id is not None
        ):
            self._open_jobs.discard(str(msg.id))
        self._inbox.put(msg)


def _sketch(strokes: Sequence[Sequence[Sequence[float]]]) -> protocol.Sketch:
    return tuple(tuple(tuple(p) for p in s) for s in strokes)  # type: ignore[misc]


def _raster(raster: tuple[bytes, Sequence[float]] | None) -> Any:
    """A (PNG bytes, box) pair as a protocol.Raster, or None."""
    if raster is None:
        return None
    png, box = raster
    return protocol.Raster(png=bytes(png), box=_box(box))


def _box(values: Sequence[float]) -> tuple[float, float, float, float]:
    """[x0, y0, x1, y1] as the tuple a message holds (the message checks that it has four)."""
    return cast("tuple[float, float, float, float]", tuple(values))

"""A paint layer's raster -> the strokes of the request that carried it, before it starts."""

from __future__ import annotations

import asyncio
import dataclasses
import multiprocessing
import os
import resource
from collections.abc import Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from model.lineart import trace_image
from model.vectorise import Polyline, TooMuchToTrace, VectoriseError, vectorise
from wire.protocol import MAX_POINTS, MAX_STROKES, ClientMessage, Guide, ProtocolError, Suggest

Tracer = Callable[[bytes, tuple[float, float, float, float]], list[Polyline]]
TRACE_WORKERS = 2  # rasters traced at once in the shared lane, server-wide
TRACE_TIMEOUT = 10.0  # seconds; model.vectorise's limits keep a trace near 1 s
TRACE_MEMORY = 1 << 30  # bytes of address space a trace may add to its worker's
SHARED_NICE = 5  # the shared lane yields some CPU to the server and to the light lane
LIGHT_BUDGET = 2.0  # seconds of tracing a connection may have used lately and still be light
HALF_LIFE = 10.0  # seconds after which a connection's past tracing counts half


def _start_worker(budget: int, nice: int) -> None:
    """In a trace worker, once the tracer is imported: lower its priority by `nice`, and make a
    trace that would take more than `budget` bytes beyond what the worker holds fail there
    (MemoryError), not the server."""
    import model.lineart  # noqa: F401  (with model.vectorise: hundreds of MB of address space)

    if nice:
        os.nice(nice)
    try:
        with open("/proc/self/statm") as f:
            held = int(f.read().split()[0]) * resource.getpagesize()
    except OSError:  # no /proc: no limit but the input's
        return
    resource.setrlimit(resource.RLIMIT_AS, (held + budget, held + budget))


def _ready() -> bool:
    return True


@dataclasses.dataclass
class TraceAccount:
    """How many seconds of tracing a connection has used lately (halving every HALF_LIFE)."""

    used: float = 0.0
    at: float = 0.0

    def recent(self, now: float) -> float:
        return self.used * 0.5 ** ((now - self.at) / HALF_LIFE)

    def charge(self, seconds: float, now: float) -> None:
        self.used, self.at = self.recent(now) + seconds, now


@dataclasses.dataclass
class _Lane:
    """Worker processes of one priority, and the turns a trace waits for to use one."""

    workers: int
    nice: int
    pool: ProcessPoolExecutor
    turns: asyncio.Semaphore  # traces wait here, in order, not in the pool's queue

    def free(self) -> bool:
        return not self.turns.locked()


class TracePool:
    """Traces in worker processes of their own (spawned: they import model.vectorise, not the
    server), so a trace neither holds the server's interpreter lock, nor takes more than
    TRACE_MEMORY, nor runs past TRACE_TIMEOUT (the workers are killed and replaced), nor keeps a
    stopping server waiting (close kills them).

    Two lanes: a connection that has traced little lately (an artist's layer now and then) gets
    the light lane's worker at normal priority while it is free; everything else shares the
    other lane's workers at a lower priority, so rasters sent one after another, however heavy,
    slow neither the light traces nor the server's models much."""

    def __init__(
        self,
        workers: int = TRACE_WORKERS,
        timeout: float = TRACE_TIMEOUT,
        memory: int = TRACE_MEMORY,
    ) -> None:
        self.timeout, self.memory = timeout, memory
        self.closed = False
        self.light = _Lane(1, 0, self._new_pool(1, 0), asyncio.Semaphore(1))
        self.shared = _Lane(
            workers, SHARED_NICE, self._new_pool(workers, SHARED_NICE), asyncio.Semaphore(workers)
        )

    def _new_pool(self, workers: int, nice: int) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(self.memory, nice),
        )

    def warm_up(self) -> None:
        """Start the workers now, so the first raster does not wait for them (about 1 s)."""
        for lane in (self.light, self.shared):
            for _ in range(lane.workers):
                lane.pool.submit(_ready)

    def lane_for(self, account: TraceAccount, now: float) -> _Lane:
        """The light lane for a connection that has traced little lately, while it is free."""
        if account.recent(now) < LIGHT_BUDGET and self.light.free():
            return self.light
        return self.shared

    async def trace(
        self,
        png: bytes,
        box: tuple[float, float, float, float],
        account: TraceAccount | None = None,
        tracer: Tracer = vectorise,
    ) -> list[Polyline]:
        """`tracer` (model.vectorise.vectorise for a paint layer's ink, model.lineart.trace_image
        for a photo) in a worker: its strokes, or its VectoriseError; a worker that ran out of
        time or memory ends in TooMuchToTrace. The time it took is charged to `account` (the
        connection's; a fresh one if None)."""
        if self.closed:
            raise TooMuchToTrace("the server is shutting down")
        account = account if account is not None else TraceAccount()
        loop = asyncio.get_running_loop()
        lane = self.lane_for(account, loop.time())
        async with lane.turns:  # the timeout starts once a worker is free for this trace
            if self.closed:
                raise TooMuchToTrace("the server is shutting down")
            started, pool = loop.time(), lane.pool
            try:
                return await asyncio.wait_for(
                    asyncio.wrap_future(pool.submit(tracer, png, box)), self.timeout
                )
            except TimeoutError:
                self._replace(lane, pool)
                raise TooMuchToTrace(
                    f"the raster took over {self.timeout:g} s to trace; select a smaller area"
                ) from None
            except MemoryError:  # raised in the worker, which goes on
                raise TooMuchToTrace(
                    "tracing the raster ran out of memory; select a smaller area"
                ) from None
            except BrokenProcessPool:
                self._replace(lane, pool)
                raise TooMuchToTrace(
                    "tracing the raster ran out of memory; select a smaller area"
                ) from None
            finally:
                now = loop.time()
                account.charge(now - started, now)

    def _replace(self, lane: _Lane, pool: ProcessPoolExecutor) -> None:
        """Kill a pool whose worker hung or died (its other traces fail too) and start anew."""
        _kill(pool)
        if pool is lane.pool and not self.closed:
            lane.pool = self._new_pool(lane.workers, lane.nice)

    def close(self) -> None:
        """Stop now: queued traces are cancelled and running ones killed."""
        self.closed = True
        _kill(self.light.pool)
        _kill(self.shared.pool)


def _kill(pool: ProcessPoolExecutor) -> None:
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:  # ProcessPoolExecutor has no public way to stop a running job
        process.kill()


async def from_raster(
    msg: ClientMessage, traces: TracePool, account: TraceAccount | None = None
) -> ClientMessage:
    """A suggest or guide with its raster traced into strokes (by the `traces` workers, charged
    to the connection's `account`: it takes up to a second; model.vectorise bounds what a trace
    may cost); any other message, or one with strokes, as it is."""
    if not isinstance(msg, (Suggest, Guide)) or msg.strokes or msg.raster is None:
        return msg
    try:
        lines = await _traced(
            traces.trace(msg.raster.png, msg.raster.box, account),
            empty="the raster has no lines in it, so the layer looks empty (or its marks are too "
            "faint or too small); draw on the layer first, or pick the layer you drew on",
            too_many="the raster traces to {strokes} strokes with {points} points; a request "
            "may carry {max_strokes} strokes and {max_points} points; select a smaller area",
        )
    except ProtocolError as e:
        e.id = msg.id
        raise
    return dataclasses.replace(msg, strokes=tuple(tuple(line) for line in lines), raster=None)


async def line_drawing(
    image: bytes,
    box: tuple[float, float, float, float],
    traces: TracePool,
    account: TraceAccount | None = None,
) -> list[Polyline]:
    """A photo's or painting's line drawing as strokes (model.lineart, in the trace workers,
    charged to the connection's `account`); a ProtocolError says why there is none."""
    return await _traced(
        traces.trace(image, box, account, tracer=trace_image),
        empty="the image has no lines to trace (it is blank, or too faint or too smooth); "
        "pick an image with visible shapes",
        too_many="the image traces to {strokes} strokes with {points} points; a drawing may "
        "have {max_strokes} strokes and {max_points} points; pick a smaller area",
    )


async def _traced(trace: Awaitable[list[Polyline]], empty: str, too_many: str) -> list[Polyline]:
    """A trace's strokes, or the ProtocolError a client gets: the tracer's own refusal, `empty`
    when it found no lines, `too_many` (formatted) when a message could not carry them."""
    try:
        lines = await trace
    except TooMuchToTrace as e:
        raise ProtocolError("too_large", str(e)) from None
    except VectoriseError as e:
        raise ProtocolError("bad_request", str(e)) from None
    if not lines:
        raise ProtocolError("bad_request", empty)
    points = sum(len(line) for line in lines)
    if len(lines) > MAX_STROKES or points > MAX_POINTS:
        raise ProtocolError(
            "too_large",
            too_many.format(
                strokes=len(lines),
                points=points,
                max_strokes=MAX_STROKES,
                max_points=MAX_POINTS,
            ),
        )
    return lines

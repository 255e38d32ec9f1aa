"""A paint layer's raster -> the strokes of the request that carried it, before it starts."""

from __future__ import annotations

import asyncio
import dataclasses
import multiprocessing
import resource
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from model.vectorise import Polyline, TooMuchToTrace, VectoriseError, vectorise

from .protocol import MAX_POINTS, MAX_STROKES, ClientMessage, Guide, ProtocolError, Suggest

TRACE_WORKERS = 2  # rasters traced at once, server-wide
TRACE_TIMEOUT = 10.0  # seconds; model.vectorise's limits keep a trace near 1 s
TRACE_MEMORY = 1 << 30  # bytes of address space a trace may add to its worker's


def _limit_memory(budget: int) -> None:
    """In a trace worker, once the tracer is imported: a trace that would take more than
    `budget` bytes beyond what the worker holds fails there (MemoryError), not the server."""
    import model.vectorise  # noqa: F401  (its libraries map hundreds of MB of address space)

    try:
        with open("/proc/self/statm") as f:
            held = int(f.read().split()[0]) * resource.getpagesize()
    except OSError:  # no /proc: no limit but the input's
        return
    resource.setrlimit(resource.RLIMIT_AS, (held + budget, held + budget))


def _ready() -> bool:
    return True


class TracePool:
    """Traces in worker processes of their own (spawned: they import model.vectorise, not the
    server), so a trace neither holds the server's interpreter lock, nor takes more than
    TRACE_MEMORY, nor runs past TRACE_TIMEOUT (the workers are killed and replaced), nor keeps a
    stopping server waiting (close kills them)."""

    def __init__(
        self,
        workers: int = TRACE_WORKERS,
        timeout: float = TRACE_TIMEOUT,
        memory: int = TRACE_MEMORY,
    ) -> None:
        self.workers, self.timeout, self.memory = workers, timeout, memory
        self.closed = False
        self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_limit_memory,
            initargs=(self.memory,),
        )

    def warm_up(self) -> None:
        """Start the workers now, so the first raster does not wait for them (about 1 s)."""
        for _ in range(self.workers):
            self._pool.submit(_ready)

    async def trace(self, png: bytes, box: tuple[float, float, float, float]) -> list[Polyline]:
        """model.vectorise.vectorise in a worker: its strokes, or its VectoriseError; a worker
        that ran out of time or memory ends in TooMuchToTrace."""
        if self.closed:
            raise TooMuchToTrace("the server is shutting down")
        pool = self._pool
        try:
            return await asyncio.wait_for(
                asyncio.wrap_future(pool.submit(vectorise, png, box)), self.timeout
            )
        except TimeoutError:
            self._replace(pool)
            raise TooMuchToTrace(
                f"the raster took over {self.timeout:g} s to trace; select a smaller area"
            ) from None
        except (BrokenProcessPool, MemoryError):
            self._replace(pool)
            raise TooMuchToTrace(
                "tracing the raster ran out of memory; select a smaller area"
            ) from None

    def _replace(self, pool: ProcessPoolExecutor) -> None:
        """Kill a pool whose worker hung or died (its other traces fail too) and start anew."""
        _kill(pool)
        if pool is self._pool and not self.closed:
            self._pool = self._new_pool()

    def close(self) -> None:
        """Stop now: queued traces are cancelled and running ones killed."""
        self.closed = True
        _kill(self._pool)


def _kill(pool: ProcessPoolExecutor) -> None:
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:  # ProcessPoolExecutor has no public way to stop a running job
        process.kill()


async def from_raster(msg: ClientMessage, traces: TracePool) -> ClientMessage:
    """A suggest or guide with its raster traced into strokes (by the `traces` workers: it
    takes up to a second; model.vectorise bounds what a trace may cost); any other message, or
    one with strokes, as it is."""
    if not isinstance(msg, (Suggest, Guide)) or msg.strokes or msg.raster is None:
        return msg
    try:
        lines = await traces.trace(msg.raster.png, msg.raster.box)
    except TooMuchToTrace as e:
        raise ProtocolError("too_large", str(e), msg.id) from None
    except VectoriseError as e:
        raise ProtocolError("bad_request", str(e), msg.id) from None
    if not lines:
        raise ProtocolError(
            "bad_request",
            "the raster has no lines in it, so the layer looks empty (or its marks are too "
            "faint or too small); draw on the layer first, or pick the layer you drew on",
            msg.id,
        )
    points = sum(len(line) for line in lines)
    if len(lines) > MAX_STROKES or points > MAX_POINTS:
        raise ProtocolError(
            "too_large",
            f"the raster traces to {len(lines)} strokes with {points} points; a request may "
            f"carry {MAX_STROKES} strokes and {MAX_POINTS} points; select a smaller area",
            msg.id,
        )
    return dataclasses.replace(msg, strokes=tuple(tuple(line) for line in lines), raster=None)

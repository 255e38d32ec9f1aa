"""The guide queue: guides are answered on two threads of their own. A connection with one guide
in flight (an artist asking now and then) is light and has the light thread, first come first
served; the others share the heavy thread, the one that has used the least guide time first, and
their guides are paced (sketch_server.fairness) while light work is in flight anywhere."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import torch

from .fairness import Fairness

DECAY = 0.9  # each owner's used time shrinks by this after every guide: old use is forgiven


def _one_thread() -> None:
    torch.set_num_threads(1)  # a guide is one small CNN pass; more threads only contend


Item = tuple[Callable[..., Any], tuple, asyncio.Future[Any]]


class GuideQueue:
    """Per owner (connection) a queue of guide jobs, served by a light and a heavy thread.

    A job is `fn(*args, pause=...)`: fn calls `pause()` between the parts of its work (each a few
    milliseconds), where a heavy guide waits while light work goes first."""

    def __init__(self, fairness: Fairness | None = None) -> None:
        self._own_fairness = fairness is None  # else the server's, shared with its engine
        self.fairness = fairness if fairness is not None else Fairness()
        self.light_thread = ThreadPoolExecutor(1, "sketch-guide-light", initializer=_one_thread)
        self.heavy_thread = ThreadPoolExecutor(1, "sketch-guide", initializer=_one_thread)
        self.queues: dict[Any, deque[Item]] = {}
        self.running: dict[Any, int] = {}  # guides of each owner on a thread now
        self.used: dict[Any, float] = {}
        self.arrived: dict[Any, int] = {}  # order of first arrival, for ties
        self._count = 0
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        """Start serving (call from the event loop)."""
        if not self._tasks:
            self._tasks = [
                asyncio.create_task(self._serve(light=True)),
                asyncio.create_task(self._serve(light=False)),
            ]

    async def run(self, owner: Any, fn: Callable[..., Any], *args: Any) -> Any:
        """fn(*args, pause=...) on a guide thread, in owner's turn; its result or its exception."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        queue = self.queues.setdefault(owner, deque())
        if not queue:
            self._count += 1
            self.arrived[owner] = self._count
        queue.append((fn, args, future))
        self._wake.set()
        return await future

    def _in_flight(self, owner: Any) -> int:
        return len(self.queues.get(owner, ())) + self.running.get(owner, 0)

    def _next(self, light: bool) -> tuple[Any, Item] | None:
        """The next guide for the light thread (an owner with only it in flight, first come
        first served) or the heavy thread (the owner that has used the least guide time)."""
        waiting = [o for o, q in self.queues.items() if q and (self._in_flight(o) == 1) == light]
        if not waiting:
            return None
        owner = min(
            waiting,
            key=lambda o: (0.0 if light else self.used.get(o, 0.0), self.arrived.get(o, 0)),
        )
        item = self.queues[owner].popleft()
        if not self.queues[owner]:
            del self.queues[owner]
        return owner, item

    async def _serve(self, light: bool) -> None:
        loop = asyncio.get_running_loop()
        thread = self.light_thread if light else self.heavy_thread
        while True:
            picked = self._next(light)
            if picked is None:
                self._wake.clear()
                await self._wake.wait()
                continue
            owner, (fn, args, future) = picked
            if future.done():  # its request was cancelled while it waited
                continue
            self.running[owner] = self.running.get(owner, 0) + 1
            started = time.perf_counter()
            try:
                result = await loop.run_in_executor(thread, self._call, light, fn, args)
            except Exception as e:  # handed to the request, which reports it
                if not future.done():
                    future.set_exception(e)
            else:
                if not future.done():
                    future.set_result(result)
            finally:
                self.running[owner] -= 1
                if not self.running[owner]:
                    del self.running[owner]
                self._wake.set()  # the owner may have become light, or the other lane has work
            for o in list(self.used):
                self.used[o] *= DECAY
                if self.used[o] < 1e-4 and o not in self.queues:
                    del self.used[o]
            self.used[owner] = self.used.get(owner, 0.0) + time.perf_counter() - started

    def _call(self, light: bool, fn: Callable[..., Any], args: tuple) -> Any:
        """On a guide thread: a light guide counts as light work; a heavy one is paced."""
        if light:
            self.fairness.enter_light()
            try:
                return fn(*args, pause=_no_pause)
            finally:
                self.fairness.leave_light()
        self.fairness.wait_heavy()
        pause = self.fairness.paced()
        try:
            return fn(*args, pause=pause)
        finally:
            pause.finish()

    def close(self) -> None:
        """Stop: waiting guides are cancelled; running ones finish unseen."""
        for task in self._tasks:
            task.cancel()
        for queue in self.queues.values():
            for _, _, future in queue:
                future.cancel()
        self.queues.clear()
        if self._own_fairness:
            self.fairness.close()  # a heavy guide waiting for its turn goes on, unseen
        self.light_thread.shutdown(wait=False, cancel_futures=True)
        self.heavy_thread.shutdown(wait=False, cancel_futures=True)


def _no_pause() -> None:
    pass

"""The guide queue: guides are answered one at a time on a thread of their own. A connection
with one guide waiting goes first (in the order they came), then the others, the one that has
used the least guide time first, so a client asking now and then is answered next even while
others keep the queue full."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import torch

DECAY = 0.9  # each owner's used time shrinks by this after every guide: old use is forgiven


def _one_thread() -> None:
    torch.set_num_threads(1)  # a guide is one small CNN pass; more threads only contend


class GuideQueue:
    """Per owner (connection) a queue of guide jobs; one worker thread. Owners with a single
    guide waiting go first, first come first served; then the owner with the least (decaying)
    guide time used."""

    def __init__(self) -> None:
        self.thread = ThreadPoolExecutor(1, "sketch-guide", initializer=_one_thread)
        self.queues: dict[Any, deque[tuple[Callable[..., Any], tuple, asyncio.Future[Any]]]] = {}
        self.used: dict[Any, float] = {}
        self.arrived: dict[Any, int] = {}  # order of first arrival, for ties
        self._count = 0
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start serving (call from the event loop)."""
        if self._task is None:
            self._task = asyncio.create_task(self._serve())

    async def run(self, owner: Any, fn: Callable[..., Any], *args: Any) -> Any:
        """fn(*args) on the guide thread, in owner's turn; its result or its exception."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        queue = self.queues.setdefault(owner, deque())
        if not queue:
            self._count += 1
            self.arrived[owner] = self._count
        queue.append((fn, args, future))
        self._wake.set()
        return await future

    def _next(self) -> tuple[Any, Callable[..., Any], tuple, asyncio.Future[Any]] | None:
        waiting = [o for o, q in self.queues.items() if q]
        if not waiting:
            return None
        light = [o for o in waiting if len(self.queues[o]) == 1]
        owner = (
            min(light, key=lambda o: self.arrived.get(o, 0))
            if light
            else min(waiting, key=lambda o: (self.used.get(o, 0.0), self.arrived.get(o, 0)))
        )
        fn, args, future = self.queues[owner].popleft()
        if not self.queues[owner]:
            del self.queues[owner]
        return owner, fn, args, future

    async def _serve(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            item = self._next()
            if item is None:
                self._wake.clear()
                await self._wake.wait()
                continue
            owner, fn, args, future = item
            if future.done():  # its request was cancelled while it waited
                continue
            started = time.perf_counter()
            try:
                result = await loop.run_in_executor(self.thread, fn, *args)
            except Exception as e:  # handed to the request, which reports it
                if not future.done():
                    future.set_exception(e)
            else:
                if not future.done():
                    future.set_result(result)
            for o in list(self.used):
                self.used[o] *= DECAY
                if self.used[o] < 1e-4 and o not in self.queues:
                    del self.used[o]
            self.used[owner] = self.used.get(owner, 0.0) + time.perf_counter() - started

    def close(self) -> None:
        """Stop: waiting guides are cancelled; one running finishes unseen."""
        if self._task is not None:
            self._task.cancel()
        for queue in self.queues.values():
            for _, _, future in queue:
                future.cancel()
        self.queues.clear()
        self.thread.shutdown(wait=False, cancel_futures=True)

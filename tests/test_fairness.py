"""Light work first (sketch_server.fairness): the rule itself, and the engine and the guide
threads following it. A test clock stands in for time, so no assertion depends on how fast
this machine is; bench/bench_hostile.py measures what it buys a normal client."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from model.checkpoint import Checkpoint
from model.sample import DecodeBatch, SketchRequest
from sketch_server import engine as engine_module
from sketch_server.engine import HEAVY_ROWS_PER_TURN, Engine
from sketch_server.fairness import Fairness
from sketch_server.guides import GuideQueue
from wire.protocol import Done

from .conftest import FACE, TIMEOUT

pytestmark = pytest.mark.timeout(120)


class Clock:
    """Time that moves only when a test says so."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_heavy_work_runs_freely_until_light_work_is_in_flight_then_keeps_to_its_share() -> None:
    clock = Clock()
    fair = Fairness(share=0.25, clock=clock)
    ended: list[bool] = []
    fair.on_light_ended(lambda: ended.append(True))
    fair.charge(5.0)  # heavy work with no light work in flight owes nothing
    assert fair.delay() == 0.0 and not fair.light
    fair.enter_light()
    assert fair.delay() == 0.0  # heavy work may take its first piece at once
    fair.charge(0.01)
    assert fair.delay() == pytest.approx(0.04)  # 0.01 s is a quarter of 0.04 s
    clock.now += 0.03
    assert fair.delay() == pytest.approx(0.01)
    fair.enter_light()  # a second piece of light work, from another lane
    fair.leave_light()
    assert fair.light and not ended
    fair.leave_light()
    assert not fair.light and ended == [True] and fair.delay() == 0.0
    with pytest.raises(RuntimeError, match="without enter_light"):
        fair.leave_light()
    with pytest.raises(ValueError, match="share"):
        Fairness(share=0.0)


@pytest.mark.parametrize("release", ["leave_light", "close"])
def test_heavy_work_waiting_for_its_turn_goes_on_when_light_work_ends_or_at_close(
    release: str,
) -> None:
    clock = Clock()
    fair = Fairness(share=0.1, clock=clock)
    fair.enter_light()
    fair.charge(1.0)  # ten seconds of waiting owed, on a clock that does not move
    went = threading.Event()
    waiter = threading.Thread(target=lambda: (fair.wait_heavy(), went.set()))
    waiter.start()
    assert not went.wait(0.2)
    getattr(fair, release)()
    assert went.wait(TIMEOUT), release
    waiter.join()


async def test_a_light_guide_runs_beside_a_heavy_one_and_the_heavy_one_waits_for_it() -> None:
    """The light thread starts an artist's guide while a greedy client's runs; the greedy one
    goes no further than the piece it is in until the artist's guide ends."""
    clock = Clock()
    fair = Fairness(share=0.1, clock=clock)
    queue = GuideQueue(fair)
    queue.start()
    pieces: list[int] = []
    heavy_started, light_started, light_may_end = (threading.Event() for _ in range(3))

    def heavy(count: int, pause: Callable[[], None]) -> int:
        heavy_started.set()
        for i in range(count):
            pause()
            time.sleep(0.001)
            clock.now += 0.01  # a piece of work: 10 ms by the test clock
            pieces.append(i)
        return count

    def light(pause: Callable[[], None]) -> str:
        light_started.set()
        assert light_may_end.wait(TIMEOUT)
        return "light"

    try:
        greedy = [asyncio.create_task(queue.run("greedy", heavy, 200)) for _ in range(2)]
        assert await asyncio.to_thread(heavy_started.wait, TIMEOUT)
        artist = asyncio.create_task(queue.run("artist", light))
        assert await asyncio.to_thread(light_started.wait, TIMEOUT)
        await asyncio.sleep(0.1)
        held = len(pieces)
        await asyncio.sleep(0.2)
        assert len(pieces) <= held + 1 < 200  # at most the piece it was in
        light_may_end.set()
        assert await artist == "light"
        assert await asyncio.gather(*greedy) == [200, 200]
    finally:
        light_may_end.set()
        queue.close()


class StepRecorder:
    """The engine's DecodeBatch, recording how many rows each step was asked to step; with
    `hold_at`, that step (counted from 1) waits for `go` once recorded, so a test can change
    what the engine sees before its sketches run out."""

    def __init__(self, hold_at: int | None = None) -> None:
        self.parts: list[int] = []
        self.held, self.go = threading.Event(), threading.Event()
        recorder = self

        class Recording(DecodeBatch):
            def step(self, part: Any = None) -> list[Any]:
                recorder.parts.append(len(self.rows) if part is None else len(part))
                if len(recorder.parts) == hold_at:
                    recorder.held.set()
                    recorder.go.wait(TIMEOUT)
                return super().step(part)

        self.batch_class = Recording


async def test_the_engine_steps_heavy_rows_a_window_at_a_time_and_waits_for_light_work(
    checkpoint: Checkpoint, model: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A greedy client's sketches step all together while no light work is in flight; while a
    light guide runs elsewhere, a window of them at a time, and only in heavy work's share of
    the time: on a clock that does not move, not again after the first window, until the light
    work ends."""
    recorder = StepRecorder(hold_at=5)  # the sketches may end in a few steps on a fast machine
    monkeypatch.setattr(engine_module, "DecodeBatch", recorder.batch_class)
    fair = Fairness(share=0.1, clock=Clock())
    engine = Engine({model: checkpoint}, fairness=fair)
    engine.start()
    loop = asyncio.get_running_loop()
    request = SketchRequest(mode="complete", strokes=FACE, n=8, max_points=1000, seed=1)
    try:
        job = engine.submit(model, request, loop, owner="greedy")
        assert await asyncio.to_thread(recorder.held.wait, TIMEOUT)
        assert max(recorder.parts) == 8  # no light work: every row, every step
        await asyncio.to_thread(fair.enter_light)  # an artist's guide begins
        recorder.go.set()
        await asyncio.sleep(0.1)
        during = len(recorder.parts)
        await asyncio.sleep(0.3)
        steps = recorder.parts[during:]
        assert len(steps) <= 1 and all(k <= HEAVY_ROWS_PER_TURN for k in steps), steps
        await asyncio.to_thread(fair.leave_light)  # it ends: the worker wakes and goes on
        async with asyncio.timeout(TIMEOUT):
            while not isinstance(await job.events.get(), Done):
                pass
        assert max(recorder.parts[during + len(steps) :]) > HEAVY_ROWS_PER_TURN
    finally:
        await asyncio.to_thread(engine.close)

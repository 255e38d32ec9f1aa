"""Tests for the inference engine: shared batches, cancellation, busy, failures, the CPU worker."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import Any

import numpy as np
import pytest
import torch

from model.checkpoint import Checkpoint
from model.sample import DecodeBatch, SketchRequest, StrokeEvent
from sketch_server import engine as engine_module
from sketch_server.engine import Engine, EngineBusy, Job, wire_points
from sketch_server.models import describe
from wire.protocol import Done, Error

from .conftest import FACE, TIMEOUT

pytestmark = pytest.mark.timeout(120)
LONG = SketchRequest(mode="complete", strokes=FACE, n=8, max_points=1000, seed=1)


def short(seed: int = 0, **fields: Any) -> SketchRequest:
    return SketchRequest(
        **{
            "mode": "complete",
            "strokes": FACE,
            "n": 2,
            "max_points": 20,
            "seed": seed,
            "conditions": {"category": "cat"},
            **fields,
        }
    )


async def outcome(job: Job) -> tuple[list[StrokeEvent], Done | Error]:
    """A job's stroke events and its final event, within the test timeout."""
    strokes = []
    async with asyncio.timeout(TIMEOUT):
        while True:
            event = await job.events.get()
            if not isinstance(event, StrokeEvent):
                return strokes, event
            strokes.append(event)


def check_done(strokes: list[StrokeEvent], end: Done | Error, n: int) -> Done:
    """The job ended with the wire's done holding exactly the streamed strokes, indexed from 0."""
    assert isinstance(end, Done), end
    assert len(end.samples) == n
    streamed: list[list[np.ndarray]] = [[] for _ in range(n)]
    for event in strokes:
        assert event.index == len(streamed[event.sample])
        streamed[event.sample].append(event.points)
    for got, want in zip(end.samples, streamed):
        assert len(got) == len(want)
        assert all(a == wire_points(b) for a, b in zip(got, want))
    return end


class Recorder:
    """Replaces the engine's DecodeBatch class: records batch sizes and can hold the worker."""

    def __init__(self) -> None:
        self.rows: list[int] = []  # batch size at every step
        self.threads: list[int] = []  # torch threads the worker ran each step with
        self.stepped = threading.Event()  # set after the first step
        self.gate = threading.Event()  # steps after the first wait for this
        self.gate.set()
        self.fail_next = False

    def batch_class(self) -> type[DecodeBatch]:
        recorder = self

        class RecordingBatch(DecodeBatch):
            def step(self, part: Any = None) -> list[Any]:
                recorder.rows.append(len(self.rows))
                recorder.threads.append(torch.get_num_threads())
                if recorder.fail_next:
                    recorder.fail_next = False
                    raise RuntimeError("injected failure")
                events = super().step(part)
                recorder.stepped.set()
                recorder.gate.wait(TIMEOUT)
                return events

        return RecordingBatch


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    r = Recorder()
    monkeypatch.setattr(engine_module, "DecodeBatch", r.batch_class())
    return r


@pytest.fixture
async def make_engine(checkpoint: Checkpoint, model: str) -> AsyncIterator[Callable[..., Engine]]:
    """A factory for engines over the test model, each closed after the test."""
    engines: list[Engine] = []

    def make(**options: Any) -> Engine:
        engines.append(Engine({model: checkpoint}, **options))
        return engines[-1]

    yield make
    for e in engines:
        await asyncio.to_thread(e.close)


async def test_job_streams_strokes_then_done_on_the_cpu(
    make_engine: Callable[..., Engine], model: str, recorder: Recorder
) -> None:
    """A job streams finished strokes in document units, then Done, on a 1-thread CPU worker."""
    engine = make_engine()
    engine.start()
    job = engine.submit(model, short(seed=3, n=3), asyncio.get_running_loop())
    strokes, end = await outcome(job)
    done = check_done(strokes, end, 3)
    assert strokes and not done.cancelled
    for sample in done.samples:
        for points in sample:
            points = np.array(points)
            assert points.ndim == 2 and points.shape[1] == 2 and np.isfinite(points).all()
    assert engine.open_jobs == 0
    assert engine.models[model].device == torch.device("cpu")
    assert set(recorder.threads) == {1}  # set in the worker thread only
    assert torch.get_num_threads() >= 1


async def test_jobs_submitted_together_share_one_batch(
    make_engine: Callable[..., Engine], model: str, recorder: Recorder
) -> None:
    """Jobs waiting together are drawn in one batch: one step covers every alternative of all."""
    engine = make_engine()
    loop = asyncio.get_running_loop()
    jobs = [engine.submit(model, short(seed=i, n=n), loop) for i, n in enumerate((1, 2, 3))]
    engine.start()  # all three are in the intake before the worker's first turn
    for job in jobs:
        check_done(*await outcome(job), job.request.n)
    assert recorder.rows[0] == 6


async def test_same_seed_same_result(make_engine: Callable[..., Engine], model: str) -> None:
    """Two jobs with the same request and seed draw the same strokes."""
    engine = make_engine()
    engine.start()
    loop = asyncio.get_running_loop()
    first = check_done(*await outcome(engine.submit(model, short(seed=9), loop)), 2)
    again = check_done(*await outcome(engine.submit(model, short(seed=9), loop)), 2)
    for a, b in zip(first.samples, again.samples):
        assert a == b


async def test_cancel_running_job(
    make_engine: Callable[..., Engine], model: str, recorder: Recorder
) -> None:
    """Cancelling a running job ends it with Done(cancelled) and the strokes drawn so far."""
    engine = make_engine()
    recorder.gate.clear()
    engine.start()
    job = engine.submit(model, LONG, asyncio.get_running_loop())
    assert await asyncio.to_thread(recorder.stepped.wait, TIMEOUT)
    engine.cancel(job)
    recorder.gate.set()
    done = check_done(*await outcome(job), 8)
    assert done.cancelled
    assert engine.open_jobs == 0


async def test_cancel_waiting_job(make_engine: Callable[..., Engine], model: str) -> None:
    """A job cancelled before it started ends cancelled with n empty samples."""
    engine = make_engine()
    job = engine.submit(model, LONG, asyncio.get_running_loop())
    engine.cancel(job)
    engine.start()
    strokes, end = await outcome(job)
    assert strokes == [] and isinstance(end, Done) and end.cancelled
    assert end.samples == ((),) * 8


async def test_busy_when_full(make_engine: Callable[..., Engine], model: str) -> None:
    """Past max_jobs open jobs, submit raises EngineBusy; once they end, it takes jobs again."""
    engine = make_engine(max_jobs=2)
    loop = asyncio.get_running_loop()
    jobs = [engine.submit(model, LONG, loop) for _ in range(2)]
    with pytest.raises(EngineBusy, match="drawing 2 sketches already"):
        engine.submit(model, LONG, loop)
    for job in jobs:
        engine.cancel(job)
    engine.start()
    for job in jobs:
        assert (await outcome(job))[1].cancelled  # type: ignore[union-attr]
    assert engine.open_jobs == 0
    check_done(*await outcome(engine.submit(model, short(), loop)), 2)


async def test_failing_jobs_do_not_affect_others(
    make_engine: Callable[..., Engine], model: str
) -> None:
    """Jobs the model refuses fail alone with their codes; the jobs beside them finish."""
    engine = make_engine()
    loop = asyncio.get_running_loop()
    good = engine.submit(model, short(seed=1), loop)
    bad_condition = engine.submit(model, short(conditions={"category": "unicorn"}), loop)
    no_strokes = engine.submit(model, short(strokes=()), loop)
    also_good = engine.submit(model, short(seed=2), loop)
    engine.start()
    end = (await outcome(bad_condition))[1]
    assert isinstance(end, Error) and end.code == "unknown_condition"
    assert "unicorn" in end.message
    end = (await outcome(no_strokes))[1]
    assert isinstance(end, Error) and end.code == "bad_request"
    assert "needs at least one stroke" in end.message
    check_done(*await outcome(good), 2)
    check_done(*await outcome(also_good), 2)


async def test_failed_step_ends_its_batch_and_the_engine_goes_on(
    make_engine: Callable[..., Engine], model: str, recorder: Recorder
) -> None:
    """A sampling step that raises ends that batch's jobs as `internal`; later jobs still run."""
    engine = make_engine()
    recorder.fail_next = True
    engine.start()
    loop = asyncio.get_running_loop()
    end = (await outcome(engine.submit(model, short(), loop)))[1]
    assert isinstance(end, Error) and end.code == "internal"
    check_done(*await outcome(engine.submit(model, short(), loop)), 2)
    assert engine.open_jobs == 0


async def test_max_rows_queues_first_come_first_served(
    make_engine: Callable[..., Engine], model: str, recorder: Recorder
) -> None:
    """A batch never exceeds max_rows; a job that does not fit waits, and later ones behind it."""
    engine = make_engine(max_rows=8)
    loop = asyncio.get_running_loop()
    first = engine.submit(model, short(seed=1, n=6), loop)
    big = engine.submit(model, short(seed=2, n=4), loop)
    small = engine.submit(model, short(seed=3, n=1), loop)
    engine.start()
    for job in (first, big, small):
        check_done(*await outcome(job), job.request.n)
    assert max(recorder.rows) <= 8
    assert recorder.rows[0] == 6  # `small` would fit but may not pass `big`


async def test_a_newcomer_is_admitted_from_the_reserve_before_a_full_owner(
    make_engine: Callable[..., Engine], model: str
) -> None:
    """With the batch full of one connection's rows, another connection's request is admitted
    at once (from the reserve rows), ahead of the full owner's next job, which waits."""
    engine = make_engine(max_rows=16, reserve_rows=4)
    loop = asyncio.get_running_loop()
    batch = engine._batches()[model]
    heavy = SketchRequest(mode="generate", conditions={"category": "cat"}, n=8, max_points=1000)
    active = set()
    for seed in range(2):  # 16 rows of owner "heavy" already drawing
        job = Job(model, dataclasses.replace(heavy, seed=seed), loop, owner="heavy")
        batch.add(job.request, tag=job)
        job.remaining = job.request.n
        active.add(job)
    more = Job(model, dataclasses.replace(heavy, seed=2), loop, owner="heavy")
    newcomer = Job(model, short(seed=9, n=1), loop, owner="newcomer")
    waiting = deque([more, newcomer])  # the newcomer arrived last
    engine._admit(waiting, active, {model: batch})
    assert newcomer in active and list(waiting) == [more]
    assert len(batch.rows) == 17  # past max_rows, inside the reserve


async def test_close_ends_open_jobs(
    make_engine: Callable[..., Engine], model: str, recorder: Recorder
) -> None:
    """Closing the engine ends the jobs it still holds with `busy`, and refuses new ones."""
    engine = make_engine()
    recorder.gate.clear()
    engine.start()
    loop = asyncio.get_running_loop()
    job = engine.submit(model, LONG, loop)
    assert await asyncio.to_thread(recorder.stepped.wait, TIMEOUT)
    closing = asyncio.create_task(asyncio.to_thread(engine.close))
    await asyncio.sleep(0.05)
    recorder.gate.set()
    await closing
    end = (await outcome(job))[1]
    assert isinstance(end, Error) and end.code == "busy" and "shutting down" in end.message
    with pytest.raises(EngineBusy, match="shutting down"):
        engine.submit(model, LONG, loop)


def test_describe(checkpoint: Checkpoint, model: str) -> None:
    """describe() lists each model's conditions and the modes it can run."""
    [info] = describe({model: checkpoint})
    assert info["name"] == model
    assert len(info["conditions"]["category"]) == checkpoint.vocab.dim
    assert info["modes"] == ["complete", "generate", "refine"]


def test_a_light_owner_steps_every_turn_while_heavy_owners_take_turns(checkpoint) -> None:
    """Engine._fair_split: the rows of an owner with a few sketches drawing (the add-ons' three
    alternatives) are light; the heavy owners' rows share a window of HEAVY_ROWS_PER_TURN a
    turn, each owner in turn."""
    from types import SimpleNamespace

    from sketch_server.engine import HEAVY_ROWS_PER_TURN, Engine

    engine = Engine({"m": checkpoint})
    batch = DecodeBatch(checkpoint)
    heavy = [SimpleNamespace(owner=f"greedy{i}") for i in range(4)]
    for i, job in enumerate(heavy):
        batch.add(SketchRequest(mode="generate", n=8, seed=i, use_library=False), tag=job)
    light, window = engine._fair_split({"m": batch})
    assert not light and 0 < len(window) <= HEAVY_ROWS_PER_TURN
    normal = SimpleNamespace(owner="normal")
    batch.add(SketchRequest(mode="generate", n=3, seed=9, use_library=False), tag=normal)
    owner_of = {id(info): info.tag.owner for info in batch.rows.info}
    seen: set[str] = set()
    for _ in range(4):
        light, window = engine._fair_split({"m": batch})
        assert {owner_of[i] for i in light} == {"normal"}
        assert len(window) <= HEAVY_ROWS_PER_TURN and "normal" not in {owner_of[i] for i in window}
        seen |= {owner_of[i] for i in window}
    assert seen == {j.owner for j in heavy}  # every heavy owner gets its turns

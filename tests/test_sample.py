"""Sampling: generate, complete and refine in the caller's coordinates, seeded and batched."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lab.data import ConditionVocab
from model import strokes as S
from model.checkpoint import Checkpoint, load, shipped
from model.config import preset
from model.network import SketchModel
from model.rows import RowInfo, Rows
from model.sample import (
    ConditionError,
    DecodeBatch,
    DoneEvent,
    SketchRequest,
    StrokeEvent,
    filled_conditions,
    sample,
    stream,
)
from model.strokes import StrokeError

from .sketches import face, house

VOCAB = ConditionVocab(("category",), {"category": ("cat", "face")})


@pytest.fixture(scope="module")
def ckpt() -> Checkpoint:
    """The small real model that ships in the package (trained on QuickDraw drawings)."""
    return load(shipped())


@pytest.fixture(scope="module")
def untrained() -> Checkpoint:
    torch.manual_seed(1)
    model = SketchModel(preset("ai-sketcher", small=True, condition_dim=VOCAB.dim)).eval()
    return Checkpoint(model, model.cfg, VOCAB, 20.0)


def moved(strokes, k=3.0, offset=(1000.0, -2000.0)):
    return [np.asarray(s) * k + offset for s in strokes]


def close(a, b, atol=1e-6) -> bool:
    """Sketches with the same strokes, point for point (strokes of other lengths differ)."""
    return len(a) == len(b) and all(
        len(x) == len(y)
        and all(np.shape(p) == np.shape(q) and np.allclose(p, q, atol=atol) for p, q in zip(x, y))
        for x, y in zip(a, b)
    )


def test_completion_keeps_the_given_strokes_exactly(ckpt):
    """'complete' returns the given strokes unchanged, then new ones, and never edits input."""
    given = house()[:1]  # the walls of a house: there is more to draw
    before = [s.copy() for s in given]
    out = sample(ckpt, SketchRequest(mode="complete", strokes=given, n=2, seed=3, max_points=30))
    for sketch in out:
        assert all(np.array_equal(a, b) for a, b in zip(sketch[: len(given)], before))
        assert 1 <= sum(len(s) for s in sketch[len(given) :]) <= 30
    assert all(np.array_equal(a, b) for a, b in zip(given, before))


@pytest.mark.parametrize("mode", ["complete", "refine"])
def test_results_follow_the_scale_and_place_of_the_given_strokes(ckpt, mode):
    """Moving and scaling the input moves and scales the output the same way."""
    req = SketchRequest(mode=mode, strokes=house(), n=2, seed=11, max_points=40)
    a = sample(ckpt, req)
    b = sample(ckpt, SketchRequest(mode=mode, strokes=moved(house()), n=2, seed=11, max_points=40))
    assert close([moved(s) for s in a], b, atol=1e-3)


def test_generate_draws_inside_the_given_bounds_frame(ckpt):
    """With no strokes, 'bounds' sets where the sketch goes and how large it is."""
    a = sample(ckpt, SketchRequest(n=2, seed=5, max_points=40, bounds=(0, 0, 255, 255)))
    b = sample(ckpt, SketchRequest(n=2, seed=5, max_points=40, bounds=(1000, -2000, 1765, -1235)))
    assert close([moved(s) for s in a], b, atol=1e-3)


def test_same_seed_same_sketch_other_seed_other_sketch(ckpt):
    """A seed fixes the drawing; another seed gives another one."""
    req = SketchRequest(
        conditions={"category": "cat"}, n=2, seed=42, max_points=50, temperature=1.0
    )
    assert close(sample(ckpt, req), sample(ckpt, req), atol=0)
    other = sample(
        ckpt,
        SketchRequest(conditions={"category": "cat"}, n=2, seed=43, max_points=50, temperature=1.0),
    )
    assert not close(sample(ckpt, req), other)


def test_alternatives_are_different(ckpt):
    """The n alternatives of one request are not copies of each other."""
    a, b = sample(ckpt, SketchRequest(n=2, seed=1, max_points=50, temperature=1.0))
    assert not close([a], [b])


def test_a_sketch_is_the_same_alone_or_batched_with_others(ckpt):
    """Joining a running batch does not change a seeded sketch."""
    req = SketchRequest(mode="complete", strokes=face(), n=2, seed=9, max_points=40)
    alone = sample(ckpt, req)
    batch = DecodeBatch(ckpt)
    batch.add(SketchRequest(n=3, seed=1, max_points=60), tag="other")
    batch.step()
    batch.add(req, tag="mine")
    done = {}
    while len(batch):
        for event in batch.step():
            if isinstance(event, DoneEvent) and event.tag == "mine":
                done[event.sample] = [*face(), *event.strokes]
    assert close(alone, [done[0], done[1]], atol=1e-4)


def test_stream_yields_strokes_as_they_finish_then_done(ckpt):
    """Strokes stream one by one and each alternative ends with a DoneEvent holding them all."""
    events = list(stream(ckpt, SketchRequest(n=2, seed=2, max_points=60, temperature=1.0)))
    strokes = [e for e in events if isinstance(e, StrokeEvent)]
    done = [e for e in events if isinstance(e, DoneEvent)]
    assert sorted(d.sample for d in done) == [0, 1]
    for d in done:
        mine = [e for e in strokes if e.sample == d.sample]
        assert [e.index for e in mine] == list(range(len(d.strokes)))
        assert all(np.array_equal(e.points, s) for e, s in zip(mine, d.strokes))
        assert sum(len(s) for s in d.strokes) <= 60


def test_cancel_removes_a_request_from_the_batch(ckpt):
    """Cancelling a tag drops its sketches and leaves the others running."""
    batch = DecodeBatch(ckpt)
    batch.add(SketchRequest(n=2, seed=1, max_points=100), tag="a")
    batch.add(SketchRequest(n=3, seed=2, max_points=100), tag="b")
    batch.step()
    batch.cancel("a")
    assert {r.tag for r in batch.rows.info} <= {"b"}
    batch.step()


@pytest.mark.parametrize(
    "req, error, message",
    [
        (
            SketchRequest(mode="complete", strokes=[[[0, 0], [1, 2]], [[0, 0], [1]]]),
            StrokeError,
            r"strokes\[1\]\[1\] is not an \[x, y\] pair",
        ),
        (
            SketchRequest(mode="refine", strokes=[[[0, 0], [float("nan"), 2]]]),
            StrokeError,
            r"strokes\[0\]\[1\] has a value that is not finite",
        ),
        (
            SketchRequest(
                mode="refine", strokes=[[[x, (x // 10 % 2) * 3000] for x in range(0, 3000, 10)]]
            ),
            ValueError,
            r"the strokes have 298 points after simplification; the model reads at most "
            r"250",
        ),
        (
            SketchRequest(conditions={"category": "dragon"}),
            ConditionError,
            r"unknown value 'dragon' for condition 'category'; known: cat, face",
        ),
        (
            SketchRequest(conditions={"colour": "red"}),
            ConditionError,
            r"unknown condition 'colour'",
        ),
        (SketchRequest(mode="complete"), ValueError, r"mode 'complete' needs at least one stroke"),
        (
            SketchRequest(mode="paint"),
            ValueError,
            r"mode must be one of complete, generate, refine",
        ),
    ],
)
def test_bad_requests_raise_clear_errors(untrained, req, error, message):
    """Ragged strokes, NaN, too many points, unknown conditions and bad modes are named."""
    with pytest.raises(error, match=message):
        DecodeBatch(untrained).add(req)


def test_completion_reads_only_the_most_recent_strokes_that_fit(untrained):
    """A drawing longer than the model reads is completed from its latest strokes."""
    zigzags = [
        [[x, y0 + (x // 10 % 2) * 900] for x in range(0, 1000, 10)] for y0 in (0, 1000, 2000)
    ]
    out = sample(
        untrained, SketchRequest(mode="complete", strokes=zigzags, n=1, seed=0, max_points=5)
    )
    assert [s.tolist() for s in out[0][:3]] == [np.asarray(z, float).tolist() for z in zigzags]


def test_dense_input_is_simplified_like_the_training_data(untrained):
    """Refining a densely sampled line gives the same result as refining its simplification."""
    dense = [np.stack([np.linspace(0, 200, 400), np.linspace(0, 100, 400)], 1)]
    sparse = [dense[0][[0, -1]]]
    a = sample(untrained, SketchRequest(mode="refine", strokes=dense, seed=4, max_points=20))
    b = sample(untrained, SketchRequest(mode="refine", strokes=sparse, seed=4, max_points=20))
    assert close(a, b, atol=1e-6)


def test_generate_draws_each_condition_left_out_per_alternative():
    """A condition left out of "generate" is drawn at random (seeded) for each alternative: the
    drawing is the one asked for with those values spelt out, and alternatives differ."""
    faces = load(shipped("faces"))
    filled = filled_conditions(faces, {"emotion": "happy"}, seed=5, n=6)
    assert all(f["emotion"] == "happy" and f["category"] == "face" for f in filled)
    assert all(set(f) == {"category", "gender", "emotion", "style", "view"} for f in filled)
    assert len({tuple(sorted(f.items())) for f in filled}) > 1
    assert filled == filled_conditions(faces, {"emotion": "happy"}, seed=5, n=6)
    left_out = sample(faces, SketchRequest(conditions={"emotion": "happy"}, seed=5, max_points=60))
    spelt = sample(faces, SketchRequest(conditions=filled[0], seed=5, max_points=60))
    assert close(left_out[0], spelt[0])


@pytest.mark.parametrize("row0", ["box", "start"])
def test_the_encoder_reads_row_0_as_the_training_data_had_it(untrained, row0, monkeypatch):
    """A checkpoint trained on "start" data (Sketch-RNN's row 0 of about (0, 0)) reads the
    artist's first point as (0, 0); one trained on "box" data reads it from the box origin."""
    ckpt = Checkpoint(untrained.model, untrained.config, VOCAB, 20.0, meta={"row0": row0})
    seen: list[torch.Tensor] = []
    encode = ckpt.model.encode

    def spy(inp, *args, **kwargs):
        seen.append(inp.strokes[0, 1, :2].clone())
        return encode(inp, *args, **kwargs)

    monkeypatch.setattr(ckpt.model, "encode", spy)
    strokes = [[[100.0, 50.0], [100.0, 255.0]], [[0.0, 0.0], [255.0, 0.0]]]  # fills the box
    sample(ckpt, SketchRequest(mode="refine", strokes=strokes, seed=1, max_points=3))
    first = (seen[0] * ckpt.scale_factor).tolist()
    assert first == pytest.approx([0.0, 0.0] if row0 == "start" else [100.0, 50.0], abs=1e-3)


def _ends_at_once(model: SketchModel) -> SketchModel:
    """The model with its pen head saying "end of sketch" at every step, whatever it reads."""
    with torch.no_grad():
        model.decoder.head.proj.bias[-1] = 50.0
    return model


@pytest.mark.parametrize("fast", [True, False])
@pytest.mark.parametrize("mode", ["generate", "complete"])
def test_no_alternative_ends_before_it_has_drawn_two_points(fast, mode) -> None:
    """A model that would end at once still draws something, on both decoding paths."""
    torch.manual_seed(2)
    model = _ends_at_once(SketchModel(preset("ai-sketcher", small=True, condition_dim=2)).eval())
    ckpt = Checkpoint(model, model.cfg, VOCAB, 20.0)
    batch = DecodeBatch(ckpt, fast=fast)
    batch.add(SketchRequest(mode=mode, strokes=face() if mode == "complete" else (), n=4, seed=1))
    done = []
    while len(batch):
        done += [e for e in batch.step() if isinstance(e, DoneEvent)]
    assert len(done) == 4
    assert all(sum(map(len, e.strokes)) == 2 and not e.note for e in done)


def test_a_completion_stays_near_the_drawing(ckpt) -> None:
    """Every new stroke of the network's completions lies within model.strokes.REACH of the
    drawing, at a wild temperature too; one that would not is left out and ends the sample."""
    given = [np.asarray(s) for s in house()]
    region = S.reach_box(given)
    for seed in range(6):
        out = sample(
            ckpt,
            SketchRequest(
                mode="complete",
                strokes=given,
                conditions={"category": "house"},
                n=4,
                temperature=1.5,
                seed=seed,
                use_library=False,
            ),  # fmt: skip
        )
        for sketch in out:
            assert all(S.within(p, region) for p in sketch[len(given) :])


def test_a_first_stroke_off_the_drawing_leaves_an_empty_sample_with_a_note() -> None:
    rows = Rows(4, 0, 16, 1.0)
    rows.add(
        RowInfo("t", 0, reach=(0.0, 0.0, 10.0, 10.0)), x=np.zeros(9), c=np.zeros(4),
        const=np.zeros(16), z=np.zeros(0), temperature=1.0, noise=np.zeros((5, 4)),
        pos=np.zeros(2), scale=1.0, offset=(0.0, 0.0), limit=5,
    )  # fmt: skip
    events = rows.advance(np.array([[50.0, 0.0, 0.0, 1.0, 0.0]], np.float32))  # to x 50, pen up
    assert [type(e) for e in events] == [DoneEvent]
    assert events[0].strokes == [] and "far beyond the drawing" in events[0].note
    assert len(rows) == 0


def test_a_sketch_stepped_on_some_turns_only_draws_what_it_draws_on_every_turn(ckpt) -> None:
    """A scheduler may step some rows and let others wait a turn: each sketch still draws the
    same (its random numbers go by its own point count), on the fast and reference paths."""
    reqs = [SketchRequest(conditions={"category": "cat"}, n=2, seed=s, max_points=40,
                          use_library=False) for s in range(3)]  # fmt: skip

    def drawn(fast: bool, every: bool) -> dict:
        batch = DecodeBatch(ckpt, fast=fast)
        for i, r in enumerate(reqs):
            batch.add(r, tag=i)
        out, turn = {}, 0
        while len(batch):
            n = len(batch.rows)
            part = None if every else np.arange(n)[np.arange(n) % 3 != turn % 3]
            for e in batch.step(part):
                if isinstance(e, DoneEvent):
                    out[(e.tag, e.sample)] = e.strokes
            turn += 1
        return out

    for fast in (True, False):
        want, got = drawn(fast, True), drawn(fast, False)
        assert sorted(want) == sorted(got)  # the same strokes; the points agree to float
        assert all(close(want[k], got[k], atol=1e-2) for k in want)  # rounding of other shapes

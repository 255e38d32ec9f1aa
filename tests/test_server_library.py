"""The library through a real server: guide, complete, generate and refine on 127.0.0.1."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from model.checkpoint import shipped
from model.library import Library
from model.library.align import Similarity, resample, size_of
from sketch_server.server import SketchServer

from .conftest import Client
from .test_server import check_result

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def library() -> Library:
    return Library.load(shipped("objects"))


def a_cat(library: Library, which: int = 0) -> list[np.ndarray]:
    """A real cat of the library, moved and scaled into document units."""
    index = int(np.flatnonzero(library.matching({"category": "cat"}))[which])
    return Similarity(2.5, 0.0, (300.0, 120.0)).apply_all(library.polylines(index))


def wire(polylines: list[np.ndarray]) -> list[list[list[float]]]:
    return [p.tolist() for p in polylines]


def lies_on(strokes: list[Any], drawing: list[np.ndarray], tolerance: float) -> bool:
    """Whether every point of `strokes` is within tolerance (share of size) of `drawing`."""
    target, _ = resample(drawing, 400)
    points = np.concatenate([np.asarray(s, dtype=float) for s in strokes])
    nearest = np.sqrt(((points[:, None] - target[None]) ** 2).sum(-1)).min(1)
    return bool(nearest.max() <= tolerance * size_of(target))


async def test_welcome_lists_library_size_and_licence(server: SketchServer, model: str) -> None:
    """The welcome says how many real drawings the model has and under which licence."""
    c = await Client.open(server.url, hello=False)
    welcome = await c.hello()
    info = next(m for m in welcome["models"] if m["name"] == model)
    assert info["library"]["size"] == len(Library.load(shipped("objects")))
    assert "CC BY 4.0" in info["library"]["licence"]
    await c.close()


async def test_guide_lays_the_library_drawing_under_its_own_copy(client: Client, library):
    """When the artist's drawing is a moved, scaled library drawing, the best guide drawing is
    that drawing, lying on the artist's strokes, with weights that sum to 1."""
    cat = a_cat(library)
    await client.send(
        {
            "type": "guide",
            "id": "g1",
            "strokes": wire(cat),
            "conditions": {"category": "cat"},
            "k": 3,
        }
    )
    reply = await client.recv()
    assert reply["type"] == "guide" and reply["id"] == "g1", reply
    drawings = reply["drawings"]
    assert 1 <= len(drawings) <= 3
    assert abs(sum(d["weight"] for d in drawings) - 1) < 1e-6
    best = drawings[0]
    assert best["source"].startswith("quickdraw:cat:")
    assert lies_on(best["strokes"], cat, 0.01)
    assert isinstance(reply["elapsed_ms"], int)


async def test_guide_follows_a_half_drawn_sketch(client: Client, library) -> None:
    """From the first half of a drawing's strokes, the guide offers whole drawings around it."""
    cat = a_cat(library, 2)
    half = cat[: max(1, len(cat) // 2)]
    await client.send(
        {"type": "guide", "id": 7, "strokes": wire(half), "conditions": {"category": "cat"}}
    )
    reply = await client.recv()
    assert len(reply["drawings"]) == 4
    assert lies_on(half, [np.asarray(s) for s in reply["drawings"][0]["strokes"]], 0.05)


async def test_complete_leaves_the_artist_strokes_and_adds_library_ones(client, library):
    """complete answers with new strokes only (the artist's stay as sent), each alternative
    naming its source; with three alternatives the last is the network's own."""
    cat = a_cat(library, 1)
    half = cat[: max(1, len(cat) // 2)]
    result = await client.suggest(
        mode="complete",
        strokes=wire(half),
        n=3,
        max_points=250,
        conditions={"category": "cat"},
        seed=3,
    )
    check_result(result, 3)
    sources = result.end["sources"]
    assert [s.split(":")[0] for s in sources] == ["quickdraw", "quickdraw", "model"]
    sent = {tuple(map(tuple, s)) for s in wire(half)}
    for sample in result.samples[:2]:
        assert sample and not sent & {tuple(map(tuple, s)) for s in sample}


async def test_generate_serves_varied_real_drawings(client: Client) -> None:
    """generate gives library drawings of the category, inside the bounds, never exact copies."""
    result = await client.suggest(
        mode="generate",
        n=4,
        max_points=250,
        seed=9,
        conditions={"category": "flower"},
        bounds=[0, 0, 500, 500],
    )
    check_result(result, 4)
    assert all(s.startswith("quickdraw:flower:") for s in result.end["sources"])
    assert len(set(result.end["sources"])) == 4
    points = np.concatenate([np.asarray(s) for sample in result.samples for s in sample])
    assert (points > -50).all() and (points < 550).all()


async def test_refine_strength_runs_from_redraw_to_projection(client: Client, library) -> None:
    """Strength 0 is the model's own redraw (as without the library); strength 1 decodes the
    projection onto the nearest real drawings, and says which."""
    cat = wire(a_cat(library, 4))
    ask: dict[str, Any] = {
        "mode": "refine",
        "strokes": cat,
        "seed": 5,
        "max_points": 120,
        "conditions": {"category": "cat"},
        "temperature": 0.2,
    }
    redraw = await client.suggest("a", strength=0.0, **ask)
    alone = await client.suggest("b", use_library=False, **ask)
    projected = await client.suggest("c", strength=1.0, **ask)
    assert redraw.samples == alone.samples and redraw.end["sources"] == ["model"]
    assert projected.end["sources"][0].startswith("projection:quickdraw:cat:")
    assert projected.samples != redraw.samples


async def test_refine_of_every_long_category_name_is_answered(client: Client, library) -> None:
    """A projection onto drawings whose ids are long ("quickdraw:The Great Wall of China:...")
    still fits the wire's 128 characters: every category with a long name gets its drawing."""
    names = [n for n in library.vocab.values["category"] if len(n) >= 12]
    assert len(names) >= 20
    for k, name in enumerate(names):
        index = int(np.flatnonzero(library.matching({"category": name}))[0])
        strokes = wire(Similarity(2.0, 0.0, (50.0, 50.0)).apply_all(library.polylines(index)))
        result = await client.suggest(
            f"r{k}", mode="refine", strokes=strokes, conditions={"category": name},
            strength=1.0, max_points=30, seed=k,
        )  # fmt: skip
        check_result(result, 1)
        source = result.end["sources"][0]
        assert source.startswith("projection:quickdraw:") and len(source) <= 128, source


@pytest.mark.parametrize(
    "fields, code, text",
    [
        ({"type": "suggest", "mode": "refine", "strength": 1.5}, "bad_request", "strength"),
        ({"type": "suggest", "mode": "refine", "strength": "max"}, "bad_request", "strength"),
        ({"type": "suggest", "mode": "complete", "use_library": 1}, "bad_request", "use_library"),
        ({"type": "guide", "k": 0}, "bad_request", "k must be between 1 and 16"),
        ({"type": "guide", "k": 17}, "bad_request", "k must be between 1 and 16"),
        ({"type": "guide", "strokes": []}, "bad_request", "strokes must hold at least one"),
        ({"type": "guide", "conditions": {"category": "unicorn"}}, "unknown_condition", "unicorn"),
        ({"type": "guide", "conditions": {"mood": "happy"}}, "unknown_condition", "mood"),
        ({"type": "guide", "model": "nope"}, "unknown_model", "nope"),
    ],
)
async def test_bad_library_fields_are_named(client: Client, fields, code, text) -> None:
    """A bad strength, use_library, k or condition gets an error naming it, with the id."""
    msg = {"id": "x", "strokes": [[[0, 0], [10, 10]]], **fields}
    await client.send(msg)
    error = await client.expect_error(code, text)
    assert error["id"] == "x"
    result = await client.suggest("after", mode="generate", n=1)  # the connection still works
    assert result.end["type"] == "done"

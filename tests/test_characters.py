"""Characters (issue 30): the wire's format and checks, the model drawing a kept person under new
conditions, a real server carrying them both ways, and the hosts' pure sheet and name parsing."""

from __future__ import annotations

import base64
import re
import struct
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest
import torch

from model import character as C
from model.checkpoint import Checkpoint, load, shipped
from model.library import open_library
from model.sample import DecodeBatch, DoneEvent, SketchRequest, stream
from sketch_server.config import ServerConfig
from sketch_server.server import run_server
from tests.conftest import Client
from wire.character import SHEET_GAP, character_conditions, conditions_in_text, sheet_cells
from wire.protocol import (
    CHARACTER_FORMAT,
    MAX_CHARACTER_LEN,
    Done,
    ProtocolError,
    Suggest,
    character_parts,
    character_text,
    decode,
)
from wire.suggestion import Job, Session

FACES = {
    "gender": ["female", "male"],
    "emotion": ["neutral", "happy", "sad", "angry", "surprised", "fearful", "disgusted"],
    "style": ["realistic", "cartoon", "abstract"],
    "view": ["frontal", "mid-profile left", "mid-profile right"],
}


@pytest.fixture(scope="module")
def faces() -> Checkpoint:
    return load(shipped("faces"))


def draw(ckpt: Checkpoint, **fields: object) -> list[DoneEvent]:
    req = SketchRequest(temperature=0.02, use_library=False, max_points=120, **fields)  # type: ignore[arg-type]
    return [e for e in stream(ckpt, req) if isinstance(e, DoneEvent)]


# --- the wire ---------------------------------------------------------------------------------


def suggest_with(character: object) -> Suggest:
    return Suggest(id="c1", mode="generate", character=character)  # type: ignore[arg-type]


def test_character_text_round_trips() -> None:
    halves = struct.pack("<3e", 0.5, -1.25, 3.0)
    text = character_text(b"\x01\x02\x03\x04", halves)
    assert character_parts(text) == (b"\x01\x02\x03\x04", halves)
    assert suggest_with(text).character == text
    assert Done(id=1, samples=((), ()), elapsed_ms=0, characters=("", text)).characters == (
        "",
        text,
    )


@pytest.mark.parametrize(
    "value, says",
    [
        (42, "character must be a string"),
        ("not base64!", "character is not valid base64"),
        (base64.b64encode(b"\x02abcd" + b"\0\0").decode(), "character is not a character"),
        (base64.b64encode(b"\x01abcd" + b"\0").decode(), "character is not a character"),
        (base64.b64encode(b"\x01ab").decode(), "character is not a character"),
        (
            base64.b64encode(
                bytes([CHARACTER_FORMAT]) + b"abcd" + struct.pack("<2e", 1.0, np.nan)
            ).decode(),
            "not finite",
        ),
        ("A" * (MAX_CHARACTER_LEN + 4), f"the limit is {MAX_CHARACTER_LEN}"),
    ],
)
def test_bad_characters_are_refused_naming_the_field(value: object, says: str) -> None:
    with pytest.raises(ProtocolError) as e:
        suggest_with(value)
    assert e.value.code == "bad_request" and says in e.value.message and e.value.id == "c1"
    with pytest.raises(ProtocolError, match=r"characters\[1\]"):
        Done(id=1, samples=((), ()), elapsed_ms=0, characters=("", value))  # type: ignore[arg-type]


# --- the model --------------------------------------------------------------------------------


def test_a_character_is_the_person_under_the_requests_conditions(faces: Checkpoint) -> None:
    first = draw(faces, conditions={"gender": "female", "emotion": "happy"}, seed=1)[0]
    person, kept = C.decode(faces, first.character)
    assert kept["gender"] == "female" and kept["emotion"] == "happy"
    again = draw(
        faces,
        conditions={"emotion": "sad", "view": "mid-profile left"},
        seed=5,
        character=first.character,
    )[0]
    same, now = C.decode(faces, again.character)
    assert np.array_equal(same, person)  # the same person ...
    assert now == {**kept, "emotion": "sad", "view": "mid-profile left"}  # ... as asked
    assert again.strokes and again.source == "model"


def test_the_character_decides_what_is_drawn(faces: Checkpoint) -> None:
    """Same seed and conditions: two characters draw two faces, one character draws one."""
    a, b = (draw(faces, conditions={"gender": "male"}, seed=s)[0].character for s in (1, 2))
    asked = {"gender": "male", "emotion": "neutral", "view": "frontal", "style": "realistic"}
    with_a = [draw(faces, conditions=asked, seed=9, character=a)[0].strokes for _ in range(2)]
    with_b = draw(faces, conditions=asked, seed=9, character=b)[0].strokes
    assert all(np.array_equal(p, q) for p, q in zip(*with_a))
    assert len(with_a[0]) != len(with_b) or not all(
        np.allclose(p, q) for p, q in zip(with_a[0], with_b)
    )


def test_refine_and_complete_keep_the_character(faces: Checkpoint) -> None:
    first = draw(faces, conditions={"gender": "male", "style": "cartoon"}, seed=3)[0]
    drawing = [p.tolist() for p in first.strokes]
    for mode in ("refine", "complete"):
        done = draw(
            faces,
            mode=mode,
            strokes=drawing[:3],
            conditions={"emotion": "angry"},
            seed=4,
            character=first.character,
        )[0]
        person, kept = C.decode(faces, done.character)
        assert np.array_equal(person, C.decode(faces, first.character)[0])
        assert kept["emotion"] == "angry" and kept["style"] == "cartoon"


def test_a_drawing_becomes_a_character(faces: Checkpoint) -> None:
    """refine without a character: the done's character is the artist's drawing encoded."""
    first = draw(faces, conditions={"gender": "female"}, seed=6)[0]
    drawing = [p.tolist() for p in first.strokes]
    done = draw(faces, mode="refine", strokes=drawing, conditions={"gender": "female"}, seed=1)[0]
    person, kept = C.decode(faces, done.character)
    assert kept == {"gender": "female"} and np.abs(person).sum() > 0


def test_latent_of_is_what_a_drawn_sample_is_kept_as(faces: Checkpoint) -> None:
    """DecodeBatch.latent_of encodes a finished drawing as a generated sample's character holds
    it (the float16 of the wire apart), and reads nothing of an empty drawing."""
    conditions = {"gender": "male", "emotion": "happy", "style": "cartoon", "view": "frontal"}
    done = draw(faces, conditions=conditions, seed=3)[0]
    conditions["category"] = "face"  # as the model fills in the one category it has
    batch = DecodeBatch(faces)
    code = torch.tensor(faces.vocab.encode(conditions)[: faces.model.cond_dim], dtype=torch.float32)
    z = batch.latent_of(done.strokes, code[None])
    assert z is not None and z.shape == (faces.model.z_dim,)
    identity = C.decode(faces, done.character)[0]
    assert np.allclose(z[: len(identity)], identity, atol=0.01)
    other = draw(faces, conditions=conditions, seed=4)[0]
    assert not np.allclose(z[: len(identity)], C.decode(faces, other.character)[0], atol=0.01)
    assert batch.latent_of([], code[None]) is None


def test_another_models_character_is_refused(faces: Checkpoint, checkpoint: Checkpoint) -> None:
    other = draw(checkpoint, conditions={"category": "cat"}, seed=1)[0].character
    with pytest.raises(C.CharacterError, match="made by another model"):
        draw(faces, character=other)
    changed = character_text(b"\0\0\0\0", character_parts(draw(faces, seed=1)[0].character)[1])
    with pytest.raises(C.CharacterError, match="another version"):
        draw(faces, character=changed)


# --- a real server ----------------------------------------------------------------------------


@pytest.fixture
async def faces_client(faces: Checkpoint) -> AsyncIterator[Client]:
    """A real server with the faces model and the decoder-only quickdraw model, no libraries."""
    dirs = (shipped("faces"), shipped("quickdraw"))
    config = ServerConfig(port=0, models=dirs)
    models = {"faces": faces, "quickdraw": load(shipped("quickdraw"))}
    async with run_server(config, models) as server:
        client = await Client.open(f"ws://127.0.0.1:{server.port}")
        try:
            yield client
        finally:
            await client.close()


async def test_server_carries_characters_both_ways(faces_client: Client) -> None:
    client = faces_client
    first = await client.suggest(
        "a",
        model="faces",
        mode="generate",
        n=2,
        seed=11,
        use_library=False,
        conditions={"gender": "female", "style": "cartoon"},
        max_points=150,
    )
    assert first.end["type"] == "done", first.end
    kept = first.end["characters"]
    assert len(kept) == 2 and all(isinstance(c, str) and c for c in kept) and kept[0] != kept[1]
    looks = ["sad", "angry"]
    for i, emotion in enumerate(looks):  # sent together, as a sheet is
        await client.send(
            {
                "type": "suggest",
                "id": f"s{i}",
                "model": "faces",
                "mode": "generate",
                "seed": 12,
                "character": kept[0],
                "conditions": {"emotion": emotion, "view": "mid-profile right"},
                "max_points": 150,
            }
        )
    results = [await client.result(f"s{i}") for i in range(len(looks))]
    for done in [r.end for r in results]:
        assert done["type"] == "done" and done["samples"][0], done
        again = done["characters"][0]
        assert character_parts(again)[1][:-32] == character_parts(kept[0])[1][:-32]


async def test_server_refuses_bad_and_foreign_characters(faces_client: Client) -> None:
    client = faces_client
    for rid, fields, says in [
        ("b1", {"model": "faces", "character": "%%%"}, "character is not valid base64"),
        (
            "b2",
            {"model": "faces", "character": character_text(b"abcd", b"\0\0")},
            "made by another model",
        ),
        (
            "b3",
            {
                "model": "quickdraw",
                "character": character_text(b"abcd", b"\0\0"),
                "conditions": {"category": "bird"},
            },
            "keeps no characters",
        ),
    ]:
        result = await client.suggest(rid, mode="generate", **fields)
        assert result.end["type"] == "error", result.end
        assert result.end["code"] == "bad_request" and result.end["id"] == rid
        assert says in result.end["message"], result.end
    fine = await client.suggest("ok", model="faces", mode="generate", seed=1)
    assert fine.end["type"] == "done"


async def test_welcome_says_which_models_keep_characters(faces: Checkpoint) -> None:
    config = ServerConfig(port=0, models=(shipped("faces"), shipped("quickdraw")))
    models = {"faces": faces, "quickdraw": load(shipped("quickdraw"))}
    async with run_server(config, models) as server:
        client = await Client.open(f"ws://127.0.0.1:{server.port}", hello=False)
        welcome = await client.hello()
        await client.close()
    assert {m["name"]: m["characters"] for m in welcome["models"]} == {
        "faces": True,
        "quickdraw": False,
    }


# --- the hosts' pure side ---------------------------------------------------------------------


def test_sheet_cells_are_a_grid_of_emotions_by_views() -> None:
    cells = sheet_cells(FACES, origin=(10.0, 20.0), cell=100.0)
    assert len(cells) == 21
    assert cells[0].conditions == {"emotion": "neutral", "view": "frontal"}
    assert cells[0].bounds == (10.0, 20.0, 110.0, 120.0)
    assert cells[8].conditions == {"emotion": "happy", "view": "mid-profile left"}
    step = 100.0 * (1 + SHEET_GAP)
    assert cells[8].bounds[:2] == pytest.approx((10.0 + step, 20.0 + step))
    assert cells[8].label == "happy, mid-profile left"
    boxes = [c.bounds for c in cells]
    assert all(
        a[2] < b[0] or a[3] < b[1] or b[2] < a[0] or b[3] < a[1]
        for i, a in enumerate(boxes)
        for b in boxes[i + 1 :]
    )  # no two overlap
    assert [c.conditions for c in sheet_cells({"category": ["cat"]})] == [{}]
    with pytest.raises(ValueError, match="positive size"):
        sheet_cells(FACES, cell=0)


@pytest.mark.parametrize(
    "name, wanted",
    [
        ("Sad, mid-profile left", {"emotion": "sad", "view": "mid-profile left"}),
        ("shot 12 HAPPY frontal", {"emotion": "happy", "view": "frontal"}),
        ("unhappy left", {}),  # words, not parts of words
        ("angry then sad", {"emotion": "angry"}),  # the first mention counts
        ("", {}),
    ],
)
def test_conditions_in_a_name(name: str, wanted: dict[str, str]) -> None:
    assert conditions_in_text(name, FACES) == wanted


def test_session_keeps_the_character_on_show() -> None:
    session = Session("autodraw", [Job("a"), Job("b")], n=2)
    session.submitted(session.jobs[0], "j1")
    session.submitted(session.jobs[1], "j2")
    session.done("j1", [[[[0, 0], [1, 1]]], []], ["", ""])
    session.done("j2", [[[[0, 0], [1, 1]]], [[[0, 0], [2, 2]]]], ["X", "Y"])
    assert session.character() == "X"
    session.show(1)
    assert session.character() == "Y"
    assert Session("suggest", [Job("c")], n=1).character() is None


async def test_the_protocol_docs_character_exchange_runs(
    faces_client: Client, faces: Checkpoint
) -> None:
    """docs/protocol.md's Characters example, sent to a real server: its request gives the
    character the doc shows, and the doc's second request draws that person as asked."""
    doc = (Path(__file__).parents[1] / "docs" / "protocol.md").read_text()
    section = doc.split("### Characters", 1)[1].split("\n### ", 1)[0]
    ask, shown, again = (decode(b) for b in re.findall(r"```json\n(.*?)```", section, re.S))
    await faces_client.send(ask)  # as the doc has it (Client.suggest would add max_points)
    first = await faces_client.result(ask["id"])
    assert first.end["type"] == "done", first.end
    got, want = (C.decode(faces, c) for c in (first.end["characters"][0], shown["characters"][0]))
    assert got[1] == want[1]  # if the weights change, the doc's character must be made again
    assert np.allclose(got[0], want[0], atol=1e-2), np.abs(got[0] - want[0]).max()
    await faces_client.send(again)
    second = await faces_client.result(again["id"])
    assert second.end["type"] == "done" and len(second.end["samples"]) == 2, second.end
    for character in second.end["characters"]:
        person, kept = C.decode(faces, character)
        assert np.array_equal(person, want[0])
        assert kept == {
            "category": "face",
            "gender": "female",
            "style": "cartoon",
            "emotion": "sad",
            "view": "mid-profile left",
        }


def test_library_samples_carry_their_drawings_character(faces: Checkpoint) -> None:
    library = open_library(shipped("faces"), faces)
    assert library is not None
    req = SketchRequest(n=2, conditions={"gender": "male", "emotion": "happy"}, seed=3)
    done = [e for e in stream(faces, req, library) if isinstance(e, DoneEvent)]
    drawn = [e for e in done if e.source != "model"]
    assert drawn, [e.source for e in done]
    for event in drawn:
        person, kept = C.decode(faces, event.character)
        index = library.library.ids.index(event.source)
        assert kept == library.library.conditions(index)
        assert np.allclose(person, library.latents[index], atol=2e-3 * np.abs(person).max())


def test_a_library_character_is_drawn_again_from_the_library(faces: Checkpoint) -> None:
    """A character kept from a library sample is that drawing's person: asked again in every
    other look, the library answers with the same person's drawing of that look; a network
    character (or another gender) goes to the network, as the library has no one for it."""
    library = open_library(shipped("faces"), faces)
    assert library is not None
    people = library.library.people
    assert people is not None

    def person(source: str) -> int:
        return int(people[library.library.ids.index(source)])

    first = {"gender": "female", "style": "cartoon", "emotion": "neutral", "view": "frontal"}
    first_look = {"category": "face", **first}
    (kept,) = [
        e
        for e in stream(faces, SketchRequest(conditions=first, seed=5), library)
        if isinstance(e, DoneEvent)
    ]
    assert kept.source != "model" and person(kept.source) >= 0
    seen = set()
    for emotion in FACES["emotion"]:
        for view in FACES["view"]:
            req = SketchRequest(
                n=2,
                seed=9,
                character=kept.character,
                conditions={"emotion": emotion, "view": view},
            )
            done = [e for e in stream(faces, req, library) if isinstance(e, DoneEvent)]
            assert done[0].source != "model", (emotion, view)
            assert person(done[0].source) == person(kept.source)
            assert done[1].source == "model"  # the network's idea of the same person
            index = library.library.ids.index(done[0].source)
            assert library.library.conditions(index) == {
                **first_look,
                "emotion": emotion,
                "view": view,
            }
            seen.add(done[0].source)
            for event in done:  # every sample carries the kept person, as it was drawn
                again, now = C.decode(faces, event.character)
                assert np.array_equal(again, C.decode(faces, kept.character)[0])
                assert now == {**first_look, "emotion": emotion, "view": view}
    assert len(seen) == 21

    male = SketchRequest(character=kept.character, conditions={"gender": "male"}, seed=9)
    assert [e.source for e in stream(faces, male, library) if isinstance(e, DoneEvent)] == ["model"]
    (network,) = draw(faces, conditions=first, seed=5)
    again = SketchRequest(character=network.character, conditions={"emotion": "sad"}, seed=9)
    assert [e.source for e in stream(faces, again, library) if isinstance(e, DoneEvent)] == [
        "model"
    ]


def test_a_client_reads_who_a_character_is(faces: Checkpoint) -> None:
    """wire.character reads the conditions the model's own decode reads, from the welcome's
    conditions alone; a string that is not a character of that model reads as nothing."""
    welcome = {a: list(faces.vocab.values[a]) for a in faces.vocab.attributes}
    generated = draw(faces, conditions={"gender": "male", "style": "abstract"}, seed=2)[0]
    drawing = [p.tolist() for p in generated.strokes]
    refined = draw(faces, mode="refine", strokes=drawing, conditions={"gender": "male"}, seed=2)
    for character in (generated.character, refined[0].character):
        assert character_conditions(character, welcome) == C.decode(faces, character)[1]
    assert character_conditions(refined[0].character, welcome) == {"gender": "male"}
    assert character_conditions("%%%", welcome) == {}
    assert character_conditions(character_text(b"abcd", b"\0\0"), welcome) == {}

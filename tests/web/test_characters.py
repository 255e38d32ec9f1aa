"""Characters in the drawing page (issue 30): keeping the person of an alternative, per model,
across a reload; requests that carry it; and the character sheet, which draws that person in
every emotion and view beside the drawing, within the server's 4 open requests.

Real Chromium against the real server (`python -m sketch_server`, the shipped `faces` model);
a stand-in server (webpage.MockServer) holds answers back to show the sheet's queue step by
step. Set AI_SKETCHER_WEB_SHEET_SCREENSHOT_OUT=docs/web-character-sheet.png to keep the
screenshot of docs/web.md.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from model import character as C
from model.checkpoint import Checkpoint, load, shipped
from wire.character import SHEET_GAP, sheet_cells
from wire.protocol import character_parts, character_text

from .webpage import MockServer, Served, Tab, WireLog, head, needs_browser

pytestmark = pytest.mark.timeout(180)
SHEET_SCREENSHOT_ENV = "AI_SKETCHER_WEB_SHEET_SCREENSHOT_OUT"
OPEN_LIMIT = 4  # the server's open requests per connection (sketch_server/config.py)


@pytest.fixture(scope="module")
def faces() -> Checkpoint:
    return load(shipped("faces"))


def identity(character: str) -> bytes:
    """A character's bytes without its last 16 float16s, the faces' conditions: who it is."""
    model_id, halves = character_parts(character)
    return model_id + halves[: -2 * 16]


def suggests(wire: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    return [m for d, m in wire if d == "sent" and m["type"] == "suggest"]


def answer_to(wire: list[tuple[str, dict[str, Any]]], rid: str) -> dict[str, Any]:
    found = [m for d, m in wire if d == "received" and m.get("id") == rid and m["type"] != "stroke"]
    assert len(found) == 1, (rid, found)
    return found[0]


def most_open(wire: list[tuple[str, dict[str, Any]]]) -> int:
    """The most suggest requests open at once, from the frames in the order they went."""
    open_ids: set[Any] = set()
    most = 0
    for direction, m in wire:
        if direction == "sent" and m["type"] == "suggest":
            open_ids.add(m["id"])
        elif direction == "received" and m["type"] in ("done", "error"):
            open_ids.discard(m.get("id"))
        most = max(most, len(open_ids))
    return most


# --- keeping a character --------------------------------------------------------------------


@needs_browser
def test_keep_a_character_send_it_and_keep_it_across_a_reload(
    served: Served, tab: Tab, faces: Checkpoint
) -> None:
    """After a Draw, Keep character keeps the person on show (saying who), the next request
    carries it and the server draws the same person, sad and turned; a reload keeps it, and
    Forget lets the pickers choose again."""
    net = WireLog(tab.page)
    tab.open(served.page_url)
    box = tab.page.locator("#character-box")
    tab.page.select_option("#model", "quickdraw")
    assert box.is_hidden(), "quickdraw keeps no characters"
    tab.page.select_option("#model", "faces")
    assert box.is_visible()
    keep = tab.page.get_by_role("button", name="Keep character")
    sheet = tab.page.get_by_role("button", name="Character sheet")
    assert keep.is_disabled() and sheet.is_enabled()
    tab.page.select_option("#condition-gender", "female")
    tab.page.select_option("#condition-style", "cartoon")
    tab.page.locator("#alternatives").fill("2")
    tab.keys("d")
    tab.wait("window.sketcher.suggestion() && window.sketcher.suggestion().done", 60)
    first = net.received("done")[-1]
    assert len(first["characters"]) == 2 and all(first["characters"]), first.get("characters")
    assert keep.is_enabled()
    assert tab.js("window.sketcher.character()") is None

    tab.keys("ArrowRight", "k")  # the second alternative's person
    kept = tab.js("window.sketcher.character()")
    assert kept["character"] == first["characters"][1]
    _, drawn_as = C.decode(faces, kept["character"])  # the model's own reading of it
    assert drawn_as["gender"] == "female" and drawn_as["style"] == "cartoon"
    assert {k: kept["who"][k] for k in drawn_as} == drawn_as, "the page reads who as the model"
    note = tab.page.locator("#character-who").text_content()
    assert note.startswith("Kept: female, cartoon."), note
    assert tab.js("window.sketcher.status()").startswith("Kept female, cartoon")
    for name in ("gender", "style"):  # who: the character's own while it is kept
        assert tab.page.locator(f"#condition-{name}").is_disabled()
    assert tab.page.locator("#condition-emotion").is_enabled()
    assert tab.page.get_by_role("button", name="Forget").is_enabled()

    tab.page.select_option("#condition-emotion", "sad")
    tab.page.select_option("#condition-view", "mid-profile left")
    tab.keys("d")
    tab.wait("window.sketcher.suggestion() && window.sketcher.suggestion().done", 60)
    request = net.sent("suggest")[-1]
    assert request["character"] == kept["character"], "the next request carries the character"
    assert request["conditions"] == {"emotion": "sad", "view": "mid-profile left"}
    again = net.received("done")[-1]
    assert again["id"] == request["id"]
    # A person of the library is drawn again by it (that person sad and turned left) and by
    # the network; a person the network drew, by the network alone.
    library_person = first["sources"][1] != "model"
    assert [s != "model" for s in again["sources"]] == [library_person, False], again["sources"]
    for character in again["characters"]:  # the same person, sad and turned left
        assert identity(character) == identity(kept["character"])
        _, now = C.decode(faces, character)
        assert now == {**drawn_as, "emotion": "sad", "view": "mid-profile left"}

    tab.page.reload()
    tab.wait("window.sketcher && window.sketcher.state() === 'ready'")
    tab.page.select_option("#model", "faces")
    assert tab.js("window.sketcher.character()") == kept, "a reload keeps it"
    assert tab.js("localStorage.getItem('ai-sketcher-character:faces')") is not None
    assert tab.page.locator("#condition-gender").input_value() == "female"
    assert tab.page.locator("#character-who").text_content().startswith("Kept: female, cartoon.")
    tab.page.select_option("#model", "objects")
    assert tab.js("window.sketcher.character()") is None, "kept per model"
    tab.page.select_option("#model", "faces")

    tab.page.get_by_role("button", name="Forget").click()
    assert tab.js("window.sketcher.character()") is None
    assert tab.page.locator("#condition-gender").is_enabled()
    tab.keys("d")
    tab.wait("window.sketcher.suggestion() && window.sketcher.suggestion().done", 60)
    assert "character" not in net.sent("suggest")[-1]
    assert tab.errors == []


@needs_browser
def test_a_character_the_server_refuses_is_forgotten(served: Served, tab: Tab) -> None:
    """A kept character of another version of the model (another model id) is refused by the
    server; the page forgets it and says what to do in one sentence."""
    tab.open(served.page_url)
    stale = character_text(b"\0\0\0\0", np.zeros(96, "<f2").tobytes())
    tab.page.evaluate(
        "(c) => localStorage.setItem('ai-sketcher-character:faces', "
        "JSON.stringify({character: c, who: {gender: 'male'}}))",
        stale,
    )
    tab.page.select_option("#model", "faces")
    assert tab.js("window.sketcher.character()")["character"] == stale
    assert tab.page.locator("#character-who").text_content().startswith("Kept: male.")
    tab.keys("d")
    tab.wait("window.sketcher.status().includes('refused the kept character')", 60)
    status = tab.js("window.sketcher.status()")
    assert status.startswith("The server refused the kept character, so the page forgot it: ")
    assert "another model" in status and status.count(". ") == 0, status
    assert tab.js("window.sketcher.character()") is None
    assert tab.js("localStorage.getItem('ai-sketcher-character:faces')") is None
    assert tab.page.locator("#condition-gender").is_enabled()
    assert tab.js("window.sketcher.suggestion()") is None
    assert tab.errors == []


# --- the character sheet --------------------------------------------------------------------


@needs_browser
def test_the_sheet_adds_21_faces_of_one_character_beside_the_drawing(
    served: Served, tab: Tab, tmp_path: Path, faces: Checkpoint
) -> None:
    """With none kept, Character sheet draws a new person (the first face, by the network) and
    that person in the other 20 emotion x view cells, never more than 4 requests open; the 21
    faces join the drawing at once, beside it, and one undo takes them back."""
    tab.open(served.page_url)
    tab.page.select_option("#model", "faces")
    tab.page.select_option("#condition-gender", "male")
    tab.draw(head(130, 170))
    tab.draw([(85, 130), (100, 127), (112, 129)])
    artist = tab.js("window.sketcher.strokes()")
    tab.page.get_by_role("button", name="Character sheet").click()
    tab.wait("window.sketcher.sheet() === null", 120)
    status = tab.js("window.sketcher.status()")
    assert status == "Added a character sheet of 21 faces; Ctrl+Z takes it back.", status

    asked = suggests(tab.wire)
    assert len(asked) == 21 and most_open(tab.wire) <= OPEN_LIMIT
    assert [m for m in tab.frames if m["type"] == "error"] == []
    first, rest = asked[0], asked[1:]
    assert "character" not in first and "use_library" not in first
    assert first["conditions"]["gender"] == "male"
    character = answer_to(tab.wire, first["id"])["characters"][0]
    assert all(m["character"] == character for m in rest), "the rest draw the first's person"
    assert all("gender" not in m["conditions"] for m in rest), "who is the character's own"
    kept = tab.js("window.sketcher.character()")
    assert kept["character"] == character and kept["who"]["gender"] == "male"
    for m in rest:  # every face the same person, in its cell's emotion and view
        assert identity(answer_to(tab.wire, m["id"])["characters"][0]) == identity(character)

    # The layout is wire/character.py's, the one the add-ons use, placed beside the drawing.
    conditions = next(m for m in tab.js("window.sketcher.models()") if m["name"] == "faces")[
        "conditions"
    ]
    x0, y0, x1, y1 = asked[0]["bounds"]
    cells = sheet_cells(conditions, origin=(x0, y0), cell=x1 - x0)
    assert len(cells) == 21
    for m, cell in zip(asked, cells):
        assert m["bounds"] == pytest.approx(cell.bounds)
        assert {k: m["conditions"][k] for k in ("emotion", "view")} == dict(cell.conditions)
    assert asked[1]["bounds"][0] - x1 == pytest.approx(SHEET_GAP * (x1 - x0))
    drawn = np.array([p for s in artist for p in s["points"]])
    assert x0 > drawn[:, 0].max() or y0 > drawn[:, 1].max(), "the sheet is beside or below"
    view = tab.js("() => document.getElementById('paper').getBoundingClientRect().toJSON()")
    assert cells[-1].bounds[2] <= view["width"] and cells[-1].bounds[3] <= view["height"]

    strokes = tab.js("window.sketcher.strokes()")
    assert json.dumps(strokes[: len(artist)]) == json.dumps(artist), "the artist's, untouched"
    added = strokes[len(artist) :]
    faces_in = [answer_to(tab.wire, m["id"])["samples"][0] for m in asked]
    assert all(faces_in), "every cell has a face"
    assert [s["points"] for s in added] == [s for face in faces_in for s in face]
    assert all(s["by"] == "model" for s in added)
    for face, cell in zip(faces_in, cells):  # each face centred in its own cell, a little over
        a, b, c, d = cell.bounds  # at most (the model's drawings can pass its box by ~16 %)
        points = np.array([p for s in face for p in s])
        (left, top), (right, bottom) = points.min(0), points.max(0)
        assert a < (left + right) / 2 < c and b < (top + bottom) / 2 < d
        pad = 0.3 * (c - a)
        assert a - pad <= left and right <= c + pad and b - pad <= top and bottom <= d + pad

    shot = Path(os.environ.get(SHEET_SCREENSHOT_ENV) or tmp_path / "web-character-sheet.png")
    tab.page.screenshot(path=str(shot))
    assert Image.open(shot).size == (1280, 800)
    tab.keys("Control+z")
    assert tab.js("window.sketcher.strokes()") == artist, "one undo takes the sheet back"
    assert tab.errors == []


FACES_MODEL = {
    "name": "faces",
    "description": "",
    "conditions": {
        "gender": ["female", "male"],
        "emotion": ["angry", "happy", "sad"],
        "view": ["frontal", "left"],
    },
    "modes": ["complete", "generate", "refine"],
    "characters": True,
}


@needs_browser
def test_the_sheet_queues_its_faces_retries_busy_and_stops_on_esc(served: Served, tab: Tab) -> None:
    """Against a stand-in server that answers when told: the first face goes alone, then
    never more than 4 at once; a face refused as busy is asked for again; Esc cancels the rest
    and leaves the drawing as it was."""
    mock = MockServer(tab.page, models=[FACES_MODEL])
    tab.open(served.page_url)
    tab.draw([(40, 40), (90, 60)])
    artist = tab.js("window.sketcher.strokes()")
    tab.page.get_by_role("button", name="Character sheet").click()
    tab.until(lambda: mock.questions("suggest"))
    tab.page.wait_for_timeout(300)
    (first,) = mock.questions("suggest")  # alone: the rest need its character
    assert "character" not in first and "use_library" not in first
    assert first["conditions"] == {"emotion": "angry", "view": "frontal"}
    assert tab.page.get_by_role("button", name="Draw").is_disabled(), "the sheet has the requests"
    who = character_text(b"abcd", np.array([0.5] * 4 + [0, 1, 1, 0, 0, 1, 0], "<f2").tobytes())
    face = [[[10, 10], [20, 20]]]
    mock.send({"type": "done", "id": first["id"], "samples": [face], "elapsed_ms": 1,
               "characters": [who]})  # fmt: skip
    tab.until(lambda: len(mock.questions("suggest")) == 1 + OPEN_LIMIT)
    tab.page.wait_for_timeout(300)
    asked = mock.questions("suggest")
    assert len(asked) == 1 + OPEN_LIMIT, "more than the server's 4 at once"
    assert all(m["character"] == who for m in asked[1:])
    assert tab.js("window.sketcher.character()")["who"]["gender"] == "male"
    assert tab.page.locator("#character-who").text_content().startswith("Kept: male.")

    busy = asked[1]
    mock.send({"type": "error", "id": busy["id"], "code": "busy", "message": "full."})
    tab.until(lambda: len(mock.questions("suggest")) == 2 + OPEN_LIMIT)  # asked again, later
    again = mock.questions("suggest")[-1]
    assert again["conditions"] == busy["conditions"] and again["id"] != busy["id"]
    assert tab.js("window.sketcher.sheet().drawn") == 1

    tab.keys("Escape")
    tab.until(lambda: len(mock.questions("cancel")) == OPEN_LIMIT)
    cancelled = {m["id"] for m in mock.questions("cancel")}
    assert cancelled == {m["id"] for m in mock.questions("suggest")[2:]}
    assert tab.js("window.sketcher.sheet()") is None
    assert tab.js("window.sketcher.strokes()") == artist
    assert (
        tab.js("window.sketcher.status()") == "Character sheet stopped; your drawing is as it was."
    )
    assert tab.errors == []


@needs_browser
def test_the_pages_sheet_layout_is_the_wires(served: Served, tab: Tab) -> None:
    """character.js's sheetCells mirrors wire/character.py's sheet_cells, and a model without
    emotions or views gets a single cell (and no sheet button)."""
    tab.open(served.page_url)
    for conditions in (
        {"emotion": ["a", "b", "c"], "view": ["x", "y"], "gender": ["f", "m"]},
        {"emotion": ["a", "b"]},
        {"category": ["cat"]},
    ):
        for origin, cell in (((0, 0), 256), ((412.5, 37), 90)):
            mine = tab.page.evaluate(
                """async ([conditions, origin, cell]) => {
                    const { sheetCells } = await import("/character.js");
                    return sheetCells(conditions, origin, cell); }""",
                [conditions, list(origin), cell],
            )
            theirs = sheet_cells(conditions, origin, cell)
            assert [(m["conditions"], m["label"]) for m in mine] == [
                (dict(c.conditions), c.label) for c in theirs
            ]
            assert [v for m in mine for v in m["bounds"]] == pytest.approx(
                [v for c in theirs for v in c.bounds]
            )
    assert tab.page.get_by_role("button", name="Character sheet").is_disabled(), "objects"
    assert tab.errors == []
